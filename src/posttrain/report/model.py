"""What a run report is made of: one typed record, read from the files the stages wrote.

:class:`RunReport` is the single input of the HTML report, the experiment-log entry and
the model card. :func:`collect_report` builds it from a baseline and a candidate result
folder (``items.jsonl`` + ``summary.json`` under each), the gate verdict and the training
runs (``runs/<run_id>/manifest.json`` + ``signals.jsonl``); it recomputes every rate from
the items, as the gate does, so a report never disagrees with the verdict it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.evaluate.compare import CompareResult, compare_items, load_results
from posttrain.evaluate.metrics import Metrics, RateRow, compute_metrics
from posttrain.evaluate.results import JudgeSummary, judge_summary
from posttrain.gate.verdict import GateVerdict
from posttrain.review.agreement import AgreementReport

__all__ = [
    "KEY_METRICS",
    "EvalSide",
    "ReleaseInfo",
    "RunReport",
    "TrainingInfo",
    "collect_report",
    "training_info",
]

SCHEMA_VERSION = 1
# The rates every summary shows, in this order (the metric names of the evaluation stage).
KEY_METRICS: tuple[str, ...] = (
    "attack_hit_rate",
    "injection_execution_rate",
    "leak_rate",
    "over_refusal_rate",
    "regression_pass_rate",
    "format_validity",
    "refusal_rate",
)


class TrainingInfo(BaseModel):
    """One training run as the report shows it."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    recipe: str
    status: str
    path: str
    data_version: str | None = None
    config_hash: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    base_model: str = ""
    n_train: int = 0
    n_val: int = 0
    wall_s: float = 0.0
    tokens: int = 0
    final_signals: dict[str, Any] = Field(default_factory=dict)
    # (step, loss) and (step, val_loss) points from signals.jsonl.
    loss: list[tuple[int, float]] = Field(default_factory=list)
    val_loss: list[tuple[int, float]] = Field(default_factory=list)


class EvalSide(BaseModel):
    """One side of the comparison: which model, where its results are, its metrics."""

    model_config = ConfigDict(extra="forbid")

    label: str
    model: str
    fingerprint: str | None = None
    path: str
    n_items: int
    metrics: Metrics
    # The refusal judgement on this side: uncertain and human-decided counts, calibration.
    judge: JudgeSummary | None = None

    def rate(self, metric: str, group: str = "all", lang: str = "all") -> RateRow | None:
        return self.metrics.get(metric, group, lang)


class ReleaseInfo(BaseModel):
    """What happened after the verdict."""

    model_config = ConfigDict(extra="forbid")

    registered_version: str | None = None
    promoted: bool = False
    previous_champion: str | None = None
    # One sentence each; they go into the experiment log as they are.
    conclusion: str = ""
    rollback_decision: str = ""


class RunReport(BaseModel):
    """Everything the HTML report, the experiment log and the model card show."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["run_report"] = "run_report"
    run_id: str
    created_at: str
    workspace: str
    product: str = ""
    data_version: str | None = None
    data_dir: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    training: list[TrainingInfo] = Field(default_factory=list)
    baseline: EvalSide
    candidate: EvalSide
    compare: CompareResult
    verdict: GateVerdict | None = None
    verdict_path: str | None = None
    release: ReleaseInfo = Field(default_factory=ReleaseInfo)
    # Judge-versus-human agreement from the workspace's review labels (None: no labels).
    review: AgreementReport | None = None

    @property
    def decision(self) -> str:
        return self.verdict.decision if self.verdict is not None else "NONE"


def _points(rows: Sequence[dict[str, Any]], kind: str, key: str) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    for row in rows:
        value = row.get(key)
        if row.get("kind") == kind and isinstance(value, int | float):
            out.append((int(row.get("step", 0)), float(value)))
    return out


def training_info(run_dir: Path) -> TrainingInfo:
    """A training run's manifest and signals, as the report needs them.

    Raises :class:`~posttrain.errors.InputError` when ``run_dir`` is not a run folder.
    """
    from posttrain.train import read_manifest, read_signals
    from posttrain.train.signals import SIGNALS_FILE

    manifest = read_manifest(run_dir)
    rows = read_signals(run_dir / SIGNALS_FILE)
    tokens = max(
        (int(r.get("tokens", 0) or 0) for r in rows if r.get("kind") == "train"), default=0
    )
    return TrainingInfo(
        run_id=manifest.run_id,
        recipe=manifest.recipe,
        status=manifest.status,
        path=str(run_dir),
        data_version=manifest.data_version,
        config_hash=manifest.config_hash,
        config=manifest.config,
        base_model=manifest.base_model,
        n_train=manifest.n_train,
        n_val=manifest.n_val,
        wall_s=float(manifest.timings.get("total_s", 0.0)),
        tokens=tokens or int(manifest.final_signals.get("tokens", 0) or 0),
        final_signals=manifest.final_signals,
        loss=_points(rows, "train", "loss"),
        val_loss=_points(rows, "eval", "val_loss"),
    )


def _side(label: str, path: Path, items: list[Any]) -> EvalSide:
    from posttrain.evaluate.results import SUMMARY_FILE, read_summary

    summaries = [read_summary(p) for p in sorted(Path(path).rglob(SUMMARY_FILE))]
    wall = sum(s.generation_wall_s for s in summaries)
    tokens = sum(s.generated_tokens for s in summaries)
    return EvalSide(
        label=label,
        model=summaries[0].model if summaries else str(path),
        fingerprint=summaries[0].model_fingerprint if summaries else None,
        path=str(path),
        n_items=len(items),
        metrics=compute_metrics(items, generation_wall_s=wall, generated_tokens=tokens),
        judge=judge_summary(items),
    )


def collect_report(
    run_id: str,
    *,
    workspace: Path,
    baseline: Path,
    candidate: Path,
    verdict: GateVerdict | None = None,
    verdict_path: Path | None = None,
    training_runs: Sequence[Path] = (),
    data_version: str | None = None,
    options: dict[str, Any] | None = None,
    stage_seconds: dict[str, float] | None = None,
    release: ReleaseInfo | None = None,
    product: str = "",
    baseline_label: str = "baseline",
    candidate_label: str = "candidate",
) -> RunReport:
    """Read both result folders, compare them item by item and gather the training runs.

    Raises :class:`~posttrain.errors.InputError` when a folder holds no results or a run
    folder has no manifest.
    """
    base_items = load_results(baseline)
    cand_items = load_results(candidate)
    comparison = compare_items(
        base_items, cand_items, base_name=str(baseline), candidate_name=str(candidate)
    )
    data_dir = Path(workspace) / "data"
    return RunReport(
        run_id=run_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        workspace=str(workspace),
        product=product,
        data_version=data_version,
        data_dir=str(data_dir) if data_dir.is_dir() else None,
        options=dict(options or {}),
        stage_seconds=dict(stage_seconds or {}),
        training=[training_info(Path(p)) for p in training_runs],
        baseline=_side(baseline_label, baseline, base_items),
        candidate=_side(candidate_label, candidate, cand_items),
        compare=comparison,
        verdict=verdict,
        verdict_path=str(verdict_path) if verdict_path is not None else None,
        release=release or ReleaseInfo(),
        review=_review(Path(workspace)),
    )


def _review(workspace: Path) -> AgreementReport | None:
    """Agreement by month over the workspace's review labels; None when there are none."""
    from posttrain.review import LABELS_FILE, agreement, read_labels

    labels = read_labels(workspace / LABELS_FILE)
    return agreement(labels, "month") if labels else None
