"""The run record ``runs/<run_id>/manifest.json``.

It binds a training run to everything it came from and everything it produced: the data
version, contract hash and de-identification policy of its data, the resolved config and
its hash, the base model's fingerprint, its provenance (package versions, the git
revisions of posttrain and of the workspace and whether they were dirty, the data
manifest's hash), timings, the final signals, the checkpoints and the adapter. The gate,
the registry and rollback read it; nothing guesses.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.core.provenance import Provenance, provenance
from posttrain.errors import InputError
from posttrain.train.data import DataInfo

__all__ = [
    "MANIFEST_FILE",
    "CheckpointInfo",
    "RunManifest",
    "RunStatus",
    "base_fields",
    "now_iso",
    "read_manifest",
    "write_manifest",
]

MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
RunStatus = Literal[
    "running", "finished", "early_stopped", "diverged", "safety_stopped", "interrupted", "failed"
]


class CheckpointInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int
    path: str
    val_loss: float | None = None


class RunManifest(BaseModel):
    """What a training run was and what it produced."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["train"] = "train"
    run_id: str
    recipe: str
    finetune: str
    status: RunStatus = "running"
    stop_reason: str | None = None
    data: DataInfo
    data_version: str | None = None
    contract_hash: str | None = None
    deid_policy_version: str | None = None
    # Where the training conversations' system prompt came from ("contract <hash>"), if any.
    system_prompt: str | None = None
    n_train: int = 0
    n_val: int = 0
    config: dict[str, Any]
    config_hash: str
    base_model: str
    base_model_fingerprint: str
    # The adapter this run started from (DPO on top of SFT), with its own run id.
    parent_run_id: str | None = None
    init_adapter: str | None = None
    # packages .. git_dirty repeat ``provenance`` for readers of older manifests:
    # git_revision / git_dirty are posttrain's source checkout, not the workspace
    # (that is provenance.workspace_revision). None in manifests written before it.
    packages: dict[str, str]
    python: str
    platform: str
    git_revision: str | None
    git_dirty: bool | None
    argv: list[str]
    provenance: Provenance | None = None
    world_size: int = 1
    # The compute precision the run trained in ("fp32" | "bf16"), the config's
    # ``precision`` resolved on this machine (None in manifests written before it existed).
    precision: str | None = None
    started_at: str
    finished_at: str | None = None
    # Wall seconds per phase (prepare, train, save) and in total, summed over resumes.
    timings: dict[str, float] = Field(default_factory=dict)
    resumed_from: list[str] = Field(default_factory=list)
    final_signals: dict[str, Any] = Field(default_factory=dict)
    checkpoints: list[CheckpointInfo] = Field(default_factory=list)
    best_checkpoint: str | None = None
    # The final adapter (PEFT format) or, for a full fine-tune, the model folder.
    output: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def base_fields(workspace: Path | None, inputs: dict[str, Path] | None = None) -> dict[str, Any]:
    """The :class:`RunManifest` fields of a run started now in ``workspace`` from
    ``inputs``: its :class:`~posttrain.core.provenance.Provenance`, the flat fields
    filled from it, and ``argv``."""
    prov = provenance(workspace, inputs)
    return {
        "packages": prov.packages,
        "python": prov.python,
        "platform": prov.platform,
        "git_revision": prov.posttrain_revision,
        "git_dirty": prov.posttrain_dirty,
        "argv": list(sys.argv),
        "provenance": prov,
    }


def write_manifest(run_dir: Path, manifest: RunManifest) -> Path:
    """Write ``manifest.json`` atomically (a kill never leaves half a file)."""
    path = run_dir / MANIFEST_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def read_manifest(run_dir: Path) -> RunManifest:
    """Read a run's manifest; raises :class:`InputError` when it is missing or invalid."""
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        raise InputError(
            "not a training run folder (no manifest.json)",
            path=str(run_dir),
            hint="pass a folder under runs/ written by `posttrain train`",
        )
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"invalid run manifest: {exc}", path=str(path)) from None
