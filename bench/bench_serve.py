"""Gateway overhead: ``posttrain serve`` with the guard on, against a stub that answers at once.

    .venv/bin/python bench/bench_serve.py [--requests 1000] [--concurrency 1 16] [--rounds 3]
                                          [--seconds 60]

Three servers, each its own process on 127.0.0.1 (a free port), loaded in turn by the
same async httpx client from this process, once per ``--concurrency`` (requests in
flight: 1 measures latency alone, more measures throughput with queueing), up to
``--requests`` requests or ``--seconds`` of wall time a run, whichever comes first
(warm-up: 50 requests, not counted). The servers run side by side and ``--rounds``
rounds interleave them (every server, then again), so a change of load on a shared
machine falls on all of them; each figure is the median round:

1. **baseline**: the stub engine alone, a minimal OpenAI-compatible FastAPI app on
   uvicorn that answers every chat completion at once with a fixed reply (the same web
   stack the gateway uses, so the difference is the gateway's own work);
2. **gateway, in-process stub**: ``posttrain serve`` on the example workspace, upstream
   ``kind: stub`` with the same reply, guard ``enforce``: keys, limits, the contract's
   system prompt, input classification, the format guard and every runtime check, metrics;
3. **gateway -> stub engine**: the same, upstream ``kind: openai`` pointing at server 1
   (what a deployment in front of vLLM looks like: one more HTTP hop).

Every request is a benign chat message the stub's reply passes (grade ``pass``): the
number is the cost of judging an answer that is let through. The client shares the
machine's cores with the servers, so absolute throughput is a floor. The added latency
is the gateway's percentile minus the baseline's, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPLY = "Happy to help! Could you send me your order number (SM-2026-XXXXXXX)?"
PROMPT = "Hi, I have a question about my delivery."
WARMUP = 50
BASELINE = "baseline: stub engine alone"


def stub_engine(port: int) -> None:
    """Server 1: answers every chat completion at once (runs in its own process)."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat() -> dict[str, object]:
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 0,
            "model": "stub",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": REPLY},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22},
        }

    @app.get("/v1/models")
    async def models() -> dict[str, object]:
        return {"object": "list", "data": [{"id": "stub", "object": "model"}]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout_s}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def load(
    url: str, headers: dict[str, str], model: str, n: int, concurrency: int, seconds: float
) -> dict[str, float]:
    """``n`` chat completions, ``concurrency`` at a time, stopping at ``seconds``."""
    import httpx

    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 32}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as c:
        for _ in range(WARMUP):
            (await c.post("/v1/chat/completions", json=body)).raise_for_status()
        latencies: list[float] = []
        errors = 0
        sent = 0
        started = time.perf_counter()
        stop_at = started + seconds

        async def worker() -> None:
            nonlocal sent, errors
            while sent < n and time.perf_counter() < stop_at:
                sent += 1
                t0 = time.perf_counter()
                resp = await c.post("/v1/chat/completions", json=body)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": wall,
        "rps": len(latencies) / wall,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


def gateway(workspace: Path, upstream_yaml: str, port: int) -> subprocess.Popen[bytes]:
    (workspace / "serve.yaml").write_text(
        f"upstream:\n{upstream_yaml}"
        "limits:\n  rate_per_minute: 10000000\n  burst: 1000000\n"
        "capture:\n  enabled: true\n",
        encoding="utf-8",
    )
    exe = Path(sys.executable).with_name("posttrain")
    return subprocess.Popen(
        [str(exe), "serve", "-w", str(workspace), "--port", str(port), "--model", "stub"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stub-engine", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stub_engine is not None:
        stub_engine(args.stub_engine)
        return

    from posttrain.serve.keys import KeyStore
    from posttrain.workspace import Workspace, init_workspace

    print("command:", " ".join([os.path.relpath(sys.executable), *sys.argv]))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    # run -> concurrency -> one measurement per round
    results: dict[str, dict[int, list[dict[str, float]]]] = {}
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            engine_port = free_port()
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--stub-engine", str(engine_port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            engine_url = f"http://127.0.0.1:{engine_port}"
            wait_ready(f"{engine_url}/v1/models", procs[-1])
            servers = {BASELINE: (engine_url, {})}
            arms = {
                "gateway, guard on, in-process stub": f"  kind: stub\n  default: {REPLY!r}\n",
                "gateway, guard on -> stub engine": (
                    f"  kind: openai\n  base_url: {engine_url}/v1\n"
                ),
            }
            for i, (name, upstream) in enumerate(arms.items()):
                workspace = init_workspace(Path(tmp) / f"ws{i}").root
                key = KeyStore(Workspace(workspace).cache).create("bench", "chat").key
                port = free_port()
                procs.append(gateway(workspace, upstream, port))
                url = f"http://127.0.0.1:{port}"
                wait_ready(f"{url}/readyz", procs[-1])
                servers[name] = (url, {"Authorization": f"Bearer {key}"})
            # Rounds interleave the servers, so a load change on the shared machine hits
            # every server alike; the median round is reported.
            for _ in range(args.rounds):
                for c in args.concurrency:
                    for name, (url, headers) in servers.items():
                        r = asyncio.run(load(url, headers, "stub", args.requests, c, args.seconds))
                        results.setdefault(name, {}).setdefault(c, []).append(r)
        finally:
            for proc in procs:
                stop(proc)
    print()
    print(
        "| server | in flight | requests | errors | req/s | P50 ms | P95 ms | P99 ms "
        "| added P50 | added P95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in args.concurrency:
        base = median_of(results[BASELINE][c])
        for name, by_c in results.items():
            r = median_of(by_c[c])
            added = (
                "- | -"
                if name == BASELINE
                else f"{r['p50_ms'] - base['p50_ms']:+.2f} | {r['p95_ms'] - base['p95_ms']:+.2f}"
            )
            print(
                f"| {name} | {c} | {r['requests']:.0f} | {r['errors']:.0f} | {r['rps']:.0f} | "
                f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {added} |"
            )
    print(
        f"\nmedian of {args.rounds} interleaved rounds; load average at the end: "
        f"{os.getloadavg()[0]:.2f}"
    )


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per field, the median over rounds (requests and errors: summed)."""
    out = {}
    for field in runs[0]:
        values = sorted(r[field] for r in runs)
        out[field] = sum(values) if field in ("requests", "errors") else values[len(values) // 2]
    return out


if __name__ == "__main__":
    main()
