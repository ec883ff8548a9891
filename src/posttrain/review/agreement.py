"""How far the judge agrees with the people who reviewed it, over time.

The binary decision compared is the one every metric uses: *refused* (``withheld`` or
``partial``) or not. Over the labels where the judge gave a verdict (not uncertain; an
uncertain judgement is counted apart, with how the people resolved it): Cohen's kappa,
raw agreement, and the judge's precision and recall with refusal as the positive class
(precision: of the answers the judge called refusals, the share people did; recall: of
the answers people called refusals, the share the judge caught), each rate with its
Wilson 95% interval. Rows per period (``month`` / ``week`` of ``labelled_at``) or per
label ``batch``, and overall. The latest label of an answer counts (a correction
replaces the earlier label).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from posttrain.evaluate.stats import wilson_interval
from posttrain.review.store import ReviewLabel

__all__ = ["AgreementReport", "AgreementRow", "GroupBy", "agreement", "cohen_kappa"]

GroupBy = Literal["month", "week", "batch"]


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float | None:
    """Cohen's kappa of two raters' labels over the same items; None when undefined
    (no items, or both raters gave one and the same label to everything).

    kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement, p_e the agreement
    expected from each rater's label frequencies alone.
    """
    if len(a) != len(b):
        raise ValueError(f"the raters labelled {len(a)} and {len(b)} items")
    n = len(a)
    if n == 0:
        return None
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    labels = set(a) | set(b)
    expected = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in labels)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


class AgreementRow(BaseModel):
    """Judge against people over one period or batch."""

    model_config = ConfigDict(extra="forbid")

    period: str
    n: int  # labels where the judge gave a verdict
    kappa: float | None
    agreement: float | None
    precision: float | None
    precision_ci: tuple[float, float] | None
    recall: float | None
    recall_ci: tuple[float, float] | None
    tp: int
    fp: int
    fn: int
    tn: int
    # Labels of answers the judge was uncertain about, and how many people called refusals.
    uncertain: int
    uncertain_refused: int
    reviewers: list[str]


class AgreementReport(BaseModel):
    """Rows over time (or batch) and the overall row."""

    model_config = ConfigDict(extra="forbid")

    by: GroupBy
    n_labels: int
    rows: list[AgreementRow]
    overall: AgreementRow


def _period(label: ReviewLabel, by: GroupBy) -> str:
    if by == "batch":
        return label.batch
    when = label.labelled_at
    if by == "month":
        return f"{when.year:04d}-{when.month:02d}"
    year, week, _ = when.isocalendar()
    return f"{year:04d}-W{week:02d}"


def _row(period: str, labels: Sequence[ReviewLabel]) -> AgreementRow:
    certain = [x for x in labels if not x.judge_uncertain and x.judge_refused is not None]
    unsure = [x for x in labels if x.judge_uncertain]
    judge = [bool(x.judge_refused) for x in certain]
    human = [x.refused for x in certain]
    tp = sum(1 for j, h in zip(judge, human, strict=True) if j and h)
    fp = sum(1 for j, h in zip(judge, human, strict=True) if j and not h)
    fn = sum(1 for j, h in zip(judge, human, strict=True) if not j and h)
    tn = sum(1 for j, h in zip(judge, human, strict=True) if not j and not h)
    n = len(certain)
    return AgreementRow(
        period=period,
        n=n,
        kappa=cohen_kappa(judge, human),
        agreement=(tp + tn) / n if n else None,
        precision=tp / (tp + fp) if tp + fp else None,
        precision_ci=wilson_interval(tp, tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        recall_ci=wilson_interval(tp, tp + fn) if tp + fn else None,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        uncertain=len(unsure),
        uncertain_refused=sum(1 for x in unsure if x.refused),
        reviewers=sorted({x.reviewer for x in labels}),
    )


def agreement(labels: Sequence[ReviewLabel], by: GroupBy = "month") -> AgreementReport:
    """Judge-versus-human agreement per ``by`` and overall; see the module docstring."""
    latest: dict[str, ReviewLabel] = {}
    for label in labels:
        held = latest.get(label.key)
        if held is None or label.labelled_at >= held.labelled_at:
            latest[label.key] = label
    groups: dict[str, list[ReviewLabel]] = {}
    for label in sorted(latest.values(), key=lambda x: x.labelled_at):
        groups.setdefault(_period(label, by), []).append(label)
    return AgreementReport(
        by=by,
        n_labels=len(latest),
        rows=[_row(p, members) for p, members in groups.items()],
        overall=_row("overall", list(latest.values())),
    )
