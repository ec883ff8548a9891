"""Dynamic batching of the in-process ``hf`` upstream: aggregate tokens/s, 1 client vs 8.

    .venv/bin/python bench/bench_batching.py [--model smollm2-135m-instruct]
        [--clients 1 8 1] [--requests-per-client 3] [--max-tokens 64] [--batch-wait-ms 50]

One ``posttrain serve`` process on 127.0.0.1 (a free port) serves the model in process
(serve.yaml ``upstream: {kind: hf, batch_size: 8}``), guard ``monitor`` (every answer is
judged and recorded, and each request is exactly one generation: no regeneration makes
one client's request cost more than another's). For each ``--clients`` value, that many
async clients each send ``--requests-per-client`` chat completions back to back, each
client its own customer question, greedy, ``max_tokens`` fixed; the figure is the
completion tokens the server reports (``usage``, the tokens each answer really has, not
the padding a batch decodes for its shorter rows) over the wall time of the run. One
warm-up request first, not counted. The 1-client run is the baseline, measured in the
same process of the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_serve import free_port, stop, wait_ready  # noqa: E402

QUESTIONS = [
    "Hi, how long does standard delivery take?",
    "Can I return a jacket I bought two weeks ago?",
    "Which payment methods do you accept?",
    "Is shipping free on an order of 60 dollars?",
    "How long does a refund take once you get my return?",
    "Do electronics come with a warranty?",
    "Can I cancel an order that has not shipped yet?",
    "When are your human agents available?",
]


async def run(url: str, key: str, model: str, clients: int, per_client: int, max_tokens: int):
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=900, limits=limits) as c:

        async def ask(question: str) -> int:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": question}],
                "max_tokens": max_tokens,
                "temperature": 0,
            }
            resp = await c.post("/v1/chat/completions", json=body)
            resp.raise_for_status()
            return int(resp.json()["usage"]["completion_tokens"])

        await ask(QUESTIONS[0])  # warm-up

        async def client(i: int) -> int:
            return sum([await ask(QUESTIONS[i % len(QUESTIONS)]) for _ in range(per_client)])

        started = time.perf_counter()
        tokens = sum(await asyncio.gather(*(client(i) for i in range(clients))))
        wall = time.perf_counter() - started
    return {"requests": clients * per_client, "tokens": tokens, "seconds": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    # 1 client before and after the 8: the machine's load drifts; both baselines shown
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 1])
    ap.add_argument("--requests-per-client", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--batch-wait-ms", type=float, default=50.0)
    args = ap.parse_args()

    from posttrain.serve.keys import KeyStore
    from posttrain.workspace import Workspace, init_workspace

    print("command:", " ".join([os.path.relpath(sys.executable), *sys.argv]))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workspace = init_workspace(Path(tmp) / "ws").root
        (workspace / "serve.yaml").write_text(
            f"upstream:\n  kind: hf\n  batch_size: {args.batch_size}\n"
            f"  batch_wait_ms: {args.batch_wait_ms}\n"
            "guard:\n  mode: monitor\n"
            "limits:\n  rate_per_minute: 100000\n  burst: 10000\n  max_tokens_cap: 1024\n"
            # 8 clients queue behind a batch of up to 8 answers: minutes on 2 cores
            "  request_timeout_s: 900\n",
            encoding="utf-8",
        )
        key = KeyStore(Workspace(workspace).cache).create("bench", "chat").key
        port = free_port()
        exe = Path(sys.executable).with_name("posttrain")
        proc = subprocess.Popen(
            [str(exe), "serve", "-w", str(workspace), "--port", str(port), "--model", args.model],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{url}/readyz", proc, timeout_s=300)
            results = [
                (
                    c,
                    asyncio.run(
                        run(url, key, args.model, c, args.requests_per_client, args.max_tokens)
                    ),
                )
                for c in args.clients
            ]
        finally:
            stop(proc)
    # The baseline: the fastest 1-client run (the conservative choice for the ratio).
    base_tps = max((r["tokens"] / r["seconds"] for c, r in results if c == 1), default=None)
    base_tps = base_tps or results[0][1]["tokens"] / results[0][1]["seconds"]
    print()
    print("| clients | requests | completion tokens | wall s | tokens/s | vs fastest 1 client |")
    print("|---|---|---|---|---|---|")
    for c, r in results:
        tps = r["tokens"] / r["seconds"]
        print(
            f"| {c} | {r['requests']} | {r['tokens']} | {r['seconds']:.1f} | {tps:.1f} | "
            f"{tps / base_tps:.2f}x |"
        )
    print(
        f"\nmodel {args.model}, batch_size {args.batch_size}, batch_wait_ms "
        f"{args.batch_wait_ms:g}, max_tokens {args.max_tokens}, guard monitor; load average "
        f"at the end: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
