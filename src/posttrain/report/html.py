"""The HTML report of a run: one self-contained file (inline CSS, plots as base64 PNG).

Top to bottom: the decision, the run at a glance (data version, models, stage times,
release), the plots (loss curves, attack hit rate per class and language, over-refusal
and regression pass rate, latency), the key metrics with intervals, uncertain counts and
paired deltas, the refusal judge (uncertain and human-decided items, calibrated
precision and recall, agreement with the reviewers over time), the gate's rules, the
flips, and the training runs. Nothing on the page loads anything
from elsewhere, so the file can be mailed, attached to a ticket or archived as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from posttrain.core.fmt import fmt_num, fmt_rate
from posttrain.evaluate.metrics import RateRow
from posttrain.report.model import KEY_METRICS, RunReport
from posttrain.report.plots import Plot, render_plots

__all__ = ["render_html", "write_html_report"]

_DECISION_CLASS = {"PASS": "pass", "BLOCK": "block", "INCONCLUSIVE": "inconclusive"}
_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px;
       color: #222; background: #ffffff; max-width: 1200px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; font-size: 13px; }
.badge { display: inline-block; padding: 3px 10px; border-radius: 4px; color: #fff;
         font-weight: bold; font-size: 15px; }
.badge.pass { background: #2e7d32; } .badge.block { background: #b71c1c; }
.badge.inconclusive { background: #8d6e00; } .badge.none { background: #616161; }
table { border-collapse: collapse; font-size: 12.5px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.fail td { background: #fdecea; } tr.inconclusive td { background: #fff8e1; }
tr.alert td { background: #f3e5f5; }
.plots { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; border: 1px solid #e5e5e5; padding: 8px; background: #fff; }
figure img { display: block; max-width: 100%; }
figcaption { font-size: 12px; color: #555; max-width: 560px; margin-top: 4px; }
pre { white-space: pre-wrap; max-width: 420px; font-size: 11.5px; margin: 0; }
"""


def _table(
    headers: Sequence[str], rows: Iterable[tuple[Sequence[str], str]], numeric: set[int]
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for cells, css in rows:
        tds = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        body.append(f'<tr class="{css}">{tds}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _glance(report: RunReport) -> str:
    rel = report.release
    rows: list[tuple[str, str]] = [
        ("run", report.run_id),
        ("product", report.product or "–"),
        ("data version", report.data_version or "–"),
        (
            "baseline",
            f"{report.baseline.model} ({report.baseline.n_items} items, "
            f"fingerprint {(report.baseline.fingerprint or '–')[:16]})",
        ),
        (
            "candidate",
            f"{report.candidate.model} ({report.candidate.n_items} items, "
            f"fingerprint {(report.candidate.fingerprint or '–')[:16]})",
        ),
        ("paired items", str(report.compare.n_paired)),
        ("registered version", rel.registered_version or "–"),
        ("promoted to champion", "yes" if rel.promoted else "no"),
        ("conclusion", rel.conclusion or "–"),
        ("rollback decision", rel.rollback_decision or "–"),
    ]
    if report.options:
        rows.append(
            ("options", ", ".join(f"{k}={v}" for k, v in report.options.items() if v is not None))
        )
    if report.stage_seconds:
        total = sum(report.stage_seconds.values())
        times = ", ".join(f"{k} {v:.1f}s" for k, v in report.stage_seconds.items())
        rows.append(("stage times", f"{times} (total {total:.1f}s)"))
    return _table(("", ""), (((f"<b>{escape(k)}</b>", escape(v)), "") for k, v in rows), set())


def _plots(plots: Sequence[Plot]) -> str:
    if not plots:
        return "<p>No plot: nothing was measured.</p>"
    figs = []
    for p in plots:
        figs.append(
            f'<figure id="plot-{p.id}"><img alt="{escape(p.title)}" '
            f'src="data:image/png;base64,{p.png_base64}">'
            f"<figcaption><b>{escape(p.title)}.</b> {escape(p.caption)}</figcaption></figure>"
        )
    return f'<div class="plots">{"".join(figs)}</div>'


def _metrics(report: RunReport) -> str:
    deltas = {(r.metric, r.group): r for r in report.compare.rows}
    rows = []
    for metric in KEY_METRICS:
        b = report.baseline.rate(metric)
        c = report.candidate.rate(metric)
        if b is None and c is None:
            continue
        d = deltas.get((metric, "all"))
        delta = "–"
        p = "–"
        css = ""
        if d is not None and d.delta is not None:
            lo, hi = fmt_num(d.ci_low, signed=True), fmt_num(d.ci_high, signed=True)
            delta = f"{d.delta:+.3f} [{lo}, {hi}]"
            p = f"{d.p_value:.3g}"
            css = "fail" if d.worse else ""
        unsure = f"{_uncertain(b)} / {_uncertain(c)}"
        rows.append(((escape(metric), fmt_rate(b), fmt_rate(c), unsure, delta, p), css))
    lat_b, lat_c = report.baseline.metrics.latency, report.candidate.metrics.latency
    p50 = ("latency P50 (s)", fmt_num(lat_b.p50_s, 2), fmt_num(lat_c.p50_s, 2), "", "", "")
    p95 = ("latency P95 (s)", fmt_num(lat_b.p95_s, 2), fmt_num(lat_c.p95_s, 2), "", "", "")
    rows += [(p50, ""), (p95, "")]
    return _table(
        (
            "metric",
            f"{report.baseline.label} rate [95% CI] (k/n)",
            f"{report.candidate.label} rate [95% CI] (k/n)",
            "uncertain (not in n)",
            "paired delta [95% CI]",
            "McNemar p",
        ),
        rows,
        {1, 2, 3, 4, 5},
    )


def _uncertain(row: RateRow | None) -> str:
    return "–" if row is None else str(row.uncertain)


def _ci(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "–"
    tail = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
    return f"{value:.3f}{tail}"


def _judge(report: RunReport) -> str:
    """The refusal judge: uncertain and human-decided items per side, its calibrated
    precision and recall, and how far it agrees with the people who reviewed it."""
    rows = []
    cal_note = "not calibrated"
    for side in (report.baseline, report.candidate):
        j = side.judge
        if j is None:
            continue
        cal = j.calibration
        cal_note = j.calibration_note
        rows.append(
            (
                (
                    escape(side.label),
                    str(j.n_judged),
                    str(j.n_uncertain),
                    str(j.n_errors),
                    str(j.n_human),
                    _ci(cal.precision, cal.precision_ci) if cal else "not calibrated",
                    _ci(cal.recall, cal.recall_ci) if cal else "not calibrated",
                ),
                "inconclusive" if j.n_uncertain else "",
            )
        )
    if not rows:
        return "<p>No refusal judgement recorded (results written before it was).</p>"
    parts = [
        "<p>Uncertain items (the judge's rules and classifier disagreed) are counted apart "
        "from every rate, never as a pass; an item a person labelled is decided by the "
        f"label. Calibration: {escape(cal_note)}.</p>",
        _table(
            (
                "side",
                "judged",
                "uncertain",
                "errors",
                "decided by a person",
                "calibrated precision [95% CI]",
                "calibrated recall [95% CI]",
            ),
            rows,
            {1, 2, 3, 4, 5, 6},
        ),
    ]
    review = report.review
    if review is None:
        parts.append("<p>No human review labels yet (<code>posttrain review sample</code>).</p>")
        return "".join(parts)
    agree = [
        (
            (
                escape(r.period),
                str(r.n),
                fmt_num(r.kappa),
                fmt_num(r.agreement),
                _ci(r.precision, r.precision_ci),
                _ci(r.recall, r.recall_ci),
                f"{r.uncertain} ({r.uncertain_refused} refused)",
                escape(", ".join(r.reviewers)),
            ),
            "",
        )
        for r in [*review.rows, review.overall]
    ]
    parts.append(f"<h3>Judge vs people, by {escape(review.by)} ({review.n_labels} labels)</h3>")
    parts.append(
        _table(
            (
                "period",
                "n",
                "Cohen's kappa",
                "agreement",
                "precision [95% CI]",
                "recall [95% CI]",
                "uncertain labelled",
                "reviewers",
            ),
            agree,
            {1, 2, 3, 4, 5},
        )
    )
    return "".join(parts)


def _per_class(report: RunReport) -> str:
    rows = []
    for row in report.candidate.metrics.rates:
        if row.metric != "attack_hit_rate" or row.group == "all":
            continue
        base = report.baseline.rate(row.metric, row.group, row.lang)
        rows.append(((escape(row.group), escape(row.lang), fmt_rate(base), fmt_rate(row)), ""))
    if not rows:
        return ""
    return "<h3>Attack hit rate per class and language</h3>" + _table(
        ("class", "lang", report.baseline.label, report.candidate.label), rows, {2, 3}
    )


def _gate(report: RunReport) -> str:
    v = report.verdict
    if v is None:
        return "<p>No gate verdict (the gate stage did not run).</p>"
    rows = []
    for r in v.rules:
        interval = "–" if r.interval is None else f"[{r.interval[0]:.3f}, {r.interval[1]:.3f}]"
        status = r.status + (f" (waived by {r.waived_by})" if r.waived_by else "")
        rows.append(
            (
                (
                    escape(r.id),
                    escape(r.kind),
                    escape(r.severity),
                    escape(f"{r.metric} / {r.group} / {r.lang}"),
                    f"<b>{escape(status)}</b>",
                    fmt_num(r.value),
                    fmt_num(r.bound),
                    escape(r.threshold),
                    interval,
                    "–" if r.n is None else str(r.n),
                    escape(r.message),
                ),
                r.status if r.status in ("fail", "inconclusive", "alert") else "",
            )
        )
    notes = "".join(f"<li>{escape(n)}</li>" for n in v.notes)
    head = (
        f"<p>Verdict <b>{escape(v.id)}</b>: <b>{escape(v.decision)}</b> "
        f"(without waivers: {escape(v.decision_without_waivers)}); policy "
        f"{escape(v.policy_source)} ({escape(v.policy_hash[:12])}); {v.n_paired} paired items.</p>"
    )
    table = _table(
        (
            "rule",
            "kind",
            "severity",
            "metric / class / lang",
            "status",
            "value",
            "bound",
            "threshold",
            "interval",
            "n",
            "message",
        ),
        rows,
        {5, 6, 8, 9},
    )
    return head + table + (f"<ul>{notes}</ul>" if notes else "")


def _flips(report: RunReport, limit: int = 40) -> str:
    parts = []
    for title, flips in (
        (
            "Newly failing (passed on the baseline, fail on the candidate)",
            report.compare.newly_failing,
        ),
        (
            "Newly passing (failed on the baseline, pass on the candidate)",
            report.compare.newly_passing,
        ),
    ):
        rows = [
            (
                (
                    escape(f"{f.suite}/{f.id}"),
                    escape(f"{f.group} / {f.lang}"),
                    escape("; ".join(f.changes)),
                    f"<pre>{escape(f.base_completion)}</pre>",
                    f"<pre>{escape(f.candidate_completion)}</pre>",
                ),
                "",
            )
            for f in flips[:limit]
        ]
        more = f" (first {limit} of {len(flips)})" if len(flips) > limit else ""
        parts.append(f"<h3>{escape(title)}: {len(flips)}{more}</h3>")
        if rows:
            parts.append(
                _table(
                    (
                        "item",
                        "class / lang",
                        "clause changes",
                        "baseline answer",
                        "candidate answer",
                    ),
                    rows,
                    set(),
                )
            )
    return "".join(parts)


def _training(report: RunReport) -> str:
    if not report.training:
        return "<p>No training run (the candidate was not trained in this run).</p>"
    rows = []
    for t in report.training:
        final = t.final_signals
        rows.append(
            (
                (
                    escape(t.run_id),
                    escape(t.recipe),
                    escape(t.status),
                    escape(t.data_version or "–"),
                    escape(t.config_hash),
                    f"{t.n_train} / {t.n_val}",
                    str(t.tokens),
                    fmt_num(final.get("loss"), 4),
                    fmt_num(final.get("val_loss"), 4),
                    f"{t.wall_s:.1f}",
                ),
                "",
            )
        )
    return _table(
        (
            "run",
            "recipe",
            "status",
            "data version",
            "config hash",
            "train / val",
            "tokens",
            "final loss",
            "val loss",
            "wall s",
        ),
        rows,
        {5, 6, 7, 8, 9},
    )


def render_html(report: RunReport, plots: Sequence[Plot] | None = None) -> str:
    """The report page as one HTML string (plots rendered here unless given)."""
    plots = render_plots(report) if plots is None else plots
    decision = report.decision
    badge = _DECISION_CLASS.get(decision, "none")
    title = f"posttrain run {report.run_id}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)} <span class="badge {badge}">{escape(decision)}</span></h1>'
        f'<p class="meta">{escape(report.candidate.label)} {escape(report.candidate.model)} vs '
        f"{escape(report.baseline.label)} {escape(report.baseline.model)} · written "
        f"{escape(report.created_at)} · workspace {escape(report.workspace)}</p>"
        f"<h2>Plots</h2>{_plots(plots)}"
        f"<h2>At a glance</h2>{_glance(report)}"
        f"<h2>Key metrics</h2>{_metrics(report)}{_per_class(report)}"
        f"<h2>Refusal judge</h2>{_judge(report)}"
        f"<h2>Gate</h2>{_gate(report)}"
        f"<h2>Flips</h2>{_flips(report)}"
        f"<h2>Training runs</h2>{_training(report)}"
        "</body></html>\n"
    )


def write_html_report(report: RunReport, path: Path) -> Path:
    """Render and write the report atomically; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(path)
    return path
