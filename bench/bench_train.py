"""Training throughput: posttrain's SFT and DPO recipes vs plain TRL trainers with default
settings, on the embedded model and the same data, side by side in one run.

What differs (model, LoRA, batch size, learning rate and data are equal):

* TRL's defaults (TRL 1.x ``SFTConfig`` / ``DPOConfig``): ``bf16=True`` and
  ``gradient_checkpointing=True``. On a CPU without native bf16 the autocast is emulated,
  which is most of the difference. posttrain picks the precision for the hardware (fp32 on
  a CPU) and checkpoints activations only when asked.
* A second baseline, TRL with ``bf16=False, gradient_checkpointing=False``, isolates what
  the recipes themselves add:
  * SFT - posttrain: length-grouped batches (padding-free packing with ``packing=true``);
    TRL: random batches padded to their longest example.
  * DPO - posttrain: reference log-probs precomputed once and length-grouped pairs; TRL: a
    reference forward pass (adapter disabled) at every step, random pairs.

* posttrain fp32 runs a second time with TRL's fused LM head projecting every position
  (the prompt's and the padding's too), as TRL does off a Triton GPU: the difference is
  :func:`posttrain.train.runtime.label_positions_only` alone.
* posttrain runs twice: ``precision=fp32`` and ``precision=bf16`` (autocast over fp32
  weights; what ``precision: auto`` picks where the CPU has native bf16 - AVX-512 BF16 or
  AMX, :func:`posttrain.models.loading.native_bf16`). Where bf16 is emulated (an AVX2
  CPU) the bf16 arm is much slower and runs on ``--default-examples`` only; the table
  says which it was.

tokens/s counts real (non-padding) tokens over the wall time of building the trainer and
training (the DPO precompute included). TRL's defaults are so slow here that they run on
fewer examples (``--default-examples``); tokens/s is comparable across sizes. Data:
``bench/_train_data.py`` over the example's failures.jsonl. Prints a Markdown table;
``--append`` adds it to BENCHMARKS.md.

    .venv/bin/python bench/bench_train.py [--sft-examples 48] [--dpo-pairs 24]
        [--default-examples 8] [--skip-default] [--skip-bf16] [--rounds 2] [--append]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))

from _common import command_line, machine_line
from _train_data import build_standin

ROOT = Path(__file__).resolve().parents[1]
MODEL = "smollm2-135m-instruct"
COMMON = [
    f"model={MODEL}",
    "micro_batch=4",
    "grad_accum=1",
    "seq_len=384",
    "epochs=1",
    "lr=1e-4",
    "val_fraction=0",
    "system_prompt=data",
    "eval_every=1000",
    "seed=0",
]


_RUNS = iter(range(1_000_000))


def _ours(
    method: str, ws: Path, n: int, precision: str = "fp32", *, full_head: bool = False
) -> tuple[float, int]:
    """posttrain's recipe; ``full_head`` leaves TRL's fused LM head projecting every
    position (prompt and padding too), as it does on a CPU without
    :func:`posttrain.train.runtime.label_positions_only`."""
    import contextlib

    from posttrain.train import load_config, runtime, train

    tag = f"{method}-ours-{precision}{'-fullhead' if full_head else ''}-{next(_RUNS)}"
    over = [*COMMON, f"limit={n}", f"precision={precision}", f"run_id={tag}"]
    cfg = load_config(method, None, over)
    saved = runtime.label_positions_only
    if full_head:
        runtime.label_positions_only = contextlib.nullcontext  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        manifest = train(cfg, ws, show=False)
        return time.perf_counter() - t0, int(manifest.final_signals.get("tokens", 0))
    finally:
        runtime.label_positions_only = saved


def _plain_trl(method: str, ws: Path, n: int, *, cpu_tuned: bool) -> tuple[float, int]:
    """TRL's trainer as its docs show it, defaults everywhere except the shared settings
    (and, with ``cpu_tuned``, fp32 without gradient checkpointing)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM

    from posttrain.models import load_tokenizer, prepare
    from posttrain.train.data import load_prefs, load_sft

    tok = load_tokenizer(MODEL)
    tok.padding_side = "right"
    model = AutoModelForCausalLM.from_pretrained(prepare(MODEL), dtype=torch.float32)
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
    )
    shared = {
        "per_device_train_batch_size": 4,
        "num_train_epochs": 1,
        "learning_rate": 1e-4,
        "max_length": 384,
        "report_to": "none",
        "use_cpu": True,
        "seed": 0,
        "include_num_input_tokens_seen": "non_padding",
        "save_strategy": "no",
        "output_dir": str(ws / f"{method}-trl"),
        "disable_tqdm": True,
    }
    if cpu_tuned:
        shared.update(bf16=False, gradient_checkpointing=False)
    t0 = time.perf_counter()
    if method == "sft":
        from trl import SFTConfig, SFTTrainer

        rows, _ = load_sft(ws / "data", tok, val_fraction=0, val_max=0, seed=0)
        ds = Dataset.from_list([{"prompt": r.prompt, "completion": r.completion} for r in rows[:n]])
        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(**shared),
            train_dataset=ds,
            processing_class=tok,
            peft_config=lora,
        )
    else:
        from trl import DPOConfig, DPOTrainer

        pairs, _ = load_prefs(ws / "data", tok, val_fraction=0, val_max=0, seed=0)
        ds = Dataset.from_list(
            [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in pairs[:n]]
        )
        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(**shared),
            train_dataset=ds,
            processing_class=tok,
            peft_config=lora,
        )
    trainer.train()
    return time.perf_counter() - t0, int(trainer.state.num_input_tokens_seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sft-examples", type=int, default=48)
    parser.add_argument("--dpo-pairs", type=int, default=24)
    parser.add_argument(
        "--default-examples", type=int, default=8, help="examples / pairs for TRL's defaults"
    )
    parser.add_argument(
        "--skip-default",
        action="store_true",
        help="leave out TRL with its defaults (the slowest arm by far on a CPU)",
    )
    parser.add_argument("--skip-bf16", action="store_true", help="leave out posttrain's bf16 arm")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the fp32 arms this many times, interleaved; each cell is the best round",
    )
    parser.add_argument("--append", action="store_true", help="append to BENCHMARKS.md")
    args = parser.parse_args()
    from posttrain.models.loading import native_bf16

    native = native_bf16()
    bf16_kind = "native" if native else "emulated"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        ws = Path(tmp)
        build_standin(ROOT / "examples/support-bot/data/failures.jsonl", ws / "data")
        for method, n in (("sft", args.sft_examples), ("dpo", args.dpo_pairs)):
            d_s, d_tok = float("nan"), 0
            if not args.skip_default:
                d_s, d_tok = _plain_trl(method, ws, args.default_examples, cpu_tuned=False)
                print(f"{method}: TRL default {d_tok / d_s:.1f} tok/s", flush=True)
            runs: dict[str, list[tuple[float, int]]] = {"trl": [], "full": [], "ours": []}
            for r in range(args.rounds):
                runs["trl"].append(_plain_trl(method, ws, n, cpu_tuned=True))
                runs["full"].append(_ours(method, ws, n, full_head=True))
                runs["ours"].append(_ours(method, ws, n))
                print(
                    f"{method} round {r + 1}: "
                    + ", ".join(f"{k} {v[-1][1] / v[-1][0]:.1f} tok/s" for k, v in runs.items()),
                    flush=True,
                )
            (f_s, f_tok), (h_s, h_tok), (o_s, o_tok) = (
                min(runs[k], key=lambda st: st[0] / max(st[1], 1)) for k in ("trl", "full", "ours")
            )
            b_s, b_tok = float("nan"), 0
            if not args.skip_bf16:
                n_bf16 = n if native else args.default_examples
                b_s, b_tok = _ours(method, ws, n_bf16, "bf16")
                print(f"{method}: posttrain bf16 ({bf16_kind}) {b_tok / b_s:.1f} tok/s", flush=True)
            speeds = (d_tok / d_s, f_tok / f_s, h_tok / h_s, o_tok / o_s, b_tok / b_s)
            rows.append((method, n, *speeds, d_s, f_s, h_s, o_s, b_s))
    lines = [
        "## Training: posttrain recipes vs plain TRL",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine_line()}  ",
        f"Model: {MODEL} (LoRA r=16 on q/k/v/o, micro_batch 4, seq_len 384, CPU). TRL default "
        f"runs {args.default_examples} examples / pairs"
        + ("" if native else ", and so does posttrain bf16 (emulated here)")
        + f", the others the number shown. bf16 on this CPU: {bf16_kind}.",
        "",
        f"| recipe | examples | TRL default tok/s (bf16 {bf16_kind} + checkpointing) "
        "| TRL fp32, no checkpointing tok/s | posttrain fp32, full-width LM head tok/s "
        f"| posttrain fp32 tok/s | posttrain bf16 ({bf16_kind}) tok/s "
        "| best posttrain vs default | best posttrain vs fp32 TRL "
        "| wall s (default / fp32 TRL / full head / ours fp32 / ours bf16) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(value: float, fmt: str = ".1f") -> str:
        return "-" if value != value else format(value, fmt)  # NaN: an arm left out

    for method, n, dflt, fp32, full, ours, bf16, d_s, f_s, h_s, o_s, b_s in rows:
        best = max(ours, bf16 if bf16 == bf16 else 0.0)
        d_ratio = "-" if dflt != dflt else f"{best / dflt:.1f}x"
        lines.append(
            f"| {method} | {n} | {cell(dflt)} | {fp32:.1f} | {full:.1f} | {ours:.1f} "
            f"| {cell(bf16)} | {d_ratio} | {best / fp32:.2f}x "
            f"| {cell(d_s, '.0f')} / {f_s:.0f} / {h_s:.0f} / {o_s:.0f} / {cell(b_s, '.0f')} |"
        )
    if args.rounds > 1:
        lines.append("")
        lines.append(
            f"Each fp32 cell is the best of {args.rounds} rounds, the arms interleaved "
            "(TRL, full head, posttrain) within each round."
        )
    table = "\n".join(lines)
    print(table)
    if args.append:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
        path.write_text(text.rstrip("\n") + "\n\n" + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
