"""The whole loop: ``posttrain run`` and ``posttrain ladder``.

* :func:`run_loop` - data build -> SFT -> DPO -> evaluate base and candidate -> gate ->
  register and promote on PASS -> HTML report, experiment log, model card; resumable
  stage by stage through ``runs/<loop_id>/loop.json``.
* :func:`run_ladder` - rung 0 (base), 1 (guard), 2 (SFT), 3 (SFT + DPO) and, when asked,
  4 (SFT + RLHF: reward model + RLOO): verdict, key metrics with intervals and cost per
  rung, and the cheapest rung that passes.

Each stage returns a typed result (:mod:`.results`), recorded in the state file as a
union tagged by ``kind``; :class:`StageRunner` runs and skips them.
"""

from __future__ import annotations

from posttrain.errors import LoopStopped
from posttrain.pipeline.ladder import LadderResult, Rung, RungCost, render_markdown, run_ladder
from posttrain.pipeline.loop import LoopResult, TrainedCandidate, open_loop, run_loop
from posttrain.pipeline.results import (
    DataResult,
    EvalSideResult,
    GateResult,
    MergeResult,
    ReleaseResult,
    ReportResult,
    StageOutput,
    StageResult,
    TrainResult,
)
from posttrain.pipeline.runner import Observer, StageRunner, StageTiming
from posttrain.pipeline.state import LoopConfig, LoopIdentity, LoopState, StageRecord

__all__ = [
    "DataResult",
    "EvalSideResult",
    "GateResult",
    "LadderResult",
    "LoopConfig",
    "LoopIdentity",
    "LoopResult",
    "LoopState",
    "LoopStopped",
    "MergeResult",
    "Observer",
    "ReleaseResult",
    "ReportResult",
    "Rung",
    "RungCost",
    "StageOutput",
    "StageRecord",
    "StageResult",
    "StageRunner",
    "StageTiming",
    "TrainResult",
    "TrainedCandidate",
    "open_loop",
    "render_markdown",
    "run_ladder",
    "run_loop",
]
