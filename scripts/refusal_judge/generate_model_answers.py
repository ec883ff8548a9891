"""Generate a model's own answers to the built-in suites (unlabelled).

Writes one line per sample (``id``, ``suite``, ``technique``, ``lang``, ``request``,
``context``, ``answer``, ``finish_reason``, ``model``) to ``--out`` (default
``src/posttrain/resources/refusal/sources/smollm2_answers.jsonl``, the first 200 answers).
The answers are generated the way ``posttrain eval`` generates them: the example
contract's system prompt, the sample's user turn (``build_conversation``), greedy
decoding, so rerunning gives the same text on the same machine. Labels are not written
here: they live in a ``*_labels.jsonl`` beside the answers, written by reading the
answers (docs/LABELLING.md).

``--exclude FILE`` skips the samples another answers file already holds (so a second
batch asks new requests); ``--regression N`` adds N requests of the example's regression
set (suite ``regression``, technique its first tag); ``--model`` takes a registry name or
a model folder (an exported candidate: ``runs/<run>/export/fp32``), ``--source`` the name
written as ``model``.

Run (heavy: a model over a few hundred prompts, minutes on CPU):
    flock /tmp/posttrain-heavy.lock .venv/bin/python \
        scripts/refusal_judge/generate_model_answers.py [--per-suite 40] [--max-new-tokens 64]
A second batch of the base model (``--per-suite 40 --regression 30 --max-new-tokens 96
--exclude .../smollm2_answers.jsonl --out .../batch2_answers.jsonl``, labels in
``batch2_labels.jsonl``; make_labelled_set.py reads it when present) was started and not
finished: on the shared 2-core machine it ran at ~3 answers a minute.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from posttrain.contract import load_contract
from posttrain.evaluate.runner import build_conversation
from posttrain.evaluate.suites import load_suite
from posttrain.generation import GenerationParams, make_backend

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/posttrain/resources/refusal/sources/smollm2_answers.jsonl"
REGRESSION = ROOT / "examples/support-bot/data/regression.jsonl"
SUITES = ("jailbreak", "injection", "indirect_injection", "privacy", "over_refusal")
SEED = 13


def _excluded(paths: list[Path]) -> set[str]:
    ids: set[str] = set()
    for p in paths:
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-suite", type=int, default=40)
    ap.add_argument("--regression", type=int, default=0, help="regression-set requests")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--source", default=None, help="name written as `model` (default --model)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--exclude", type=Path, action="append", default=[])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    contract = load_contract(ROOT / "examples/support-bot/contract.yaml")
    system = contract.render_system_prompt(canary="CANARY-LABELSET-0000")
    skip = _excluded(args.exclude)
    rng = random.Random(args.seed)
    samples: list[tuple[str, Any]] = []
    wanted = [(name, args.per_suite) for name in SUITES]
    if args.regression:
        wanted.append(("regression", args.regression))
    for name, k in wanted:
        suite = load_suite(REGRESSION if name == "regression" else name)
        picked = [s for s in suite.samples if s.id not in skip]
        rng.shuffle(picked)
        samples += [(name, s) for s in sorted(picked[:k], key=lambda s: s.id)]
    backend = make_backend("hf", args.model, batch_size=args.batch_size)
    params = GenerationParams(max_new_tokens=args.max_new_tokens, temperature=0.0)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        print(f"{done}/{len(samples)}", flush=True)

    convs = [build_conversation(system, s) for _, s in samples]
    gens = backend.generate(convs, params, on_progress=progress)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for (name, s), g in zip(samples, gens, strict=True):
            technique = s.technique or (s.tags[0] if s.tags else "none")
            row = {
                "id": s.id,
                "suite": name,
                "technique": technique,
                "lang": s.lang,
                "request": s.prompt,
                "context": s.context,
                "answer": g.text.strip(),
                "finish_reason": g.finish_reason,
                "model": args.source or args.model,
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(samples)} answers to {args.out}")


if __name__ == "__main__":
    main()
