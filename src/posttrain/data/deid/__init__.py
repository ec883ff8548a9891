"""De-identification: offline Presidio recognizers for PII and credentials, and a policy.

Public API: :class:`Analyzer` (find spans), :class:`DeidPolicy` (what to do per entity
type), :class:`Deidentifier` (apply a policy to a record's fields), :func:`no_network`.
"""

import sys

# presidio_analyzer imports transformers and torch (for NLP engines we never use): ~10 s
# on this machine. Where neither is loaded yet, hide them while presidio imports; its
# optional-dependency fallbacks take over and the import takes ~1.5 s.
_hidden = [m for m in ("torch", "transformers") if m not in sys.modules]
for _m in _hidden:
    sys.modules[_m] = None  # type: ignore[assignment]
try:
    import presidio_analyzer  # noqa: F401
    import presidio_anonymizer  # noqa: F401
finally:
    for _m in _hidden:
        del sys.modules[_m]

from posttrain.data.deid.engine import Analyzer, NetworkAccessError, build_analyzer, no_network  # noqa: E402
from posttrain.data.deid.policy import Deidentifier, DeidPolicy, RecordDeid  # noqa: E402
from posttrain.data.deid.recognizers import ENTITY_TYPES, id_card_checksum_ok, luhn_ok  # noqa: E402

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
