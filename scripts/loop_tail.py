"""What a decoding stop on loops (``generation.yaml``'s ``stop_on_loop``) would save on an
evaluation decoded without it, and which verdicts it would change.

Reads a loop's evaluation (``runs/loop-*/eval/<side>/<suite>/items.jsonl``) and, for
every answer cut at the token limit, finds where ``stop_on_loop=--span`` would have
stopped it (:func:`posttrain.generation.base.loop_stop_at`: the first point where the
answer's last ``--span`` tokens or more are one block of 2 to 40 tokens repeated 3
times). Greedy decoding is deterministic, so the stopped answer is that prefix of the
stored one (re-tokenized from its text: an estimate to a token or two). It prints the
tokens after that point (what the stop saves) and, with ``--workspace``, re-judges every
stopped answer with the workspace's contract (``finish_reason: loop``) and counts the
items whose outcome, clause verdicts or refusal judgement change. It changes nothing.

    .venv/bin/python scripts/loop_tail.py examples/support-bot/runs/loop-<id>/eval \\
        --workspace examples/support-bot
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "eval_dir", type=Path, help="A loop's eval folder (holds base/, candidate/)."
    )
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--span", type=int, default=32, help="stop_on_loop's value")
    parser.add_argument("--workspace", type=Path, help="re-judge with this contract")
    parser.add_argument("--show", type=int, default=0, help="print N changed items")
    args = parser.parse_args()

    from posttrain.evaluate.results import EvalSummary, ItemResult
    from posttrain.generation.base import loop_stop_at
    from posttrain.models import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    samples = _samples(args.workspace) if args.workspace else None
    contract = None
    if args.workspace:
        from posttrain.contract import load_contract

        contract = load_contract(args.workspace / "contract.yaml")
    for side in sorted(p for p in args.eval_dir.iterdir() if p.is_dir()):
        total = cut = stopped = after = judged = control = 0
        changed: Counter[str] = Counter()
        shown = 0
        for items in sorted(side.glob("*/items.jsonl")):
            summary = EvalSummary.model_validate_json(
                (items.parent / "summary.json").read_text(encoding="utf-8")
            )
            for line in items.read_text(encoding="utf-8").splitlines():
                item = ItemResult.model_validate_json(line)
                total += item.completion_tokens
                if item.finish_reason != "length":
                    continue
                cut += 1
                ids = tokenizer(item.completion, add_special_tokens=False)["input_ids"]
                t = loop_stop_at(ids, args.span)
                if t is None:
                    continue
                stopped += 1
                after += max(0, item.completion_tokens - t)
                if contract is None or samples is None:
                    continue
                sample = samples.get(item.id)
                if sample is None:
                    continue
                judged += 1
                # The control: the stored answer re-judged must give the stored verdicts.
                same = _rejudge(
                    contract, sample, item, item.completion, summary, args.workspace, "length"
                )
                control += bool(_differences(item, same))
                text = tokenizer.decode(ids[:t], skip_special_tokens=True).strip()
                new = _rejudge(contract, sample, item, text, summary, args.workspace, "loop")
                diff = _differences(item, new)
                for what in diff:
                    changed[what] += 1
                if diff and shown < args.show:
                    shown += 1
                    print(f"  {side.name}/{item.id}: {', '.join(diff)}")
                    print(f"    stopped: {text[-160:]!r}")
        share = after / total if total else 0.0
        print(
            f"{side.name}: {total} tokens generated; {cut} answers cut at the limit, "
            f"{stopped} of them stopped by stop_on_loop={args.span}; {after} tokens "
            f"({share:.1%}) after the stop"
        )
        if contract is not None:
            parts = ", ".join(f"{k} {v}" for k, v in sorted(changed.items())) or "none"
            print(
                f"  re-judged {judged} stopped answers; changed: {parts} "
                f"(control, the stored answers re-judged: {control} differ)"
            )


def _samples(workspace: Path) -> dict[str, Any]:
    from posttrain.evaluate import load_suite

    suites = [load_suite("audit")]
    regression = workspace / "data" / "regression.jsonl"
    if regression.is_file():
        suites.append(load_suite(regression))
    return {s.id: s for suite in suites for s in suite.samples}


def _rejudge(
    contract: Any, sample: Any, item: Any, text: str, summary: Any, workspace: Path, finish: str
) -> Any:
    from posttrain.evaluate.runner import canary_for, judge_answer

    canary = canary_for(summary.contract_hash)
    sample = sample.model_copy(
        update={"expected": {**sample.expected, "workspace": str(workspace)}}
    )
    return judge_answer(contract, sample, text, canary, item.suite, None, finish)


def _differences(item: Any, new: Any) -> list[str]:
    out = []
    old = {v.clause: v.status for v in item.verdicts}
    for v in new.verdicts:
        if old.get(v.clause) != v.status:
            out.append(f"{v.clause} {old.get(v.clause)}->{v.status}")
    if item.refused != new.refused:
        out.append(f"refused {item.refused}->{new.refused}")
    return out


if __name__ == "__main__":
    main()
