"""Resident memory of a quick SFT run, at every 8th step and after every evaluation.

Trains the workspace's ``configs/sft.yaml`` under its ``quick`` profile (plus
``KEY=VALUE`` overrides, e.g. ``precision=bf16 max_steps=17 eval_every=4``) in this
process and prints RSS and its high-water mark (VmRSS / VmHWM) as it goes: for finding
where the memory of LoRA SFT goes (issue 17's 3 GB target), e.g. whether it grows at the
validation passes. The workspace needs its data built (``posttrain data build``).

    flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/sft_memory.py WS [KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any


def _status(field: str) -> float:
    """A /proc/self/status memory field, in GB."""
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1e6
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE on the training config")
    args = parser.parse_args()

    from transformers import TrainerCallback

    from posttrain.train import load_config, train

    started = time.perf_counter()

    def line(what: str) -> str:
        return (
            f"{what} t={time.perf_counter() - started:.0f}s rss={_status('VmRSS'):.2f} GB "
            f"hwm={_status('VmHWM'):.2f} GB"
        )

    class Memory(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step % 8 == 0:
                print(line(f"step {state.global_step}"), flush=True)

        def on_evaluate(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            print(line(f"evaluation after step {state.global_step}"), flush=True)

    config = load_config(
        "sft", args.workspace / "configs" / "sft.yaml", args.overrides, profile="quick"
    )
    manifest = train(config, args.workspace, show=False, callbacks=[Memory()])
    print(line(f"done ({manifest.status})"))


if __name__ == "__main__":
    main()
