"""A gate verdict as JUnit XML, for CI systems that show test reports.

One ``<testcase>`` per rule result: a broken hard rule is a ``<failure>``, an inconclusive
one an ``<error>`` (so CI does not turn green on too few samples), a skipped one
``<skipped>``; soft alerts and waived rules pass with a note in ``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from posttrain.gate.verdict import GateVerdict, RuleResult

__all__ = ["to_junit", "write_junit"]


def _text(rule: RuleResult) -> str:
    lines = [
        f"status: {rule.status}" + (f" (waived by {rule.waived_by})" if rule.waived_by else ""),
        f"value: {rule.value!r}  threshold: {rule.threshold}  bound: {rule.bound!r}",
        f"interval: {rule.interval!r}  n: {rule.n!r}",
        rule.message,
    ]
    if rule.evidence:
        lines.append(f"evidence ({rule.evidence_total} items):")
        lines += [
            f"  {e.suite}/{e.id} [{e.group}/{e.lang}] {e.change} {e.detail}" for e in rule.evidence
        ]
    return "\n".join(lines)


def to_junit(verdict: GateVerdict) -> str:
    """The verdict as a JUnit XML document (one test suite, one case per rule)."""
    cases = verdict.rules
    failures = sum(
        1 for r in cases if r.status == "fail" and r.severity == "hard" and not r.waived_by
    )
    errors = sum(1 for r in cases if r.status == "inconclusive" and not r.waived_by)
    skipped = sum(1 for r in cases if r.status == "skipped")
    suite = ET.Element(
        "testsuite",
        name=f"posttrain-gate ({verdict.decision})",
        tests=str(len(cases)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        timestamp=verdict.created_at,
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("decision", verdict.decision),
        ("verdict_id", verdict.id),
        ("candidate", verdict.candidate.fingerprint or verdict.candidate.path),
        ("baseline", verdict.baseline.fingerprint or verdict.baseline.path),
        ("policy_hash", verdict.policy_hash),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    for rule in cases:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{rule.kind}", name=rule.id)
        text = _text(rule)
        if rule.waived_by:
            pass
        elif rule.status == "fail" and rule.severity == "hard":
            ET.SubElement(case, "failure", message=rule.message[:500], type="BLOCK").text = text
        elif rule.status == "inconclusive":
            ET.SubElement(
                case, "error", message=rule.message[:500], type="INCONCLUSIVE"
            ).text = text
        elif rule.status == "skipped":
            ET.SubElement(case, "skipped", message=rule.message[:500])
        ET.SubElement(case, "system-out").text = text
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def write_junit(verdict: GateVerdict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_junit(verdict), encoding="utf-8")
    return path
