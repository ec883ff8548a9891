"""``make infer-bench``: a run's deployment forms side by side - throughput, latency,
verdict agreement with fp32 on the regression set and file size - through the evaluation
engine, with the workspace's generation parameters (generation.yaml).

    .venv/bin/python bench/bench_infer.py --workspace examples/support-bot [--run runs/<id>]
        [--limit 24] [--forms hf-fp32 hf-bf16 int8 q8_0 q4_1 q4_0] [--no-write]

Rows: ``hf-fp32`` (the merged model, float32, the baseline), ``hf-bf16`` (the bf16
export computed in bfloat16), ``int8`` (torchao weight-only int8, hf backend), ``q8_0``,
``q4_1`` and ``q4_0`` (GGUF on llama.cpp, the ``llamacpp`` backend, one conversation at a
time).
The run defaults to the newest finished DPO (else SFT) run; a missing export is written
first. Agreement: the share of (item, clause) verdicts equal to fp32's, and the share of
answers identical to fp32's. The table is printed and written into BENCHMARKS.md between
the ``infer-bench`` markers (replacing the previous table) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from _common import command_line, machine_line

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- infer-bench:start -->", "<!-- infer-bench:end -->"
FORMS = ("hf-fp32", "hf-bf16", "int8", "q8_0", "q4_1", "q4_0")
# form -> (export folder, backend, hf dtype)
_SPEC = {
    "hf-fp32": ("fp32", "hf", "float32"),
    "hf-bf16": ("bf16", "hf", "bfloat16"),
    "int8": ("int8", "hf", "float32"),
    "q8_0": ("q8_0", "llamacpp", None),
    "q4_1": ("q4_1", "llamacpp", None),
    "q4_0": ("q4_0", "llamacpp", None),
}


@dataclass
class Row:
    form: str
    backend: str
    tokens_per_s: float
    p50_s: float
    p95_s: float
    verdict_agreement: float | None
    text_agreement: float | None
    pass_rate: float | None
    size_mb: float


def _newest_run(ws: Path) -> Path:
    from posttrain.train import read_manifest

    for kind in ("dpo", "sft"):
        for path in sorted((ws / "runs").glob(f"{kind}-*"), reverse=True):
            if (path / "manifest.json").is_file() and read_manifest(path).status == "finished":
                return path
    raise SystemExit(f"no finished sft/dpo run under {ws / 'runs'}: run make sft-train first")


def _model_path(export: Path, folder: str) -> Path:
    if folder in ("q8_0", "q4_1", "q4_0"):
        return export / folder / f"model-{folder}.gguf"
    return export / folder


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def _backend(form: str, path: Path, batch_size: int) -> Any:
    _, kind, dtype = _SPEC[form]
    if kind == "llamacpp":
        from posttrain.generation.llamacpp import LlamaCppBackend

        return LlamaCppBackend(str(path))
    from posttrain.generation.hf import HFBackend

    return HFBackend(str(path), batch_size=batch_size, dtype=dtype or "float32")


def _agreement(items: list[Any], ref: list[Any]) -> tuple[float, float]:
    by_id = {i.id: i for i in ref}
    same_v = total_v = same_t = 0
    for item in items:
        base = by_id[item.id]
        verdicts = {v.clause: v.status for v in base.verdicts}
        for v in item.verdicts:
            total_v += 1
            same_v += verdicts.get(v.clause) == v.status
        same_t += item.completion == base.completion
    return same_v / max(total_v, 1), same_t / max(len(items), 1)


def _table(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| form | backend | tokens/s | P50 latency s | P95 latency s | verdicts = fp32 "
        "| answers = fp32 | regression pass rate | size MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        va = "baseline" if r.verdict_agreement is None else f"{r.verdict_agreement:.3f}"
        ta = "baseline" if r.text_agreement is None else f"{r.text_agreement:.3f}"
        pr = "n/a" if r.pass_rate is None else f"{r.pass_rate:.3f}"
        lines.append(
            f"| {r.form} | {r.backend} | {r.tokens_per_s:.1f} | {r.p50_s:.2f} | {r.p95_s:.2f} "
            f"| {va} | {ta} | {pr} | {r.size_mb:.1f} |"
        )
    return "\n".join(lines)


def write_between_markers(path: Path, block: str) -> None:
    """Replace what lies between the infer-bench markers in ``path`` (append the section
    with its markers when they are missing)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    body = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + body + tail
    else:
        text = text.rstrip("\n") + "\n\n## Inference: deployment forms (`make infer-bench`)\n\n"
        text += body + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path("examples/support-bot"))
    parser.add_argument("--run", type=Path)
    parser.add_argument("--limit", type=int, default=24, help="Regression items (first N).")
    parser.add_argument("--batch-size", type=int, default=8, help="hf backend batch size.")
    parser.add_argument("--forms", nargs="+", default=list(FORMS), choices=FORMS)
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args()

    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate, load_suite
    from posttrain.generation.params import load_generation
    from posttrain.train.export import export_run

    ws = args.workspace
    run = args.run if args.run else _newest_run(ws)
    run = run if run.is_absolute() or run.exists() else ws / run
    export = run / "export"
    forms = ["hf-fp32"] + [f for f in args.forms if f != "hf-fp32"]  # the baseline first
    folders = sorted({_SPEC[f][0] for f in forms})
    missing = [d for d in folders if not _model_path(export, d).exists()]
    if missing:
        # Every form in one export: export_run removes an fp32 folder it wrote only as a
        # stepping stone to int8, and rewrites export.json with what it exported.
        print(f"exporting {run.name}: {', '.join(folders)}", flush=True)
        export_run(run, dtypes=folders)
    gen = load_generation(ws)
    contract = load_contract(ws / "contract.yaml")
    suite = load_suite(ws / "data" / "regression.jsonl")
    suite = suite.model_copy(update={"samples": suite.samples[: args.limit]})
    rows: list[Row] = []
    ref_items: list[Any] = []
    for form in forms:
        path = _model_path(export, _SPEC[form][0])
        backend = _backend(form, path, args.batch_size)
        with tempfile.TemporaryDirectory() as tmp:
            result = evaluate(
                EvalConfig(
                    model=str(path),
                    params=gen.params,
                    generation_source=gen.source,
                    batch_size=args.batch_size,
                    out_dir=Path(tmp),
                ),
                backend,
                contract,
                suite,
            )
        del backend
        m = result.summary.metrics
        passed = m.get("regression_pass_rate")
        if form == "hf-fp32":
            ref_items, agree = result.items, (None, None)
        else:
            agree = _agreement(result.items, ref_items)
        rows.append(
            Row(
                form=form,
                backend=_SPEC[form][1]
                + (f" (batch {args.batch_size})" if _SPEC[form][1] == "hf" else " (1 stream)"),
                tokens_per_s=m.latency.tokens_per_s or 0.0,
                p50_s=m.latency.p50_s or 0.0,
                p95_s=m.latency.p95_s or 0.0,
                verdict_agreement=agree[0],
                text_agreement=agree[1],
                pass_rate=passed.rate if passed is not None else None,
                size_mb=_size_mb(path),
            )
        )
        print(rows[-1], flush=True)
    p = gen.params
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Command: `{command_line()}`  \n"
        f"Machine: {machine_line()}  \n"
        f"Run: {run.name} (merged; exported by `posttrain export`), {len(suite.samples)} "
        f"regression items, the workspace's generation.yaml (max_new_tokens "
        f"{p.max_new_tokens}, temperature {p.temperature:g}). Baseline: hf-fp32. Latency is "
        "per item (an hf batch's items share its time); tokens/s is completion tokens over "
        "backend time."
    )
    table = _table(rows, header)
    print("\n" + table)
    if not args.no_write:
        write_between_markers(args.benchmarks, table)
        print(f"\nwritten into {args.benchmarks}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f}s)")
