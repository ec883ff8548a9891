"""De-identification: offline Presidio recognizers for PII and credentials, and a policy.

Public API: :class:`Analyzer` (find spans), :class:`DeidPolicy` (what to do per entity
type), :class:`Deidentifier` (apply a policy to a record's fields), :func:`no_network`.

Presidio is imported on first use of a name that needs it (``Analyzer``,
``Deidentifier``, ``build_analyzer``, the checksum helpers), the ordinary way: importing
``posttrain.data`` loads no Presidio, and so does the parent process of a parallel data
build (its worker processes do the de-identification; see
:func:`~posttrain.data.deid.offline.import_presidio_in_worker`).
"""

from __future__ import annotations

import importlib
import typing

from posttrain.data.deid.entities import ENTITY_TYPES
from posttrain.data.deid.offline import no_network
from posttrain.data.deid.policy import DeidPolicy, RecordDeid
from posttrain.errors import NetworkAccessError

if typing.TYPE_CHECKING:
    from typing import Any

    from posttrain.data.deid.deidentifier import Deidentifier
    from posttrain.data.deid.engine import Analyzer, build_analyzer
    from posttrain.data.deid.recognizers import id_card_checksum_ok, luhn_ok

__all__ = [
    "ENTITY_TYPES",
    "Analyzer",
    "DeidPolicy",
    "Deidentifier",
    "NetworkAccessError",
    "RecordDeid",
    "build_analyzer",
    "id_card_checksum_ok",
    "luhn_ok",
    "no_network",
]

_LAZY = {
    "Analyzer": "posttrain.data.deid.engine",
    "build_analyzer": "posttrain.data.deid.engine",
    "Deidentifier": "posttrain.data.deid.deidentifier",
    "id_card_checksum_ok": "posttrain.data.deid.recognizers",
    "luhn_ok": "posttrain.data.deid.recognizers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
