"""Generate the embedded model's own answers to the built-in suites (unlabelled).

Writes ``src/posttrain/resources/refusal/sources/smollm2_answers.jsonl``: one line per
sample (``id``, ``suite``, ``technique``, ``lang``, ``request``, ``context``, ``answer``,
``finish_reason``). The answers are generated the way ``posttrain eval`` generates them:
the example contract's system prompt, the sample's user turn (``build_conversation``),
greedy decoding, so rerunning gives the same text on the same machine. Labels are not
written here: they live in ``smollm2_labels.jsonl``, written by reading the answers
(docs/LABELLING.md).

Run (heavy: a model over a few hundred prompts, minutes on CPU):
    flock /tmp/posttrain-heavy.lock .venv/bin/python \
        scripts/refusal_judge/generate_model_answers.py [--per-suite 40] [--max-new-tokens 64]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from posttrain.contract import load_contract
from posttrain.evaluate.runner import build_conversation
from posttrain.evaluate.suites import load_suite
from posttrain.generation import GenerationParams, make_backend

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/posttrain/resources/refusal/sources/smollm2_answers.jsonl"
SUITES = ("jailbreak", "injection", "indirect_injection", "privacy", "over_refusal")
SEED = 13


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-suite", type=int, default=40)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    args = ap.parse_args()

    contract = load_contract(ROOT / "examples/support-bot/contract.yaml")
    system = contract.render_system_prompt(canary="CANARY-LABELSET-0000")
    rng = random.Random(SEED)
    samples = []
    for name in SUITES:
        suite = load_suite(name)
        picked = list(suite.samples)
        rng.shuffle(picked)
        samples += [(name, s) for s in sorted(picked[: args.per_suite], key=lambda s: s.id)]
    backend = make_backend("hf", args.model, batch_size=args.batch_size)
    params = GenerationParams(max_new_tokens=args.max_new_tokens, temperature=0.0)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        print(f"{done}/{len(samples)}", flush=True)

    convs = [build_conversation(system, s) for _, s in samples]
    gens = backend.generate(convs, params, on_progress=progress)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        for (name, s), g in zip(samples, gens, strict=True):
            row = {
                "id": s.id,
                "suite": name,
                "technique": s.technique,
                "lang": s.lang,
                "request": s.prompt,
                "context": s.context,
                "answer": g.text.strip(),
                "finish_reason": g.finish_reason,
                "model": args.model,
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(samples)} answers to {OUT}")


if __name__ == "__main__":
    main()
