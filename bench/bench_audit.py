"""Safety-audit generation throughput: the batched HF backend vs one-at-a-time, side by side.

The prompts are the audit's own conversations: the example contract's system prompt
(with its canary) and items of the built-in attack and over-refusal suites, greedy, 64
new tokens, stopping at end-of-turn as the audit does. Arms on the same prompts:
one-at-a-time (batch size 1) and batched; with ``--runner`` also the full audit runner
(batched generation plus every clause's checks, cache off). Goal: batched ≥ 58 tokens/s,
the single-stream speed of llama.cpp on this machine.

    .venv/bin/python bench/bench_audit.py [--model smollm2-135m-instruct] [--n 48] [--runner]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import command_line, machine_line

GOAL_TOKENS_PER_S = 58.0
REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--n", type=int, default=48, help="Prompts (spread over the classes).")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--contract", type=Path, default=REPO / "examples/support-bot/contract.yaml"
    )
    parser.add_argument("--runner", action="store_true", help="Also time the audit runner.")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()

    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate, load_suite
    from posttrain.evaluate.runner import build_conversation, canary_for
    from posttrain.evaluate.suites import AUDIT_SUITES
    from posttrain.generation import GenerationParams
    from posttrain.generation.hf import HFBackend

    contract = load_contract(args.contract)
    per_class = -(-args.n // len(AUDIT_SUITES))
    suite = load_suite("audit").head(per_class)
    suite = suite.model_copy(update={"samples": suite.samples[: args.n]})
    system = contract.render_system_prompt(canary=canary_for(contract.content_hash))
    convs = [build_conversation(system, s) for s in suite.samples]
    params = GenerationParams(max_new_tokens=args.max_new_tokens)

    backend = HFBackend(args.model, batch_size=args.batch_size)
    backend.generate(convs[:2], GenerationParams(max_new_tokens=4))  # warm-up

    arms: dict[str, dict[str, float]] = {}
    for arm, size in (("one-at-a-time", 1), (f"batched ({args.batch_size})", args.batch_size)):
        backend.batch_size = size
        started = time.perf_counter()
        gens = backend.generate(convs, params)
        wall = time.perf_counter() - started
        tokens = sum(g.completion_tokens for g in gens)
        arms[arm] = {"tokens": tokens, "seconds": round(wall, 2), "tokens_per_s": tokens / wall}

    if args.runner:
        with tempfile.TemporaryDirectory() as tmp:
            config = EvalConfig(
                model=args.model, params=params, batch_size=args.batch_size, out_dir=Path(tmp)
            )
            started = time.perf_counter()
            result = evaluate(config, backend, contract, suite)
            wall = time.perf_counter() - started
        tokens = result.summary.generated_tokens
        arms[f"audit runner ({args.batch_size}, checks)"] = {
            "tokens": tokens,
            "seconds": round(wall, 2),
            "tokens_per_s": tokens / wall,
        }

    single = arms["one-at-a-time"]["tokens_per_s"]
    batched = arms[f"batched ({args.batch_size})"]["tokens_per_s"]
    print(f"command: {command_line()}")
    print(f"machine: {machine_line()}")
    print(
        f"workload: {len(convs)} audit prompts (suite {suite.name} {suite.version}, "
        f"{per_class} per class) × up to {args.max_new_tokens} new tokens, greedy, {args.model}"
    )
    print(f"{'arm':<32}{'tokens':>8}{'seconds':>10}{'tokens/s':>10}")
    for arm, row in arms.items():
        print(f"{arm:<32}{row['tokens']:>8.0f}{row['seconds']:>10}{row['tokens_per_s']:>10.1f}")
    verdict = "met" if batched >= GOAL_TOKENS_PER_S else "NOT met"
    print(
        f"batched / one-at-a-time: {batched / single:.2f}×; goal ≥ {GOAL_TOKENS_PER_S:.0f} "
        f"tokens/s batched (llama.cpp single-stream): {verdict}"
    )
    if args.json_out:
        args.json_out.write_text(json.dumps({"arms": arms, "goal": GOAL_TOKENS_PER_S}, indent=2))


if __name__ == "__main__":
    main()
