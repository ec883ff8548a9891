"""The loop, closed (issue 15, item 6): ``posttrain serve`` as a real process routes a
staged rollout, measures each version, and its own controller (``serve.yaml: rollout:
auto``, :meth:`~posttrain.release.rollout.Rollout.auto_tick`) advances or aborts it.

* v1 champion, v2 a good challenger: replayed benign + attack traffic moves it 1% → 5% →
  25% → 100%, and v2 becomes the champion;
* v3, a challenger that leaks its system prompt (canary included): the analysis fails at
  the first step, the rollout aborts by itself, the champion answers every request from
  the next one on; the guard replaced each leaking answer and captured it, de-identified,
  in ``data/live/``, and ``posttrain data build`` takes those failures in (a new data
  version).

What is scripted: the engine behind every version is ``scripts/canary_demo_engine.py``, an
OpenAI-compatible server with fixed answers (``good`` for v1 and v2; ``leaky`` for v3,
through serve.yaml's per-version upstream), so each outcome is certain. The three versions
share the tiny model's weights (registered and gated like any model); the engine, not
those weights, answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "gate"))

from gate_fakes import attack, regression, verdict, write_results

from posttrain.cli import main
from posttrain.contract import load_contract
from posttrain.evaluate.runner import canary_for
from posttrain.models import fingerprint
from posttrain.release.replay import ReplayConfig, read_replay, replay
from posttrain.release.rollout import Rollout

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "scripts" / "canary_demo_engine.py"
# The example contract's clause judged by the canary_leak check.
LEAK_CLAUSE = "no_system_prompt_leak"
STARTUP_S = 120  # the de-identifier's first import (Presidio) is the slow part
ROLLOUT_YAML = """\
steps: [1, 5, 25, 100]
analysis:
  min_traffic: 3
  window_s: 5
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _results(folder: Path, model_fp: str, contract_hash: str, *, reg_fail: int) -> Path:
    """Evaluation results enough for the example gate.yaml to decide (as in
    test_release_integrity.py), about the model ``model_fp``."""
    leak_ok = [verdict("no_customer_pii_leak", "safety", "no_pii_leak", "pass")]
    fmt_ok = [
        verdict("recommendation_json", "format", "json_schema", "pass"),
        verdict("no_unconfirmed_promises", "safety", "regex_forbid", "pass"),
    ]
    n = 160
    items = [attack(i, False) for i in range(n)]
    items += [attack(i, False, cls="privacy", extra=leak_ok) for i in range(n)]
    items += [regression(i, i >= reg_fail, extra=fmt_ok) for i in range(n)]
    return write_results(folder, items, fingerprint=model_fp, contract_hash=contract_hash)


def _start(argv: list[str], log: Path, ready: str) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    out.close()
    deadline = time.monotonic() + STARTUP_S
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(ready, timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{argv[1]} did not get ready: {log.read_text()}"
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def loop(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[dict[str, Any]]:
    """The example workspace with v1 (champion), v2 and v3 registered behind a PASS
    verdict, the scripted engine, and the gateway on it."""
    import shutil

    ws = tmp_path / "ws"
    assert run(capsys, "init", str(ws))[0] == 0
    w = ("-w", str(ws))
    models = []
    for name in ("v1", "v2", "v3"):
        folder = ws / "models" / name
        shutil.copytree(tiny_model_dir, folder)
        models.append(folder)
    chash = load_contract(ws / "contract.yaml").content_hash
    base = _results(ws / "reports/eval/base", "fp-base", chash, reg_fail=40)
    cand = _results(ws / "reports/eval/cand", fingerprint(str(models[0])), chash, reg_fail=5)
    gate = ("gate", "--baseline", str(base), "--candidate", str(cand))
    code, out, _ = run(capsys, *gate, *w, "--json")
    assert code == 0, out
    verdict_path = json.loads(out)["path"]
    for folder in models:
        registered = run(capsys, "registry", "register", str(folder), "--verdict", verdict_path, *w)
        assert registered[0] == 0
    assert run(capsys, "promote", "v1", *w)[0] == 0
    code, out, _ = run(capsys, "keys", "create", "--name", "app", "--scope", "chat", "--json", *w)
    key = json.loads(out)["key"]

    engine_port, port = _free_port(), _free_port()
    engine_url = f"http://127.0.0.1:{engine_port}/v1"
    (ws / "serve.yaml").write_text(
        f"""\
upstream: {{kind: openai, base_url: "{engine_url}", served_model: good, timeout_s: 20}}
versions:
  v3:
    upstream: {{kind: openai, base_url: "{engine_url}", served_model: leaky, timeout_s: 20}}
rollout: auto
rollout_tick_s: 0.5
limits: {{rate_per_minute: 600000, burst: 10000}}
""",
        encoding="utf-8",
    )
    (ws / "rollout.yaml").write_text(ROLLOUT_YAML, encoding="utf-8")
    engine = _start(
        [sys.executable, str(ENGINE), "--port", str(engine_port)],
        tmp_path / "engine.log",
        f"{engine_url}/models",
    )
    exe = Path(sys.executable).with_name("posttrain")
    try:
        server = _start(
            [str(exe), "serve", *w, "--port", str(port)],
            tmp_path / "serve.log",
            f"http://127.0.0.1:{port}/readyz",
        )
    except BaseException:
        _stop(engine)
        raise
    try:
        yield {
            "ws": ws,
            "w": w,
            "url": f"http://127.0.0.1:{port}",
            "key": key,
            "log": tmp_path / "serve.log",
            "canary": canary_for(chash),
        }
    finally:
        _stop(server)
        _stop(engine)


def _tail(log: Path, n: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def _active(ws: Path) -> bool:
    state = Rollout.for_workspace(ws).status()
    return state is not None and state.active


def test_the_canary_loop_promotes_a_good_challenger_and_aborts_a_leaking_one(
    loop: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ws, w, url, key = loop["ws"], loop["w"], loop["url"], loop["key"]
    rollout = Rollout.for_workspace(ws)
    code, out, _ = run(capsys, "data", "build", *w, "--json")
    assert code == 0, out
    data_before = json.loads(out)["data_version"]

    # (a) v2, a good challenger: the replay drives it to champion through every step.
    assert run(capsys, "release", "plan", "v2", "--config", str(ws / "rollout.yaml"), *w)[0] == 0
    traffic = read_replay(ws / "data" / "replay.jsonl")
    assert {x.kind for x in traffic} == {"benign", "attack"}
    cfg = ReplayConfig(url=url, key=key, rate=60, duration_s=120, concurrency=8)
    report = replay(traffic, cfg, should_stop=lambda: not _active(ws))
    state = rollout.status()
    assert state is not None
    assert state.phase == "Completed", (state.history[-1], report, _tail(loop["log"]))
    assert report.stopped_by == "stop"
    analyses = [h for h in state.history if h.action == "analysis"]
    assert [(h.weight, h.analysis.outcome) for h in analyses if h.analysis] == [
        (1.0, "Successful"),
        (5.0, "Successful"),
        (25.0, "Successful"),
        (100.0, "Successful"),
    ]
    assert all(h.metrics_file == "live" for h in analyses)
    by_version = {t.version: t for t in report.versions}
    assert set(by_version) == {"v1", "v2"} and by_version["v2"].errors == 0
    code, out, _ = run(capsys, "registry", "list", *w, "--json")
    assert json.loads(out)["aliases"] == {"champion": "v2"}

    # (b) v3 leaks its system prompt: the analysis fails at 1% and the gateway aborts.
    assert run(capsys, "release", "plan", "v3", "--config", str(ws / "rollout.yaml"), *w)[0] == 0
    headers = {"authorization": f"Bearer {key}"}
    on_v3: list[str] = []
    after_abort: list[tuple[str, str]] = []
    deadline = time.monotonic() + 90
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:

        def ask(user: str) -> httpx.Response:
            # A question of its own per user: the captured failures are not duplicates.
            text = f"Hello, shopper {user} here: my parcel no. {len(user) * 7919} is late."
            body = {
                "model": "champion",
                "user": user,
                "messages": [{"role": "user", "content": text}],
            }
            return client.post("/v1/chat/completions", json=body)

        i = 0
        while _active(ws):
            assert time.monotonic() < deadline, (on_v3, _tail(loop["log"]))
            r = ask(f"shopper-{i}")
            i += 1
            assert r.status_code == 200, (r.text, _tail(loop["log"]))
            if r.headers["x-posttrain-version"] == "v3":
                on_v3.append(f"shopper-{i - 1}")
                # The guard replaced the leaking answer: the user never saw the canary.
                assert r.headers["x-posttrain-grade"] == "replaced"
                assert loop["canary"] not in r.text
                assert LEAK_CLAUSE in r.headers.get("x-posttrain-failed", "").split(",")
        # From the next request on, the champion answers everyone, v3's users too.
        for user in [*on_v3, *(f"late-{j}" for j in range(20))]:
            r = ask(user)
            after_abort.append((user, r.headers["x-posttrain-version"]))
    state = rollout.status()
    assert state is not None
    assert (state.phase, state.step, state.weight) == ("Aborted", 0, 0.0)
    assert on_v3, "v3 never answered before the abort"
    assert {v for _, v in after_abort} == {"v2"}
    failed = [h for h in state.history if h.action == "analysis"][-1]
    assert failed.analysis is not None and failed.analysis.outcome == "Failed"
    assert "leak_rate vs champion" in failed.analysis.message
    code, out, _ = run(capsys, "registry", "list", *w, "--json")
    assert json.loads(out)["aliases"] == {"champion": "v2"}

    # The leaking answers were captured, de-identified, in data/live/ ...
    captured = [
        json.loads(line)
        for line in (ws / "data/live/failures.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    leaks = [r for r in captured if r.get("version") == "v3"]
    assert len(leaks) >= len(on_v3)
    assert all(r["grade"] == "replaced" and LEAK_CLAUSE in r["failed_checks"] for r in leaks)
    assert {r["source"] for r in captured} == {"live"}
    # ... and the next data build takes them in: a new data version that holds them.
    code, out, _ = run(capsys, "data", "build", *w, "--json")
    assert code == 0, out
    build = json.loads(out)
    assert build["data_version"] != data_before
    buckets = "".join(
        p.read_text(encoding="utf-8") for p in (ws / "data/buckets").glob("*/failures.jsonl")
    )
    assert all(r["id"] in buckets for r in leaks)

    # Every transition, the gateway's own included, is in the audit log, which verifies.
    code, out, _ = run(capsys, "log", "verify", *w, "--json")
    assert code == 0 and json.loads(out)["ok"], out
    kinds = [
        json.loads(x)["kind"] for x in (ws / "reports/audit-log.jsonl").read_text().splitlines()
    ]
    # (a) plan, three advances, completion; (b) plan, abort
    assert kinds.count("rollout") == 7 and kinds.count("promotion") == 2
