"""The whole loop: ``posttrain run`` and ``posttrain ladder``.

* :func:`run_loop` - data build -> SFT -> DPO -> evaluate base and candidate -> gate ->
  register and promote on PASS -> HTML report, experiment log, model card; resumable
  stage by stage through ``runs/<loop_id>/loop.json``.
* :func:`run_ladder` - rung 0 (base), 1 (guard), 2 (SFT), 3 (SFT + DPO) and, when asked,
  4 (SFT + RLHF: reward model + RLOO): verdict, key metrics with intervals and cost per
  rung, and the cheapest rung that passes.
"""

from __future__ import annotations

from posttrain.pipeline.ladder import LadderResult, Rung, RungCost, render_markdown, run_ladder
from posttrain.pipeline.loop import STAGES, LoopResult, Observer, StageTiming, open_loop, run_loop
from posttrain.pipeline.stages import LoopStopped
from posttrain.pipeline.state import LoopConfig, LoopState, StageRecord

__all__ = [
    "STAGES",
    "LadderResult",
    "LoopConfig",
    "LoopResult",
    "LoopState",
    "LoopStopped",
    "Observer",
    "Rung",
    "RungCost",
    "StageRecord",
    "StageTiming",
    "open_loop",
    "render_markdown",
    "run_ladder",
    "run_loop",
]
