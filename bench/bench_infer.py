"""``make infer-bench``: the exported precisions of a run side by side - throughput,
latency and quality on the workspace's regression set, through the evaluation engine.

    .venv/bin/python bench/bench_infer.py --workspace examples/support-bot [--run runs/<id>]
        [--limit 24] [--dtypes fp32 bf16 fp16 int8]

The run defaults to the newest finished DPO (else SFT) run; it is exported first when its
``export/`` folder lacks a precision. Prints a Markdown table with the baseline (the base
model) in the first row.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from _common import command_line, machine_line


def _newest_run(ws: Path) -> Path:
    from posttrain.train import read_manifest

    for kind in ("dpo", "sft"):
        for path in sorted((ws / "runs").glob(f"{kind}-*"), reverse=True):
            if (path / "manifest.json").is_file() and read_manifest(path).status == "finished":
                return path
    raise SystemExit(f"no finished sft/dpo run under {ws / 'runs'}: run make sft-train first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path("examples/support-bot"))
    parser.add_argument("--run", type=Path)
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16", "fp16", "int8"])
    args = parser.parse_args()

    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate, load_suite
    from posttrain.generation.hf import HFBackend
    from posttrain.train.export import export_run

    ws = args.workspace
    run = args.run if args.run else _newest_run(ws)
    run = run if run.is_absolute() else ws / run
    missing = [d for d in args.dtypes if not (run / "export" / d / "config.json").is_file()]
    if missing:
        export_run(run, dtypes=missing)
    contract = load_contract(ws / "contract.yaml")
    suite = load_suite(ws / "data" / "regression.jsonl")
    suite = suite.model_copy(update={"samples": suite.samples[: args.limit]})
    rows = []
    models = [("base", "smollm2-135m-instruct")] + [
        (d, str(run / "export" / d)) for d in args.dtypes
    ]
    for label, model in models:
        backend = HFBackend(model, batch_size=8)
        with tempfile.TemporaryDirectory() as tmp:
            result = evaluate(EvalConfig(model=model, out_dir=Path(tmp)), backend, contract, suite)
        m = result.summary.metrics
        passed = m.get("regression_pass_rate")
        rows.append(
            (
                label,
                m.latency.tokens_per_s or 0.0,
                m.latency.p95_s or 0.0,
                passed.rate if passed and passed.rate is not None else float("nan"),
            )
        )
        print(rows[-1], flush=True)
    print(
        f"Command: `{command_line()}`  \nMachine: {machine_line()}  \nRun: {run.name}, "
        f"{len(suite.samples)} regression items, greedy, max_new_tokens 128\n"
    )
    print("| model | tokens/s | p95 latency s | regression pass rate |\n|---|---|---|---|")
    for label, tps, p95, rate in rows:
        print(f"| {label} | {tps:.1f} | {p95:.2f} | {rate:.2f} |")


if __name__ == "__main__":
    main()
