"""Batched vs one-at-a-time HF generation on the embedded model, side by side.

32 prompts × 64 new tokens (greedy, end-of-turn ignored so both arms emit the same
number of tokens); prints tokens/s for both arms and the speed-up. Goal: batched ≥ 3×.

    .venv/bin/python bench/bench_generation.py [--model smollm2-135m-instruct] [--n 32]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import command_line, machine_line

PROMPT_SEEDS = [
    "Where is my order? It was supposed to arrive yesterday.",
    "Recommend me a pair of noise-cancelling headphones under $200.",
    "我想退货，应该怎么操作？",
    "Can I change the shipping address after paying?",
    "这款电饭煲支持预约功能吗？",
    "What is your return policy for opened electronics?",
    "Do you ship to Canada, and how long does it take?",
    "帮我推荐三款适合学生的笔记本电脑。",
]


def prompts(n: int) -> list[list[dict[str, str]]]:
    return [
        [{"role": "user", "content": f"{PROMPT_SEEDS[i % len(PROMPT_SEEDS)]} (ticket {i + 1})"}]
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()

    from posttrain.generation import GenerationParams
    from posttrain.generation.hf import HFBackend

    backend = HFBackend(args.model, batch_size=args.batch_size)
    convs = prompts(args.n)
    backend.generate(convs[:2], GenerationParams(max_new_tokens=4))  # warm-up
    # Force every completion to its full length so both arms do identical work: with no
    # end-of-turn token, every row decodes to max_new_tokens.
    backend._stop_ids = []
    params = GenerationParams(max_new_tokens=args.max_new_tokens)

    arms = {}
    for arm, size in (("one-at-a-time", 1), (f"batched ({args.batch_size})", args.batch_size)):
        backend.batch_size = size
        started = time.perf_counter()
        gens = backend.generate(convs, params)
        wall = time.perf_counter() - started
        tokens = sum(g.completion_tokens for g in gens)
        arms[arm] = {"tokens": tokens, "seconds": round(wall, 2), "tokens_per_s": tokens / wall}

    base, batched = arms.values()
    speedup = batched["tokens_per_s"] / base["tokens_per_s"]
    print(f"command: {command_line()}")
    print(f"machine: {machine_line()}")
    print(f"workload: {args.n} prompts × {args.max_new_tokens} new tokens, greedy, {args.model}")
    print(f"{'arm':<22}{'tokens':>8}{'seconds':>10}{'tokens/s':>10}")
    for arm, row in arms.items():
        print(f"{arm:<22}{row['tokens']:>8}{row['seconds']:>10}{row['tokens_per_s']:>10.1f}")
    print(f"speed-up batched / one-at-a-time: {speedup:.2f}× (goal ≥ 3×)")
    if args.json_out:
        args.json_out.write_text(json.dumps({"arms": arms, "speedup": speedup}, indent=2))


if __name__ == "__main__":
    main()
