"""``kill -9`` of ``posttrain serve`` loses no accepted record: clients keep sending
guard-intervened requests and ``down`` feedback from four threads while the server is
killed; every request id whose response arrived is in ``data/live/failures.jsonl``.
Whatever a kill mid-write leaves (at most a torn last line, never acknowledged) is
handled: the next server sets it aside, and ``data build`` takes every record in."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from posttrain.cli import main

READY_S = 120
SERVE_YAML = """\
upstream:
  kind: stub
  default: "Happy to help! Could you send me your order number (SM-2026-XXXXXXX)?"
  replies:
    - match: "(?i)who else"
      reply: "Another buyer, bob@example.org (phone 138 0013 8000), asked the same."
limits:
  burst: 100000
  rate_per_minute: 1000000
"""
ACCEPTED_BEFORE_KILL = 60
THREADS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(workspace: Path, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("posttrain")
    proc = subprocess.Popen(
        [str(exe), "serve", "-w", str(workspace), "--port", str(port), "--model", "m"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_S
    while True:
        assert proc.poll() is None, "the server exited before it was ready"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.2)


@pytest.fixture
def served(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[dict[str, Any]]:
    workspace = tmp_path / "ws"
    assert main(["init", str(workspace)]) == 0
    (workspace / "serve.yaml").write_text(SERVE_YAML, encoding="utf-8")
    capsys.readouterr()
    argv = ["keys", "create", "--name", "app", "--scope", "chat", "--json", "-w"]
    assert main([*argv, str(workspace)]) == 0
    key = json.loads(capsys.readouterr().out)["key"]
    procs: list[subprocess.Popen[bytes]] = []
    with (tmp_path / "serve.log").open("wb") as log:

        def start() -> str:
            proc, base = _start(workspace, log)
            procs.append(proc)
            return base

        try:
            yield {"workspace": workspace, "key": key, "start": start, "procs": procs}
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)


def _rows(path: Path) -> tuple[list[dict[str, Any]], bytes]:
    """The whole lines of ``path``, and what follows its last newline."""
    data = path.read_bytes()
    whole, _, tail = data.rpartition(b"\n")
    return [json.loads(line) for line in whole.splitlines() if line], tail


def test_kill_9_loses_no_accepted_record(
    served: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    base = served["start"]()
    headers = {"Authorization": f"Bearer {served['key']}"}
    accepted: list[str] = []  # ids of captured records whose response arrived
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 2:  # a leak: redacted, captured
                        body = {
                            "model": "m",
                            "messages": [{"role": "user", "content": f"Who else asked? {n}-{i}"}],
                        }
                        resp = c.post("/v1/chat/completions", json=body)
                        if resp.status_code == 200 and resp.json()["posttrain"]["grade"] == (
                            "redacted"
                        ):
                            with lock:
                                accepted.append(f"live-{resp.json()['id']}")
                    else:  # a passing answer, then flagged by the user
                        body = {
                            "model": "m",
                            "messages": [{"role": "user", "content": f"Where is it? {n}-{i}"}],
                        }
                        answer = c.post("/v1/chat/completions", json=body).json()["id"]
                        fb = c.post(
                            "/v1/feedback",
                            json={"request_id": answer, "rating": "down", "reason": "wrong"},
                        )
                        if fb.status_code == 200 and fb.json()["captured"]:
                            with lock:
                                accepted.append(f"live-fb-{answer}")
                except (httpx.TransportError, ValueError, KeyError):
                    return  # the server is gone

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(accepted) < ACCEPTED_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.05)
    proc = served["procs"][0]
    os.kill(proc.pid, signal.SIGKILL)  # with requests still in flight
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(15)
        assert not t.is_alive()
    with lock:
        acknowledged = list(accepted)
    assert len(acknowledged) >= ACCEPTED_BEFORE_KILL

    capture = served["workspace"] / "data/live/failures.jsonl"
    rows, tail = _rows(capture)
    on_disk = {r["id"] for r in rows}
    lost = [i for i in acknowledged if i not in on_disk]
    assert not lost, f"{len(lost)} acknowledged record(s) lost: {lost[:5]}"
    assert {r["kind"] for r in rows} == {"guard", "feedback"}
    assert "bob@example.org" not in capture.read_text(encoding="utf-8", errors="replace")

    # A server started again on the same file: a torn tail (if the kill left one) is set
    # aside and the next record gets a line of its own.
    base = served["start"]()
    body = {"model": "m", "messages": [{"role": "user", "content": "Who else asked? again"}]}
    again = httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=10)
    assert again.json()["posttrain"]["grade"] == "redacted"
    rows_after, tail_after = _rows(capture)
    assert tail_after == b""
    assert [r["id"] for r in rows_after] == [*(r["id"] for r in rows), f"live-{again.json()['id']}"]
    if tail:
        assert capture.with_name("failures.jsonl.torn").read_bytes() == tail + b"\n"
    served["procs"][1].terminate()
    served["procs"][1].wait(10)

    with capsys.disabled():
        print(
            f"\nkill -9 with {THREADS} clients in flight: {len(acknowledged)} acknowledged, "
            f"{len(rows)} on disk, 0 lost, torn tail {len(tail)} bytes"
        )

    # and the next data build takes every record in
    argv = ["data", "build", "-w", str(served["workspace"]), "--json"]
    capsys.readouterr()
    assert main(argv) in (0, 1)  # built, or blocked by a quality rule on this odd pool
    build = json.loads(capsys.readouterr().out)
    assert build["counts"]["quarantined"] == 0, build["counts"]
