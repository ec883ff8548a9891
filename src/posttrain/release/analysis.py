"""The analysis of one rollout step, with Argo Rollouts' four outcomes.

A step's observations come as :class:`StepMetrics` — from a recorded-metrics file
(``posttrain release step --metrics FILE``, offline) or from the gateway's live
measurements (:func:`analyze_live`; see :mod:`posttrain.release.live_analysis`) — and
:func:`analyze` gives:

* **Successful**: enough traffic, and no metric failed more than ``failure_limit`` of its
  measurements;
* **Failed**: a metric broke its threshold more than ``failure_limit`` times (live: or the
  challenger is worse than the champion by more than a margin, with confidence);
* **Error**: a measurement could not be taken (``null`` or not a number);
* **Inconclusive**: too little traffic (``min_traffic``) or a metric was not measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from posttrain.errors import InputError
from posttrain.release.live import VersionStats
from posttrain.release.live_analysis import (
    LIVE_METRICS,
    CompareCheck,
    Comparison,
    RateCount,
    lower_bound,
    paired_difference,
    step_metrics,
    upper_bound,
)

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "Measurement",
    "MetricCheck",
    "Outcome",
    "StepMetrics",
    "analyze",
    "analyze_live",
    "read_step_metrics",
]

Outcome = Literal["Successful", "Failed", "Inconclusive", "Error"]


class MetricCheck(BaseModel):
    """A live metric and its bounds; each measurement outside them is one failure."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> MetricCheck:
        if self.max is None and self.min is None:
            raise ValueError(f"metric {self.name!r}: give `max` or `min`")
        return self


class AnalysisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: list[MetricCheck] = Field(
        default_factory=lambda: [
            MetricCheck(name="error_rate", max=0.02),
            MetricCheck(name="attack_hit_rate", max=0.05),
        ],
        min_length=1,
    )
    # Failed measurements tolerated per metric (Argo's failureLimit).
    failure_limit: int = Field(default=0, ge=0)
    # Fewer requests than this at a step cannot succeed: the step is inconclusive (live:
    # the challenger's requests at the step; until then the step waits).
    min_traffic: int = Field(default=100, ge=0)
    # Live only: the challenger against the champion over the same step, paired by time
    # window of `window_s` seconds, one-sided interval at `confidence`.
    compare: list[CompareCheck] = Field(
        default_factory=lambda: [
            CompareCheck(name="error_rate", margin=0.02),
            CompareCheck(name="attack_hit_rate", margin=0.05),
            CompareCheck(name="leak_rate", margin=0.0, zero=True),
            CompareCheck(name="thumbs_down_rate", margin=0.05),
        ]
    )
    window_s: float = Field(default=60.0, gt=0.0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    # Before the minimum traffic a step fails only at this confidence: it is looked at
    # again on every tick, and one transient error in the first request must not abort.
    early_confidence: float = Field(default=0.999, gt=0.5, lt=1.0)


class StepMetrics(BaseModel):
    """What was observed at one step: traffic, and per metric one or more measurements
    (``null`` marks a measurement that could not be taken)."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=0)
    metrics: dict[str, float | list[float | None] | None]
    # A rate's events of n, where known (live data): shown with its interval.
    counts: dict[str, RateCount] = Field(default_factory=dict)


class Measurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    values: list[float | None]
    failed: int
    errored: int
    outcome: Outcome
    message: str


class AnalysisResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    requests: int
    measurements: list[Measurement]
    message: str
    # Where the observations came from: a metrics file, or the gateway's live store.
    source: Literal["file", "live"] = "file"
    # Live: the step has not had its minimum traffic and nothing failed yet (not recorded).
    waiting: bool = False
    # Live: the challenger against the champion (paired by time window).
    comparisons: list[Comparison] = Field(default_factory=list)
    champion_requests: int | None = None


_SEVERITY: dict[Outcome, int] = {"Successful": 0, "Inconclusive": 1, "Error": 2, "Failed": 3}


def analyze(config: AnalysisConfig, observed: StepMetrics) -> AnalysisResult:
    """Judge one step's metrics; the worst outcome wins (Failed > Error > Inconclusive)."""
    measurements: list[Measurement] = []
    for check in config.metrics:
        raw = observed.metrics.get(check.name)
        if raw is None and check.name not in observed.metrics:
            measurements.append(
                Measurement(
                    metric=check.name,
                    values=[],
                    failed=0,
                    errored=0,
                    outcome="Inconclusive",
                    message="not measured at this step",
                )
            )
            continue
        values = raw if isinstance(raw, list) else [raw]
        errored = sum(1 for v in values if v is None or not math.isfinite(v))
        failed = sum(
            1
            for v in values
            if v is not None
            and math.isfinite(v)
            and (
                (check.max is not None and v > check.max)
                or (check.min is not None and v < check.min)
            )
        )
        bounds = " and ".join(
            ([f"≤ {check.max:g}"] if check.max is not None else [])
            + ([f"≥ {check.min:g}"] if check.min is not None else [])
        )
        outcome: Outcome = "Successful"
        message = f"{len(values) - failed - errored}/{len(values)} measurements {bounds}"
        count = observed.counts.get(check.name)
        if count is not None and len(values) == 1 and values[0] is not None:
            message = f"{values[0]:.3f} ({count.events}/{count.n}) {bounds}"
        if failed > config.failure_limit:
            outcome = "Failed"
            message += f"; {failed} failed > failure_limit {config.failure_limit}"
        elif errored:
            outcome = "Error"
            message += f"; {errored} could not be measured"
        measurements.append(
            Measurement(
                metric=check.name,
                values=list(values),
                failed=failed,
                errored=errored,
                outcome=outcome,
                message=message,
            )
        )
    worst = max((m.outcome for m in measurements), key=_SEVERITY.__getitem__)
    message = "; ".join(f"{m.metric}: {m.message}" for m in measurements if m.outcome == worst)
    if observed.requests < config.min_traffic and _SEVERITY[worst] < _SEVERITY["Inconclusive"]:
        worst = "Inconclusive"
        message = f"{observed.requests} requests < min_traffic {config.min_traffic}"
    if worst == "Successful":
        message = f"all {len(measurements)} metrics within bounds over {observed.requests} requests"
    return AnalysisResult(
        outcome=worst, requests=observed.requests, measurements=measurements, message=message
    )


def read_step_metrics(path: Path) -> StepMetrics:
    """Read a recorded-metrics file; raises :class:`InputError` naming the bad field."""
    try:
        return StepMetrics.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read metrics: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(
            err["msg"],
            path=str(path),
            field=field,
            hint='expected {"requests": 1200, "metrics": {"error_rate": 0.01, ...}}',
        ) from None


def analyze_live(
    config: AnalysisConfig,
    step: Mapping[str, VersionStats],
    windows: Sequence[Mapping[str, VersionStats]],
    *,
    challenger: str,
    champion: str | None,
) -> AnalysisResult:
    """Judge a step on the gateway's measurements: ``step`` (version -> stats over the
    step) and ``windows`` (the same per time window), see
    :mod:`posttrain.release.live_analysis`. The result is ``waiting`` while the
    challenger lacks its minimum traffic and nothing failed with confidence."""
    chal = step.get(challenger) or VersionStats(version=challenger)
    values, counts = step_metrics(chal)
    observed = StepMetrics(requests=chal.requests, metrics=dict(values), counts=counts)
    unmeasured = [m.name for m in config.metrics if m.name in LIVE_METRICS and m.name not in values]
    decided = chal.requests >= config.min_traffic and not unmeasured
    confidence = config.confidence if decided else config.early_confidence
    comparisons: list[Comparison] = []
    if champion is not None and champion != challenger:
        comparisons = [
            paired_difference(
                check,
                windows,
                step,
                challenger=challenger,
                champion=champion,
                confidence=confidence,
                min_traffic=config.min_traffic,
            )
            for check in config.compare
        ]
    champ = step.get(champion) if champion is not None else None
    live = {
        "source": "live",
        "comparisons": comparisons,
        "champion_requests": (champ.requests if champ else 0) if champion else None,
    }
    failed_cmp = [c for c in comparisons if c.outcome == "Failed"]
    if not decided:
        early = _confident_failures(config, counts, config.early_confidence)
        if early or failed_cmp:
            message = "; ".join(
                [f"{m.metric}: {m.message}" for m in early]
                + [f"{c.metric} vs champion: {c.message}" for c in failed_cmp]
            )
            return AnalysisResult(
                outcome="Failed",
                requests=chal.requests,
                measurements=early,
                message=f"failed with confidence before the minimum traffic: {message}",
                **live,
            )
        why = [f"{chal.requests}/{config.min_traffic} challenger requests"]
        if unmeasured:
            why.append("not measured yet: " + ", ".join(unmeasured))
        return AnalysisResult(
            outcome="Inconclusive",
            requests=chal.requests,
            measurements=[],
            message="waiting for traffic: " + "; ".join(why),
            waiting=True,
            **live,
        )
    result = analyze(config, observed)
    for m in result.measurements:
        if m.metric not in LIVE_METRICS and not m.values:
            m.message = f"not measured by the gateway (live metrics: {', '.join(LIVE_METRICS)})"
    outcome, message = result.outcome, result.message
    if failed_cmp:
        fixed = message if outcome == "Failed" else ""
        outcome = "Failed"
        failures = [f"{c.metric} vs champion: {c.message}" for c in failed_cmp]
        message = "; ".join(failures + ([fixed] if fixed else []))
    elif outcome == "Successful" and comparisons:
        compared = [c.metric for c in comparisons if c.outcome == "Successful"]
        message += f"; no worse than champion {champion} on " + (", ".join(compared) or "nothing")
        skipped = [c.metric for c in comparisons if c.outcome == "Skipped"]
        if skipped:
            message += " (not compared, no paired traffic: " + ", ".join(skipped) + ")"
    return AnalysisResult(
        outcome=outcome,
        requests=result.requests,
        measurements=result.measurements,
        message=message,
        **live,
    )


def _confident_failures(
    config: AnalysisConfig, counts: Mapping[str, RateCount], confidence: float
) -> list[Measurement]:
    """The fixed-threshold rates that already fail with confidence on little traffic:
    their one-sided (exact) confidence bound lies outside the bounds."""
    out: list[Measurement] = []
    for check in config.metrics:
        rc = counts.get(check.name)
        if rc is None or not rc.n:
            continue
        low = lower_bound(rc, confidence)
        high = upper_bound(rc, confidence)
        if low is not None and check.max is not None and low > check.max:
            why = f"lower bound {low:.3f} > max {check.max:g}"
        elif high is not None and check.min is not None and high < check.min:
            why = f"upper bound {high:.3f} < min {check.min:g}"
        else:
            continue
        out.append(
            Measurement(
                metric=check.name,
                values=[rc.rate],
                failed=1,
                errored=0,
                outcome="Failed",
                message=f"{rc.rate:.3f} ({rc.events}/{rc.n}): {why} at {confidence:g} confidence",
            )
        )
    return out
