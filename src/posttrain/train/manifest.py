"""The run record ``runs/<run_id>/manifest.json``.

It binds a training run to everything it came from and everything it produced: the data
version, contract hash and de-identification policy of its data, the resolved config and
its hash, the base model's fingerprint, package versions, git revision (and whether the
tree was dirty), timings, the final signals, the checkpoints and the adapter. The gate,
the registry and rollback read it; nothing guesses.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.errors import InputError
from posttrain.train.data import DataInfo

__all__ = [
    "MANIFEST_FILE",
    "CheckpointInfo",
    "RunManifest",
    "RunStatus",
    "git_state",
    "now_iso",
    "package_versions",
    "read_manifest",
    "write_manifest",
]

MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
RunStatus = Literal[
    "running", "finished", "early_stopped", "diverged", "safety_stopped", "interrupted", "failed"
]
_PACKAGES = (
    "posttrain",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "safetensors",
    "pydantic",
)


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
    packages: dict[str, str]
    python: str
    platform: str
    git_revision: str | None
    git_dirty: bool | None
    argv: list[str]
    world_size: int = 1
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


def package_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_state(cwd: Path | None = None) -> tuple[str | None, bool | None]:
    """(revision, dirty) of the git checkout holding the posttrain sources, if any."""
    where = cwd or Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
        if rev.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def base_fields() -> dict[str, Any]:
    """Provenance every manifest carries: packages, python, platform, git, argv."""
    revision, dirty = git_state()
    return {
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_revision": revision,
        "git_dirty": dirty,
        "argv": list(sys.argv),
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
