"""Render an :class:`~posttrain.evaluate.audit.AuditReport` as ``safety.md``,
``safety.json`` and ``safety.junit.xml`` (one test case per hard threshold, one per
class and language carrying its rates)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from posttrain.core.fmt import fmt_rate

if TYPE_CHECKING:
    from posttrain.evaluate.audit import AuditReport

__all__ = ["REPORT_FILES", "render_junit", "render_markdown", "write_reports"]

REPORT_FILES = ("safety.md", "safety.json", "safety.junit.xml")


def write_reports(report: AuditReport, directory: Path) -> list[Path]:
    """Write the three files into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    md, js, junit = (directory / name for name in REPORT_FILES)
    md.write_text(render_markdown(report), encoding="utf-8")
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    junit.write_text(render_junit(report), encoding="utf-8")
    return [md, js, junit]


def render_markdown(report: AuditReport) -> str:
    s = report.summary
    lines = [
        f"# Safety audit: {report.model}",
        "",
        "## Run summary",
        "",
        f"- **Result: {report.status.upper()}** (exit code {report.exit_code})",
        f"- **Rollback decision:** {report.decision}",
        "- Reasons:",
        *[f"  - {r}" for r in report.reasons],
        "",
        f"Model `{report.model}` (fingerprint `{s.model_fingerprint}`, backend `{s.backend}`); "
        f"suite `{s.suite}` version `{s.suite_version}`; contract `{s.contract_hash}`; "
        f"{s.n_items} items ({s.n_cached} from the cache, {s.n_generated} generated) in "
        f"{s.duration_s:.1f}s; greedy={s.params.greedy}, max_new_tokens={s.params.max_new_tokens}"
        f" (generation parameters: {s.generation_source or 'not recorded'}"
        + (
            f"; overridden: {', '.join(f'{k} {v}' for k, v in s.generation_overrides.items())}"
            if s.generation_overrides
            else ""
        )
        + ").",
    ]
    if report.limit is not None:
        lines.append(
            f"\n> Limited to {report.limit} items per class and language: a quick look, "
            "not a release decision."
        )
    lines += [
        "",
        "## Hard thresholds",
        "",
        "| clause | check | min pass rate | pass rate [95% CI] | passed / judged | errors "
        "| status |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in report.thresholds:
        rate = "n/a"
        if t.pass_rate is not None:
            rate = f"{t.pass_rate:.3f} [{t.ci_low:.3f}, {t.ci_high:.3f}]"
        lines.append(
            f"| {t.clause} | {t.check} | {t.threshold:.3f} | {rate} | {t.passed}/{t.n - t.errors} "
            f"| {t.errors} | {t.status.upper()} |"
        )
    lines += [
        "",
        "## Rates per class and language",
        "",
        "Each rate: value [Wilson 95% interval] (k/n); check errors are counted apart, "
        "never as a pass.",
        "",
        "| class | lang | items | metric | rate |",
        "|---|---|---|---|---|",
    ]
    for row in report.classes:
        if not row.rates:
            lines.append(f"| {row.group} | {row.lang} | {row.n_items} | - | n/a |")
        for r in row.rates:
            lines.append(
                f"| {row.group} | {row.lang} | {row.n_items} | {r.metric} | {fmt_rate(r)} |"
            )
    lat = s.metrics.latency
    p50 = "n/a" if lat.p50_s is None else f"{lat.p50_s:.2f}s"
    p95 = "n/a" if lat.p95_s is None else f"{lat.p95_s:.2f}s"
    tps = "n/a (all cached)" if lat.tokens_per_s is None else f"{lat.tokens_per_s:.1f}"
    lines += [
        "",
        "## Cost and latency",
        "",
        f"Latency P50 {p50}, P95 {p95} (per item, batch latency for batched backends); "
        f"throughput {tps} tokens/s.",
        "",
        f"Items with completions and per-clause verdicts: `{report.eval_dir}/items.jsonl`.",
        "",
    ]
    return "\n".join(lines)


def render_junit(report: AuditReport) -> str:
    root = ET.Element("testsuites", name=f"posttrain safety audit: {report.model}")
    thresholds = ET.SubElement(root, "testsuite", name="safety.thresholds")
    failures = errors = 0
    for t in report.thresholds:
        case = ET.SubElement(
            thresholds,
            "testcase",
            classname="safety.thresholds",
            name=f"{t.clause} pass rate >= {t.threshold:g}",
        )
        if t.status == "fail":
            ET.SubElement(case, "failure", message=t.reason, type="ThresholdBroken").text = t.reason
            failures += 1
        elif t.status == "error":
            ET.SubElement(case, "error", message=t.reason, type="CheckErrors").text = t.reason
            errors += 1
    thresholds.set("tests", str(len(report.thresholds)))
    thresholds.set("failures", str(failures))
    thresholds.set("errors", str(errors))
    classes = ET.SubElement(root, "testsuite", name="safety.rates", tests=str(len(report.classes)))
    classes.set("failures", "0")
    classes.set("errors", "0")
    for row in report.classes:
        case = ET.SubElement(
            classes,
            "testcase",
            classname=f"safety.rates.{row.group}",
            name=f"{row.group} [{row.lang}]",
        )
        ET.SubElement(case, "system-out").text = (
            "\n".join(f"{r.metric}: {fmt_rate(r)}" for r in row.rates) or "no items"
        )
    root.set("tests", str(len(report.thresholds) + len(report.classes)))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
