"""Refusal judge throughput: the combined judgement (rules + classifier) against the old
answer-only detector, on the labelled set's items, in one run.

    flock /tmp/posttrain-heavy.lock taskset -c 0,1 .venv/bin/python bench/bench_judge.py

Pin to 2 cores with ``taskset`` (the target: >= 200 items/s on 2 CPU cores). Prints the
command, the machine and items/s for each judge (best of ``--repeat`` passes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine_line

from posttrain.checks.calibrate import load_labelled
from posttrain.checks.detector import detect_refusal
from posttrain.checks.refusal_classifier import load_classifier
from posttrain.checks.refusal_judge import judge_refusal
from posttrain.checks.refusal_rules import judge_rules


def _rate(fn: Callable[[], None], n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    items = load_labelled()
    load_classifier()  # loading the model once is not per-item work
    n = len(items)
    answers = [i.answer for i in items]
    pairs = [(i.request or "", i.answer, i.context) for i in items]
    rows = {
        "old detector (answer only, baseline)": _rate(
            lambda: [detect_refusal(a) for a in answers], n, args.repeat
        ),
        "rules (request-aware)": _rate(
            lambda: [judge_rules(p, a, c) for p, a, c in pairs], n, args.repeat
        ),
        "combined: rules + classifier": _rate(
            lambda: [judge_refusal(p, a, c) for p, a, c in pairs], n, args.repeat
        ),
    }
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"command: {command_line()}")
    print(f"machine: {machine_line()}; affinity {cores} cores")
    mean_chars = sum(len(a) for a in answers) / n
    print(f"items: {n} (labelled set, mean answer {mean_chars:.0f} chars), best of {args.repeat}")
    print("| judge | items/s |")
    print("|---|---:|")
    for name, rate in rows.items():
        print(f"| {name} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
