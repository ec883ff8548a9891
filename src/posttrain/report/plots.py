"""The report's plots, rendered with matplotlib (Agg, no display) into base64 PNG strings.

Every plot compares the baseline (blue) with the candidate (orange); rates carry their
95% Wilson interval as error bars. A plot with nothing to show (no training run, no
attack item) is left out rather than drawn empty.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from posttrain.evaluate.metrics import RateRow
from posttrain.evaluate.suites import ATTACK_CLASSES as ATTACK_GROUPS
from posttrain.report.model import EvalSide, RunReport, TrainingInfo

__all__ = ["BASELINE_COLOUR", "CANDIDATE_COLOUR", "Plot", "render_plots"]

BASELINE_COLOUR = "#1f5fbf"
CANDIDATE_COLOUR = "#f07f0f"
_DPI = 100


class Plot:
    """One rendered figure: a stable id, a title, a caption and the PNG bytes as base64."""

    def __init__(self, id: str, title: str, caption: str, png_base64: str) -> None:
        self.id = id
        self.title = title
        self.caption = caption
        self.png_base64 = png_base64


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _encode(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _bar_values(rows: Sequence[RateRow | None]) -> tuple[list[float], list[list[float]]]:
    """Heights and asymmetric error bars (below, above) from rate rows; 0 where unmeasured."""
    heights, low, high = [], [], []
    for row in rows:
        if row is None or row.rate is None:
            heights.append(0.0)
            low.append(0.0)
            high.append(0.0)
            continue
        heights.append(row.rate)
        low.append(max(0.0, row.rate - (row.ci_low if row.ci_low is not None else row.rate)))
        high.append(max(0.0, (row.ci_high if row.ci_high is not None else row.rate) - row.rate))
    return heights, [low, high]


def _paired_bars(
    labels: Sequence[str],
    base_rows: Sequence[RateRow | None],
    cand_rows: Sequence[RateRow | None],
    *,
    base_label: str,
    cand_label: str,
    ylabel: str,
    width_in: float,
) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width_in, 3.6))
    xs = list(range(len(labels)))
    w = 0.38
    for offset, rows, colour, label in (
        (-w / 2, base_rows, BASELINE_COLOUR, base_label),
        (w / 2, cand_rows, CANDIDATE_COLOUR, cand_label),
    ):
        heights, err = _bar_values(rows)
        ax.bar(
            [x + offset for x in xs],
            heights,
            w,
            yerr=err,
            capsize=3,
            color=colour,
            label=label,
            error_kw={"ecolor": "#333333", "elinewidth": 1},
        )
        for x, row in zip(xs, rows, strict=True):
            if row is not None and row.n:
                ax.annotate(f"n={row.n}", (x + offset, 0), ha="center", va="bottom", fontsize=6)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def _loss_plot(training: Sequence[TrainingInfo]) -> Plot | None:
    runs = [t for t in training if t.loss or t.val_loss]
    if not runs:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.4), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        if run.loss:
            ax.plot(*zip(*run.loss, strict=True), color=CANDIDATE_COLOUR, lw=2, label="train loss")
        if run.val_loss:
            ax.plot(
                *zip(*run.val_loss, strict=True),
                color=BASELINE_COLOUR,
                lw=2,
                marker="o",
                label="validation loss",
            )
        ax.set_title(f"{run.recipe}: {run.run_id}", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return Plot(
        "loss",
        "Training loss",
        "Training loss per logged step, validation loss where it was measured.",
        _encode(fig),
    )


def _attack_plot(base: EvalSide, cand: EvalSide) -> Plot | None:
    strata: list[tuple[str, str]] = []
    for row in cand.metrics.rates + base.metrics.rates:
        key = (row.group, row.lang)
        if (
            row.metric == "attack_hit_rate"
            and row.group in ATTACK_GROUPS
            and row.lang != "all"
            and key not in strata
        ):
            strata.append(key)
    if not strata:
        return None
    strata.sort(key=lambda gl: (ATTACK_GROUPS.index(gl[0]), gl[1]))
    fig = _paired_bars(
        [f"{g}/{lang}" for g, lang in strata],
        [base.rate("attack_hit_rate", g, lang) for g, lang in strata],
        [cand.rate("attack_hit_rate", g, lang) for g, lang in strata],
        base_label=base.label,
        cand_label=cand.label,
        ylabel="attack hit rate (lower is better)",
        width_in=max(6.0, 0.9 * len(strata) + 2),
    )
    return Plot(
        "attacks",
        "Attack hit rate per class and language",
        "Share of attacks where a hard safety clause failed, with 95% Wilson intervals.",
        _encode(fig),
    )


def _rates_plot(base: EvalSide, cand: EvalSide) -> Plot | None:
    metrics = [
        m
        for m in (
            "over_refusal_rate",
            "regression_pass_rate",
            "format_validity",
            "leak_rate",
            "injection_execution_rate",
            "refusal_rate",
        )
        if base.rate(m) is not None or cand.rate(m) is not None
    ]
    if not metrics:
        return None
    fig = _paired_bars(
        metrics,
        [base.rate(m) for m in metrics],
        [cand.rate(m) for m in metrics],
        base_label=base.label,
        cand_label=cand.label,
        ylabel="rate",
        width_in=7.0,
    )
    return Plot(
        "rates",
        "Over-refusal, regression pass rate and other rates",
        "Overall rates with 95% Wilson intervals; over-refusal and leak rate: lower is "
        "better; regression pass rate and format validity: higher is better.",
        _encode(fig),
    )


def _latency_plot(base: EvalSide, cand: EvalSide) -> Plot | None:
    pairs = [
        ("P50", base.metrics.latency.p50_s, cand.metrics.latency.p50_s),
        ("P95", base.metrics.latency.p95_s, cand.metrics.latency.p95_s),
    ]
    if all(b is None and c is None for _, b, c in pairs):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    xs = range(len(pairs))
    w = 0.38
    ax.bar(
        [x - w / 2 for x in xs],
        [b or 0 for _, b, _ in pairs],
        w,
        color=BASELINE_COLOUR,
        label=base.label,
    )
    ax.bar(
        [x + w / 2 for x in xs],
        [c or 0 for _, _, c in pairs],
        w,
        color=CANDIDATE_COLOUR,
        label=cand.label,
    )
    ax.set_xticks(list(xs))
    ax.set_xticklabels([p for p, _, _ in pairs])
    ax.set_ylabel("seconds per answer")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return Plot(
        "latency",
        "Latency",
        "Per-answer generation latency, P50 and P95 (a cached answer keeps the latency "
        "measured when it was generated).",
        _encode(fig),
    )


def render_plots(report: RunReport) -> list[Plot]:
    """Every plot the report has data for, in page order."""
    plots = [
        _loss_plot(report.training),
        _attack_plot(report.baseline, report.candidate),
        _rates_plot(report.baseline, report.candidate),
        _latency_plot(report.baseline, report.candidate),
    ]
    return [p for p in plots if p is not None]
