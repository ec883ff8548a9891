"""How many of an evaluation's generated tokens come after the answer started looping.

Reads a loop's evaluation (``runs/loop-*/eval/<side>/<suite>/items.jsonl``) and, for
every answer cut at the token limit, finds the first token position where the answer's
last tokens are ``--copies`` consecutive copies of one block of 2 to ``--max-block``
tokens. What comes after that point is what a decoding stop on loops would not generate
(greedy decoding that has repeated a block that often mostly keeps repeating it). It
changes nothing; it measures the lever (issue 17: the base's answers run to the limit).

    .venv/bin/python scripts/loop_tail.py examples/support-bot/runs/loop-<id>/eval
"""

from __future__ import annotations

import argparse
from pathlib import Path


def first_loop(ids: list[int], copies: int, max_block: int) -> int | None:
    """The first length ``t`` at which ``ids[:t]`` ends in ``copies`` copies of a block."""
    for t in range(1, len(ids) + 1):
        for size in range(2, min(max_block, t // copies) + 1):
            block = ids[t - size : t]
            if all(ids[t - (r + 1) * size : t - r * size] == block for r in range(1, copies)):
                return t
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "eval_dir", type=Path, help="A loop's eval folder (holds base/, candidate/)."
    )
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--max-block", type=int, default=40)
    args = parser.parse_args()

    from posttrain.evaluate.results import ItemResult
    from posttrain.models import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    for side in sorted(p for p in args.eval_dir.iterdir() if p.is_dir()):
        total = cut = looped = after = 0
        for items in sorted(side.glob("*/items.jsonl")):
            for line in items.read_text(encoding="utf-8").splitlines():
                item = ItemResult.model_validate_json(line)
                total += item.completion_tokens
                if item.finish_reason != "length":
                    continue
                cut += 1
                ids = tokenizer(item.completion, add_special_tokens=False)["input_ids"]
                t = first_loop(ids, args.copies, args.max_block)
                if t is not None:
                    looped += 1
                    after += max(0, item.completion_tokens - t)
        share = after / total if total else 0.0
        print(
            f"{side.name}: {total} tokens generated; {cut} answers cut at the limit, "
            f"{looped} of them in a {args.copies}x loop; {after} tokens ({share:.1%}) "
            "after the loop's last copy"
        )


if __name__ == "__main__":
    main()
