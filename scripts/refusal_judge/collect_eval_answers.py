"""Collect a model's answers from an evaluation's items.jsonl as an (unlabelled) source.

``posttrain eval`` writes each item's ``completion`` with its sample id, not the
request; this joins the ids back to the suite (or the regression set) to get the request
and context, and writes lines in the format of ``generate_model_answers.py``. Used for
the support-bot example's SFT + DPO candidate (runs/loop-d3c5072bed15/eval/candidate:
greedy, 128 new tokens, the example contract's system prompt):

    .venv/bin/python scripts/refusal_judge/collect_eval_answers.py \
        --model support-bot-dpo-candidate --per-suite 14 --regression 50 \
        --out src/posttrain/resources/refusal/sources/candidate_answers.jsonl \
        examples/support-bot/runs/loop-d3c5072bed15/eval/candidate/audit/items.jsonl \
        examples/support-bot/runs/loop-d3c5072bed15/eval/candidate/regression/items.jsonl

Deterministic: a fixed-seed sample of ``--per-suite`` items of each suite.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from posttrain.evaluate.suites import load_suite

ROOT = Path(__file__).resolve().parents[2]
REGRESSION = ROOT / "examples/support-bot/data/regression.jsonl"
SEED = 21


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("items", type=Path, nargs="+")
    ap.add_argument("--model", required=True, help="source name written as `model`")
    ap.add_argument("--per-suite", type=int, default=14)
    ap.add_argument("--regression", type=int, default=50)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    by_suite: dict[str, list[dict[str, object]]] = {}
    for path in args.items:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                by_suite.setdefault(row["suite"], []).append(row)
    rng = random.Random(SEED)
    out = []
    for suite_name in sorted(by_suite):
        rows = sorted(by_suite[suite_name], key=lambda r: str(r["id"]))
        rng.shuffle(rows)
        k = args.regression if suite_name == "regression" else args.per_suite
        suite = load_suite(REGRESSION if suite_name == "regression" else suite_name)
        samples = {s.id: s for s in suite.samples}
        for row in sorted(rows[:k], key=lambda r: str(r["id"])):
            s = samples[str(row["id"])]
            technique = s.technique or (s.tags[0] if s.tags else "none")
            out.append(
                {
                    "id": s.id,
                    "suite": suite_name,
                    "technique": technique,
                    "lang": s.lang,
                    "request": s.prompt,
                    "context": s.context,
                    "answer": str(row["completion"]).strip(),
                    "finish_reason": row["finish_reason"],
                    "model": args.model,
                }
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} answers to {args.out}")


if __name__ == "__main__":
    main()
