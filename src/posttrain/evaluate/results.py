"""What an evaluation writes: one :class:`ItemResult` a line in ``items.jsonl`` and an
:class:`EvalSummary` in ``summary.json`` beside it. The compare, audit and gate stages
read these files back through :func:`read_items` and :func:`read_summary`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.checks.base import VerdictStatus
from posttrain.core.jsonl import read_models
from posttrain.core.provenance import Provenance, provenance
from posttrain.errors import InputError
from posttrain.evaluate.metrics import Metrics
from posttrain.generation.base import FinishReason, GenerationParams

__all__ = [
    "ITEMS_FILE",
    "SUMMARY_FILE",
    "ClauseResult",
    "ClauseStat",
    "EvalSummary",
    "GuardStats",
    "GuardTrace",
    "HumanLabel",
    "ItemResult",
    "JudgeCalibration",
    "JudgeSummary",
    "Manifest",
    "RefusalOutcome",
    "VerdictSource",
    "build_manifest",
    "judge_summary",
    "read_calibration",
    "read_items",
    "read_summary",
]

ITEMS_FILE = "items.jsonl"
SUMMARY_FILE = "summary.json"
SCHEMA_VERSION = 1
# Who decided a verdict: the automatic judge, or a person's label (`posttrain review`).
VerdictSource = Literal["judge", "human"]
RefusalOutcome = Literal["withheld", "complied", "partial"]


class HumanLabel(BaseModel):
    """A person's refusal label for one answer (``posttrain review``), as evaluation
    applies it: it replaces the judge's refusal judgement and ``refusal`` clauses."""

    model_config = ConfigDict(extra="forbid")

    label: RefusalOutcome
    reviewer: str
    labelled_at: str

    @property
    def refused(self) -> bool:
        return self.label in ("withheld", "partial")


class ClauseResult(BaseModel):
    """The verdict of one contract clause on one item."""

    model_config = ConfigDict(extra="forbid")

    clause: str
    dimension: str
    severity: Literal["hard", "soft"]
    check: str
    status: VerdictStatus
    score: float | None = None
    evidence: str = ""
    # "human" when a reviewer's label replaced the judge's verdict on this clause.
    source: VerdictSource = "judge"


class GuardTrace(BaseModel):
    """What the guard did for one item."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(ge=1)
    retries: int = Field(ge=0)
    fallback: bool
    # The validation error that caused each retry (and the fallback), in order.
    errors: list[str] = Field(default_factory=list)


class ItemResult(BaseModel):
    """One evaluated item: the completion, its cost and every applicable clause's verdict."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str
    suite: str
    attack_class: str | None = None
    technique: str | None = None
    lang: str = "en"
    tags: list[str] = Field(default_factory=list)
    # The cache key: model fingerprint + conversation + generation parameters.
    key: str
    completion: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: FinishReason = "stop"
    cached: bool = False
    # Whether the refusal judgement reads the answer as withholding what was asked
    # (withheld or partial); None if the judge failed.
    refused: bool | None = None
    refusal_error: str | None = None
    # The judgement behind ``refused``: its outcome, whether its parts disagreed (an
    # uncertain item is counted apart by every metric, never as a pass), its evidence,
    # and who decided (a person's label from `posttrain review` wins over the judge).
    refusal_outcome: RefusalOutcome | None = None
    refusal_uncertain: bool = False
    refusal_evidence: str = ""
    refusal_source: VerdictSource = "judge"
    reviewer: str | None = None
    verdicts: list[ClauseResult] = Field(default_factory=list)
    guard: GuardTrace | None = None

    @property
    def group(self) -> str:
        """The class the item is reported under: its attack class, else ``regression``."""
        return self.attack_class or "regression"

    @property
    def outcome(self) -> VerdictStatus:
        """``fail`` if any clause failed, else ``error`` if any errored, else
        ``uncertain`` if any was uncertain, else ``pass``."""
        statuses = {v.status for v in self.verdicts}
        for status in ("fail", "error", "uncertain"):
            if status in statuses:
                return status
        return "pass"


class ClauseStat(BaseModel):
    """How one clause fared over a run, with its threshold when the contract sets one."""

    model_config = ConfigDict(extra="forbid")

    clause: str
    dimension: str
    severity: Literal["hard", "soft"]
    check: str
    n: int
    passed: int
    failed: int
    errors: int
    fail_rate: float | None
    fail_ci_low: float | None = None
    fail_ci_high: float | None = None
    # Verdicts whose judge was uncertain: in ``n``, neither passed nor failed.
    uncertain: int = 0


class GuardStats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_retries: int
    n: int
    retried_items: int
    retries: int
    fallbacks: int
    retry_rate: float | None
    fallback_rate: float | None


class JudgeCalibration(BaseModel):
    """The refusal judge's measured quality on its held-out labelled set, as shipped in
    ``resources/judges/refusal/calibration.json`` (written by ``checks calibrate``)."""

    model_config = ConfigDict(extra="ignore")

    check: str
    judge: str
    labelled_set_sha256: str
    split: str
    n: int
    uncertain: int = 0
    precision: float
    recall: float
    f1: float | None = None
    precision_ci: tuple[float, float] | None = None
    recall_ci: tuple[float, float] | None = None


class JudgeSummary(BaseModel):
    """How the refusal judgement went on this run, and how far the judge can be trusted."""

    model_config = ConfigDict(extra="forbid")

    judge: str = "refusal"
    # Items with a refusal judgement, those where it was uncertain (rules and classifier
    # disagree), where it errored, and where a person's label decided instead.
    n_judged: int
    n_uncertain: int
    n_errors: int
    n_human: int
    # Clause verdicts (any check) whose status is uncertain.
    uncertain_verdicts: int
    calibration: JudgeCalibration | None = None
    # Why there is no calibration, or where it came from.
    calibration_note: str

    def describe(self) -> str:
        """One line: the uncertain and human counts and the judge's calibrated P/R."""
        line = (
            f"refusal judge: {self.n_uncertain} uncertain of {self.n_judged} judged (counted "
            f"apart, never a pass), {self.n_errors} errors, {self.n_human} decided by a person"
        )
        cal = self.calibration
        if cal is None:
            return f"{line}; {self.calibration_note}"

        def ci(x: tuple[float, float] | None) -> str:
            return f" [{x[0]:.3f}, {x[1]:.3f}]" if x else ""

        return (
            f"{line}; calibrated on {cal.split} (n={cal.n}): precision {cal.precision:.3f}"
            f"{ci(cal.precision_ci)}, recall {cal.recall:.3f}{ci(cal.recall_ci)}"
        )


class Manifest(BaseModel):
    """Where a result came from: code revision, package versions, the command line.

    The flat fields repeat ``provenance`` for readers of older files: ``git_revision`` and
    ``git_dirty`` are posttrain's source checkout (``provenance.posttrain_revision``); the
    workspace's revision is ``provenance.workspace_revision``. Files written before
    ``provenance`` existed have None there, and their ``git_revision`` is the git
    repository of the folder the evaluation ran in.
    """

    model_config = ConfigDict(extra="forbid")

    git_revision: str | None
    git_dirty: bool | None
    python: str
    platform: str
    packages: dict[str, str]
    argv: list[str]
    provenance: Provenance | None = None


class EvalSummary(BaseModel):
    """``summary.json`` of one evaluation run."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["eval"] = "eval"
    model: str
    # The weights' fingerprint (the model files' hash for hf, whatever the dtype: see
    # ``dtype``); results are cached under an identity that also mixes in the dtype.
    model_fingerprint: str
    backend: str
    suite: str
    suite_source: str
    suite_version: str
    contract_hash: str
    params: GenerationParams
    # Where params came from (the workspace's generation.yaml, or "default") and every
    # field a command-line flag overrode ("workspace value -> used value"); None / empty
    # in files written before generation.yaml.
    generation_source: str | None = None
    generation_overrides: dict[str, str] = Field(default_factory=dict)
    # The weights dtype the model answered in (hf backend; generation.yaml's dtype);
    # None for other engines and in files written before it was recorded.
    dtype: str | None = None
    n_items: int
    n_cached: int
    n_generated: int
    # Backend time and tokens spent by this run (zero when everything came from the cache).
    generation_wall_s: float
    generated_tokens: int
    duration_s: float
    started_at: str
    metrics: Metrics
    clauses: list[ClauseStat]
    guard: GuardStats | None = None
    manifest: Manifest
    # None in files written before the judge was recorded.
    judge: JudgeSummary | None = None


def read_calibration(check: str = "refusal") -> tuple[JudgeCalibration | None, str]:
    """The shipped calibration of ``check``'s judge and a note: (None, "not calibrated:
    ...") when there is no calibration file or it does not validate."""
    from importlib import resources

    ref = resources.files("posttrain").joinpath("resources", "judges", check, "calibration.json")
    where = f"resources/judges/{check}/calibration.json"
    try:
        text = ref.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None, f"not calibrated: no {where} is shipped"
    try:
        cal = JudgeCalibration.model_validate_json(text)
    except ValidationError as exc:
        return None, f"not calibrated: {where} does not validate ({exc.errors()[0]['msg']})"
    return cal, (
        f"{where} ({cal.split} split, n={cal.n}, labelled set {cal.labelled_set_sha256[:12]})"
    )


def judge_summary(items: Sequence[ItemResult]) -> JudgeSummary:
    """The refusal judgement's counts over ``items`` and its shipped calibration."""
    cal, note = read_calibration("refusal")
    return JudgeSummary(
        n_judged=sum(1 for i in items if i.refused is not None),
        n_uncertain=sum(1 for i in items if i.refusal_uncertain and i.refusal_source == "judge"),
        n_errors=sum(1 for i in items if i.refused is None),
        n_human=sum(1 for i in items if i.refusal_source == "human"),
        uncertain_verdicts=sum(1 for i in items for v in i.verdicts if v.status == "uncertain"),
        calibration=cal,
        calibration_note=note,
    )


def read_items(path: Path) -> list[ItemResult]:
    """Read an ``items.jsonl`` file; raises :class:`InputError` with the bad line."""
    return read_models(
        path, ItemResult, what="results", hint="is this an items.jsonl written by `posttrain eval`?"
    )


def read_summary(path: Path) -> EvalSummary:
    """Read a ``summary.json``; raises :class:`InputError` when it does not validate."""
    try:
        return EvalSummary.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the summary: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(err["msg"], path=str(path), field=field) from None


def build_manifest(argv: list[str] | None = None, *, workspace: Path | None = None) -> Manifest:
    """The :class:`Manifest` of a result made now: :func:`posttrain.core.provenance.provenance`
    of ``workspace`` (default: the current folder, where evaluations run) and ``argv``
    (default: ``sys.argv``)."""
    prov = provenance(Path.cwd() if workspace is None else workspace)
    return Manifest(
        git_revision=prov.posttrain_revision,
        git_dirty=prov.posttrain_dirty,
        python=prov.python,
        platform=prov.platform,
        packages=prov.packages,
        argv=list(sys.argv if argv is None else argv),
        provenance=prov,
    )
