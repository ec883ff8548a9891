"""Every data build, blocked or built, is a ``data_build`` event in the workspace's
hash-chained audit log, with each override and its reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from datahelpers import record

from posttrain.core.auditlog import read_entries, verify_log
from posttrain.data import DataConfig, DatasetBuild, QualityConfig, build_dataset
from posttrain.workspace import Workspace


def build(ws: Path, **kw: Any) -> DatasetBuild:
    quality = QualityConfig(length_ratio_high=50.0, max_template_share=1.0)
    return build_dataset(
        DataConfig(workspace=ws, contract=None, eval_sets=[], quality=quality, **kw)
    )


def test_blocked_and_overridden_builds_are_chained_with_the_reason(
    make_ws: Callable[..., Path],
) -> None:
    ws = make_ws([record(1), record(1, id="dup")])
    assert build(ws).status == "blocked"
    reason = "known duplicate from two ticket exports"
    built = build(ws, overrides={"exact_duplicates": reason})
    assert built.status == "built"
    log = Workspace(ws).audit_log
    events = [e for e in read_entries(log) if e.kind == "data_build"]
    assert [e.payload["status"] for e in events] == ["blocked", "built"]
    assert events[0].payload["failing_rules"] == ["exact_duplicates"]
    assert events[1].payload["overrides"] == {"exact_duplicates": reason}
    assert events[1].payload["data_version"] == built.data_version
    assert events[1].payload["data_dir"] == "data"
    assert verify_log(log).ok
