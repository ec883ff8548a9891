"""Release: the model registry and the staged rollout.

Both record what they do in the audit log, :mod:`posttrain.core.auditlog` (a low layer
every stage may write to).

* :mod:`.registry` — versions with lineage, ``champion`` / ``challenger`` aliases with
  history, promotion behind the gate, rollback.
* :mod:`.rollout` — the canary state machine (1% → 5% → 25% → 100%) with Argo's outcomes.
"""

from __future__ import annotations

from posttrain.errors import PromotionRefused
from posttrain.release.registry import (
    AliasEvent,
    ModelVersion,
    Registry,
    read_run_lineage,
)
from posttrain.release.rollout import (
    AnalysisConfig,
    Rollout,
    RolloutConfig,
    RolloutState,
    StepMetrics,
    analyze,
)

__all__ = [
    "AliasEvent",
    "AnalysisConfig",
    "ModelVersion",
    "PromotionRefused",
    "Registry",
    "Rollout",
    "RolloutConfig",
    "RolloutState",
    "StepMetrics",
    "analyze",
    "read_run_lineage",
]
