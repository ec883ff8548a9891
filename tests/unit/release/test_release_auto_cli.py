"""``posttrain release step`` without ``--metrics`` and ``posttrain release auto`` in a
workspace, on its live store (``.posttrain/live.sqlite``) filled with synthetic events."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from release_fakes import make_workspace, pinned_verdict

from posttrain.cli import main
from posttrain.release.live import LiveEvent, LiveStore
from posttrain.workspace import Workspace

ROLLOUT_YAML = "steps: [1, 5, 25, 100]\nanalysis: {min_traffic: 10, window_s: 60}\n"


@pytest.fixture
def ws(
    tmp_path: Path,
    cand_fp: str,
    copy_model: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """v1 champion, v2 planned as challenger at 1%."""
    monkeypatch.setenv("COLUMNS", "250")
    root = make_workspace(tmp_path / "ws")
    verdict = pinned_verdict(root, "pass", cand_fp)
    w = ("-w", str(root))
    for name in ("m1", "m2"):
        assert main(["registry", "register", copy_model(name), "--verdict", str(verdict), *w]) == 0
    assert main(["promote", "v1", *w]) == 0
    (root / "rollout.yaml").write_text(ROLLOUT_YAML)
    assert main(["release", "plan", "v2", "--config", str(root / "rollout.yaml"), *w]) == 0
    capsys.readouterr()
    return root


def traffic(ws: Path, step: int, version: str, n: int, *, leaks: int = 0) -> None:
    state = json.loads((Workspace(ws).rollout / "state.json").read_text())
    LiveStore.for_workspace(Workspace(ws)).record_many(
        LiveEvent(
            ts=1_700_000_000.0 + step * 1000 + i,
            rollout_id=state["id"],
            step=step,
            version=version,
            user_key_hash=f"{version}-{i}",
            latency_ms=15.0,
            grade="replaced" if i < leaks else "pass",
            intervened=i < leaks,
            leak=i < leaks,
            attack=i % 4 == 0,
        )
        for i in range(n)
    )


def status(ws: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["release", "status", "-w", str(ws), "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_step_reads_the_live_store_and_waits_for_traffic(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "step", "-w", str(ws)]) == 4
    out = capsys.readouterr().out
    assert "waiting for traffic: 0/10 challenger requests" in out and "nothing recorded" in out
    assert len(status(ws, capsys)["history"]) == 1  # type: ignore[arg-type]

    traffic(ws, 0, "v2", 12)
    traffic(ws, 0, "v1", 600)
    assert main(["release", "step", "-w", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "Progressing at weight 5%" in out and "(live): Successful" in out
    assert "leak_rate vs champion: Successful" in out


def test_auto_runs_the_rollout_to_completion(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for step in range(4):  # the gateway's measurements of every step, recorded ahead
        traffic(ws, step, "v2", 12)
        traffic(ws, step, "v1", 300)
    code = main(["release", "auto", "--interval", "0.05", "--max-wait", "60", "-w", str(ws)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.index("→ 5%") < out.index("→ 25%") < out.index("→ 100%") < out.index("completed")
    assert main(["registry", "list", "-w", str(ws), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["aliases"] == {"champion": "v2"}


def test_auto_aborts_a_leaking_challenger_and_stops_when_the_wait_runs_out(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No traffic: it waits, then stops by itself (exit 4), still at 1%.
    code = main(["release", "auto", "--interval", "0.05", "--max-wait", "0.2", "-w", str(ws)])
    out = capsys.readouterr().out
    assert code == 4 and "stopped after 0.2s: still at 1%" in out

    traffic(ws, 0, "v2", 3, leaks=3)
    traffic(ws, 0, "v1", 300)
    code = main(["release", "auto", "--interval", "0.05", "--max-wait", "60", "-w", str(ws)])
    out = capsys.readouterr().out
    assert code == 1 and "aborted" in out and "leak_rate vs champion" in out
    st = status(ws, capsys)
    assert (st["phase"], st["weight"]) == ("Aborted", 0.0)
    assert main(["registry", "list", "-w", str(ws), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["aliases"] == {"champion": "v1"}
    # Nothing left to drive.
    assert main(["release", "auto", "--max-wait", "1", "-w", str(ws)]) == 2
