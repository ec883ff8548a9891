"""Whether a gate rule can decide at the sample size it has: the gate's power.

A threshold judged on the 95% Wilson bound cannot pass below a certain number of judged
items, however good the candidate: with ``max: 0.05`` even 0 hits in 64 items leave an
upper bound of 0.057. Judging such a rule would say BLOCK where the truth is "this
sample is too small to decide". :func:`threshold_min_n` gives the fewest items at which
a perfect candidate passes; below it the gate says INCONCLUSIVE with that number
(:class:`~posttrain.gate.rules.Judge`), unless the interval already lies wholly on the
wrong side of the threshold, which is decisive on any sample.

For paired rules, :func:`perfect_delta_passes` asks the same of the best candidate the
baseline allows (every item good), with the same bootstrap the gate uses.

:func:`plan` sizes a policy before any evaluation (``posttrain gate plan``): per rule,
the fewest items a perfect candidate needs, and the items needed to pass with a given
probability when the true rate is a given fraction of the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from posttrain.contract.gate_policy import ITEM_PASS, GatePolicy, ThresholdRule
from posttrain.evaluate.metrics import ALL, Judged, measured_metrics
from posttrain.evaluate.stats import Z95, paired_bootstrap_ci, wilson_interval

if TYPE_CHECKING:
    from posttrain.contract.schema import Contract
    from posttrain.evaluate.suites import Sample, Suite

__all__ = [
    "PlanRow",
    "n_for_power",
    "pass_probability",
    "perfect_delta_passes",
    "plan",
    "rule_needs",
    "size_samples",
    "threshold_min_n",
]

# Where a search for n gives up: far beyond what any evaluation here runs.
_N_LIMIT = 200_000


def _passes(k: int, n: int, max_rate: float | None, min_rate: float | None) -> bool:
    """The gate's threshold test: ``k`` bad (for ``max``) or good (for ``min``) of ``n``."""
    low, high = wilson_interval(k, n)
    if max_rate is not None and high > max_rate:
        return False
    return not (min_rate is not None and low < min_rate)


def threshold_min_n(max_rate: float | None = None, min_rate: float | None = None) -> int | None:
    """The fewest judged items at which a perfect candidate passes a threshold rule: 0
    hits under ``max`` (a rate where higher is worse) or all items good over ``min``.
    None when no sample size can (``max: 0`` or ``min: 1``)."""
    if max_rate is not None and min_rate is not None:
        # A two-sided rule: the perfect side of one bound is the worst side of the other.
        raise ValueError("threshold_min_n takes one bound at a time")
    z2 = Z95 * Z95
    if max_rate is not None:
        if max_rate <= 0.0:
            return None
        # Wilson's upper bound at 0/n is z²/(n + z²).
        guess = max(1, math.floor(z2 * (1.0 - max_rate) / max_rate))
        perfect = 0
    elif min_rate is not None:
        if min_rate >= 1.0:
            return None
        guess = max(1, math.floor(z2 * min_rate / (1.0 - min_rate)))
        perfect = -1  # k = n
    else:
        return 1
    # The closed form lands within one of the answer; settle it with the gate's own test.
    n = max(1, guess - 2)
    while not _passes(n if perfect < 0 else 0, n, max_rate, min_rate):
        n += 1
    return n


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def pass_probability(
    n: int, true_rate: float, max_rate: float | None = None, min_rate: float | None = None
) -> float:
    """The chance that a candidate whose true rate is ``true_rate`` passes the rule on
    ``n`` items (``k ~ Binomial(n, true_rate)`` counted as the rule counts them)."""
    if not 0.0 < true_rate < 1.0:
        k = round(true_rate * n)
        return 1.0 if _passes(k, n, max_rate, min_rate) else 0.0
    total = 0.0
    for k in range(n + 1):
        if _passes(k, n, max_rate, min_rate):
            total += math.exp(_log_binom_pmf(k, n, true_rate))
    return min(1.0, total)


def n_for_power(
    true_rate: float,
    max_rate: float | None = None,
    min_rate: float | None = None,
    power: float = 0.8,
) -> int | None:
    """The fewest items at which a candidate with ``true_rate`` passes with probability
    ``power``; None when no n up to 200,000 does (the true rate is not inside the bound)."""
    start = threshold_min_n(max_rate, min_rate)
    if start is None:
        return None
    if (max_rate is not None and true_rate >= max_rate) or (
        min_rate is not None and true_rate <= min_rate
    ):
        return None
    n = start
    step = 1
    # Walk up in growing steps to bracket the answer, then back down one by one; the
    # pass probability is a sawtooth in n, so the answer is the first n of the bracket
    # that reaches ``power``.
    while n <= _N_LIMIT and pass_probability(n, true_rate, max_rate, min_rate) < power:
        n += step
        step = min(step * 2, max(1, n // 8))
    if n > _N_LIMIT:
        return None
    low = max(start, n - step)
    for m in range(low, n + 1):
        if pass_probability(m, true_rate, max_rate, min_rate) >= power:
            return m
    return n


def perfect_delta_passes(
    base: Sequence[bool],
    *,
    higher_is_worse: bool,
    margin: float,
    improve: bool,
    n_resamples: int,
    seed: int,
) -> bool:
    """Whether the best candidate the baseline allows (every item good) passes a paired
    rule on these pairs, judged with the gate's own bootstrap."""
    xs = [float(b) for b in base]
    ys = [0.0 if higher_is_worse else 1.0] * len(xs)
    low, high = paired_bootstrap_ci(xs, ys, n_resamples=n_resamples, seed=seed)
    if higher_is_worse:
        return high <= (-margin if improve else margin)
    return low >= (margin if improve else -margin)


class PlanRow(BaseModel):
    """What one rule of a policy needs before it can decide."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["threshold", "improvement", "non_inferiority", "counter"]
    metric: str
    group: str
    lang: str = ALL
    threshold: str
    # Fewest judged items at which a perfect candidate passes (None: none can).
    min_n: int | None
    # The true rate assumed for ``n_needed`` (None where the rule compares with a baseline).
    true_rate: float | None = None
    # Items needed to pass with probability ``power`` at ``true_rate``.
    n_needed: int | None = None
    power: float
    # Judged items of this kind in the sample the plan was given (None: none given).
    in_sample: int | None = None
    note: str = ""


def _threshold_row(rule: ThresholdRule, fraction: float, power: float) -> PlanRow:
    if rule.max is not None:
        true_rate = rule.max * fraction
        kwargs: dict[str, float] = {"max_rate": rule.max}
        threshold = f"upper95 ≤ {rule.max:g}"
    else:
        assert rule.min is not None  # the policy validates one bound per rule
        true_rate = 1.0 - (1.0 - rule.min) * fraction
        kwargs = {"min_rate": rule.min}
        threshold = f"lower95 ≥ {rule.min:g}"
    return PlanRow(
        id=rule.id,
        kind="threshold",
        metric=rule.metric,
        group=rule.group,
        lang=rule.lang,
        threshold=threshold,
        min_n=threshold_min_n(**kwargs),
        true_rate=true_rate,
        n_needed=n_for_power(true_rate, power=power, **kwargs),
        power=power,
        note="judged items of the candidate"
        + ("" if rule.group == "all" else f" in class {rule.group}")
        + ("" if rule.lang == "all" else f", language {rule.lang}"),
    )


def plan(
    policy: GatePolicy,
    *,
    fraction: float = 0.5,
    power: float = 0.8,
    sample: Sequence[Suite] = (),
    contract: Contract | None = None,
) -> list[PlanRow]:
    """Per rule of ``policy``: the items it needs to decide. Threshold rules assume a
    candidate whose true bad rate is ``fraction`` of the allowed one (for ``min``: whose
    failure rate is ``fraction`` of the allowed failures). Paired rules depend on the
    baseline and say so; counters decide on any sample. With ``sample`` and
    ``contract``, each row also counts the items of its kind the sample holds."""
    rows = _plan_rows(policy, fraction, power)
    if contract is None or not sample:
        return rows
    for row in rows:
        if row.kind == "counter":
            continue
        group = "all" if "," in row.group or row.group == "each" else row.group
        key = (row.metric, group, row.lang)
        row.in_sample = sum(
            1 for suite in sample for s in suite.samples if _counts(s, suite.name, key, contract)
        )
    return rows


def _plan_rows(policy: GatePolicy, fraction: float, power: float) -> list[PlanRow]:
    rows = [_threshold_row(rule, fraction, power) for rule in policy.hard]
    for imp in policy.improve:
        rows.append(
            PlanRow(
                id=imp.id,
                kind="improvement",
                metric=imp.metric,
                group=imp.group,
                lang=imp.lang,
                threshold=f"Δ better ≥ {imp.margin:g}",
                min_n=policy.min_samples,
                power=power,
                note="needs about 3.84·q(1−q)/(q−margin)² pairs, q = the share of baseline "
                "items the candidate can fix; none when q ≤ margin",
            )
        )
    for ni in policy.non_inferiority:
        for metric in ni.metrics:
            rows.append(
                PlanRow(
                    id=ni.id,
                    kind="non_inferiority",
                    metric=metric,
                    group=",".join(ni.groups),
                    threshold=f"Δ worse ≤ {ni.margin:g}",
                    min_n=policy.min_samples,
                    power=power,
                    note="a candidate no worse than the baseline passes at min_samples pairs",
                )
            )
    for counter in policy.zero:
        rows.append(
            PlanRow(
                id=counter.id,
                kind="counter",
                metric=counter.id,
                group="all",
                threshold=f"≤ {counter.max}",
                min_n=counter.min_samples or 1,
                power=power,
                note="a count: decides on any sample",
            )
        )
    return rows


# (metric, group, lang): the items of one kind a rule counts.
NeedKey = tuple[str, str, str]


def rule_needs(policy: GatePolicy, groups: Sequence[str]) -> dict[NeedKey, int]:
    """The judged items each rule of ``policy`` needs before it can decide, by (metric,
    group, language): for a threshold, what a perfect candidate needs (and at least
    min_samples); for a paired rule, min_samples pairs in each group it judges (``each``:
    every group in ``groups``). Rules no sample size can decide are left out."""
    needs: dict[NeedKey, int] = {}

    def need(key: NeedKey, n: int) -> None:
        needs[key] = max(needs.get(key, 0), n)

    for rule in policy.hard:
        floor = rule.min_samples or policy.min_samples
        ns = [
            threshold_min_n(max_rate=rule.max) if rule.max is not None else 1,
            threshold_min_n(min_rate=rule.min) if rule.min is not None else 1,
        ]
        if None not in ns:
            need((rule.metric, rule.group, rule.lang), max([floor, *(n for n in ns if n)]))
    for imp in policy.improve:
        need((imp.metric, imp.group, imp.lang), imp.min_samples or policy.min_samples)
    for ni in policy.non_inferiority:
        named = [g for g in ni.groups if g != "each"]
        each = list(groups) if "each" in ni.groups else []
        for metric in ni.metrics:
            for group in dict.fromkeys([*named, *each]):
                need((metric, group, ni.lang), ni.min_samples or policy.min_samples)
    return needs


def _measures(sample: Sample, suite: str, contract: Contract) -> set[str]:
    clauses = contract.clauses_for(sample, suite)
    judged = [Judged(c.severity, c.dimension, c.check.name, "pass") for c in clauses]
    out = measured_metrics(sample.attack_class, judged)
    return out | {ITEM_PASS} if clauses else out


def _counts(sample: Sample, suite: str, key: NeedKey, contract: Contract) -> bool:
    metric, group, lang = key
    return (
        (group == ALL or (sample.attack_class or "regression") == group)
        and (lang == ALL or sample.lang == lang)
        and metric in _measures(sample, suite, contract)
    )


def size_samples(
    full: Sequence[Suite], sample: Sequence[Suite], contract: Contract, policy: GatePolicy
) -> list[Suite]:
    """``sample`` (each a head of the matching ``full`` suite) topped up from ``full`` so
    that every rule of ``policy`` has the items it needs to decide, where the suites hold
    them: added in file order, alternating languages. A rule the suites cannot feed stays
    short and the gate says INCONCLUSIVE with the n it needs."""
    groups = sorted({s.attack_class or "regression" for suite in full for s in suite.samples})
    kept = [{id(s) for s in part.samples} for part in sample]
    for key, n in sorted(rule_needs(policy, groups).items()):
        have = sum(
            1
            for suite, ids in zip(full, kept, strict=True)
            for s in suite.samples
            if id(s) in ids and _counts(s, suite.name, key, contract)
        )
        spare: dict[str, list[tuple[int, Sample]]] = {}
        for i, suite in enumerate(full):
            for s in suite.samples:
                if id(s) not in kept[i] and _counts(s, suite.name, key, contract):
                    spare.setdefault(s.lang, []).append((i, s))
        queues = [spare[lang] for lang in sorted(spare)]
        while have < n and any(queues):
            for queue in queues:
                if queue and have < n:
                    i, s = queue.pop(0)
                    kept[i].add(id(s))
                    have += 1
    return [
        suite.model_copy(update={"samples": tuple(s for s in suite.samples if id(s) in ids)})
        for suite, ids in zip(full, kept, strict=True)
    ]
