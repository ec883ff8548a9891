"""Recall and precision of the de-identification analyzer on the labelled PII set.

The set (``resources/pii/labelled.jsonl``, made by ``make_labelled.py`` beside it) holds
English and Chinese strings with their PII spans, and hard negatives (order numbers,
prices, tracking numbers, dates, versions...) that must not be flagged.

Scoring, per entity type:

* an expected entity is *found* when detections together cover its whole span (a
  partly redacted card number still leaks); recall = found / expected;
* a detection is *correct* when it overlaps an expected entity (of any type: redacting a
  card number as an ID number still protects it; ``type_mismatches`` counts those);
  precision = correct / detections.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from posttrain.data.deid import ENTITY_TYPES, DeidPolicy
from posttrain.errors import InputError

if TYPE_CHECKING:
    from posttrain.data.deid import Analyzer

__all__ = ["EntityScore", "LabelledItem", "PiiEvalResult", "evaluate_pii", "load_labelled"]

RECALL_TARGET = 0.99
PRECISION_TARGET = 0.95


class LabelledEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    start: int
    end: int
    value: str


class LabelledItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    lang: str
    text: str
    entities: list[LabelledEntity]
    kind: str


class EntityScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected: int
    found: int
    detections: int
    correct: int
    recall: float
    precision: float


class PiiEvalResult(BaseModel):
    """What ``posttrain data pii-eval`` reports."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    set_path: str
    items: int
    positives: int
    negatives: int
    policy: str
    recall: float
    precision: float
    recall_target: float = RECALL_TARGET
    precision_target: float = PRECISION_TARGET
    passed: bool
    per_entity: dict[str, EntityScore]
    type_mismatches: int
    missed: list[str] = Field(default_factory=list)  # item ids (never the values)
    false_positives: list[str] = Field(default_factory=list)  # item ids

    @property
    def exit_code(self) -> int:
        """0 when recall and precision meet their targets, else 1."""
        return 0 if self.passed else 1


def default_set_path() -> Path:
    return Path(str(resources.files("posttrain.resources").joinpath("pii/labelled.jsonl")))


def load_labelled(path: Path | None = None) -> list[LabelledItem]:
    """Read the labelled set; raises :class:`InputError` with the line on a bad record."""
    path = path or default_set_path()
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the labelled PII set: {exc}", path=str(path)) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(LabelledItem.model_validate_json(line))
        except ValueError as exc:
            raise InputError(f"not a labelled item: {exc}", path=str(path), line=n) from None
    return items


def evaluate_pii(
    path: Path | None = None, policy: DeidPolicy | None = None, analyzer: Analyzer | None = None
) -> PiiEvalResult:
    """Run the analyzer over the labelled set and score it per entity type."""
    from posttrain.data.deid import Analyzer  # imports Presidio: on first use only

    policy = policy or DeidPolicy()
    analyzer = analyzer or Analyzer()
    items = load_labelled(path)
    stats: dict[str, dict[str, int]] = defaultdict(
        lambda: {"expected": 0, "found": 0, "detections": 0, "correct": 0}
    )
    missed: list[str] = []
    false_pos: list[str] = []
    mismatches = 0
    for item in items:
        found = analyzer.analyze(item.text, policy.score_threshold)
        for ent in item.entities:
            s = stats[ent.type]
            s["expected"] += 1
            covered = _covered(ent.start, ent.end, [(r.start, r.end) for r in found])
            if covered:
                s["found"] += 1
            elif item.id not in missed:
                missed.append(item.id)
        for r in found:
            s = stats[r.entity_type]
            s["detections"] += 1
            hits = [e for e in item.entities if r.start < e.end and e.start < r.end]
            if hits:
                s["correct"] += 1
                mismatches += sum(1 for e in hits if e.type != r.entity_type)
            elif item.id not in false_pos:
                false_pos.append(item.id)
    per_entity = {
        etype: EntityScore(
            **s,
            recall=_ratio(s["found"], s["expected"]),
            precision=_ratio(s["correct"], s["detections"]),
        )
        for etype, s in sorted(stats.items(), key=lambda kv: ENTITY_TYPES.index(kv[0]))
    }
    recall = _ratio(
        sum(s["found"] for s in stats.values()), sum(s["expected"] for s in stats.values())
    )
    precision = _ratio(
        sum(s["correct"] for s in stats.values()), sum(s["detections"] for s in stats.values())
    )
    return PiiEvalResult(
        set_path=str(path or default_set_path()),
        items=len(items),
        positives=sum(1 for i in items if i.entities),
        negatives=sum(1 for i in items if not i.entities),
        policy=policy.label,
        recall=recall,
        precision=precision,
        passed=recall >= RECALL_TARGET and precision >= PRECISION_TARGET,
        per_entity=per_entity,
        type_mismatches=mismatches,
        missed=missed,
        false_positives=false_pos,
    )


def _covered(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    pos = start
    for s, e in sorted(spans):
        if s <= pos < e:
            pos = e
        if pos >= end:
            return True
    return pos >= end


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 1.0


def dump(result: PiiEvalResult) -> str:
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2)
