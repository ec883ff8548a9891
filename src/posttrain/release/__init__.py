"""Release: the model registry and the staged rollout.

Both record what they do in the audit log, :mod:`posttrain.core.auditlog` (a low layer
every stage may write to).

* :mod:`.registry` — versions with lineage, ``champion`` / ``challenger`` aliases with
  history, promotion behind the gate, rollback.
* :mod:`.bundle` — a version's configuration (contract, gate policy, serve config, guard
  settings) by content hash, stored in ``blobs/``; what rollback restores.
* :mod:`.rollout` — the canary state machine (1% → 5% → 25% → 100%) with Argo's outcomes;
  :mod:`.analysis` judges a step, :mod:`.live_analysis` on the gateway's measurements
  (:mod:`.live`), against the champion paired by time window.
* :mod:`.replay` — traffic replay at the gateway (``posttrain replay``).
* :mod:`.integrity` — the audit log checked against the registry's and the verdicts'
  anchors and its signed checkpoints (``posttrain log verify`` / ``log checkpoint``).
"""

from __future__ import annotations

from posttrain.errors import PromotionRefused
from posttrain.release.analysis import analyze_live
from posttrain.release.bundle import Bundle
from posttrain.release.integrity import (
    checkpoint_verifier,
    checkpoint_workspace_log,
    verify_workspace_log,
    workspace_anchors,
)
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
    "Bundle",
    "ModelVersion",
    "PromotionRefused",
    "Registry",
    "Rollout",
    "RolloutConfig",
    "RolloutState",
    "StepMetrics",
    "analyze",
    "analyze_live",
    "checkpoint_verifier",
    "checkpoint_workspace_log",
    "read_run_lineage",
    "verify_workspace_log",
    "workspace_anchors",
]
