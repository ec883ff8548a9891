"""Faults against ``posttrain serve`` as a real process (uvicorn on 127.0.0.1, free ports),
bounded in count and time: an upstream that is down, one slower than its timeout, one
answering garbage -> 503 / 504 / 502 in OpenAI's error shape, counted in /metrics, never
a hang; then 1,000 malformed or hostile requests -> 4xx with a message, and the server
keeps serving. ``-s`` prints the counts, codes and times (BENCHMARKS.md records them)."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from posttrain.cli import main

READY_S = 120
# A request that must not hang: a bound well above the slowest expected answer.
CLIENT_TIMEOUT_S = 15.0

# An engine that misbehaves on purpose, by the last user turn: `slow` (answers after
# 30 s), `garbage` (200 with a body that is not JSON), `shape` (JSON without choices),
# `fail` (500), otherwise a proper chat completion.
BAD_ENGINE = textwrap.dedent(
    """
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, status, body, kind="application/json"):
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._send(200, json.dumps({"object": "list", "data": [{"id": "bad"}]}))

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            last = body["messages"][-1]["content"]
            if "slow" in last:
                time.sleep(30)
            if "garbage" in last:
                return self._send(200, "<html>502 Bad Gateway</html>", "text/html")
            if "shape" in last:
                return self._send(200, json.dumps({"id": "x", "choices": []}))
            if "fail" in last:
                return self._send(500, json.dumps({"error": {"message": "engine on fire"}}))
            message = {"role": "assistant", "content": "Happy to help. Your order number?"}
            self._send(200, json.dumps({"choices": [{"message": message,
                                                     "finish_reason": "stop"}]}))

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + READY_S
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(url, timeout=1).status_code in ok:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready after {READY_S}s"
        time.sleep(0.2)


Launch = Callable[[str], dict[str, Any]]


@pytest.fixture
def launch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Launch]:
    """``launch(serve_yaml)`` -> a started gateway process ({base, key, proc}); every
    process started here is stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(serve_yaml: str) -> dict[str, Any]:
        n = len(procs)
        workspace = tmp_path / f"ws{n}"
        assert main(["init", str(workspace)]) == 0
        (workspace / "serve.yaml").write_text(serve_yaml, encoding="utf-8")
        capsys.readouterr()
        argv = ["keys", "create", "--name", "app", "--scope", "chat", "--json", "-w"]
        assert main([*argv, str(workspace)]) == 0
        key = json.loads(capsys.readouterr().out)["key"]
        port = _free_port()
        log = tmp_path / f"serve{n}.log"
        logs.append(log.open("wb"))
        exe = Path(sys.executable).with_name("posttrain")
        proc = subprocess.Popen(
            [str(exe), "serve", "-w", str(workspace), "--port", str(port), "--model", "m"],
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/healthz", proc, log)
        return {"base": base, "key": key, "proc": proc, "log": log}

    try:
        yield start
    finally:
        for proc in procs:
            _stop(proc)
        for fh in logs:
            fh.close()


@pytest.fixture
def bad_engine(tmp_path: Path) -> Iterator[str]:
    script = tmp_path / "bad_engine.py"
    script.write_text(BAD_ENGINE, encoding="utf-8")
    port = _free_port()
    log = tmp_path / "engine.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=fh, stderr=fh)
        try:
            _wait(f"http://127.0.0.1:{port}/v1/models", proc, log)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            _stop(proc)


def _chat(content: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


def _openai_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and body["error"]["type"] == "server_error"
    assert body["error"]["message"]
    return body["error"]


def test_upstream_down_slow_or_garbage_is_a_clear_5xx_never_a_hang(
    launch: Launch, bad_engine: str
) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    down = launch(f"upstream:\n  kind: openai\n  base_url: {dead}\n  timeout_s: 5\n")
    flaky = launch(f"upstream:\n  kind: openai\n  base_url: {bad_engine}\n  timeout_s: 1\n")
    results: list[str] = []

    def call(server: dict[str, Any], content: str) -> tuple[httpx.Response, float]:
        headers = {"Authorization": f"Bearer {server['key']}"}
        started = time.perf_counter()
        resp = httpx.post(
            f"{server['base']}/v1/chat/completions",
            json=_chat(content),
            headers=headers,
            timeout=CLIENT_TIMEOUT_S,
        )
        took = time.perf_counter() - started
        results.append(f"{content}: {resp.status_code} in {took * 1000:.0f} ms")
        return resp, took

    # down: 503, and /readyz says why
    ready = httpx.get(f"{down['base']}/readyz", timeout=CLIENT_TIMEOUT_S)
    assert ready.status_code == 503 and "unreachable" in ready.json()["error"]["message"]
    for _ in range(3):
        resp, took = call(down, "where is my parcel? (engine down)")
        _openai_error(resp, 503, "upstream_unavailable")
        assert took < 5
    # slow past the 1 s timeout: 504 at the deadline, not the engine's 30 s
    for _ in range(2):
        resp, took = call(flaky, "slow please")
        _openai_error(resp, 504, "upstream_timeout")
        assert took < 5
    # garbage, a body of the wrong shape, a 500: 502 naming what was wrong
    assert (
        "not JSON"
        in _openai_error(call(flaky, "garbage")[0], 502, "upstream_bad_response")["message"]
    )
    assert (
        "choices" in _openai_error(call(flaky, "shape")[0], 502, "upstream_bad_response")["message"]
    )
    assert (
        "engine on fire"
        in _openai_error(call(flaky, "fail")[0], 502, "upstream_bad_response")["message"]
    )
    # the same server still answers when the engine does
    resp, _ = call(flaky, "where is my parcel?")
    assert resp.status_code == 200 and resp.json()["posttrain"]["grade"] == "pass"

    m_down = httpx.get(f"{down['base']}/metrics").text
    m_flaky = httpx.get(f"{flaky['base']}/metrics").text
    assert 'posttrain_serve_upstream_errors_total{kind="unavailable"} 3.0' in m_down
    assert 'posttrain_serve_upstream_errors_total{kind="timeout"} 2.0' in m_flaky
    assert 'posttrain_serve_upstream_errors_total{kind="bad_response"} 3.0' in m_flaky
    assert (
        'posttrain_serve_requests_total{endpoint="/v1/chat/completions",status="504"} 2.0'
        in m_flaky
    )
    print("\nupstream faults:\n  " + "\n  ".join(results))


def _hostile(i: int, rng: random.Random) -> tuple[bytes, dict[str, str], str]:
    """Request ``i``: (body, extra headers, kind)."""
    good = _chat("hi")
    kind = i % 10
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))), {}, "bad JSON"
    if kind == 1:
        raw = b'{"model": "m", "messages": [{"role": "user", "content": "\xc3\x28\xff"}]}'
        return raw, {}, "invalid UTF-8"
    if kind == 2:
        role = rng.choice(["wizard", "tool", "", "function", "SYSTEM"])
        body = {**good, "messages": [{"role": role, "content": "x"}]}
        return json.dumps(body).encode(), {}, "unknown role"
    if kind == 3:
        many = [{"role": "user", "content": "x"}] * 10_000
        return json.dumps({**good, "messages": many}).encode(), {}, "10k-message history"
    if kind == 4:
        wrong: dict[str, list[Any]] = {
            "model": [None, 3, [], ""],
            "messages": [None, 3, "x", {}, []],
            "max_tokens": [-1, "many", 10**9, 1.5],
            "temperature": [-1, "hot", 3],
            "stream": ["yes", 3, []],
            "stop": [3, [""], ["a"] * 5],
            "n": [2, "1"],
        }
        field = rng.choice(sorted(wrong))
        return json.dumps({**good, field: rng.choice(wrong[field])}).encode(), {}, "wrong type"
    if kind == 5:
        return b"[" * 5000 + b"]" * 5000, {}, "deep nesting"
    if kind == 6:
        if i % 20 == 6:  # half of these without a content-length: chunked, counted as read
            return b"", {"x-chunked": "1"}, "huge body (chunked)"
        return b"x" * 1_100_000, {}, "huge body"
    if kind == 7:
        body = {**good, "messages": [{"role": "user", "content": "x" * 40_000}]}
        return json.dumps(body).encode(), {}, "message too long"
    if kind == 8:
        extra = {"tools": [{"type": "function"}], "logprobs": True, "frobnicate": 1}
        key = rng.choice(sorted(extra))
        return json.dumps({**good, key: extra[key]}).encode(), {}, "unsupported parameter"
    body = {**good, "messages": [{"role": "assistant", "content": "last turn not the user's"}]}
    return json.dumps(body).encode(), {}, "last turn not user"


def test_a_thousand_hostile_requests_get_4xx_and_the_server_keeps_serving(
    launch: Launch,
) -> None:
    server = launch("upstream:\n  kind: stub\nlimits:\n  burst: 5000\n")
    rng = random.Random(16)
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {server['key']}", "content-type": "application/json"}
    started = time.perf_counter()
    slowest = 0.0
    with httpx.Client(base_url=server["base"], timeout=CLIENT_TIMEOUT_S) as client:
        for i in range(1000):
            content, extra, kind = _hostile(i, rng)
            t0 = time.perf_counter()
            if extra.pop("x-chunked", None):
                big = (b"x" * 65536 for _ in range(20))  # 1.3 MB, no content-length
                resp = client.post("/v1/chat/completions", content=big, headers=headers)
            else:
                resp = client.post(
                    "/v1/chat/completions", content=content, headers={**headers, **extra}
                )
            slowest = max(slowest, time.perf_counter() - t0)
            assert 400 <= resp.status_code < 500 and resp.status_code != 429, (
                i,
                kind,
                resp.text[:300],
            )
            assert resp.json()["error"]["message"], (i, kind)
            statuses[resp.status_code] += 1
            kinds[kind] += 1
        wall = time.perf_counter() - started
        assert server["proc"].poll() is None
        assert client.get("/healthz").status_code == 200
        ok = client.post("/v1/chat/completions", json=_chat("hi"), headers=headers)
        assert ok.status_code == 200 and ok.json()["posttrain"]["grade"] == "pass"
    assert sum(statuses.values()) == 1000 and set(statuses) == {400, 413}
    metrics = httpx.get(f"{server['base']}/metrics").text
    assert 'posttrain_serve_rejected_total{reason="too_large"} 100.0' in metrics
    print(
        f"\n1,000 hostile requests in {wall:.1f} s (slowest {slowest * 1000:.0f} ms): "
        f"{dict(sorted(statuses.items()))}; by kind {dict(sorted(kinds.items()))}; "
        "then a good request: 200"
    )
