"""Training throughput: posttrain's SFT and DPO recipes vs plain TRL trainers with default
settings, on the embedded model and the same data, side by side in one run.

What differs (everything else - model, LoRA, batch size, learning rate, data - is equal):

* SFT - posttrain: length-grouped batches (padding-free packing with ``packing=true``);
  TRL default: random batches padded to their longest example.
* DPO - posttrain: reference log-probs precomputed once and length-grouped pairs; TRL
  default: a reference forward pass (adapter disabled) at every step, random pairs.

tokens/s counts real (non-padding) tokens over the wall time of building the trainer and
training (the DPO precompute included). Data: ``bench/_train_data.py`` over the example's
failures.jsonl. Prints a Markdown table; ``--append`` adds it to BENCHMARKS.md.

    .venv/bin/python bench/bench_train.py [--sft-examples 48] [--dpo-pairs 24] [--append]
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


def _ours(method: str, ws: Path, n: int) -> tuple[float, int]:
    from posttrain.train import load_config, train

    cfg = load_config(method, None, [*COMMON, f"limit={n}", f"run_id={method}-ours"])
    t0 = time.perf_counter()
    manifest = train(cfg, ws, show=False)
    return time.perf_counter() - t0, int(manifest.final_signals.get("tokens", 0))


def _plain_trl(method: str, ws: Path, n: int) -> tuple[float, int]:
    """TRL's trainer as its docs show it, defaults everywhere except the shared settings."""
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
    parser.add_argument("--append", action="store_true", help="append to BENCHMARKS.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        ws = Path(tmp)
        build_standin(ROOT / "examples/support-bot/data/failures.jsonl", ws / "data")
        for method, n in (("sft", args.sft_examples), ("dpo", args.dpo_pairs)):
            base_s, base_tok = _plain_trl(method, ws, n)
            ours_s, ours_tok = _ours(method, ws, n)
            rows.append((method, n, base_tok / base_s, ours_tok / ours_s, base_s, ours_s, ours_tok))
            print(
                f"{method}: TRL default {base_tok / base_s:.1f} tok/s, "
                f"posttrain {ours_tok / ours_s:.1f} tok/s",
                flush=True,
            )
    lines = [
        f"Command: `{command_line()}`  ",
        f"Machine: {machine_line()}  ",
        f"Model: {MODEL} (LoRA r=16, micro_batch 4, seq_len 384, fp32, CPU)",
        "",
        "| recipe | examples | TRL default tok/s | posttrain tok/s | speed-up "
        "| wall s (TRL / ours) |",
        "|---|---|---|---|---|---|",
    ]
    for method, n, base, ours, base_s, ours_s, _ in rows:
        lines.append(
            f"| {method} | {n} | {base:.1f} | {ours:.1f} | {ours / base:.2f}x | "
            f"{base_s:.0f} / {ours_s:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.append:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
        if "## Training" not in text:
            text += "\n## Training\n"
        path.write_text(text.rstrip("\n") + "\n\n" + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
