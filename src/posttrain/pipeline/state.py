"""The loop's options, its id and its stage state file (``runs/<loop_id>/loop.json``).

A loop's id is a hash of its options and of the workspace files it reads (contract,
failures, regression set, training configs, gate policy) and the base model's
fingerprint: running ``posttrain run`` again on unchanged inputs opens the same folder
and resumes it; changed inputs start a new loop (which still reuses matching training
runs and cached generations). Every stage records the hash of its own inputs, so a
stage is skipped only while those are unchanged and its outputs still exist.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.core.hashing import file_sha256, stable_hash
from posttrain.errors import InputError
from posttrain.generation.base import DEFAULT_BATCH_SIZE
from posttrain.pipeline.results import StageOutput
from posttrain.workspace import Workspace

__all__ = [
    "STATE_FILE",
    "LoopConfig",
    "LoopIdentity",
    "LoopState",
    "StageRecord",
    "input_files",
    "loop_id",
    "read_state",
    "write_state",
]

STATE_FILE = "loop.json"
# 2: each stage records a typed result (``StageRecord.output``), not a dict.
SCHEMA_VERSION = 2
# Evaluation sample per (class, language) stratum of the attack suites under a profile.
PROFILE_EVAL_LIMITS: dict[str, int] = {"quick": 8}
# Regression items per (task tag, language) by profile: quick keeps ~half of the example's.
PROFILE_REGRESSION_LIMITS: dict[str, int] = {"quick": 5}


class LoopIdentity(BaseModel):
    """The options that decide what a loop computes (not where or how it shows): part
    of the loop's id, and recorded in its state file."""

    model_config = ConfigDict(extra="forbid")

    model: str
    profile: str | None
    dpo: bool
    train_overrides: list[str]
    eval_limit: int | None
    regression_limit: int | None
    # None: the workspace's generation.yaml (its hash is one of the loop's inputs).
    max_new_tokens: int | None
    policy: str | None
    waivers: list[str]


class LoopConfig(BaseModel):
    """How to run the loop on a workspace (``posttrain run`` / ``posttrain ladder``)."""

    model_config = ConfigDict(extra="forbid")

    workspace: Path = Path(".")
    model: str = "smollm2-135m-instruct"
    # A named profile of the training configs (``quick``: the CPU recipe); None: full.
    profile: str | None = "quick"
    # None: DPO when the workspace has configs/align/dpo.yaml.
    dpo: bool | None = None
    # key=value overrides for both training configs (``max_steps=2``).
    train_overrides: list[str] = Field(default_factory=list)
    # Items per (class, language) of the attack and over-refusal suites; None: by profile
    # (quick: 8), else every item.
    eval_limit: int | None = Field(default=None, ge=1)
    # Items per (task tag, language) of the regression set; None: by profile (quick: 5),
    # else every item.
    regression_limit: int | None = Field(default=None, ge=1)
    # None: the workspace's generation.yaml; a number is an override, recorded in
    # every evaluation's summary.json.
    max_new_tokens: int | None = Field(default=None, ge=1, le=4096)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=1024)
    policy: Path | None = None
    waivers: list[Path] = Field(default_factory=list)
    # Register and promote the candidate when the gate says PASS.
    promote: bool = True
    # The ladder's optional rung 4 (reward model + RLOO on top of SFT). Not part of
    # identity(): rung 4 adds stages to the same loop folder, so `ladder --rlhf` reuses
    # what `run` and `ladder` did; its stages hash their own configs.
    rlhf: bool = False

    @property
    def ws(self) -> Workspace:
        return Workspace(self.workspace)

    def resolved_dpo(self) -> bool:
        if self.dpo is not None:
            return self.dpo
        return (self.workspace / "configs" / "align" / "dpo.yaml").is_file()

    def resolved_eval_limit(self) -> int | None:
        if self.eval_limit is not None:
            return self.eval_limit
        return PROFILE_EVAL_LIMITS.get(self.profile or "")

    def resolved_regression_limit(self) -> int | None:
        if self.regression_limit is not None:
            return self.regression_limit
        return PROFILE_REGRESSION_LIMITS.get(self.profile or "")

    def identity(self) -> LoopIdentity:
        """The options that decide what the loop computes (not where or how it shows)."""
        return LoopIdentity(
            model=self.model,
            profile=self.profile,
            dpo=self.resolved_dpo(),
            train_overrides=list(self.train_overrides),
            eval_limit=self.resolved_eval_limit(),
            regression_limit=self.resolved_regression_limit(),
            max_new_tokens=self.max_new_tokens,
            policy=str(self.policy) if self.policy else None,
            waivers=[str(w) for w in self.waivers],
        )

    @classmethod
    def from_identity(cls, workspace: Path, identity: LoopIdentity) -> LoopConfig:
        """The config that computes what a recorded loop computed."""
        return cls(workspace=workspace, **identity.model_dump())


class StageRecord(BaseModel):
    """One stage's last run: its input hash and its typed result (None when it failed)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: Literal["done", "failed"]
    input_hash: str
    output: StageOutput | None = None
    seconds: float = 0.0
    finished_at: str
    error: str | None = None


class LoopState(BaseModel):
    """``runs/<loop_id>/loop.json``: the loop's options, inputs and each stage's record."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["loop"] = "loop"
    loop_id: str
    created_at: str
    options: LoopIdentity
    inputs: dict[str, str | None]
    stages: dict[str, StageRecord] = Field(default_factory=dict)


def input_files(cfg: LoopConfig) -> dict[str, str | None]:
    """sha256 of every workspace file the loop reads (None for a missing one)."""
    ws = cfg.ws
    files = {
        "contract.yaml": ws.contract,
        "data/failures.jsonl": ws.failures,
        "data/regression.jsonl": ws.regression,
        "configs/sft.yaml": ws.configs / "sft.yaml",
        "configs/align/dpo.yaml": ws.configs / "align" / "dpo.yaml",
        "gate.yaml": ws.root / "gate.yaml",
        "generation.yaml": ws.root / "generation.yaml",
    }
    if cfg.policy is not None:
        files["policy"] = cfg.policy
    for i, waiver in enumerate(cfg.waivers):
        files[f"waiver[{i}]"] = waiver
    return {name: file_sha256(path) if path.is_file() else None for name, path in files.items()}


def loop_id(cfg: LoopConfig, inputs: dict[str, str | None], model_fingerprint: str) -> str:
    return (
        "loop-"
        + stable_hash(
            {"options": cfg.identity().model_dump(), "inputs": inputs, "model": model_fingerprint}
        )[:12]
    )


def read_state(path: Path) -> LoopState | None:
    """The state file, or None when there is none or an older posttrain wrote it (the
    loop then starts over; its training runs and cached answers are still reused).
    Raises :class:`InputError` when it does not validate (edited by hand)."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        version = json.loads(text).get("schema_version")
    except (ValueError, AttributeError):
        version = None
    if isinstance(version, int) and version < SCHEMA_VERSION:
        return None
    try:
        return LoopState.model_validate_json(text)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(
            err["msg"],
            path=str(path),
            field=".".join(str(p) for p in err["loc"]) or None,
            hint="delete the file to run every stage of this loop again",
        ) from None


def write_state(path: Path, state: LoopState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
