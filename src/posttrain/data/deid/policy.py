"""The de-identification policy and its application to one record.

A :class:`DeidPolicy` is versioned: its ``policy_id`` and content hash go into the
manifest and datasheet of every build. Per entity type it says what happens:

* ``placeholder``: replace with a typed placeholder numbered within the record
  (``<PHONE_1>``; the same value gets the same placeholder in every field of the record);
* ``hash``: replace with ``<PHONE:3f9a0c1d2b4e>``, an HMAC-SHA256 of the value under a
  secret key read from an environment variable (a plain hash of a phone number is
  reversible by enumeration, so an unkeyed hash is not offered);
* ``drop``: the whole record is quarantined (reason only, no content).

Replacement goes through Presidio's ``AnonymizerEngine`` with a ``custom`` operator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections import Counter
from collections.abc import Mapping
from typing import Literal

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from pydantic import BaseModel, ConfigDict, Field, field_validator

from posttrain.data.deid.engine import Analyzer
from posttrain.data.deid.recognizers import ENTITY_TYPES
from posttrain.errors import ConfigError

__all__ = ["Action", "DeidPolicy", "Deidentifier", "RecordDeid"]

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

    def content_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()


class RecordDeid(BaseModel):
    """The outcome of de-identifying one record's fields."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str | None]
    entities: dict[str, int] = Field(default_factory=dict)  # entity type -> spans replaced
    dropped_for: list[str] = Field(default_factory=list)  # entity types whose action is drop


class Deidentifier:
    """Applies a :class:`DeidPolicy` to the text fields of records."""

    def __init__(self, policy: DeidPolicy, analyzer: Analyzer | None = None) -> None:
        self.policy = policy
        self.analyzer = analyzer or Analyzer()
        self._anonymizer = AnonymizerEngine()
        self._key: bytes | None = None
        if "hash" in policy.actions.values():
            key = os.environ.get(policy.hash_key_env, "")
            if not key:
                raise ConfigError(
                    f"the de-identification policy hashes some entities but "
                    f"${policy.hash_key_env} is not set",
                    hint=f"export {policy.hash_key_env}=<a long random secret> (keep it out "
                    "of the workspace), or use the action 'placeholder'",
                )
            self._key = key.encode()

    def find(self, text: str) -> list[RecognizerResult]:
        return self.analyzer.analyze(text, self.policy.score_threshold)

    def redact_text(self, text: str) -> str:
        """De-identify a single free-standing string (messages, excerpts, ids)."""
        return self.apply({"text": text}).fields["text"] or ""

    def apply(self, fields: Mapping[str, str | None]) -> RecordDeid:
        """De-identify ``fields`` of one record with placeholders consistent across them."""
        found = {k: self.find(v) if v else [] for k, v in fields.items()}
        counts: Counter[str] = Counter()
        drop: set[str] = set()
        for results in found.values():
            for r in results:
                counts[r.entity_type] += 1
                if self.policy.actions[r.entity_type] == "drop":
                    drop.add(r.entity_type)
        if drop:
            return RecordDeid(fields={}, entities=dict(counts), dropped_for=sorted(drop))
        if not counts:
            return RecordDeid(fields=dict(fields))
        # Number placeholders in reading order across the fields, before replacing.
        numbering: dict[tuple[str, str], str] = {}
        for name, text in fields.items():
            for r in found[name]:
                assert text is not None  # results exist only for non-empty text
                key = (r.entity_type, _canonical(r.entity_type, text[r.start : r.end]))
                if key not in numbering:
                    numbering[key] = self._placeholder(key, numbering)
        out: dict[str, str | None] = {}
        for name, text in fields.items():
            results = found[name]
            if not text or not results:
                out[name] = text
                continue
            operators = {
                etype: OperatorConfig(
                    "custom",
                    {"lambda": lambda v, e=etype: numbering[(e, _canonical(e, v))]},
                )
                for etype in {r.entity_type for r in results}
            }
            out[name] = self._anonymizer.anonymize(
                text=text,
                analyzer_results=results,  # type: ignore[arg-type]  # same fields, other class
                operators=operators,
            ).text
        return RecordDeid(fields=out, entities=dict(counts))

    def _placeholder(self, key: tuple[str, str], numbering: dict[tuple[str, str], str]) -> str:
        etype, value = key
        if self.policy.actions[etype] == "hash":
            assert self._key is not None  # checked in __init__
            digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
            return f"<{etype}:{digest[:12]}>"
        n = 1 + sum(1 for k in numbering if k[0] == etype)
        return f"<{etype}_{n}>"


def _canonical(etype: str, value: str) -> str:
    """The same phone written 138-0013-8000 and 13800138000 gets the same placeholder."""
    if etype in ("PHONE", "BANK_CARD", "ID_CARD"):
        return "".join(ch for ch in value if ch.isdigit() or ch in "+Xx").upper()
    return value.lower() if etype == "EMAIL" else value
