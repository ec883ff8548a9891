"""Do bfloat16 answers agree with float32 on the example's regression set?

Runs every item of ``examples/support-bot/data/regression.jsonl`` with the contract's
system prompt (and its canary, as evaluation renders it) through the embedded model in
float32 and in bfloat16 (the hf backend's decoding loop, with the example workspace's
generation parameters, ``generation.yaml``: greedy, 128 new tokens), judges both
answers with the evaluation's own judging (:func:`posttrain.evaluate.runner.judge_answer`),
and reports the share of items with identical greedy text, the share with identical
clause verdicts (every clause's pass/fail and the refusal judgement), the clause-level
flips, and tokens/s for each dtype. ``--dtype auto`` may become the evaluation default
only where these agree.

    flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/check_bf16_agreement.py \\
        [--n 155] [--json-out /tmp/bf16-agreement.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/support-bot"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--suite", type=Path, default=EXAMPLE / "data/regression.jsonl")
    parser.add_argument("--contract", type=Path, default=EXAMPLE / "contract.yaml")
    parser.add_argument(
        "--n", type=int, default=None, help="N items spread evenly over the set (default all)."
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from posttrain.contract import load_contract
    from posttrain.evaluate import load_suite
    from posttrain.evaluate.runner import build_conversation, canary_for, judge_answer
    from posttrain.generation.hf import HFBackend
    from posttrain.generation.params import load_generation
    from posttrain.models.loading import native_bf16

    contract = load_contract(args.contract)
    suite = load_suite(args.suite)
    samples = list(suite.samples)
    if args.n and args.n < len(samples):
        # Evenly spaced: the set is grouped by behaviour, so its head would be one kind.
        samples = [samples[i * len(samples) // args.n] for i in range(args.n)]
    canary = canary_for(contract.content_hash)
    system = contract.render_system_prompt(canary=canary)
    convs = [build_conversation(system, s) for s in samples]
    params = load_generation(args.contract.parent).params

    results: dict[str, dict[str, Any]] = {}
    for dtype in ("float32", "bfloat16"):
        backend = HFBackend(args.model, batch_size=args.batch_size, dtype=dtype)
        backend.generate(convs[:2], params.model_copy(update={"max_new_tokens": 4}))  # warm-up
        started = time.perf_counter()
        gens = backend.generate(convs, params)
        wall = time.perf_counter() - started
        tokens = sum(g.completion_tokens for g in gens)
        verdicts = []
        for sample, gen in zip(samples, gens, strict=True):
            j = judge_answer(
                contract, sample, gen.text, canary, suite.name, finish_reason=gen.finish_reason
            )
            verdicts.append(
                {
                    "clauses": {v.clause: v.status for v in j.verdicts},
                    "refused": j.refused,
                }
            )
        results[dtype] = {
            "texts": [g.text for g in gens],
            "verdicts": verdicts,
            "tokens": tokens,
            "seconds": wall,
            "tokens_per_s": tokens / wall,
        }
        del backend

    fp32, bf16 = results["float32"], results["bfloat16"]
    n = len(samples)
    same_text = sum(a == b for a, b in zip(fp32["texts"], bf16["texts"], strict=True))
    same_verdicts = sum(a == b for a, b in zip(fp32["verdicts"], bf16["verdicts"], strict=True))
    flips: list[dict[str, str]] = []
    n_clause_verdicts = 0
    for sample, a, b in zip(samples, fp32["verdicts"], bf16["verdicts"], strict=True):
        for clause, status in a["clauses"].items():
            n_clause_verdicts += 1
            other = b["clauses"].get(clause)
            if other != status:
                flips.append(
                    {"item": sample.id, "clause": clause, "fp32": status, "bf16": str(other)}
                )
        if a["refused"] != b["refused"]:
            flips.append(
                {
                    "item": sample.id,
                    "clause": "(refusal judgement)",
                    "fp32": str(a["refused"]),
                    "bf16": str(b["refused"]),
                }
            )
    pass_rate = {dtype: _pass_rate(r["verdicts"]) for dtype, r in (("fp32", fp32), ("bf16", bf16))}

    print(f"command: {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"native bf16: {native_bf16()}"
    )
    print(
        f"workload: {n} items of {args.suite.name} with the contract's system prompt, "
        f"{args.model}, greedy, max_new_tokens {params.max_new_tokens}, "
        f"batch {args.batch_size}"
    )
    print(f"identical greedy text: {same_text}/{n} ({same_text / n:.1%})")
    print(
        f"identical clause verdicts (all clauses + refusal): {same_verdicts}/{n} "
        f"({same_verdicts / n:.1%})"
    )
    print(f"clause verdicts that flip: {len(flips)} of {n_clause_verdicts} (+{n} refusal)")
    print(f"clause pass rate: fp32 {pass_rate['fp32']:.1%}, bf16 {pass_rate['bf16']:.1%}")
    for dtype, r in results.items():
        print(
            f"{dtype:<9} {r['tokens']:>6} tokens {r['seconds']:>7.1f} s "
            f"{r['tokens_per_s']:>6.1f} tokens/s"
        )
    for flip in flips[:20]:
        print(f"  flip {flip['item']} {flip['clause']}: fp32 {flip['fp32']} → bf16 {flip['bf16']}")
    if args.json_out:
        summary = {
            "n": n,
            "identical_text": same_text,
            "identical_verdicts": same_verdicts,
            "flips": flips,
            "pass_rate": pass_rate,
            "tokens_per_s": {k: v["tokens_per_s"] for k, v in results.items()},
            "native_bf16": native_bf16(),
        }
        args.json_out.write_text(json.dumps(summary, indent=2), encoding="utf-8")


def _pass_rate(verdicts: list[dict[str, Any]]) -> float:
    statuses = [s for v in verdicts for s in v["clauses"].values()]
    return sum(s == "pass" for s in statuses) / max(1, len(statuses))


if __name__ == "__main__":
    main()
