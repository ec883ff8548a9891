"""Recall and precision of the de-identification analyzer on the labelled PII set.

The set (``resources/pii/labelled.jsonl``, made by ``make_labelled.py`` beside it) holds
English and Chinese strings with their PII spans, and hard negatives (order numbers,
prices, tracking numbers, dates, versions, product and street names...) that must not be
flagged. Names and addresses sit in free text, JSON tool results and order notes. Each
item names its ``source`` (the template family it was written from) and its ``split``:
``tune`` (what the recognizers may be adjusted on) or ``heldout`` (template families and
name / address lists of their own, never looked at while tuning). The set is written by
the same people as the recognizers, so even the held-out part is not an independent
benchmark: it measures generalisation to new templates and new values, not to real data.

Detection is the de-identifier's (:meth:`~posttrain.data.deid.Deidentifier.locate`):
what the data build replaces, JSON values under personal keys included.

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
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.data.deid import ENTITY_TYPES, DeidPolicy
from posttrain.errors import InputError

if TYPE_CHECKING:
    from posttrain.data.deid import Analyzer

__all__ = [
    "EntityScore",
    "LabelledItem",
    "PiiEvalResult",
    "evaluate_pii",
    "load_labelled",
    "score_names_file",
]

RECALL_TARGET = 0.99
PRECISION_TARGET = 0.95
# names and addresses: per-type recall on the held-out split, in each language
HELDOUT_RECALL_TARGET = 0.95
HELDOUT_TYPES = ("PERSON", "ADDRESS")
LANGS = ("en", "zh")


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
    source: str = ""  # the template family
    split: Literal["tune", "heldout"] = "tune"


class EntityScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected: int
    found: int
    detections: int
    correct: int
    recall: float
    precision: float

    @classmethod
    def of(cls, counts: dict[str, int]) -> EntityScore:
        """The score of ``expected`` / ``found`` / ``detections`` / ``correct`` counts."""
        return cls(
            **counts,
            recall=_ratio(counts["found"], counts["expected"]),
            precision=_ratio(counts["correct"], counts["detections"]),
        )


def _counts() -> dict[str, int]:
    return {"expected": 0, "found": 0, "detections": 0, "correct": 0}


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
    heldout_recall_target: float = HELDOUT_RECALL_TARGET
    passed: bool
    # why it did not pass (empty when it did)
    failed_targets: list[str] = Field(default_factory=list)
    per_entity: dict[str, EntityScore]
    # "<type>/<lang>" -> score, over the whole set and over each split
    per_entity_lang: dict[str, EntityScore] = Field(default_factory=dict)
    per_split: dict[str, dict[str, EntityScore]] = Field(default_factory=dict)
    # held-out names and addresses by where they come from ("<source> <type>/<lang>": a
    # blind file of Chinese names, or a template family): each source was written apart,
    # so their spread says more of how the recognizers carry to new text than the total
    heldout_by_source: dict[str, EntityScore] = Field(default_factory=dict)
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
    path: Path | None = None,
    policy: DeidPolicy | None = None,
    analyzer: Analyzer | None = None,
) -> PiiEvalResult:
    """Run the de-identifier's detection over the labelled set and score it per entity
    type, per type and language, and per split (see the module docstring).

    Passes when recall over the whole set reaches :data:`RECALL_TARGET` for every type
    but names and addresses, precision reaches :data:`PRECISION_TARGET`, and names and
    addresses reach :data:`HELDOUT_RECALL_TARGET` on the held-out split in each language.
    """
    from posttrain.data.deid import Deidentifier  # imports Presidio: on first use only

    policy = policy or DeidPolicy()
    deid = Deidentifier(policy.model_copy(update={"actions": {}}), analyzer)
    items = load_labelled(path)
    stats: dict[tuple[str, str, str], dict[str, int]] = defaultdict(_counts)
    missed: list[str] = []
    false_pos: list[str] = []
    mismatches = 0
    by_source: dict[str, dict[str, int]] = defaultdict(_counts)
    for item in items:
        found = deid.locate(item.text)
        group = _source_group(item.source) if item.split == "heldout" else None
        for ent in item.entities:
            s = stats[(ent.type, item.lang, item.split)]
            s["expected"] += 1
            ok = _covered(ent.start, ent.end, [(a, b) for _, a, b in found])
            if ok:
                s["found"] += 1
            elif item.id not in missed:
                missed.append(item.id)
            if group is not None and ent.type in HELDOUT_TYPES:
                g = by_source[f"{group} {ent.type}/{item.lang}"]
                g["expected"] += 1
                g["found"] += ok
        for etype, start, end in found:
            s = stats[(etype, item.lang, item.split)]
            s["detections"] += 1
            hits = [e for e in item.entities if start < e.end and e.start < end]
            if hits:
                s["correct"] += 1
                mismatches += sum(1 for e in hits if e.type != etype)
            elif item.id not in false_pos:
                false_pos.append(item.id)
            if group is not None and etype in HELDOUT_TYPES:
                g = by_source[f"{group} {etype}/{item.lang}"]
                g["detections"] += 1
                g["correct"] += bool(hits)

    def order(key: str) -> tuple[int, str]:
        etype = key.split("/")[0]
        return (ENTITY_TYPES.index(etype) if etype in ENTITY_TYPES else 99, key)

    def scores(keyf: Callable[[tuple[str, str, str]], str | None]) -> dict[str, EntityScore]:
        sums: dict[str, dict[str, int]] = defaultdict(_counts)
        for k, s in stats.items():
            name = keyf(k)
            if name is not None:
                for f, v in s.items():
                    sums[name][f] += v
        return {n: EntityScore.of(s) for n, s in sorted(sums.items(), key=lambda kv: order(kv[0]))}

    per_entity = scores(lambda k: k[0])
    per_lang = scores(lambda k: f"{k[0]}/{k[1]}")
    per_split = {
        split: scores(lambda k, sp=split: f"{k[0]}/{k[1]}" if k[2] == sp else None)  # type: ignore[misc]
        for split in ("tune", "heldout")
    }
    old = [s for k, s in stats.items() if k[0] not in HELDOUT_TYPES]
    recall_old = _ratio(sum(s["found"] for s in old), sum(s["expected"] for s in old))
    recall = _ratio(
        sum(s["found"] for s in stats.values()), sum(s["expected"] for s in stats.values())
    )
    precision = _ratio(
        sum(s["correct"] for s in stats.values()), sum(s["detections"] for s in stats.values())
    )
    failed: list[str] = []
    if recall_old < RECALL_TARGET:
        failed.append(f"recall of the other types {recall_old} < {RECALL_TARGET}")
    if precision < PRECISION_TARGET:
        failed.append(f"precision {precision} < {PRECISION_TARGET}")
    held = per_split["heldout"]
    for etype in HELDOUT_TYPES:
        for lang in LANGS:
            sc = held.get(f"{etype}/{lang}")
            if sc is None or sc.expected == 0:
                failed.append(f"no held-out {etype}/{lang} items")
            elif sc.recall < HELDOUT_RECALL_TARGET:
                failed.append(
                    f"held-out recall of {etype}/{lang} {sc.recall} < {HELDOUT_RECALL_TARGET}"
                )
    return PiiEvalResult(
        set_path=str(path or default_set_path()),
        items=len(items),
        positives=sum(1 for i in items if i.entities),
        negatives=sum(1 for i in items if not i.entities),
        policy=policy.label,
        recall=recall,
        precision=precision,
        passed=not failed,
        failed_targets=failed,
        per_entity=per_entity,
        per_entity_lang=per_lang,
        per_split=per_split,
        heldout_by_source={
            k: EntityScore.of(v)
            # the blind files in the order they were written (blind_ is the first)
            for k, v in sorted(by_source.items(), key=lambda kv: kv[0].replace("blind_", "blind1_"))
        },
        type_mismatches=mismatches,
        missed=missed,
        false_positives=false_pos,
    )


def score_names_file(
    path: Path, analyzer: Analyzer | None = None, types: tuple[str, ...] = HELDOUT_TYPES
) -> dict[str, EntityScore]:
    """Recall and precision per entity type on one marked-up file of Chinese names in
    context (``resources/pii/*_zh_names.txt``: ``[[P:name]]`` marks, as
    ``make_labelled.zh_name_rows`` reads them), scored as :func:`evaluate_pii` scores:
    what the de-identifier would replace, a detection correct where it overlaps any
    marked entity. For the tune files kept out of the labelled set and for a quick look
    at one blind file."""
    from posttrain.data.deid import Deidentifier, DeidPolicy
    from posttrain.resources.pii.make_labelled import zh_name_rows

    deid = Deidentifier(DeidPolicy().model_copy(update={"actions": {}}), analyzer)
    stats = {t: _counts() for t in types}
    for row in zh_name_rows(path, "score"):
        text = str(row["text"])
        entities: list[dict[str, object]] = row["entities"]  # type: ignore[assignment]
        marked = [(int(e["start"]), int(e["end"]), str(e["type"])) for e in entities]  # type: ignore[call-overload]
        found = deid.locate(text)
        for etype, c in stats.items():
            spans = [(a, b) for t, a, b in found if t == etype]
            for a, b, t in marked:
                if t == etype:
                    c["expected"] += 1
                    c["found"] += _covered(a, b, spans)
            for a, b in spans:
                c["detections"] += 1
                c["correct"] += any(a < e and s < b for s, e, _ in marked)
    return {t: EntityScore.of(c) for t, c in stats.items()}


def _source_group(source: str) -> str:
    """Where a held-out item comes from: its names file (``names.zh:blind5_zh_names.txt:12``
    -> ``blind5_zh_names.txt``), else its template family (``free.order_note`` -> ``free``)."""
    if source.startswith("names.zh:"):
        return source.split(":")[1]
    return source.split(".")[0]


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
