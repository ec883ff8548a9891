"""Loss parity of bf16 autocast against fp32: the same short SFT run twice.

Both arms train the example's SFT data (``examples/support-bot``, its ``quick`` profile)
on the embedded model with the same seed, data and batches; only ``precision`` differs.
Prints both loss curves step by step and the max / mean absolute difference of the
losses, and writes them as JSON with ``--out``. The arms run one after the other in one
process (fp32 first), under whatever else the machine runs, so the tokens/s it prints
are indicative; ``bench/bench_train.py`` is the throughput measurement.

On a CPU without native bf16 (AVX2 only) the bf16 arm is emulated and much slower than
fp32: keep ``--steps`` small there. Run it under the heavy lock::

    flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/check_bf16_loss_parity.py \\
        [--steps 30] [--micro-batch 4] [--seq-len 384] [--out parity.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support-bot"


def _losses(run_dir: Path) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "signals.jsonl").read_text().splitlines()]
    return [float(r["loss"]) for r in rows if r.get("kind") == "train" and "loss" in r]


def _arm(ws: Path, precision: str, overrides: list[str]) -> dict[str, object]:
    from posttrain.train import load_config, train

    cfg = load_config(
        "sft",
        ws / "configs" / "sft.yaml",
        [*overrides, f"precision={precision}", f"run_id=parity-{precision}"],
        profile="quick",
    )
    t0 = time.perf_counter()
    manifest = train(cfg, ws, show=False)
    wall = time.perf_counter() - t0
    tokens = int(manifest.final_signals.get("tokens", 0))
    return {
        "precision": manifest.precision,
        "losses": _losses(ws / "runs" / manifest.run_id),
        "tokens": tokens,
        "train_s": manifest.timings.get("train_s"),
        "wall_s": round(wall, 1),
        "tokens_per_s": round(tokens / manifest.timings["train_s"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    args = parser.parse_args()
    overrides = [
        f"max_steps={args.steps}",
        f"micro_batch={args.micro_batch}",
        f"seq_len={args.seq_len}",
        f"seed={args.seed}",
        "val_fraction=0",  # no evaluation passes: only the training losses are compared
        "log_every=1",
    ]
    with tempfile.TemporaryDirectory(prefix="bf16-parity-") as tmp:
        ws = Path(tmp)
        for name in ("configs", "data", "contract.yaml"):
            src = EXAMPLE / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, ws / name)
        # The example ships its failures, not the built dataset (a fresh clone has none):
        # build it here, as `posttrain data build` would.
        from posttrain.data import DataConfig, build_dataset

        built = build_dataset(DataConfig(workspace=ws))
        if built.status != "built":
            print(f"the example's data build is {built.status}", file=sys.stderr)
            return 1
        fp32 = _arm(ws, "fp32", overrides)
        bf16 = _arm(ws, "bf16", overrides)
    a, b = fp32["losses"], bf16["losses"]
    assert isinstance(a, list) and isinstance(b, list)
    n = min(len(a), len(b))
    if n == 0:
        print("no losses were logged", file=sys.stderr)
        return 1
    diffs = [abs(x - y) for x, y in zip(a[:n], b[:n], strict=True)]
    result = {
        "steps": n,
        "overrides": overrides,
        "fp32": fp32,
        "bf16": bf16,
        "max_abs_diff": round(max(diffs), 4),
        "mean_abs_diff": round(sum(diffs) / n, 4),
        "mean_rel_diff": round(sum(d / abs(x) for d, x in zip(diffs, a, strict=False)) / n, 4),
    }
    print("step  fp32     bf16     |diff|")
    for i in range(n):
        print(f"{i + 1:4d}  {a[i]:.4f}  {b[i]:.4f}  {diffs[i]:.4f}")
    print(
        f"max |diff| {result['max_abs_diff']}, mean |diff| {result['mean_abs_diff']} "
        f"(mean relative {result['mean_rel_diff']}); tokens/s fp32 {fp32['tokens_per_s']} "
        f"({fp32['precision']}), bf16 {bf16['tokens_per_s']} ({bf16['precision']})"
    )
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
