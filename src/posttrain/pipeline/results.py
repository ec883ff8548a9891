"""What each stage of the loop returns: one pydantic model per stage.

A stage's result is recorded in ``runs/<loop_id>/loop.json`` (``StageRecord.output``,
a union tagged by ``kind``) and read back on a resume; the loop, the ladder and the
reports read its fields, never keys. Each result names the files it depends on
(:meth:`StageResult.artifacts`): a finished stage whose artifacts are gone runs again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.gate.verdict import EXIT_CODES

__all__ = [
    "DataResult",
    "EvalSideResult",
    "GateResult",
    "MergeResult",
    "ReleaseResult",
    "ReportResult",
    "StageOutput",
    "StageResult",
    "TrainResult",
]


class StageResult(BaseModel):
    """The common part of every stage's result."""

    model_config = ConfigDict(extra="forbid")

    def artifacts(self) -> list[Path]:
        """Files or folders this result points at; the stage reruns when one is missing."""
        return []

    def summary(self) -> str:
        """One line for the progress display."""
        return ""


class DataResult(StageResult):
    """``data``: the dataset built from ``data/failures.jsonl``."""

    kind: Literal["data"] = "data"
    data_version: str
    data_dir: Path
    sft: int
    prefs: int
    # Seconds per step of the build (ingest, de-identify, quality, write).
    seconds: dict[str, float]

    def artifacts(self) -> list[Path]:
        return [self.data_dir]

    def summary(self) -> str:
        return f"data version {self.data_version[:19]}…: {self.sft} SFT, {self.prefs} pairs"


class TrainResult(StageResult):
    """``sft``, ``dpo``, ``ladder_reward``, ``ladder_ppo``: a finished training run."""

    kind: Literal["train"] = "train"
    run_id: str
    run_dir: Path
    config_hash: str
    status: str
    # True when a finished run with the same config hash and data version was reused.
    reused: bool
    wall_s: float
    tokens: int

    def artifacts(self) -> list[Path]:
        return [self.run_dir]

    def summary(self) -> str:
        how = "reused" if self.reused else "trained"
        return f"{how} {self.run_id} ({self.tokens} tokens)"


class MergeResult(StageResult):
    """``export``, ``ladder_*_export``: a run's adapter merged into its base (fp32)."""

    kind: Literal["merge"] = "merge"
    model_path: Path
    fingerprint: str
    run_dir: Path

    def artifacts(self) -> list[Path]:
        return [self.model_path]

    def summary(self) -> str:
        return str(self.model_path)


class EvalSideResult(StageResult):
    """``eval_base``, ``eval_candidate``, ``ladder_*_eval``: one model on the sample."""

    kind: Literal["eval"] = "eval"
    dir: Path
    model: str
    fingerprint: str
    n_items: int
    n_generated: int
    eval_s: float

    @property
    def n_cached(self) -> int:
        return self.n_items - self.n_generated

    def artifacts(self) -> list[Path]:
        return [self.dir]

    def summary(self) -> str:
        return f"{self.n_items} items ({self.n_cached} cached)"


class GateResult(StageResult):
    """``gate``, ``ladder_gate_<rung>``: the verdict on one candidate."""

    kind: Literal["gate"] = "gate"
    decision: Literal["PASS", "BLOCK", "INCONCLUSIVE"]
    verdict_id: str
    verdict_path: Path
    # Rule ids, in the verdict's order, each once.
    blocking: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    inconclusive: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def artifacts(self) -> list[Path]:
        return [self.verdict_path]

    def summary(self) -> str:
        return self.decision


class ReleaseResult(StageResult):
    """``release``: registered (and promoted) on PASS, or why not."""

    kind: Literal["release"] = "release"
    version: str | None = None
    promoted: bool = False
    previous_champion: str | None = None
    conclusion: str
    rollback_decision: str

    def summary(self) -> str:
        return self.conclusion


class ReportResult(StageResult):
    """``report``: the HTML report, the experiment log and (when released) the model card."""

    kind: Literal["report"] = "report"
    report_path: Path
    log_path: Path
    card_path: Path | None = None

    def artifacts(self) -> list[Path]:
        return [self.report_path, self.log_path]


StageOutput = Annotated[
    DataResult
    | TrainResult
    | MergeResult
    | EvalSideResult
    | GateResult
    | ReleaseResult
    | ReportResult,
    Field(discriminator="kind"),
]
