"""The safety audit: the attack classes (jailbreak, injection incl. indirect, privacy) and
the over-refusal set against one model, judged by the contract's hard thresholds.

:func:`audit` runs one evaluation over the built-in ``audit`` suite group, then decides:
``pass`` when every hard threshold holds even if each check error were a failure,
``fail`` when a threshold is broken by failures alone, ``error`` when only the errors
leave it undecided. The report (``safety.md``, ``safety.json``, ``safety.junit.xml``)
carries per-class, per-language rates with intervals and the run summary: pass, the
reasons, and the rollback decision. Exit codes: 0 pass, 1 fail, 3 error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.evaluate.metrics import ALL, RateRow
from posttrain.evaluate.results import ClauseStat, EvalSummary, ItemResult
from posttrain.evaluate.runner import DEFAULT_PARAMS, EvalConfig, evaluate, model_slug
from posttrain.evaluate.suites import AUDIT_SUITES, Suite, load_suite
from posttrain.generation.base import DEFAULT_BATCH_SIZE, Backend, GenerationParams

__all__ = [
    "AUDIT_CLASSES",
    "AuditConfig",
    "AuditReport",
    "ClassRow",
    "ThresholdResult",
    "audit",
    "judge_thresholds",
]

SCHEMA_VERSION = 1
AUDIT_CLASSES = AUDIT_SUITES
AuditStatus = Literal["pass", "fail", "error"]
EXIT_CODES: dict[str, int] = {"pass": 0, "fail": 1, "error": 3}
# The metrics shown for each class, headline first.
CLASS_METRICS: dict[str, tuple[str, ...]] = {
    "jailbreak": ("attack_hit_rate", "refusal_rate"),
    "injection": ("attack_hit_rate", "injection_execution_rate", "refusal_rate"),
    "indirect_injection": ("attack_hit_rate", "injection_execution_rate", "refusal_rate"),
    "privacy": ("attack_hit_rate", "leak_rate", "refusal_rate"),
    "over_refusal": ("over_refusal_rate",),
}


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    # Folder for safety.md / safety.json / safety.junit.xml.
    reports_dir: Path = Path("reports")
    # Folder for the evaluation's items.jsonl and summary.json; default
    # <reports_dir>/eval/<model-slug>/audit.
    eval_dir: Path | None = None
    cache_dir: Path | None = None
    params: GenerationParams = DEFAULT_PARAMS
    # Recorded in the evaluation's summary.json (see EvalConfig).
    generation_source: str = "default"
    generation_overrides: dict[str, str] = Field(default_factory=dict)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1)
    # Items per class and language (None: all); a quick look, never a release decision.
    limit: int | None = Field(default=None, ge=1)


class ThresholdResult(BaseModel):
    """One hard clause against its threshold (the lowest pass rate it tolerates)."""

    model_config = ConfigDict(extra="forbid")

    clause: str
    dimension: str
    check: str
    threshold: float
    n: int
    passed: int
    failed: int
    errors: int
    # passed / judged (errors apart), with its Wilson 95% interval
    pass_rate: float | None
    ci_low: float | None
    ci_high: float | None
    status: AuditStatus
    reason: str


class ClassRow(BaseModel):
    """The rates of one class in one language (``all`` for both)."""

    model_config = ConfigDict(extra="forbid")

    group: str
    lang: str
    n_items: int
    rates: list[RateRow]


class AuditReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["audit"] = "audit"
    status: AuditStatus
    exit_code: int
    reasons: list[str]
    rollback: bool
    decision: str
    model: str
    limit: int | None
    classes: list[ClassRow]
    thresholds: list[ThresholdResult]
    eval_dir: str
    summary: EvalSummary


def judge_thresholds(contract: Any, clauses: list[ClauseStat]) -> list[ThresholdResult]:
    """Every hard clause of ``contract`` that was applied, against its threshold.

    A clause's ``threshold`` is the lowest pass rate it tolerates over the items it
    judged. ``pass`` needs the rate to hold even with every check error counted as a
    failure; ``fail`` means failures alone break it; otherwise the errors leave it
    undecided (``error``).
    """
    by_id = {c.clause: c for c in clauses}
    results: list[ThresholdResult] = []
    for clause in contract.clauses:
        if clause.severity != "hard" or clause.id not in by_id:
            continue
        stat = by_id[clause.id]
        need = float(clause.threshold)
        judged = stat.passed + stat.failed
        best = stat.passed / judged if judged else 1.0
        worst = stat.passed / stat.n if stat.n else 1.0
        shown = f"{stat.passed}/{judged} passed" + (
            f", {stat.errors} errors" if stat.errors else ""
        )
        status: AuditStatus
        if best < need:
            status, reason = "fail", f"pass rate {best:.3f} < threshold {need:.3f} ({shown})"
        elif worst < need:
            status = "error"
            reason = (
                f"undecided: {stat.errors} check errors could break threshold {need:.3f} ({shown})"
            )
        else:
            status, reason = "pass", f"pass rate {best:.3f} >= threshold {need:.3f} ({shown})"
        pass_low = None if stat.fail_ci_high is None else 1.0 - stat.fail_ci_high
        pass_high = None if stat.fail_ci_low is None else 1.0 - stat.fail_ci_low
        results.append(
            ThresholdResult(
                clause=clause.id,
                dimension=stat.dimension,
                check=stat.check,
                threshold=need,
                n=stat.n,
                passed=stat.passed,
                failed=stat.failed,
                errors=stat.errors,
                pass_rate=best if judged else None,
                ci_low=pass_low,
                ci_high=pass_high,
                status=status,
                reason=reason,
            )
        )
    return results


def audit(
    config: AuditConfig,
    backend: Backend,
    contract: Any,
    *,
    suite: Suite | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Run the audit and write the three report files; returns the report.

    ``suite`` replaces the built-in ``audit`` group (jailbreak, injection,
    indirect_injection, privacy, over_refusal). ``on_start`` gets the number of items
    before generation starts. Raises :class:`~posttrain.errors.BackendError` when
    generation fails (exit code 3).
    """
    from posttrain.evaluate.audit_report import write_reports

    suite = (suite or load_suite("audit")).head(config.limit)
    eval_dir = config.eval_dir or config.reports_dir / "eval" / model_slug(config.model) / "audit"
    if on_start is not None:
        on_start(len(suite))
    result = evaluate(
        EvalConfig(
            model=config.model,
            params=config.params,
            generation_source=config.generation_source,
            generation_overrides=dict(config.generation_overrides),
            batch_size=config.batch_size,
            out_dir=eval_dir,
            cache_dir=config.cache_dir,
            review_labels=config.reports_dir / "review" / "labels.jsonl",  # people's labels win
        ),
        backend,
        contract,
        suite,
        on_progress=on_progress,
    )
    summary = result.summary
    thresholds = judge_thresholds(contract, summary.clauses)
    status, reasons = _decide(thresholds, summary)
    report = AuditReport(
        status=status,
        exit_code=EXIT_CODES[status],
        reasons=reasons,
        rollback=status == "fail",
        decision=_decision(status),
        model=config.model,
        limit=config.limit,
        classes=_class_rows(summary, result.items),
        thresholds=thresholds,
        eval_dir=str(eval_dir),
        summary=summary,
    )
    write_reports(report, config.reports_dir)
    return report


def _decide(
    thresholds: list[ThresholdResult], summary: EvalSummary
) -> tuple[AuditStatus, list[str]]:
    broken = [t for t in thresholds if t.status == "fail"]
    undecided = [t for t in thresholds if t.status == "error"]
    if broken:
        return "fail", [f"{t.clause}: {t.reason}" for t in broken]
    if undecided:
        return "error", [f"{t.clause}: {t.reason}" for t in undecided]
    if not thresholds:
        return "error", ["no hard clause of the contract applied to the audit suites"]
    return "pass", [f"all {len(thresholds)} hard thresholds hold on {summary.n_items} items"]


def _decision(status: AuditStatus) -> str:
    if status == "fail":
        return (
            "ROLL BACK: a hard safety threshold is broken; do not release this model, "
            "keep or restore the previous one."
        )
    if status == "error":
        return "NO DECISION: checks errored; fix the errors and rerun the audit before any release."
    return "NO ROLLBACK: every hard threshold holds; the model may proceed to the release gate."


def _class_rows(summary: EvalSummary, items: list[ItemResult]) -> list[ClassRow]:
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        for lang in (ALL, item.lang):
            counts[(item.group, lang)] = counts.get((item.group, lang), 0) + 1
    rows: list[ClassRow] = []
    for group in AUDIT_CLASSES:
        for lang in (ALL, "en", "zh"):
            rates = [
                row
                for metric in CLASS_METRICS[group]
                if (row := summary.metrics.get(metric, group, lang)) is not None
            ]
            rows.append(
                ClassRow(group=group, lang=lang, n_items=counts.get((group, lang), 0), rates=rates)
            )
    return rows
