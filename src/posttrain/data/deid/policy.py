"""The de-identification policy and its application to one record.

A :class:`DeidPolicy` is versioned: its ``policy_id`` and content hash go into the
manifest and datasheet of every build. Per entity type it says what is retained
(the ``actions``, set in the data config under ``policy: actions:``):

* ``placeholder``: replace with a typed placeholder numbered within the record
  (``<PHONE_1>``; the same value gets the same placeholder in every field of the record);
* ``hash``: replace with ``<PHONE:3f9a0c1d2b4e>``, an HMAC-SHA256 of the value under the
  workspace secret (:mod:`.secret`: ``.posttrain/deid.key``, created on first use, or
  ``$POSTTRAIN_DEID_KEY``): the same value gets the same token across records and builds
  of one workspace, so records of one customer can be linked without naming them; a plain
  hash of a phone number is reversible by enumeration, so an unkeyed hash is not offered;
* ``drop``: the value is removed and a short non-identifying summary takes its place
  (``an address in Shanghai``, ``一个上海的地址``, ``a phone number``; :mod:`.summary`);
* ``quarantine``: the whole record is quarantined (reason only, no content).

Defaults: addresses ``drop`` (the city is kept as a coarse fact: what a support answer
needs from an address), everything else ``placeholder``.

The policy is plain data (no Presidio import); :class:`~.deidentifier.Deidentifier`
applies it through Presidio's ``AnonymizerEngine`` with a ``custom`` operator.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from posttrain.data.deid.entities import ENTITY_TYPES
from posttrain.data.deid.secret import KEY_ENV, load_key

__all__ = ["DEFAULT_ACTIONS", "Action", "DeidPolicy", "RecordDeid"]

Action = Literal["placeholder", "hash", "drop", "quarantine"]

DEFAULT_ACTIONS: dict[str, Action] = dict.fromkeys(ENTITY_TYPES, "placeholder")
DEFAULT_ACTIONS["ADDRESS"] = "drop"


def _default_actions() -> dict[str, Action]:
    return dict(DEFAULT_ACTIONS)


class DeidPolicy(BaseModel):
    """What to do with each entity type; versioned and hashed into the manifest."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = "posttrain-deid"
    version: int = 2
    score_threshold: float = Field(0.5, gt=0.0, le=1.0)
    actions: dict[str, Action] = Field(default_factory=_default_actions)
    hash_key_env: str = KEY_ENV
    # the workspace whose secret keys the ``hash`` action (set by the data config; not
    # part of the policy's content hash: the same policy in two workspaces is one policy)
    _workspace: Path | None = PrivateAttr(default=None)

    @field_validator("actions")
    @classmethod
    def _known_entities(cls, v: dict[str, Action]) -> dict[str, Action]:
        unknown = sorted(set(v) - set(ENTITY_TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {', '.join(ENTITY_TYPES)}")
        return _default_actions() | v

    @property
    def label(self) -> str:
        return f"{self.policy_id}@v{self.version}"

    def bind_workspace(self, workspace: Path) -> DeidPolicy:
        """Key the ``hash`` action with ``workspace``'s secret; returns ``self``."""
        self._workspace = workspace
        return self

    def hash_key(self) -> bytes | None:
        """The HMAC key for the ``hash`` action (``None`` when no entity is hashed).

        ``$hash_key_env`` when set, else the bound workspace's ``.posttrain/deid.key``
        (created on first use). Raises :class:`~posttrain.errors.ConfigError` when it is
        needed and neither exists.
        """
        if "hash" not in self.actions.values():
            return None
        return load_key(self._workspace, self.hash_key_env)

    def content_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()


class RecordDeid(BaseModel):
    """The outcome of de-identifying one record's fields."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str | None]
    entities: dict[str, int] = Field(default_factory=dict)  # entity type -> spans replaced
    dropped_for: list[str] = Field(default_factory=list)  # entity types whose action is quarantine
