"""The live-measurements store: WAL mode, several writers, percentiles, paired windows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from posttrain.release.live import LiveEvent, LiveStore
from posttrain.workspace import Workspace


def _ev(version: str, ts: float, **kw: object) -> LiveEvent:
    base: dict[str, object] = dict(
        ts=ts, rollout_id="r1", step=0, version=version, user_key_hash="u", latency_ms=10.0
    )
    base.update(kw)
    return LiveEvent.model_validate(base)


def test_created_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    store = LiveStore.for_workspace(Workspace(tmp_path))
    assert store.path == tmp_path / ".posttrain" / "live.sqlite"
    assert not store.path.exists()
    store.record(_ev("v1", 1.0))
    assert store.path.is_file()
    # Another connection sees WAL mode persisted in the file itself.
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_step_stats_counts_each_measurement(tmp_path: Path) -> None:
    store = LiveStore(tmp_path / "live.sqlite")
    store.record_many(
        [
            _ev("v1", 1.0, prompt_tokens=5, completion_tokens=7),
            _ev("v1", 2.0, error=True, latency_ms=None),
            _ev("v2", 3.0, grade="replaced", intervened=True, leak=True),
            _ev("v2", 4.0, grade="refused", intervened=True, attack=True, unsafe=True),
            _ev("v2", 5.0, grade="pass", attack=True, refused=True, refusal_judged=True),
            _ev("v2", 5.1, grade="pass", refusal_judged=True),
            _ev("v2", 6.0, grade="flagged"),  # flagged is delivered: no intervention
            _ev("v2", 7.0, step=1),  # another step
            _ev("v2", 8.0, rollout_id="r2"),  # another rollout
        ]
    )
    store.record_feedback(rollout_id="r1", step=0, version="v2", rating="down", ts=5.5)
    store.record_feedback(rollout_id="r1", step=0, version="v2", rating="up", ts=5.6)
    store.record_feedback(rollout_id="r1", step=1, version="v2", rating="down", ts=7.5)
    stats = store.step_stats("r1", 0)
    assert set(stats) == {"v1", "v2"}
    v1, v2 = stats["v1"], stats["v2"]
    assert (v1.requests, v1.errors, v1.prompt_tokens, v1.completion_tokens) == (2, 1, 5, 7)
    assert v1.latency_p50_ms == 10.0 and v1.rate("errors") == 0.5
    assert v2.requests == 5 and v2.errors == 0
    assert v2.guard_interventions == {"replaced": 1, "refused": 1}
    assert (v2.attack_requests, v2.attack_unsafe, v2.leaks, v2.refusals) == (2, 1, 1, 1)
    # The refusal rate is over the answers the judge saw (2 of 5), not all requests.
    assert v2.refusals_judged == 2 and v2.rate("refusals") == 0.5
    assert (v2.feedback, v2.thumbs_down) == (2, 1)
    assert store.step_stats("r1", 1)["v2"].thumbs_down == 1
    assert store.step_stats("nope", 0) == {}


def test_percentiles_interpolate_between_ranks(tmp_path: Path) -> None:
    store = LiveStore(tmp_path / "live.sqlite")
    store.record_many([_ev("v1", float(i), latency_ms=float(i)) for i in range(1, 101)])
    s = store.step_stats("r1", 0)["v1"]
    # numpy.percentile([1..100], 50) == 50.5, (.., 95) == 95.05
    assert s.latency_p50_ms == pytest.approx(50.5)
    assert s.latency_p95_ms == pytest.approx(95.05)
    store.record(_ev("v9", 1.0, latency_ms=None, error=True))
    assert store.step_stats("r1", 0)["v9"].latency_p95_ms is None


def test_windows_pair_versions_over_the_same_minutes(tmp_path: Path) -> None:
    store = LiveStore(tmp_path / "live.sqlite")
    t0 = 1000.0
    store.record_many(
        [
            _ev("champ", t0),
            _ev("champ", t0 + 5),
            _ev("chall", t0 + 9, leak=True),
            _ev("champ", t0 + 12),  # window 1: the challenger had no traffic
            _ev("chall", t0 + 31),  # window 3 (window 2 is empty: left out)
        ]
    )
    store.record_feedback(rollout_id="r1", step=0, version="chall", rating="down", ts=t0 + 32)
    windows = store.window_stats("r1", 0, 10.0)
    assert len(windows) == 3
    assert [w["champ"].window_start for w in windows] == [t0, t0 + 10, t0 + 30]
    assert all(set(w) == {"champ", "chall"} for w in windows)
    assert [(w["champ"].requests, w["chall"].requests) for w in windows] == [(2, 1), (1, 0), (0, 1)]
    assert windows[0]["chall"].leaks == 1
    assert windows[2]["chall"].thumbs_down == 1
    assert store.window_stats("empty", 0, 10.0) == []
    with pytest.raises(ValueError, match="window_s"):
        store.window_stats("r1", 0, 0)


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from posttrain.release.live import LiveEvent, LiveStore
    store = LiveStore(Path(sys.argv[1]))
    for i in range(150):
        store.record(LiveEvent(ts=float(i), rollout_id="r1", step=0, version=sys.argv[2],
                               user_key_hash=str(i), latency_ms=1.0))
    """
)


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    LiveStore(path).record(_ev("seed", 0.0))  # the file exists before both start
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), v]) for v in ("va", "vb")]
    # While they write, this process reads (WAL: readers never block the writers).
    reader = LiveStore(path)
    for _ in range(20):
        reader.step_stats("r1", 0)
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    stats = LiveStore(path).step_stats("r1", 0)
    assert (stats["va"].requests, stats["vb"].requests) == (150, 150)
