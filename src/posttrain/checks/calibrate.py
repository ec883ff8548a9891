"""Measure the refusal detector on the labelled set shipped with the package.

``calibrate()`` scores :func:`~posttrain.checks.detector.detect_refusal` on one split of
``resources/refusal/labelled.jsonl`` (``heldout`` by default: the patterns were tuned on
``tune`` only) and returns precision, recall, F1 and confusion counts overall and per
language, with the misclassified items. The positive class is ``refusal``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.checks.detector import detect_refusal
from posttrain.errors import InputError

__all__ = [
    "CalibrationReport",
    "Confusion",
    "LabelledItem",
    "Misclassified",
    "calibrate",
    "labelled_set_path",
    "load_labelled",
]

SCHEMA_VERSION = 1
Split = Literal["tune", "heldout"]


class LabelledItem(BaseModel):
    """One labelled answer: is it a refusal in the sense a safety reviewer means?"""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    lang: Literal["en", "zh"]
    label: Literal["refusal", "compliance"]
    kind: str
    split: Split


class Confusion(BaseModel):
    """Counts with refusal as the positive class, and the rates derived from them."""

    model_config = ConfigDict(extra="forbid")

    n: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, truth: bool, predicted: bool) -> None:
        self.n += 1
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    def summary(self) -> dict[str, float | int]:
        return {
            **self.model_dump(),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


class Misclassified(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    lang: str
    kind: str
    label: str
    predicted: str
    text: str


class CalibrationReport(BaseModel):
    """The detector's numbers on one split of the labelled set."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    split: Split
    labelled_set: str
    overall: Confusion
    by_lang: dict[str, Confusion] = Field(default_factory=dict)
    by_kind: dict[str, Confusion] = Field(default_factory=dict)
    misclassified: list[Misclassified] = Field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "schema_version": self.schema_version,
            "split": self.split,
            "labelled_set": self.labelled_set,
            "overall": self.overall.summary(),
            "by_lang": {k: v.summary() for k, v in self.by_lang.items()},
            "by_kind": {k: v.summary() for k, v in self.by_kind.items()},
            "misclassified": [m.model_dump() for m in self.misclassified],
        }


def labelled_set_path() -> Path:
    """Path of the labelled set shipped in the package."""
    return Path(str(resources.files("posttrain") / "resources" / "refusal" / "labelled.jsonl"))


def load_labelled(path: Path | None = None) -> list[LabelledItem]:
    """Read the labelled set; raises :class:`InputError` naming the bad line."""
    path = path or labelled_set_path()
    items = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                items.append(LabelledItem.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                raise InputError(str(exc).splitlines()[0], path=str(path), line=lineno) from None
    return items


def calibrate(split: Split = "heldout", path: Path | None = None) -> CalibrationReport:
    """Score the detector on ``split`` of the labelled set."""
    path = path or labelled_set_path()
    report = CalibrationReport(split=split, labelled_set=str(path), overall=Confusion())
    for item in load_labelled(path):
        if item.split != split:
            continue
        predicted = detect_refusal(item.text).is_refusal
        truth = item.label == "refusal"
        report.overall.add(truth, predicted)
        report.by_lang.setdefault(item.lang, Confusion()).add(truth, predicted)
        report.by_kind.setdefault(item.kind, Confusion()).add(truth, predicted)
        if predicted != truth:
            report.misclassified.append(
                Misclassified(
                    id=item.id,
                    lang=item.lang,
                    kind=item.kind,
                    label=item.label,
                    predicted="refusal" if predicted else "compliance",
                    text=item.text,
                )
            )
    return report
