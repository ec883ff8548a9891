"""Safety-audit generation throughput: decoding paths and dtypes side by side, interleaved.

The prompts are the audit's own conversations: the example contract's system prompt
(with its canary) and items of the built-in attack and over-refusal suites, greedy,
128 new tokens, stopping at end-of-turn as the audit does. Arms, on the same prompts,
run in turn round after round (so a busy spell on a shared machine hits every arm):

* ``generate fp32``: transformers' ``model.generate`` on the padded batch of 16, which
  runs until the batch's longest answer (the path before the decoding loop);
* ``loop fp32, DynamicCache``: the hf backend's own decoding loop, finished rows leave
  the batch, with transformers' DynamicCache (copied at every step: the loop as first
  built);
* ``loop fp32, preallocated``: the same loop, the cache written in place into room
  reserved up front, the shared prefix copied into every row;
* ``loop fp32, shared prefix``: the same, the shared prefix held once for the batch and
  attended with one matrix product (the default, ``kv_cache="shared"``);
* ``loop fp32, shared prefix (batch 64)``: the same with ``--wide-batch-size`` rows a
  batch (the evaluation default since the shared prefix made rows cheap); the prompts'
  tails are prefilled in row chunks, each padded to its own width;
* ``loop fp32, shared prefix (batch 64), one-pass prefill``: the same with every tail
  padded to the batch's longest in one forward (the prefill before the chunks);
* ``loop bf16``: the same in bfloat16 (native on CPUs with AVX512-BF16/AMX, emulated
  elsewhere: the machine line says which);
* ``loop bf16, shared prefix (batch 64)``: the batch-64 default path in bfloat16, the
  arm to set beside ``loop fp32, shared prefix (batch 64)``;
* ``loop-wide-softmax-fp32`` / ``-bf16``: the batch-64 path with the shared-prefix
  attention's softmax written out (the path before PyTorch's fused CPU kernel computed
  each part), the arms to set beside ``loop-wide-fp32`` / ``loop-wide-bf16``;
* ``wide-batches``: the ``--wide-batch-size`` path batch after batch, each decoding
  down to its longest answer (``continuous=False``: the path before continuous
  batching), in ``--dtype`` (default ``auto``: what this CPU runs natively);
* ``wide-refill``: continuous batching over the whole call, a finished row's slot
  refilled with the next prompt (the default path; it differs from ``wide-batches``
  only with more prompts than slots, e.g. ``--n 96 --wide-batch-size 32``);
* ``wide-loopstop``: the same, an answer stopped once its last 32+ tokens repeat one
  block 3 times (compare wall time: it makes fewer tokens);
* ``wide-batches-loopstop``: the loop stop batch after batch: beside ``wide-loopstop``,
  what refilling is worth when answers end at different steps (a candidate's case);
* ``llama.cpp``: llama-cpp-python, one conversation at a time, on the embedded GGUF.

Goals (issue 17): ``loop`` ≥ 2× ``generate fp32`` and ≥ ``llama.cpp`` single-stream.
Tokens/s counts completion tokens (what the answers hold), not padded steps.
``--prompts regression`` takes the first ``--n`` items of the example's business
regression set instead (``examples/support-bot/data/regression.jsonl``: tool results and
order notes make their tails long and uneven, where the chunked prefill matters).

    flock /tmp/posttrain-heavy.lock .venv/bin/python bench/bench_audit.py [--n 48] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from _common import command_line, machine_line

REPO = Path(__file__).resolve().parent.parent
ARMS = (
    "generate-fp32",
    "loop-dynamic-fp32",
    "loop-prealloc-fp32",
    "loop-fp32",
    "loop-wide-fp32",
    "loop-wide-onepass-fp32",
    "loop-bf16",
    "loop-wide-bf16",
    "loop-wide-softmax-fp32",
    "loop-wide-softmax-bf16",
    "wide-batches",
    "wide-refill",
    "wide-loopstop",
    "wide-batches-loopstop",
    "llamacpp",
)
# The kv_cache mode of each decoding-loop arm (generation/hf.py's KVCacheMode).
KV_CACHE = {"loop-dynamic-fp32": "dynamic", "loop-prealloc-fp32": "preallocated"}
LABELS = {
    "generate-fp32": "generate fp32 (batch {b}, until longest)",
    "loop-dynamic-fp32": "loop fp32, DynamicCache (batch {b})",
    "loop-prealloc-fp32": "loop fp32, preallocated (batch {b})",
    "loop-fp32": "loop fp32, shared prefix (batch {b})",
    "loop-wide-fp32": "loop fp32, shared prefix (batch {w})",
    "loop-wide-onepass-fp32": "loop fp32, shared prefix (batch {w}), one-pass prefill",
    "loop-bf16": "loop bf16 (batch {b}, rows leave)",
    "loop-wide-bf16": "loop bf16, shared prefix (batch {w})",
    "loop-wide-softmax-fp32": "loop fp32, shared prefix (batch {w}), softmax",
    "loop-wide-softmax-bf16": "loop bf16, shared prefix (batch {w}), softmax",
    "wide-batches": "loop {d}, batches of {w} (each to its longest)",
    "wide-refill": "loop {d}, {w} slots refilled (continuous)",
    "wide-loopstop": "loop {d}, {w} slots refilled, stop_on_loop=32",
    "wide-batches-loopstop": "loop {d}, batches of {w}, stop_on_loop=32",
    "llamacpp": "llama.cpp GGUF (single stream)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--n", type=int, default=48, help="Prompts (spread over the classes).")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--wide-batch-size", type=int, default=64, help="Rows of the loop-wide-fp32 arm."
    )
    parser.add_argument("--rounds", type=int, default=2, help="Times each arm runs, in turn.")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"Comma-separated: {ARMS}.")
    parser.add_argument(
        "--contract", type=Path, default=REPO / "examples/support-bot/contract.yaml"
    )
    parser.add_argument(
        "--prompts",
        choices=("audit", "regression"),
        default="audit",
        help="The built-in audit suites, or the example's regression set.",
    )
    parser.add_argument(
        "--dtype", default="auto", help="The wide-* arms' dtype (auto: native bf16, else fp32)."
    )
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    arms = [a for a in args.arms.split(",") if a]
    if unknown := set(arms) - set(ARMS):
        parser.error(f"unknown arms {sorted(unknown)}; use some of {', '.join(ARMS)}")

    from posttrain.contract import load_contract
    from posttrain.evaluate import load_suite
    from posttrain.evaluate.runner import build_conversation, canary_for
    from posttrain.evaluate.suites import AUDIT_SUITES
    from posttrain.generation import GenerationParams
    from posttrain.models.loading import native_bf16, resolve_dtype

    contract = load_contract(args.contract)
    if args.prompts == "regression":
        per_class = args.n
        suite = load_suite(args.contract.parent / "data" / "regression.jsonl")
    else:
        per_class = -(-args.n // len(AUDIT_SUITES))
        suite = load_suite("audit").head(per_class)
    suite = suite.model_copy(update={"samples": suite.samples[: args.n]})
    system = contract.render_system_prompt(canary=canary_for(contract.content_hash))
    convs = [build_conversation(system, s) for s in suite.samples]
    params = GenerationParams(max_new_tokens=args.max_new_tokens)

    wide_dtype = "bf16" if resolve_dtype(args.dtype) == "bfloat16" else "fp32"
    backends = _backends(arms, args.model, args.batch_size, wide_dtype)
    for backend in {id(b): b for b in backends.values()}.values():
        backend.generate(convs[:2], GenerationParams(max_new_tokens=4))  # warm-up

    runs: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
    texts: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for arm in arms:
            backend = backends[arm]
            if arm.startswith(("generate", "loop")):
                backend.decode = "generate" if arm.startswith("generate") else "loop"
                backend.kv_cache = KV_CACHE.get(arm, "shared")
                wide = arm.startswith("loop-wide")
                backend.batch_size = args.wide_batch_size if wide else args.batch_size
                # The paths as they were measured: batch after batch.
                backend.continuous = False
            if arm.startswith("wide-"):
                backend.decode, backend.kv_cache = "loop", "shared"
                backend.batch_size = args.wide_batch_size
                backend.continuous = not arm.startswith("wide-batches")
            arm_params = params
            if arm.endswith("loopstop"):
                arm_params = params.model_copy(update={"stop_on_loop": 32})
            with _one_pass_prefill(arm == "loop-wide-onepass-fp32"), _softmax(arm):
                started = time.perf_counter()
                gens = backend.generate(convs, arm_params)
                wall = time.perf_counter() - started
            tokens = sum(g.completion_tokens for g in gens)
            runs[arm].append({"tokens": tokens, "seconds": wall, "tokens_per_s": tokens / wall})
            texts[arm] = [g.text for g in gens]
            print(f"{arm}: {tokens} tokens in {wall:.1f} s", flush=True)

    lengths = [len(t) for t in texts.get(arms[0], [])]
    print(f"command: {command_line()}")
    print(f"machine: {machine_line()}; native bf16: {native_bf16()}")
    print(
        f"workload: {len(convs)} {args.prompts} prompts (suite {suite.name} {suite.version}, "
        f"{per_class} per class) × up to {args.max_new_tokens} new tokens, greedy, "
        f"{args.model}, {args.rounds} interleaved rounds"
    )
    print(f"{'arm':<44}{'tokens':>8}{'seconds':>10}{'tokens/s (runs)':>26}")
    summary: dict[str, float] = {}
    for arm in arms:
        rates = [r["tokens_per_s"] for r in runs[arm]]
        summary[arm] = statistics.median(rates)
        label = LABELS[arm].format(b=args.batch_size, w=args.wide_batch_size, d=wide_dtype)
        per_run = " / ".join(f"{r:.1f}" for r in rates)
        last = runs[arm][-1]
        print(f"{label:<44}{last['tokens']:>8.0f}{last['seconds']:>10.1f}{per_run:>26}")
    for arm in ("loop-prealloc-fp32", "loop-fp32", "loop-wide-fp32"):
        if "loop-dynamic-fp32" in summary and arm in summary:
            ratio = summary[arm] / summary["loop-dynamic-fp32"]
            same = _same(texts[arm], texts["loop-dynamic-fp32"])
            print(f"{arm} / loop-dynamic-fp32: {ratio:.2f}×, identical greedy text {same}")
    if "loop-wide-onepass-fp32" in summary and "loop-wide-fp32" in summary:
        ratio = summary["loop-wide-fp32"] / summary["loop-wide-onepass-fp32"]
        same = _same(texts["loop-wide-fp32"], texts["loop-wide-onepass-fp32"])
        print(f"chunked / one-pass prefill: {ratio:.2f}×, identical greedy text {same}")
    for arm in ("loop-fp32", "loop-wide-fp32"):
        if "generate-fp32" in summary and arm in summary:
            ratio = summary[arm] / summary["generate-fp32"]
            same = _same(texts[arm], texts["generate-fp32"])
            print(f"{arm} / generate-fp32: {ratio:.2f}×, identical greedy text {same}")
    for arm, base in (
        ("wide-refill", "wide-batches"),
        ("wide-loopstop", "wide-batches"),
        ("wide-loopstop", "wide-batches-loopstop"),
    ):
        if arm in summary and base in summary:
            # Seconds, not tokens/s: the loop stop generates fewer tokens for the same work.
            secs = statistics.median(r["seconds"] for r in runs[arm])
            base_secs = statistics.median(r["seconds"] for r in runs[base])
            same = _same(texts[arm], texts[base])
            print(
                f"{arm} / {base}: {base_secs / secs:.2f}x faster in wall time "
                f"({secs:.1f} s vs {base_secs:.1f} s), identical greedy text {same}"
            )
    for fused, written in (
        ("loop-wide-fp32", "loop-wide-softmax-fp32"),
        ("loop-wide-bf16", "loop-wide-softmax-bf16"),
    ):
        if fused in summary and written in summary:
            same = _same(texts[fused], texts[written])
            print(
                f"{fused} / {written}: {summary[fused] / summary[written]:.2f}×, "
                f"identical greedy text {same}"
            )
    for bf16, fp32 in (("loop-bf16", "loop-fp32"), ("loop-wide-bf16", "loop-wide-fp32")):
        if bf16 in summary and fp32 in summary:
            print(f"{bf16} / {fp32}: {summary[bf16] / summary[fp32]:.2f}×")
            print(f"identical greedy text, {bf16} vs {fp32}: {_same(texts[bf16], texts[fp32])}")
    if "llamacpp" in summary:
        for arm in ("loop-fp32", "loop-wide-fp32", "loop-bf16", "loop-wide-bf16"):
            if arm in summary:
                print(f"{arm} / llama.cpp: {summary[arm] / summary['llamacpp']:.2f}×")
    if lengths:
        print(f"answer length (chars, {arms[0]}): median {statistics.median(lengths):.0f}")
    if args.json_out:
        args.json_out.write_text(
            json.dumps({"runs": runs, "median_tokens_per_s": summary}, indent=2)
        )


def _one_pass_prefill(on: bool) -> Any:
    """Inside: every batch's tails are prefilled in one forward, padded to the longest
    (``prefill_chunks`` answers one chunk), as before the chunked prefill."""
    import contextlib
    from unittest import mock

    if not on:
        return contextlib.nullcontext()
    return mock.patch(
        "posttrain.generation.kvcache.prefill_chunks",
        lambda tails, overhead=0: [range(len(tails))],
    )


def _softmax(arm: str) -> Any:
    """Inside, for the ``-softmax-`` arms: the shared-prefix attention writes its softmax
    out instead of calling PyTorch's fused CPU kernel (the path before the kernel)."""
    import contextlib
    from unittest import mock

    if "-softmax-" not in arm:
        return contextlib.nullcontext()
    return mock.patch("posttrain.generation.kvcache._FLASH", None)


def _backends(arms: list[str], model: str, batch_size: int, wide: str) -> dict[str, Any]:
    from posttrain.generation.hf import HFBackend

    backends: dict[str, Any] = {}
    # The wide-* arms run in --dtype, on the fp32 or the bf16 arms' backend.
    dtype_of = {a: (wide if a.startswith("wide-") else a.rsplit("-", 1)[-1]) for a in arms}
    fp32_arms = [a for a in arms if dtype_of[a] == "fp32"]
    if fp32_arms:
        fp32 = HFBackend(model, batch_size=batch_size, dtype="float32")
        backends.update(dict.fromkeys(fp32_arms, fp32))
    bf16_arms = [a for a in arms if dtype_of[a] == "bf16"]
    if bf16_arms:
        bf16 = HFBackend(model, batch_size=batch_size, dtype="bfloat16")
        backends.update(dict.fromkeys(bf16_arms, bf16))
    if "llamacpp" in arms:
        from posttrain.generation.llamacpp import LlamaCppBackend

        backends["llamacpp"] = LlamaCppBackend(model)
    return backends


def _same(a: list[str], b: list[str]) -> str:
    n = sum(x == y for x, y in zip(a, b, strict=True))
    return f"{n}/{len(a)}"


if __name__ == "__main__":
    main()
