"""The whole loop's wall time: ``posttrain run`` on a fresh copy of the example workspace
with the embedded model and the quick profile, stage by stage; then the same command
again (everything up to date: only the reports are rewritten), side by side in one run.

Goal: the cold loop in <= 15 minutes on this CPU (the demo's budget is 30). Prints a
Markdown table; ``--append`` adds it to BENCHMARKS.md. Not run by the tests.

    .venv/bin/python bench/bench_loop.py [--model smollm2-135m-instruct] [--no-dpo]
        [--eval-limit 15] [--keep DIR] [--append]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))

from _common import command_line, machine_line

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 15 * 60


def _loop(ws: Path, extra: list[str]) -> tuple[dict, float, int]:
    exe = Path(sys.executable).with_name("posttrain")
    argv = [str(exe), "run", "-w", str(ws), *extra, "--json"]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1, 4):
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"posttrain run failed with exit code {proc.returncode}")
    return json.loads(proc.stdout), wall, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--no-dpo", action="store_true")
    parser.add_argument("--eval-limit", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="Workspace folder to keep.")
    parser.add_argument("--append", action="store_true", help="Append to BENCHMARKS.md.")
    args = parser.parse_args()

    extra = ["-m", args.model, "-p", args.profile, "--no-dpo" if args.no_dpo else "--dpo"]
    if args.eval_limit:
        extra += ["--eval-limit", str(args.eval_limit)]
    tmp = Path(tempfile.mkdtemp(prefix="posttrain-bench-loop-"))
    ws = args.keep or tmp / "ws"
    if ws.exists():
        shutil.rmtree(ws)
    shutil.copytree(
        ROOT / "examples" / "support-bot",
        ws,
        ignore=shutil.ignore_patterns("runs", "reports", ".posttrain", "__pycache__"),
    )
    # The copy leaves out .posttrain/ (the generation cache): the first run generates everything.
    cold, cold_wall, code = _loop(ws, extra)
    warm, warm_wall, _ = _loop(ws, extra)

    cold_stages = {s["name"]: s for s in cold["stages"]}
    warm_stages = {s["name"]: s for s in warm["stages"]}
    lines = [
        f"## posttrain run, {args.model}, profile {args.profile}, "
        f"{'SFT only' if args.no_dpo else 'SFT + DPO'}",
        "",
        f"- command: `{command_line()}`",
        f"- machine: {machine_line()}",
        f"- verdict: {cold['decision']} (exit {code}); report `{cold['report']}`",
        "",
        "| stage | cold run (s) | re-run, all up to date (s) |",
        "|---|---|---|",
    ]
    for name, stage in cold_stages.items():
        again = warm_stages.get(name)
        lines.append(
            f"| {name} | {stage['seconds']:.1f} | {again['seconds']:.1f} ({again['status']}) |"
            if again
            else f"| {name} | {stage['seconds']:.1f} | – |"
        )
    verdict = "meets" if cold_wall <= GOAL_S else "misses"
    lines += [
        f"| **total (process wall)** | **{cold_wall:.0f}** | **{warm_wall:.0f}** |",
        "",
        f"Cold loop {cold_wall / 60:.1f} min: {verdict} the {GOAL_S // 60}-minute goal.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
