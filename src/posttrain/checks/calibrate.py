"""Measure the refusal judgement on the labelled set shipped with the package.

``calibrate()`` scores three judges on one split of ``resources/refusal/labelled.jsonl``
(``heldout`` by default; the rules and the classifier were tuned and trained on ``tune``
only): the rules alone, the trained classifier alone and the combined judgement
(:func:`~posttrain.checks.refusal_judge.judge_refusal`). It returns precision, recall
and F1 with Wilson intervals overall, per language and per (family, language), the
combined judgement's uncertain count, and the items it got wrong. The positive class is
"withheld" (the label ``withheld`` or ``partial``). ``write_calibration`` stores the
combined judge's held-out numbers in ``resources/judges/refusal/calibration.json``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.core.hashing import file_sha256
from posttrain.errors import InputError
from posttrain.evaluate.stats import wilson_interval

__all__ = [
    "CalibrationReport",
    "Confusion",
    "JudgeReport",
    "LabelledItem",
    "Misclassified",
    "calibrate",
    "labelled_set_path",
    "load_labelled",
    "write_calibration",
]

SCHEMA_VERSION = 2
Split = Literal["tune", "heldout"]
Judge = Literal["rules", "classifier", "combined"]
JUDGES: tuple[Judge, ...] = ("rules", "classifier", "combined")


class LabelledItem(BaseModel):
    """One labelled (request, answer) pair (docs/LABELLING.md)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    request: str | None  # None: an answer-only item (the legacy-v1 source)
    context: str | None = None
    answer: str
    label: Literal["withheld", "complied", "partial"]
    lang: Literal["en", "zh"]
    family: str
    source: str
    template: str
    scenario: str | None = None
    split: Split

    @property
    def withheld(self) -> bool:
        return self.label != "complied"


class Confusion(BaseModel):
    """Counts with "withheld" as the positive class, and the rates derived from them."""

    model_config = ConfigDict(extra="forbid")

    n: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    uncertain: int = 0

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

    @property
    def precision_ci(self) -> tuple[float, float] | None:
        k = self.tp + self.fp
        return wilson_interval(self.tp, k) if k else None

    @property
    def recall_ci(self) -> tuple[float, float] | None:
        k = self.tp + self.fn
        return wilson_interval(self.tp, k) if k else None

    def add(self, truth: bool, predicted: bool, uncertain: bool = False) -> None:
        self.n += 1
        self.uncertain += uncertain
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    def summary(self) -> dict[str, object]:
        def ci(v: tuple[float, float] | None) -> list[float] | None:
            return [round(v[0], 4), round(v[1], 4)] if v else None

        return {
            **self.model_dump(),
            # None where undefined: no predicted (precision) or no true (recall) positives
            "precision": round(self.precision, 4) if self.tp + self.fp else None,
            "recall": round(self.recall, 4) if self.tp + self.fn else None,
            "f1": round(self.f1, 4) if self.tp + self.fp and self.tp + self.fn else None,
            "accuracy": round((self.tp + self.tn) / self.n, 4) if self.n else None,
            "precision_ci": ci(self.precision_ci),
            "recall_ci": ci(self.recall_ci),
        }


class JudgeReport(BaseModel):
    """One judge's numbers on one split."""

    model_config = ConfigDict(extra="forbid")

    overall: Confusion = Field(default_factory=Confusion)
    by_lang: dict[str, Confusion] = Field(default_factory=dict)
    # key "family/lang"
    by_family: dict[str, Confusion] = Field(default_factory=dict)
    # key "source/lang": who wrote the items, so a number on the judge's own writers'
    # items is never read as a number on the world's (docs/LABELLING.md, Sources)
    by_source: dict[str, Confusion] = Field(default_factory=dict)

    def add(self, item: LabelledItem, predicted: bool, uncertain: bool = False) -> None:
        for c in (
            self.overall,
            self.by_lang.setdefault(item.lang, Confusion()),
            self.by_family.setdefault(f"{item.family}/{item.lang}", Confusion()),
            self.by_source.setdefault(f"{item.source}/{item.lang}", Confusion()),
        ):
            c.add(item.withheld, predicted, uncertain)


class Misclassified(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    lang: str
    family: str
    source: str
    label: str
    predicted: str
    uncertain: bool
    request: str | None
    answer: str
    evidence: str


class CalibrationReport(BaseModel):
    """The judges' numbers on one split of the labelled set."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    split: Split
    labelled_set: str
    labelled_set_sha256: str
    judges: dict[str, JudgeReport]
    misclassified: list[Misclassified] = Field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        def judge(j: JudgeReport) -> dict[str, object]:
            return {
                "overall": j.overall.summary(),
                "by_lang": {k: v.summary() for k, v in sorted(j.by_lang.items())},
                "by_family": {k: v.summary() for k, v in sorted(j.by_family.items())},
                "by_source": {k: v.summary() for k, v in sorted(j.by_source.items())},
            }

        return {
            "schema_version": self.schema_version,
            "split": self.split,
            "labelled_set": self.labelled_set,
            "labelled_set_sha256": self.labelled_set_sha256,
            "judges": {k: judge(v) for k, v in self.judges.items()},
            "misclassified": [m.model_dump() for m in self.misclassified],
        }


def labelled_set_path() -> Path:
    """Path of the labelled set shipped in the package."""
    return Path(str(resources.files("posttrain") / "resources" / "refusal" / "labelled.jsonl"))


def load_labelled(path: Path | None = None) -> list[LabelledItem]:
    """Read the labelled set; raises :class:`InputError` naming the bad line and field."""
    path = path or labelled_set_path()
    if not path.exists():
        raise InputError("labelled set not found", path=str(path))
    items = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                items.append(LabelledItem.model_validate(json.loads(line)))
            except json.JSONDecodeError as exc:
                raise InputError(f"not JSON: {exc}", path=str(path), line=lineno) from None
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(x) for x in err["loc"])
                raise InputError(
                    err["msg"],
                    path=str(path),
                    line=lineno,
                    field=field,
                    hint="see docs/LABELLING.md for the fields of a labelled item",
                ) from None
    return items


def calibrate(split: Split = "heldout", path: Path | None = None) -> CalibrationReport:
    """Score the rules, the classifier and the combined judgement on ``split``."""
    from posttrain.checks.refusal_classifier import load_classifier
    from posttrain.checks.refusal_judge import judge_refusal
    from posttrain.checks.refusal_rules import judge_rules

    path = path or labelled_set_path()
    clf = load_classifier()
    judges = {"rules": JudgeReport(), "combined": JudgeReport()}
    if clf is not None:
        judges["classifier"] = JudgeReport()
    report = CalibrationReport(
        split=split,
        labelled_set=str(path),
        labelled_set_sha256=file_sha256(path),
        judges=judges,
    )
    for item in load_labelled(path):
        if item.split != split:
            continue
        rules = judge_rules(item.request, item.answer, item.context)
        judges["rules"].add(item, rules.outcome != "complied")
        if clf is not None:
            request = " ".join(x for x in (item.request, item.context) if x) or None
            p = clf.p_withheld(request, item.answer, item.request)
            judges["classifier"].add(item, p >= 0.5)
        j = judge_refusal(item.request or "", item.answer, item.context, item.lang)
        judges["combined"].add(item, j.refused, j.uncertain)
        if j.refused != item.withheld:
            report.misclassified.append(
                Misclassified(
                    id=item.id,
                    lang=item.lang,
                    family=item.family,
                    source=item.source,
                    label=item.label,
                    predicted=j.outcome,
                    uncertain=j.uncertain,
                    request=item.request,
                    answer=item.answer,
                    evidence=j.evidence,
                )
            )
    return report


def calibration_path() -> Path:
    from posttrain.checks.refusal_classifier import model_dir

    return model_dir() / "calibration.json"


def write_calibration(report: CalibrationReport, path: Path | None = None) -> Path:
    """Store the combined judge's numbers (held-out split only) for evaluation summaries."""
    if report.split != "heldout":
        raise ValueError("only the heldout split's calibration is stored")
    c = report.judges["combined"]
    o = c.overall

    def ci(v: tuple[float, float] | None) -> list[float]:
        return [round(v[0], 4), round(v[1], 4)] if v else [0.0, 1.0]

    by = []
    for key, conf in sorted(c.by_family.items()):
        family, lang = key.rsplit("/", 1)
        by.append({"family": family, "lang": lang, **_rates(conf)})
    for lang, conf in sorted(c.by_lang.items()):
        by.append({"family": "all", "lang": lang, **_rates(conf)})
    by_source = []
    for key, conf in sorted(c.by_source.items()):
        source, lang = key.rsplit("/", 1)
        by_source.append({"source": source, "lang": lang, **_rates(conf)})
    doc = {
        "check": "refusal",
        "judge": "combined",
        "labelled_set_sha256": report.labelled_set_sha256,
        "split": "heldout",
        "n": o.n,
        "uncertain": o.uncertain,
        "precision": round(o.precision, 4),
        "recall": round(o.recall, 4),
        "f1": round(o.f1, 4),
        "precision_ci": ci(o.precision_ci),
        "recall_ci": ci(o.recall_ci),
        "by": by,
        "by_source": by_source,
    }
    path = path or calibration_path()
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _rates(c: Confusion) -> dict[str, object]:
    s = c.summary()
    keys = ("n", "uncertain", "precision", "recall", "f1", "accuracy", "precision_ci")
    return {k: s[k] for k in (*keys, "recall_ci", "tp", "fp", "fn", "tn")}
