"""The de-identification policy and its application to one record.

A :class:`DeidPolicy` is versioned: its ``policy_id`` and content hash go into the
manifest and datasheet of every build. Per entity type it says what happens:

* ``placeholder``: replace with a typed placeholder numbered within the record
  (``<PHONE_1>``; the same value gets the same placeholder in every field of the record);
* ``hash``: replace with ``<PHONE:3f9a0c1d2b4e>``, an HMAC-SHA256 of the value under a
  secret key read from an environment variable (a plain hash of a phone number is
  reversible by enumeration, so an unkeyed hash is not offered);
* ``drop``: the whole record is quarantined (reason only, no content).

The policy is plain data (no Presidio import); :class:`~.deidentifier.Deidentifier`
applies it through Presidio's ``AnonymizerEngine`` with a ``custom`` operator.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from posttrain.data.deid.entities import ENTITY_TYPES
from posttrain.errors import ConfigError

__all__ = ["Action", "DeidPolicy", "RecordDeid"]

Action = Literal["placeholder", "hash", "drop"]


def _default_actions() -> dict[str, Action]:
    return {e: "placeholder" for e in ENTITY_TYPES}


class DeidPolicy(BaseModel):
    """What to do with each entity type; versioned and hashed into the manifest."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = "posttrain-deid"
    version: int = 1
    score_threshold: float = Field(0.5, gt=0.0, le=1.0)
    actions: dict[str, Action] = Field(default_factory=_default_actions)
    hash_key_env: str = "POSTTRAIN_DEID_KEY"

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

    def hash_key(self) -> bytes | None:
        """The HMAC key for the ``hash`` action (``None`` when no entity is hashed).

        Raises :class:`~posttrain.errors.ConfigError` when it is needed but not set.
        """
        if "hash" not in self.actions.values():
            return None
        key = os.environ.get(self.hash_key_env, "")
        if not key:
            raise ConfigError(
                f"the de-identification policy hashes some entities but "
                f"${self.hash_key_env} is not set",
                hint=f"export {self.hash_key_env}=<a long random secret> (keep it out "
                "of the workspace), or use the action 'placeholder'",
            )
        return key.encode()

    def content_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()


class RecordDeid(BaseModel):
    """The outcome of de-identifying one record's fields."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str | None]
    entities: dict[str, int] = Field(default_factory=dict)  # entity type -> spans replaced
    dropped_for: list[str] = Field(default_factory=list)  # entity types whose action is drop
