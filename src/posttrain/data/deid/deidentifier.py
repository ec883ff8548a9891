"""Applying a :class:`~.policy.DeidPolicy` to the text fields of one record."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Mapping

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from posttrain.data.deid.engine import Analyzer
from posttrain.data.deid.policy import DeidPolicy, RecordDeid

__all__ = ["Deidentifier"]


class Deidentifier:
    """Applies a :class:`DeidPolicy` to the text fields of records."""

    def __init__(self, policy: DeidPolicy, analyzer: Analyzer | None = None) -> None:
        self.policy = policy
        self.analyzer = analyzer or Analyzer()
        self._anonymizer = AnonymizerEngine()
        self._key = policy.hash_key()

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
