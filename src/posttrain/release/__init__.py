"""Release: the audit log, the model registry and the staged rollout.

* :mod:`.auditlog` — append-only, hash-chained JSONL of every build, run, evaluation,
  verdict, waiver, promotion and rollback; :func:`append_event` for every stage.
* :mod:`.registry` — versions with lineage, ``champion`` / ``challenger`` aliases with
  history, promotion behind the gate, rollback.
* :mod:`.rollout` — the canary state machine (1% → 5% → 25% → 100%) with Argo's outcomes.
"""

from __future__ import annotations

from posttrain.release.auditlog import AuditLog, VerifyResult, append_event, verify_log
from posttrain.release.registry import (
    AliasEvent,
    ModelVersion,
    PromotionRefused,
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
    "AuditLog",
    "ModelVersion",
    "PromotionRefused",
    "Registry",
    "Rollout",
    "RolloutConfig",
    "RolloutState",
    "StepMetrics",
    "VerifyResult",
    "analyze",
    "append_event",
    "read_run_lineage",
    "verify_log",
]
