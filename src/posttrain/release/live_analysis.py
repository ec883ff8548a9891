"""The rollout's analysis on the gateway's live measurements (issue 15, item 3).

``posttrain release step`` without ``--metrics``, ``posttrain release auto`` and the
gateway's own controller (``serve.yaml: rollout: auto``) read the step's
:class:`~posttrain.release.live.VersionStats` from the workspace's
:class:`~posttrain.release.live.LiveStore` and judge them here, in two parts:

* **fixed thresholds** (``analysis.metrics``, the same :class:`MetricCheck` rules a
  metrics file is judged by): the challenger's rates over the step, each with its count
  (``error_rate`` = errors / requests, ``attack_hit_rate`` = unsafe answers / attack
  requests, ``leak_rate``, ``refusal_rate``, ``guard_intervention_rate``,
  ``thumbs_down_rate`` = thumbs down / feedback, and the latencies
  ``latency_p50_ms``, ``latency_p95_ms``);
* **against the champion** (``analysis.compare``): the difference of the challenger's
  rate and the champion's, paired by time window (``analysis.window_s``: both served the
  same minutes, so a traffic mix that shifts over the step moves both), weighted per
  window by ``n1·n0/(n1+n0)``, with a one-sided interval at ``analysis.confidence``
  (per-window variance of Agresti–Caffo's adjusted proportions, so 0/n and n/n do not
  give a zero-width interval). It fails when the lower bound is above ``margin``: the
  challenger is worse than the champion by more than the margin, with confidence. A
  ``zero`` check (leaks, by default) also fails when the challenger had any event over
  a step with its minimum traffic while the champion had none.

Minimum traffic: a step is decided once the challenger has ``min_traffic`` requests and
every fixed rate has a denominator (e.g. some attack requests). Before that it is
*waiting* (nothing recorded), except that it already fails when a check fails at
``early_confidence`` (0.999: the step is looked at again on every tick): a fixed rate
whose exact (Clopper-Pearson) one-sided lower bound is above its ``max``, or a
comparison whose lower bound is above its margin. One error in the first request, or a
point estimate on five, aborts nothing; a challenger leaking where the champion never
does is stopped on its first few answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.evaluate.stats import wilson_interval
from posttrain.release.live import VersionStats

__all__ = [
    "COMPARABLE",
    "LIVE_METRICS",
    "CompareCheck",
    "Comparison",
    "RateCount",
    "lower_bound",
    "paired_difference",
    "rate_count",
    "step_metrics",
    "upper_bound",
]

Comparable = Literal[
    "error_rate",
    "attack_hit_rate",
    "leak_rate",
    "refusal_rate",
    "guard_intervention_rate",
    "thumbs_down_rate",
]
COMPARABLE: tuple[str, ...] = Comparable.__args__  # type: ignore[attr-defined]
# Every metric the live path measures: the rates, and the latencies (no count).
LIVE_METRICS: tuple[str, ...] = (*COMPARABLE, "latency_p50_ms", "latency_p95_ms")


class RateCount(BaseModel):
    """``events`` of ``n`` (a rate with its count, so it can carry an interval)."""

    model_config = ConfigDict(extra="forbid")

    events: int = Field(ge=0)
    n: int = Field(ge=0)

    @property
    def rate(self) -> float | None:
        return self.events / self.n if self.n else None


class CompareCheck(BaseModel):
    """The challenger's rate may exceed the champion's by at most ``margin`` (paired by
    time window, one-sided interval); ``zero``: any challenger event over a step where
    the champion had none fails too (a leak is never "within the margin")."""

    model_config = ConfigDict(extra="forbid")

    name: Comparable
    margin: float = Field(default=0.0, ge=0.0, le=1.0)
    zero: bool = False


class Comparison(BaseModel):
    """One comparison of challenger and champion over a step."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    challenger: RateCount
    champion: RateCount
    # Windows where both had a denominator; the difference is over those.
    windows: int
    difference: float | None
    lower: float | None
    upper: float | None
    margin: float
    outcome: Literal["Failed", "Successful", "Skipped"]
    message: str


def rate_count(stats: VersionStats, metric: str) -> RateCount:
    """The ``metric`` of ``stats`` as events of n. Raises ``KeyError`` for a metric that
    is not a rate (see :data:`COMPARABLE`)."""
    pairs = {
        "error_rate": (stats.errors, stats.requests),
        "attack_hit_rate": (stats.attack_unsafe, stats.attack_requests),
        "leak_rate": (stats.leaks, stats.requests),
        "refusal_rate": (stats.refusals, stats.refusals_judged),
        "guard_intervention_rate": (sum(stats.guard_interventions.values()), stats.requests),
        "thumbs_down_rate": (stats.thumbs_down, stats.feedback),
    }
    events, n = pairs[metric]
    return RateCount(events=min(events, n), n=n)


def step_metrics(stats: VersionStats) -> tuple[dict[str, float | None], dict[str, RateCount]]:
    """The challenger's values for the fixed thresholds (a rate with no denominator and a
    latency never measured are left out: "not measured"), and every rate's count."""
    values: dict[str, float | None] = {}
    counts: dict[str, RateCount] = {}
    for metric in COMPARABLE:
        rc = rate_count(stats, metric)
        counts[metric] = rc
        if rc.n:
            values[metric] = rc.rate
    for metric in ("latency_p50_ms", "latency_p95_ms"):
        value = getattr(stats, metric)
        if value is not None:
            values[metric] = float(value)
    return values, counts


# Above this many requests the exact bound's O(n) tail sums give way to Wilson's.
_EXACT_MAX_N = 5000


def lower_bound(rc: RateCount, confidence: float) -> float | None:
    """The one-sided lower confidence bound of ``rc``'s rate (None with n = 0): exact
    (Clopper-Pearson) up to a few thousand requests, where an early abort is decided
    (Wilson's is too optimistic at 1 of 5: 0.046, where the exact bound is 0.010),
    Wilson's above."""
    if not rc.n:
        return None
    if rc.n > _EXACT_MAX_N:
        return wilson_interval(rc.events, rc.n, z=NormalDist().inv_cdf(confidence))[0]
    if rc.events == 0:
        return 0.0
    alpha = 1.0 - confidence
    lo, hi = 0.0, rc.events / rc.n
    for _ in range(60):  # bisection on P(X >= k | p) = alpha, increasing in p
        mid = (lo + hi) / 2
        if _tail(rc.events, rc.n, mid) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


def upper_bound(rc: RateCount, confidence: float) -> float | None:
    """The one-sided upper confidence bound of ``rc``'s rate (None with n = 0)."""
    low = lower_bound(RateCount(events=rc.n - rc.events, n=rc.n), confidence)
    return None if low is None else 1.0 - low


def _tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0.0:
        return 0.0 if k > 0 else 1.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
        for i in range(k, n + 1)
    ]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


def paired_difference(
    check: CompareCheck,
    windows: Sequence[Mapping[str, VersionStats]],
    step: Mapping[str, VersionStats],
    *,
    challenger: str,
    champion: str,
    confidence: float,
    min_traffic: int,
) -> Comparison:
    """Compare ``challenger`` with ``champion`` on ``check.name`` over the step's windows
    (see the module docstring)."""
    empty = VersionStats(version="-")
    chal_total = rate_count(step.get(challenger, empty), check.name)
    champ_total = rate_count(step.get(champion, empty), check.name)
    sum_w = sum_wd = sum_w2v = 0.0
    paired = 0
    for window in windows:
        a = rate_count(window.get(challenger, empty), check.name)
        b = rate_count(window.get(champion, empty), check.name)
        if not a.n or not b.n:
            continue
        paired += 1
        weight = a.n * b.n / (a.n + b.n)
        p1, p0 = (a.events + 1) / (a.n + 2), (b.events + 1) / (b.n + 2)
        var = p1 * (1 - p1) / (a.n + 2) + p0 * (1 - p0) / (b.n + 2)
        sum_w += weight
        sum_wd += weight * (a.events / a.n - b.events / b.n)
        sum_w2v += weight * weight * var
    diff = lower = upper = None
    if paired:
        diff = sum_wd / sum_w
        half = NormalDist().inv_cdf(confidence) * math.sqrt(sum_w2v) / sum_w
        lower, upper = max(-1.0, diff - half), min(1.0, diff + half)

    def result(outcome: Literal["Failed", "Successful", "Skipped"], message: str) -> Comparison:
        return Comparison(
            metric=check.name,
            challenger=chal_total,
            champion=champ_total,
            windows=paired,
            difference=diff,
            lower=lower,
            upper=upper,
            margin=check.margin,
            outcome=outcome,
            message=message,
        )

    counts = (
        f"{chal_total.events}/{chal_total.n} vs champion {champion} "
        f"{champ_total.events}/{champ_total.n}"
    )
    enough = step.get(challenger, empty).requests >= min_traffic
    if not enough:
        # Too few challenger requests for the normal approximation of the difference:
        # fail only when the challenger's exact lower bound is above the champion's
        # exact upper bound plus the margin (two leaks in two answers do; one error in
        # the first request does not).
        low = lower_bound(chal_total, confidence)
        high = upper_bound(champ_total, confidence)
        if low is None or high is None:
            return result("Skipped", f"{counts}: not both measured yet")
        if low > high + check.margin:
            return result(
                "Failed",
                f"{counts}: the challenger's rate is at least {low:.3f}, the champion's at "
                f"most {high:.3f} (exact bounds at {confidence:g}), more than {check.margin:g} "
                "apart",
            )
        return result("Successful", f"{counts}: not apart yet at {confidence:g}")
    if check.zero and chal_total.events and not champ_total.events:
        return result("Failed", f"{counts}: any event fails where the champion had none")
    if lower is None or diff is None or upper is None:
        return result("Skipped", f"{counts}: no time window where both were measured")
    where = (
        f"difference {diff:+.3f} [{lower:+.3f}, {upper:+.3f}] over {paired} paired "
        f"window(s), {counts}"
    )
    if lower > check.margin:
        return result("Failed", f"{where}: worse than the champion by more than {check.margin:g}")
    return result("Successful", f"{where}: within margin {check.margin:g}")
