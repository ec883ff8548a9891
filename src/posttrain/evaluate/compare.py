"""Candidate against baseline, item by item.

Results are paired by (suite, item id). For every metric and class the comparison gives
both rates, the delta with a paired-bootstrap 95% interval (fixed seed), and McNemar's
exact test on the discordant pairs; the items whose overall verdict flipped are listed.
Pairs where either side errored are counted apart, never as a pass or a fail; so are
pairs where either side's judge was uncertain (``uncertain``; an error wins when both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from posttrain.errors import InputError
from posttrain.evaluate.metrics import ALL, HIGHER_IS_WORSE, METRICS, Outcome, item_outcomes
from posttrain.evaluate.results import ITEMS_FILE, ItemResult, read_items
from posttrain.evaluate.stats import mcnemar_exact, paired_bootstrap_ci

__all__ = ["CompareResult", "CompareRow", "Flip", "compare", "compare_items", "load_results"]

SCHEMA_VERSION = 1
ITEM_PASS = "item_pass_rate"
Direction = Literal["higher_is_worse", "higher_is_better", "neutral"]
_EXCERPT = 240


class CompareRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    group: str
    direction: Direction
    n_pairs: int
    # Pairs left out because either side's check errored.
    errors: int
    base_rate: float | None
    candidate_rate: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    # Discordant pairs: b = true in base only, c = true in candidate only.
    b: int
    c: int
    p_value: float
    significant: bool
    # Significant and in the bad direction for this metric.
    worse: bool
    # Pairs left out because either side's judge was uncertain (neither errored).
    uncertain: int = 0

    @property
    def uncertain_share(self) -> float:
        """Uncertain pairs among the paired and uncertain ones (errors apart)."""
        total = self.n_pairs + self.uncertain
        return self.uncertain / total if total else 0.0


class Flip(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    suite: str
    group: str
    lang: str
    before: str
    after: str
    # "clause: pass -> fail" for every clause whose status changed.
    changes: list[str]
    base_completion: str
    candidate_completion: str


class CompareResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["compare"] = "compare"
    base: str
    candidate: str
    n_paired: int
    only_in_base: int
    only_in_candidate: int
    bootstrap_resamples: int
    seed: int
    rows: list[CompareRow]
    newly_failing: list[Flip]
    newly_passing: list[Flip]

    @property
    def regressions(self) -> list[CompareRow]:
        return [r for r in self.rows if r.worse]


def load_results(path: Path) -> list[ItemResult]:
    """Items from an ``items.jsonl`` file or a result folder (every ``items.jsonl`` under
    it). Raises :class:`InputError` when there is none."""
    path = Path(path)
    if path.is_file():
        return read_items(path)
    if path.is_dir():
        direct = path / ITEMS_FILE
        files = [direct] if direct.is_file() else sorted(path.rglob(ITEMS_FILE))
        if files:
            return [item for f in files for item in read_items(f)]
        raise InputError(
            f"no {ITEMS_FILE} under this folder",
            path=str(path),
            hint="give a folder written by `posttrain eval` / `posttrain audit`, or an items.jsonl",
        )
    raise InputError("no such file or folder", path=str(path))


def compare(
    base: Path, candidate: Path, *, n_resamples: int = 2000, seed: int = 0
) -> CompareResult:
    """Compare two result folders or files; see :func:`compare_items`."""
    return compare_items(
        load_results(base),
        load_results(candidate),
        base_name=str(base),
        candidate_name=str(candidate),
        n_resamples=n_resamples,
        seed=seed,
    )


def compare_items(
    base_items: list[ItemResult],
    candidate_items: list[ItemResult],
    *,
    base_name: str = "base",
    candidate_name: str = "candidate",
    n_resamples: int = 2000,
    seed: int = 0,
) -> CompareResult:
    """Pair by (suite, id) and compare every metric per class, plus the flips."""
    base = _by_key(base_items, base_name)
    cand = _by_key(candidate_items, candidate_name)
    keys = [k for k in base if k in cand]
    if not keys:
        raise InputError(
            f"no item of {candidate_name} pairs with an item of {base_name}",
            hint="compare results of the same suite: items pair by suite name and id",
        )
    outcomes = {k: (_outcomes(base[k]), _outcomes(cand[k])) for k in keys}
    metrics = [*METRICS, ITEM_PASS]
    groups = [ALL, *sorted({base[k].group for k in keys})]
    rows: list[CompareRow] = []
    for metric in metrics:
        for group in groups:
            pairs: list[tuple[bool, bool]] = []
            errors = uncertain = 0
            for k in keys:
                if group != ALL and base[k].group != group:
                    continue
                before, after = outcomes[k][0].get(metric), outcomes[k][1].get(metric)
                if before is None or after is None:
                    continue
                if before == "error" or after == "error":
                    errors += 1
                    continue
                if before == "uncertain" or after == "uncertain":
                    uncertain += 1
                    continue
                pairs.append((bool(before), bool(after)))
            if pairs or errors or uncertain:
                row = _row(metric, group, pairs, errors, n_resamples, seed)
                rows.append(row.model_copy(update={"uncertain": uncertain}))
    newly_failing: list[Flip] = []
    newly_passing: list[Flip] = []
    for k in keys:
        was, now = base[k].outcome, cand[k].outcome
        if was == "pass" and now == "fail":
            newly_failing.append(_flip(base[k], cand[k]))
        elif was == "fail" and now == "pass":
            newly_passing.append(_flip(base[k], cand[k]))
    return CompareResult(
        base=base_name,
        candidate=candidate_name,
        n_paired=len(keys),
        only_in_base=sum(1 for k in base if k not in cand),
        only_in_candidate=sum(1 for k in cand if k not in base),
        bootstrap_resamples=n_resamples,
        seed=seed,
        rows=rows,
        newly_failing=newly_failing,
        newly_passing=newly_passing,
    )


def _row(
    metric: str,
    group: str,
    pairs: list[tuple[bool, bool]],
    errors: int,
    n_resamples: int,
    seed: int,
) -> CompareRow:
    direction: Direction = (
        "higher_is_worse"
        if metric in HIGHER_IS_WORSE
        else "neutral"
        if metric == "refusal_rate"
        else "higher_is_better"
    )
    b = sum(1 for x, y in pairs if x and not y)
    c = sum(1 for x, y in pairs if y and not x)
    p = mcnemar_exact(b, c)
    if not pairs:
        return CompareRow(
            metric=metric,
            group=group,
            direction=direction,
            n_pairs=0,
            errors=errors,
            base_rate=None,
            candidate_rate=None,
            delta=None,
            ci_low=None,
            ci_high=None,
            b=0,
            c=0,
            p_value=1.0,
            significant=False,
            worse=False,
        )
    xs = [float(x) for x, _ in pairs]
    ys = [float(y) for _, y in pairs]
    base_rate, cand_rate = sum(xs) / len(xs), sum(ys) / len(ys)
    delta = cand_rate - base_rate
    low, high = paired_bootstrap_ci(xs, ys, n_resamples=n_resamples, seed=seed)
    significant = p < 0.05
    worse = significant and (
        (direction == "higher_is_worse" and delta > 0)
        or (direction == "higher_is_better" and delta < 0)
    )
    return CompareRow(
        metric=metric,
        group=group,
        direction=direction,
        n_pairs=len(pairs),
        errors=errors,
        base_rate=base_rate,
        candidate_rate=cand_rate,
        delta=delta,
        ci_low=low,
        ci_high=high,
        b=b,
        c=c,
        p_value=p,
        significant=significant,
        worse=worse,
    )


def _outcomes(item: ItemResult) -> dict[str, Outcome]:
    out = item_outcomes(item)
    if item.verdicts:
        status = item.outcome
        out[ITEM_PASS] = status if status in ("error", "uncertain") else status == "pass"
    return out


def _by_key(items: list[ItemResult], name: str) -> dict[tuple[str, str], ItemResult]:
    found: dict[tuple[str, str], ItemResult] = {}
    for item in items:
        key = (item.suite, item.id)
        if key in found:
            raise InputError(
                f"item {item.id!r} of suite {item.suite!r} appears twice",
                path=name,
                hint="results pair by suite and id; each must be unique",
            )
        found[key] = item
    return found


def _flip(before: ItemResult, after: ItemResult) -> Flip:
    old = {v.clause: v.status for v in before.verdicts}
    changes = [
        f"{v.clause}: {old.get(v.clause, 'absent')} -> {v.status}"
        for v in after.verdicts
        if old.get(v.clause) != v.status
    ]
    return Flip(
        id=after.id,
        suite=after.suite,
        group=after.group,
        lang=after.lang,
        before=before.outcome,
        after=after.outcome,
        changes=changes,
        base_completion=before.completion[:_EXCERPT],
        candidate_completion=after.completion[:_EXCERPT],
    )
