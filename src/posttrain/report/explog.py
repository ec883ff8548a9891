"""The experiment log ``reports/posttrain/experiment-log.md``: one entry per run.

Each entry binds a run to its inputs and its outcome: run id, data version, config
(options, training runs and their config hashes), key metrics with intervals, the gate
verdict, the conclusion and the rollback decision. An entry sits between two HTML
comment markers carrying the run id, so writing the same run again replaces its entry
instead of adding a second one (the log stays one entry per run however often a run is
resumed or its report regenerated). Writes take a file lock.
"""

from __future__ import annotations

import re
from pathlib import Path

from filelock import FileLock

from posttrain.core.fmt import fmt_rate
from posttrain.report.model import KEY_METRICS, RunReport

__all__ = ["LOG_HEADER", "read_entry_ids", "render_entry", "upsert_entry"]

LOG_HEADER = (
    "# Experiment log\n\n"
    "One entry per `posttrain run`: what went in (data version, config), what came out\n"
    "(metrics with 95% intervals, gate verdict) and what was decided (conclusion, rollback).\n"
    "Entries are written by posttrain; edit the conclusion in the run's report, not here.\n"
)
_BEGIN = "<!-- posttrain-run: {run_id} -->"
_END = "<!-- /posttrain-run: {run_id} -->"
_ID_RE = re.compile(r"<!-- posttrain-run: (\S+) -->")


def render_entry(report: RunReport, *, report_path: Path | None = None) -> str:
    """The Markdown entry of one run, markers included."""
    v = report.verdict
    lines = [
        _BEGIN.format(run_id=report.run_id),
        f"## {report.run_id} · {report.created_at} · {report.decision}",
        "",
        f"- **run_id**: `{report.run_id}`",
        f"- **data version**: `{report.data_version or 'unknown'}`",
    ]
    opts = ", ".join(f"{k}={val}" for k, val in report.options.items() if val is not None)
    runs = "; ".join(
        f"{t.recipe} `{t.run_id}` ({t.status}, config `{t.config_hash}`, {t.n_train} examples, "
        f"{t.tokens} tokens, {t.wall_s:.0f}s)"
        for t in report.training
    )
    lines.append(f"- **config**: {opts or 'defaults'}" + (f"; training: {runs}" if runs else ""))
    lines.append(
        f"- **models**: baseline `{report.baseline.model}` vs candidate `{report.candidate.model}` "
        f"({report.compare.n_paired} paired items)"
    )
    lines += [
        "- **metrics** (95% Wilson intervals; delta with its paired-bootstrap interval):",
        "",
        "  | metric | baseline | candidate | delta |",
        "  |---|---|---|---|",
    ]
    deltas = {(r.metric, r.group): r for r in report.compare.rows}
    for metric in KEY_METRICS:
        b, c = report.baseline.rate(metric), report.candidate.rate(metric)
        if b is None and c is None:
            continue
        d = deltas.get((metric, "all"))
        delta = "–"
        if d is not None and d.delta is not None and d.ci_low is not None and d.ci_high is not None:
            delta = f"{d.delta:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]"
        lines.append(f"  | {metric} | {fmt_rate(b)} | {fmt_rate(c)} | {delta} |")
    lines.append("")
    if v is None:
        lines.append("- **verdict**: none (the gate did not run)")
    else:
        blocking = [r.id for r in v.rules if r.blocking and not r.waived_by]
        lines.append(
            f"- **verdict**: **{v.decision}** (`{v.id}`, policy {v.policy_source})"
            + (f"; blocking: {', '.join(blocking)}" if blocking else "")
        )
    lines.append(f"- **conclusion**: {report.release.conclusion or '–'}")
    lines.append(f"- **rollback decision**: {report.release.rollback_decision or '–'}")
    if report_path is not None:
        lines.append(f"- **report**: `{report_path}`")
    lines.append(_END.format(run_id=report.run_id))
    return "\n".join(lines) + "\n"


def read_entry_ids(path: Path) -> list[str]:
    """The run ids the log holds, in order."""
    if not path.is_file():
        return []
    return _ID_RE.findall(path.read_text(encoding="utf-8"))


def upsert_entry(path: Path, report: RunReport, *, report_path: Path | None = None) -> Path:
    """Add the run's entry to the log, or replace the entry it already has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = render_entry(report, report_path=report_path)
    begin = _BEGIN.format(run_id=report.run_id)
    end = _END.format(run_id=report.run_id)
    with FileLock(str(path.with_name(f".{path.name}.lock")), timeout=60):
        text = path.read_text(encoding="utf-8") if path.is_file() else LOG_HEADER
        start = text.find(begin)
        stop = text.find(end, start) if start >= 0 else -1
        if start >= 0 and stop >= 0:
            rest = text[stop + len(end) :].lstrip("\n")
            text = text[:start] + entry + ("\n" + rest if rest else "")
        else:
            text = text.rstrip("\n") + "\n\n" + entry
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path
