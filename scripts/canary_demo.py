"""`make canary-demo`: the release loop on live traffic, end to end, as a script.

1. a fresh workspace from the example; three registered versions v1, v2, v3 (the
   tiny-random model's files), v1 the champion;
2. the scripted engine (scripts/canary_demo_engine.py) and `posttrain serve` on loopback,
   serve.yaml `rollout: auto` (the gateway's own controller steps the rollout);
3. `posttrain release plan v2` + `posttrain replay` of data/replay.jsonl: the good
   challenger goes 1% -> 5% -> 25% -> 100% and becomes champion;
4. `posttrain release plan v3` + replay: v3 leaks its system prompt, the guard replaces
   each leaking answer and captures it, the analysis fails at 1%, the rollout aborts;
5. `posttrain data build` takes the captured failures in; `posttrain log verify`.

What is SCRIPTED, not real: the engine behind the versions answers from fixed rules
(`good` for v1 and v2, `leaky` for v3), and the gate verdict the versions are registered
with is made by the real gate on evaluation results this script writes (every item
passing), not on a `posttrain eval` run: the demo is about the release side.

    .venv/bin/python scripts/canary_demo.py [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("posttrain")
ROLLOUT_YAML = "steps: [1, 5, 25, 100]\nanalysis:\n  min_traffic: 3\n  window_s: 5\n"


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def cli(*args: str, ok: tuple[int, ...] = (0,), quiet: bool = False) -> str:
    print("$ posttrain " + " ".join(args), flush=True)
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True)
    if not quiet:
        print(done.stdout.rstrip(), flush=True)
    if done.returncode not in ok:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"posttrain {args[0]} exited {done.returncode}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], log: Path, ready: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{argv[1]} exited: see {log}")
        try:
            if httpx.get(ready, timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{argv[1]} did not get ready: see {log}")


def scripted_results(ws: Path, model: Path) -> tuple[Path, Path]:
    """Evaluation results (SCRIPTED: every item passes) of a baseline and of ``model``,
    in the evaluation engine's schema, enough for the example gate.yaml to decide."""
    from posttrain.contract import load_contract
    from posttrain.evaluate.metrics import compute_metrics
    from posttrain.evaluate.results import (
        ITEMS_FILE,
        SUMMARY_FILE,
        ClauseResult,
        EvalSummary,
        ItemResult,
        build_manifest,
    )
    from posttrain.evaluate.runner import clause_stats
    from posttrain.generation.base import GenerationParams
    from posttrain.models import fingerprint

    chash = load_contract(ws / "contract.yaml").content_hash

    def ok(clause: str, dim: str, check: str) -> ClauseResult:
        return ClauseResult(
            clause=clause, dimension=dim, severity="hard", check=check, status="pass"
        )

    def items() -> list[ItemResult]:
        out = []
        for i in range(160):
            for cls, extra in (
                ("jailbreak", []),
                ("privacy", [ok("no_customer_pii_leak", "safety", "no_pii_leak")]),
            ):
                out.append(
                    ItemResult(
                        id=f"{cls}-{i:03d}",
                        suite="attacks",
                        attack_class=cls,
                        lang="en",
                        key=f"k-{cls}-{i}",
                        completion="I can't help with that.",
                        latency_s=0.1,
                        refused=True,
                        verdicts=[ok("resist_jailbreak", "safety", "refusal"), *extra],
                    )
                )
            out.append(
                ItemResult(
                    id=f"reg-{i:03d}",
                    suite="regression",
                    lang="en",
                    key=f"k-reg-{i}",
                    completion="Could you give me your order number?",
                    latency_s=0.1,
                    refused=False,
                    verdicts=[
                        ok("order_number_first", "refusal", "asks_for"),
                        ok("recommendation_json", "format", "json_schema"),
                        ok("no_unconfirmed_promises", "safety", "regex_forbid"),
                    ],
                )
            )
        return out

    folders = []
    for name, fp in (("base", "scripted-baseline"), ("cand", fingerprint(str(model)))):
        folder = ws / "reports" / "eval" / name
        folder.mkdir(parents=True, exist_ok=True)
        rows = items()
        (folder / ITEMS_FILE).write_text("".join(r.model_dump_json() + "\n" for r in rows))
        summary = EvalSummary(
            model=name,
            model_fingerprint=fp,
            backend="scripted",
            suite="attacks+regression",
            suite_source="scripts/canary_demo.py (scripted)",
            suite_version="scripted",
            contract_hash=chash,
            params=GenerationParams(),
            n_items=len(rows),
            n_cached=0,
            n_generated=len(rows),
            generation_wall_s=0.0,
            generated_tokens=0,
            duration_s=0.0,
            started_at="2026-01-01T00:00:00+00:00",
            metrics=compute_metrics(rows),
            clauses=clause_stats(rows),
            manifest=build_manifest(["scripts/canary_demo.py"]),
        )
        (folder / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2))
        folders.append(folder)
    return folders[0], folders[1]


def active(ws: Path) -> bool:
    from posttrain.release.rollout import Rollout

    state = Rollout.for_workspace(ws).status()
    return state is not None and state.active


def drive(ws: Path, replay: tuple[str, ...], rounds: int = 8) -> None:
    """Replay traffic, 20 s a round, until the gateway's controller has finished the
    rollout (at most ``rounds`` rounds: 1% of a slow machine's traffic takes a while to
    reach the step's minimum); a rollout still running then is aborted by hand."""
    for i in range(rounds):
        if not active(ws):
            return
        cli(
            *replay, "--rate", "50", "--duration", "20", "--tag", f"{ws.name}-{time.time():.0f}-{i}"
        )
    if active(ws):
        cli("release", "abort", "--reason", "demo: out of time", "-w", str(ws))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/posttrain-canary-demo"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work: Path = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ws = work / "ws"
    w = ("-w", str(ws))

    say("a workspace with three versions (tiny-random's files), v1 the champion")
    from posttrain.models import prepare

    cli("init", str(ws))
    tiny = prepare("tiny-random")
    for v in ("v1", "v2", "v3"):
        shutil.copytree(tiny, ws / "models" / v)
    base, cand = scripted_results(ws, ws / "models" / "v1")
    gate = json.loads(
        cli("gate", "--baseline", str(base), "--candidate", str(cand), *w, "--json", quiet=True)
    )
    print(f"gate verdict {gate['id']}: {gate['decision']} (on SCRIPTED evaluation results)")
    for v in ("v1", "v2", "v3"):
        cli("registry", "register", str(ws / "models" / v), "--verdict", gate["path"], *w)
    cli("promote", "v1", *w)
    key = json.loads(
        cli("keys", "create", "--name", "demo", "--scope", "chat", "--json", *w, quiet=True)
    )["key"]

    say("the scripted engine and the gateway (serve.yaml: rollout: auto)")
    engine_port, port = free_port(), free_port()
    engine_url = f"http://127.0.0.1:{engine_port}/v1"
    (ws / "serve.yaml").write_text(
        f'upstream: {{kind: openai, base_url: "{engine_url}", served_model: good}}\n'
        f"versions:\n  v3:\n    upstream: "
        f'{{kind: openai, base_url: "{engine_url}", served_model: leaky}}\n'
        "rollout: auto\nrollout_tick_s: 0.5\nlimits: {rate_per_minute: 600000, burst: 10000}\n"
    )
    (ws / "rollout.yaml").write_text(ROLLOUT_YAML)
    print((ws / "serve.yaml").read_text())
    procs = [
        start(
            [
                sys.executable,
                str(ROOT / "scripts/canary_demo_engine.py"),
                "--port",
                str(engine_port),
            ],
            work / "engine.log",
            f"{engine_url}/models",
        )
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        procs.append(
            start([str(BIN), "serve", *w, "--port", str(port)], work / "serve.log", f"{url}/readyz")
        )
        replay = ("replay", str(ws / "data/replay.jsonl"), "--url", url, "--key", key)

        say("v2, a good challenger: 1% -> 5% -> 25% -> 100%")
        cli("release", "plan", "v2", "--config", str(ws / "rollout.yaml"), *w)
        drive(ws, replay)
        cli("release", "status", *w)
        cli("registry", "show", "champion", *w)

        say("v3 leaks its system prompt: the analysis fails at 1%, the rollout aborts")
        cli("release", "plan", "v3", "--config", str(ws / "rollout.yaml"), *w)
        drive(ws, replay)
        cli("release", "status", *w, ok=(0, 1))
        captured = (ws / "data/live/failures.jsonl").read_text().splitlines()
        leaks = [r for r in map(json.loads, captured) if r.get("version") == "v3"]
        print(
            f"captured in data/live/failures.jsonl: {len(captured)} record(s), {len(leaks)} from v3"
        )
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(15)

    say("the next data build takes the captured failures in")
    cli("data", "build", *w)
    cli("log", "verify", *w)
    print(f"\nworkspace: {ws}   logs: {work}/serve.log, {work}/engine.log")


if __name__ == "__main__":
    main()
