"""Judging each kind of gate rule: the arithmetic behind a :class:`RuleResult`.

:class:`Judge` holds both sides' items and the paired comparisons (the evaluation
engine's :func:`~posttrain.evaluate.compare.compare_items`, one per language asked for)
and turns each policy rule into one or more :class:`RuleResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from posttrain.contract.gate_policy import (
    ITEM_PASS,
    CounterRule,
    GatePolicy,
    ImprovementRule,
    NonInferiorityRule,
    ThresholdRule,
)
from posttrain.core.fmt import fmt_num
from posttrain.errors import InputError
from posttrain.evaluate.compare import CompareResult, CompareRow, compare_items
from posttrain.evaluate.metrics import ALL, Outcome, is_decided, item_outcomes
from posttrain.evaluate.results import ItemResult
from posttrain.evaluate.stats import percentile, wilson_interval
from posttrain.gate.policy import metric_direction
from posttrain.gate.power import perfect_delta_passes, threshold_min_n
from posttrain.gate.results import EvidenceItem, RuleKind, RuleResult, Status

__all__ = ["MAX_EVIDENCE", "Judge"]

MAX_EVIDENCE = 20
_EXCERPT = 160


def _outcome(item: ItemResult, metric: str) -> Outcome | None:
    if metric == ITEM_PASS:
        if not item.verdicts:
            return None
        status = item.outcome
        if status == "error" or status == "uncertain":
            return status
        return status == "pass"
    return item_outcomes(item).get(metric)


def _selected(item: ItemResult, group: str, lang: str) -> bool:
    return (group == ALL or item.group == group) and (lang == ALL or item.lang == lang)


def _evidence(item: ItemResult, change: str, detail: str = "") -> EvidenceItem:
    return EvidenceItem(
        id=item.id,
        suite=item.suite,
        group=item.group,
        lang=item.lang,
        change=change,
        detail=detail,
        completion=item.completion[:_EXCERPT],
    )


def _failed_clauses(item: ItemResult) -> str:
    return ", ".join(f"{v.clause}: {v.status}" for v in item.verdicts if v.status != "pass")


class Judge:
    """Holds both sides' items and the comparisons (one per language asked for)."""

    def __init__(self, policy: GatePolicy, base: list[ItemResult], cand: list[ItemResult]) -> None:
        self.policy = policy
        self.base, self.cand = base, cand
        self._compares: dict[str, CompareResult] = {}
        self.full = self.compare(ALL)
        base_keys = {(i.suite, i.id): i for i in base}
        self.pairs = [(base_keys[(c.suite, c.id)], c) for c in cand if (c.suite, c.id) in base_keys]

    def compare(self, lang: str) -> CompareResult:
        if lang not in self._compares:
            base = [i for i in self.base if lang == ALL or i.lang == lang]
            cand = [i for i in self.cand if lang == ALL or i.lang == lang]
            if not base or not cand:
                raise InputError(f"no item in language {lang!r} on both sides")
            self._compares[lang] = compare_items(
                base,
                cand,
                base_name="baseline",
                candidate_name="candidate",
                n_resamples=self.policy.bootstrap_resamples,
                seed=self.policy.seed,
            )
        return self._compares[lang]

    def _min(self, rule: ThresholdRule | ImprovementRule | NonInferiorityRule) -> int:
        return rule.min_samples or self.policy.min_samples

    def _underpowered(self, rule: ThresholdRule, n: int) -> str | None:
        """Why ``n`` judged items cannot decide ``rule`` (None when they can): fewer than
        min_samples, or fewer than a perfect candidate needs to clear the bound."""
        needs = [
            threshold_min_n(max_rate=rule.max) if rule.max is not None else 1,
            threshold_min_n(min_rate=rule.min) if rule.min is not None else 1,
        ]
        if None in needs:
            return "no sample size can clear this bound on a 95% interval: it can never pass"
        need = max(m for m in needs if m is not None)
        if n < self._min(rule):
            more = f"; a pass needs at least {need}" if need > self._min(rule) else ""
            return f"{n} judged items < min_samples {self._min(rule)}: too few to judge{more}"
        if n < need:
            perfect = "0 hits" if rule.max is not None else "every item good"
            return (
                f"needs at least {need} judged items: {n} cannot decide (even {perfect} "
                f"in {n} leaves the 95% bound past the threshold)"
            )
        return None

    # -- hard thresholds on the candidate ----------------------------------------------
    def threshold(self, rule: ThresholdRule) -> RuleResult:
        bad_when = rule.max is not None
        k = n = errors = uncertain = 0
        evidence: list[EvidenceItem] = []
        for item in self.cand:
            if not _selected(item, rule.group, rule.lang):
                continue
            outcome = _outcome(item, rule.metric)
            if outcome is None:
                continue
            if outcome == "error":
                errors += 1
                continue
            if outcome == "uncertain":
                uncertain += 1
                evidence.append(_evidence(item, "uncertain", _failed_clauses(item)))
                continue
            n += 1
            k += bool(outcome)
            if bool(outcome) == bad_when:
                evidence.append(
                    _evidence(item, "hit" if bad_when else "miss", _failed_clauses(item))
                )
        parts = []
        if rule.max is not None:
            parts.append(f"upper95 ≤ {rule.max:g}")
        if rule.min is not None:
            parts.append(f"lower95 ≥ {rule.min:g}")
        base = RuleResult(
            id=rule.id,
            rule=rule.id,
            kind="threshold",
            severity="hard",
            metric=rule.metric,
            group=rule.group,
            lang=rule.lang,
            status="inconclusive",
            threshold=" and ".join(parts),
            n=n,
            evidence=evidence[:MAX_EVIDENCE],
            evidence_total=len(evidence),
            uncertain=uncertain,
        )
        where = f"{rule.metric} [{rule.group}/{rule.lang}]"
        total = n + uncertain
        share = uncertain / total if total else 0.0
        if uncertain and share > self.policy.max_uncertain_share:
            return self._too_uncertain(rule, base, k, n, uncertain, errors)
        if n == 0:
            return base.model_copy(
                update={"message": f"no judged item measures {where} ({errors} errored)"}
            )
        result = self._decide_threshold(rule, base, k, n)
        message = result.message
        if errors:
            message += f"; {errors} errored items left out"
        if uncertain:
            message += (
                f"; {uncertain} uncertain items left out (share {share:.3f} ≤ "
                f"max_uncertain_share {self.policy.max_uncertain_share:g})"
            )
        return result.model_copy(update={"message": message})

    def _decide_threshold(
        self, rule: ThresholdRule, base: RuleResult, k: int, n: int
    ) -> RuleResult:
        """The rule judged on ``k`` of ``n`` decided items (n > 0)."""
        low, high = wilson_interval(k, n)
        rate = k / n
        update: dict[str, Any] = {"value": rate, "interval": (low, high), "n": n}
        # Too few samples can never pass, but an interval wholly on the wrong side of
        # the threshold is decisive even on few samples (e.g. 6 hits out of 6).
        clearly_bad = (rule.max is not None and low > rule.max) or (
            rule.min is not None and high < rule.min
        )
        if not clearly_bad:
            short = self._underpowered(rule, n)
            if short:
                return base.model_copy(update={**update, "message": short})
        failing = []
        if rule.max is not None and high > rule.max:
            failing.append(f"upper bound {high:.3f} > {rule.max:g}")
            update["bound"] = high
        if rule.min is not None and low < rule.min:
            failing.append(f"lower bound {low:.3f} < {rule.min:g}")
            update["bound"] = low
        if "bound" not in update:
            update["bound"] = high if rule.max is not None else low
        status: Status = "fail" if failing else "pass"
        message = f"{k}/{n} = {rate:.3f}" + (f"; {'; '.join(failing)}" if failing else "")
        return base.model_copy(update={**update, "status": status, "message": message})

    def _too_uncertain(
        self, rule: ThresholdRule, base: RuleResult, k: int, n: int, uncertain: int, errors: int
    ) -> RuleResult:
        """More uncertain items than the policy lets a rate rest on: INCONCLUSIVE, unless
        the rule fails even with every uncertain item counted in the candidate's favour
        (then no label a person could give would make it pass)."""
        total = n + uncertain
        share = uncertain / total
        why = (
            f"{uncertain} of {total} judgements uncertain (share {share:.3f} > "
            f"max_uncertain_share {self.policy.max_uncertain_share:g})"
        )
        # In the candidate's favour: no hit for a `max` rule, a good item for a `min` rule
        # (a rule with both bounds has no one favourable reading).
        if (rule.max is None) != (rule.min is None):
            best_k = k if rule.max is not None else k + uncertain
            best = self._decide_threshold(rule, base, best_k, total)
            if best.status == "fail":
                return best.model_copy(
                    update={
                        "n": n,
                        "message": f"{best.message} even with every uncertain item counted in "
                        f"the candidate's favour; {why}",
                    }
                )
        update: dict[str, Any] = {"n": n}
        if n:
            update["value"] = k / n
            update["interval"] = wilson_interval(k, n)
        tail = f"; {errors} errored items left out" if errors else ""
        message = (
            f"{why}: too uncertain to decide; label them (`posttrain review sample`) "
            f"and re-evaluate{tail}"
        )
        return base.model_copy(update={**update, "message": message})

    # -- paired rules --------------------------------------------------------------------
    def _paired(
        self, rule_id: str, rule: str, kind: RuleKind, metric: str, group: str, lang: str
    ) -> tuple[RuleResult, CompareRow | None]:
        result = RuleResult(
            id=rule_id,
            rule=rule,
            kind=kind,
            severity="hard",
            metric=metric,
            group=group,
            lang=lang,
            status="inconclusive",
        )
        try:
            cmp = self.compare(lang)
        except InputError as exc:
            return result.model_copy(update={"message": exc.message}), None
        row = next((r for r in cmp.rows if r.metric == metric and r.group == group), None)
        if row is not None and row.uncertain and row.n_pairs == 0:
            message = (
                f"every pair measuring {metric} [{group}/{lang}] has an uncertain judgement "
                f"({row.uncertain}): too uncertain to decide; label them "
                "(`posttrain review sample`) and re-evaluate"
            )
            update = {"message": message, "n": 0, "uncertain": row.uncertain}
            return result.model_copy(update=update), None
        if row is None or row.n_pairs == 0 or row.delta is None:
            message = f"no paired item measures {metric} [{group}/{lang}]"
            return result.model_copy(update={"message": message, "n": 0}), None
        evidence = self._flips(metric, group, lang)
        return result.model_copy(
            update={
                "value": row.delta,
                "interval": (row.ci_low, row.ci_high),
                "n": row.n_pairs,
                "evidence": evidence[:MAX_EVIDENCE],
                "evidence_total": len(evidence),
            }
        ), row

    def _flips(self, metric: str, group: str, lang: str) -> list[EvidenceItem]:
        worse_is_true = metric_direction(metric) == "higher_is_worse"
        out = []
        for before, after in self.pairs:
            if not _selected(before, group, lang):
                continue
            b, a = _outcome(before, metric), _outcome(after, metric)
            if b is None or a is None or not (is_decided(a) and is_decided(b)):
                continue
            if bool(b) != bool(a) and bool(a) == worse_is_true:
                old = {v.clause: v.status for v in before.verdicts}
                changes = [
                    f"{v.clause}: {old.get(v.clause, 'absent')} -> {v.status}"
                    for v in after.verdicts
                    if old.get(v.clause) != v.status
                ]
                label = f"{metric}: {str(bool(b)).lower()} -> {str(bool(a)).lower()}"
                out.append(_evidence(after, label, "; ".join(changes)))
        return out

    def _judge_delta(
        self, result: RuleResult, row: CompareRow, margin: float, rule_min: int, improve: bool
    ) -> RuleResult:
        assert row.ci_low is not None and row.ci_high is not None  # set when n_pairs > 0
        worse_up = row.direction == "higher_is_worse"
        if improve:
            # Better means down for a higher-is-worse metric: the whole interval below -margin.
            bound, ok = (
                (row.ci_high, row.ci_high <= -margin)
                if worse_up
                else (row.ci_low, row.ci_low >= margin)
            )
            threshold = (
                f"delta upper95 ≤ {-margin:g}" if worse_up else f"delta lower95 ≥ {margin:g}"
            )
        else:
            bound, ok = (
                (row.ci_high, row.ci_high <= margin)
                if worse_up
                else (row.ci_low, row.ci_low >= -margin)
            )
            threshold = (
                f"delta upper95 ≤ {margin:g}" if worse_up else f"delta lower95 ≥ {-margin:g}"
            )
        assert row.delta is not None
        message = (
            f"{fmt_num(row.base_rate)} -> {fmt_num(row.candidate_rate)} (delta {row.delta:+.3f}, "
            f"McNemar p={row.p_value:.3g}, {row.b}/{row.c} discordant)"
        )
        status: Status = "pass" if ok else "fail"
        # An improvement the baseline leaves no room for says nothing about the candidate.
        if not ok and improve:
            short = self._paired_underpowered(result, row, margin)
            if short:
                status, message = "inconclusive", f"{short}; {message}"
        if row.n_pairs < rule_min:
            status = "inconclusive"
            message = f"{row.n_pairs} pairs < min_samples {rule_min}: too few to judge; " + message
        if row.errors:
            message += f"; {row.errors} errored pairs left out"
        if row.uncertain:
            share, limit = row.uncertain_share, self.policy.max_uncertain_share
            if share > limit:
                # A paired delta has no one favourable reading of its uncertain pairs.
                status = "inconclusive"
                message = (
                    f"{row.uncertain} of {row.n_pairs + row.uncertain} pairs uncertain (share "
                    f"{share:.3f} > max_uncertain_share {limit:g}): too uncertain to decide; "
                    f"label them (`posttrain review sample`) and re-evaluate; {message}"
                )
            else:
                message += (
                    f"; {row.uncertain} uncertain pairs left out (share {share:.3f} ≤ "
                    f"max_uncertain_share {limit:g})"
                )
        return result.model_copy(
            update={
                "status": status,
                "bound": bound,
                "threshold": threshold,
                "message": message,
                "uncertain": row.uncertain,
            }
        )

    def _paired_underpowered(self, result: RuleResult, row: CompareRow, margin: float) -> str:
        """Why no candidate could clear ``margin`` on these pairs ('' when one could):
        even the best candidate the baseline allows (every item good) falls short."""
        base = []
        for before, after in self.pairs:
            if not _selected(before, result.group, result.lang):
                continue
            b, a = _outcome(before, result.metric), _outcome(after, result.metric)
            if b is None or a is None or not (is_decided(a) and is_decided(b)):
                continue
            base.append(bool(b))
        if perfect_delta_passes(
            base,
            higher_is_worse=row.direction == "higher_is_worse",
            margin=margin,
            improve=True,
            n_resamples=self.policy.bootstrap_resamples,
            seed=self.policy.seed,
        ):
            return ""
        return (
            f"no candidate could show this improvement on {row.n_pairs} pairs (even one "
            "good on every item falls short of the margin): evaluate on more items"
        )

    def improvement(self, rule: ImprovementRule) -> RuleResult:
        result, row = self._paired(
            rule.id, rule.id, "improvement", rule.metric, rule.group, rule.lang
        )
        if row is None:
            return result
        return self._judge_delta(result, row, rule.margin, self._min(rule), improve=True)

    def non_inferiority(self, rule: NonInferiorityRule) -> list[RuleResult]:
        groups: list[str] = []
        for g in rule.groups:
            if g == "each":
                groups += sorted({b.group for b, _ in self.pairs})
            else:
                groups.append(g)
        results = []
        for metric in rule.metrics:
            for group in dict.fromkeys(groups):
                # "<rule>:<metric>/<class>[/<lang>]"; no brackets, which terminals eat.
                rid = f"{rule.id}:{metric}/{group}" + (f"/{rule.lang}" if rule.lang != ALL else "")
                result, row = self._paired(
                    rid, rule.id, "non_inferiority", metric, group, rule.lang
                )
                if row is None:
                    # Under "each", a metric that does not apply to a class is not missing.
                    if group not in rule.groups:
                        continue
                    # Relative rules cannot ask for what neither side measured (the hard
                    # thresholds do); a class named on purpose must be there.
                    if group == ALL:
                        result = result.model_copy(
                            update={"status": "skipped", "message": result.message + ": skipped"}
                        )
                    results.append(result)
                    continue
                results.append(
                    self._judge_delta(result, row, rule.margin, self._min(rule), improve=False)
                )
        return results

    # -- counters -------------------------------------------------------------------------
    def counter(self, rule: CounterRule) -> RuleResult:
        counted: list[EvidenceItem] = []
        measured = 0
        for item in self.cand:
            if rule.id == "eval_errors" and not (rule.clauses or rule.checks):
                measured += 1
                errored = [v.clause for v in item.verdicts if v.status == "error"]
                if item.refusal_error:
                    errored.append(f"refusal detector: {item.refusal_error}")
                if errored:
                    counted.append(_evidence(item, "error", "; ".join(errored)))
                continue
            hits = [v for v in item.verdicts if v.clause in rule.clauses or v.check in rule.checks]
            if not hits:
                continue
            measured += 1
            failed = [v for v in hits if v.status == "fail"]
            if failed:
                detail = "; ".join(f"{v.clause}: {v.evidence}"[:200] for v in failed)
                counted.append(_evidence(item, "fail", detail))
        count = len(counted)
        result = RuleResult(
            id=rule.id,
            rule=rule.id,
            kind="counter",
            severity="hard",
            metric=rule.id,
            status="pass",
            value=float(count),
            bound=float(count),
            threshold=f"≤ {rule.max}",
            n=measured,
            evidence=counted[:MAX_EVIDENCE],
            evidence_total=count,
            message=f"{count} of {measured} measured items",
        )
        if measured == 0:
            what = ", ".join([*rule.clauses, *rule.checks])
            status: Status = "inconclusive" if rule.required else "skipped"
            return result.model_copy(
                update={
                    "status": status,
                    "value": None,
                    "bound": None,
                    "message": f"no item was judged by {what}: not measured",
                }
            )
        if count > rule.max:
            return result.model_copy(update={"status": "fail"})
        if rule.min_samples and measured < rule.min_samples:
            return result.model_copy(
                update={
                    "status": "inconclusive",
                    "message": f"{measured} measured items < min_samples {rule.min_samples}",
                }
            )
        return result

    # -- soft alerts ------------------------------------------------------------------------
    def soft(self) -> list[RuleResult]:
        cfg = self.policy.soft
        out: list[RuleResult] = []
        if cfg.p95_latency_increase_pct is not None:
            b = percentile([i.latency_s for i in self.base], 95)
            c = percentile([i.latency_s for i in self.cand], 95)
            out.append(
                _pct_alert("p95_latency", "latency_p95_s", b, c, cfg.p95_latency_increase_pct, "s")
            )
        if cfg.cost_increase_pct is not None:
            b = _mean([i.prompt_tokens + i.completion_tokens for i in self.base])
            c = _mean([i.prompt_tokens + i.completion_tokens for i in self.cand])
            out.append(_pct_alert("cost", "tokens_per_item", b, c, cfg.cost_increase_pct, "tok"))
        if cfg.refusal_rate_drift is not None:
            row = next(
                (r for r in self.full.rows if r.metric == "refusal_rate" and r.group == ALL), None
            )
            result = RuleResult(
                id="refusal_drift",
                rule="refusal_drift",
                kind="soft",
                severity="soft",
                metric="refusal_rate",
                status="skipped",
                threshold=f"|delta| ≤ {cfg.refusal_rate_drift:g}",
            )
            if row is None or row.delta is None:
                out.append(result.model_copy(update={"message": "no paired refusal judgements"}))
            else:
                drift = abs(row.delta) > cfg.refusal_rate_drift
                out.append(
                    result.model_copy(
                        update={
                            "status": "alert" if drift else "ok",
                            "value": row.delta,
                            "bound": abs(row.delta),
                            "interval": (row.ci_low, row.ci_high),
                            "n": row.n_pairs,
                            "message": f"refusal rate {fmt_num(row.base_rate)} -> "
                            f"{fmt_num(row.candidate_rate)}",
                        }
                    )
                )
        return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pct_alert(
    rid: str, metric: str, base: float | None, cand: float | None, limit: float, unit: str
) -> RuleResult:
    result = RuleResult(
        id=rid,
        rule=rid,
        kind="soft",
        severity="soft",
        metric=metric,
        status="skipped",
        threshold=f"increase ≤ {limit:g}%",
    )
    if base is None or cand is None or base <= 0:
        return result.model_copy(update={"message": "no baseline value to compare with"})
    pct = (cand - base) / base * 100.0
    return result.model_copy(
        update={
            "status": "alert" if pct > limit else "ok",
            "value": pct,
            "bound": pct,
            "message": f"{base:.3g}{unit} -> {cand:.3g}{unit} ({pct:+.1f}%)",
        }
    )
