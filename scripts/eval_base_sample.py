"""Evaluate the base model on the loop's own evaluation sample, as `posttrain run` does.

The sample (regression set + audit suites, sized by the gate's plan), the backend (hf,
the workspace's batch size and generation.yaml's dtype) and the output layout
(``OUT/base/<suite>/items.jsonl``) are the loop's, from ``posttrain.pipeline.stages``;
no training runs. For measuring evaluation-side changes on the demo's workload, e.g.
``scripts/loop_tail.py OUT --workspace WS``.

    flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/eval_base_sample.py \\
        <copy of examples/support-bot> OUT
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()

    from posttrain.pipeline import stages
    from posttrain.pipeline.state import LoopConfig

    cfg = LoopConfig(workspace=args.workspace, profile=args.profile)
    sizes = ", ".join(f"{s.name} {len(s)}" for s in stages.suites_for(cfg))
    print(f"sample: {sizes}; dtype {stages.generation_dtype(cfg)}", flush=True)
    backend = stages.hf_backend(cfg, args.model)
    result = stages.evaluate_side(cfg, args.model, backend, args.out / "base")
    print(
        f"{result.n_items} items, {result.n_generated} generated, {result.eval_s:.1f} s "
        f"-> {result.dir}"
    )


if __name__ == "__main__":
    main()
