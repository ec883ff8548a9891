"""Running stages of a loop: skip what is up to date, record what ran.

:func:`run_stage` runs one stage unless its last run had the same input hash and its
result's artifacts still exist, and records the typed result in ``loop.json``.
:class:`StageRunner` binds a loop's folder, state and observer, and holds the composite
steps the loop and the ladder share: train (or reuse) a run, merge and evaluate it,
evaluate a model, gate a candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from posttrain.core.hashing import stable_hash
from posttrain.pipeline import stages as st
from posttrain.pipeline.results import (
    EvalSideResult,
    GateResult,
    MergeResult,
    StageResult,
    TrainResult,
)
from posttrain.pipeline.state import (
    STATE_FILE,
    LoopConfig,
    LoopState,
    StageRecord,
    now_iso,
    write_state,
)

if TYPE_CHECKING:
    from posttrain.generation.base import Backend

__all__ = ["Observer", "StageRunner", "StageTiming", "run_stage"]

R = TypeVar("R", bound=StageResult)


class Observer:
    """What the loop tells its caller; the CLI draws it with rich, tests ignore it."""

    def stage_started(self, name: str, detail: str) -> None:
        """A stage begins (``detail``: what it is about to do)."""

    def stage_finished(self, name: str, status: str, seconds: float, detail: str) -> None:
        """A stage ended: ``status`` is ``ran`` or ``skipped``."""

    def eval_progress(self, total: int) -> Callable[[int], None] | None:
        """A callback advanced by finished items, or None for no progress display."""
        return None

    def eval_done(self) -> None:
        """The evaluation whose progress callback was last handed out is over."""

    @property
    def show_training(self) -> bool:
        return False


class StageTiming(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    status: str
    seconds: float


def _up_to_date(rec: StageRecord | None, digest: str) -> bool:
    return (
        rec is not None
        and rec.status == "done"
        and rec.input_hash == digest
        and rec.output is not None
        and all(p.exists() for p in rec.output.artifacts())
    )


def run_stage(
    loop_dir: Path,
    state: LoopState,
    name: str,
    inputs: object,
    fn: Callable[[], R],
    observer: Observer,
    timings: list[StageTiming],
    detail: str = "",
) -> R:
    """Run ``fn`` as stage ``name`` unless it is done with the same inputs (hashed with
    :func:`~posttrain.core.hashing.stable_hash`) and its artifacts exist; record it.
    Re-raises what ``fn`` raises, after recording the stage as failed."""
    digest = stable_hash(inputs)
    rec = state.stages.get(name)
    if rec is not None and _up_to_date(rec, digest):
        observer.stage_finished(name, "skipped", 0.0, "up to date")
        timings.append(StageTiming(name=name, status="skipped", seconds=0.0))
        # The same stage name always runs the same function, so the same result type.
        return cast(R, rec.output)
    observer.stage_started(name, detail)
    started = time.perf_counter()
    try:
        output = fn()
    except BaseException as exc:
        state.stages[name] = StageRecord(
            name=name,
            status="failed",
            input_hash=digest,
            seconds=round(time.perf_counter() - started, 2),
            finished_at=now_iso(),
            error=f"{type(exc).__name__}: {exc}",
        )
        write_state(loop_dir / STATE_FILE, state)
        raise
    seconds = round(time.perf_counter() - started, 2)
    state.stages[name] = StageRecord(
        name=name,
        status="done",
        input_hash=digest,
        output=output,
        seconds=seconds,
        finished_at=now_iso(),
    )
    write_state(loop_dir / STATE_FILE, state)
    observer.stage_finished(name, "ran", seconds, output.summary())
    timings.append(StageTiming(name=name, status="ran", seconds=seconds))
    return output


@dataclass
class StageRunner:
    """One loop's stages: its folder, state file, observer and the timings so far."""

    cfg: LoopConfig
    loop_dir: Path
    state: LoopState
    observer: Observer = field(default_factory=Observer)
    timings: list[StageTiming] = field(default_factory=list)

    def run(self, name: str, inputs: object, fn: Callable[[], R], detail: str = "") -> R:
        """:func:`run_stage` in this loop."""
        return run_stage(
            self.loop_dir, self.state, name, inputs, fn, self.observer, self.timings, detail
        )

    def result(self, name: str, kind: type[R]) -> R:
        """The recorded result of a finished stage ``name``; raises ``KeyError`` when the
        stage has not finished and ``TypeError`` when it recorded another kind."""
        rec = self.state.stages[name]
        if rec.status != "done" or rec.output is None:
            raise KeyError(name)
        if not isinstance(rec.output, kind):
            raise TypeError(f"stage {name} recorded {rec.output.kind}, not {kind.__name__}")
        return rec.output

    def _sample(self) -> dict[str, object]:
        """What decides an evaluation's items besides the model."""
        return {
            "options": self.cfg.identity().model_dump(),
            "contract": self.state.inputs.get("contract.yaml"),
            # generation.yaml's hash is an input; its dtype "auto" resolves per machine
            "dtype": st.generation_dtype(self.cfg),
        }

    def train(
        self,
        name: str,
        method: str,
        data_version: str,
        extra: Sequence[str] = (),
        detail: str = "",
    ) -> TrainResult:
        """Stage ``name``: a finished ``method`` run on ``data_version`` (reused when one
        with the same config hash exists, else trained)."""
        train_cfg = st.training_config(self.cfg, method, extra)
        return self.run(
            name,
            {"data": data_version, "config": train_cfg.model_dump(mode="json")},
            lambda: st.run_training(
                self.cfg, method, data_version, train_cfg, self.observer.show_training
            ),
            detail,
        )

    def evaluate(
        self,
        name: str,
        model_name: str,
        backend: Backend,
        out_dir: Path,
        identity: object,
        detail: str = "",
    ) -> EvalSideResult:
        """Stage ``name``: ``backend`` on the loop's sample into ``out_dir``. ``identity``
        names what is evaluated (a model name or fingerprint, plus any wrapper)."""

        def work() -> EvalSideResult:
            callback = self.observer.eval_progress(st.eval_size(self.cfg))
            try:
                return st.evaluate_side(
                    self.cfg, model_name, backend, out_dir, on_progress=callback
                )
            finally:
                self.observer.eval_done()

        return self.run(name, {**self._sample(), "model": identity}, work, detail)

    def export_and_evaluate(
        self, export_name: str, eval_name: str, run: TrainResult, out_dir: Path, what: str
    ) -> tuple[MergeResult, EvalSideResult]:
        """Stages ``export_name`` (merge ``run``'s adapter into its base, fp32) and
        ``eval_name`` (that model on the loop's sample, into ``out_dir``)."""
        merged = self.run(
            export_name,
            {"run": run.run_id},
            lambda: st.export_candidate(run.run_dir),
            f"merge {run.run_id} into its base (fp32)",
        )
        model = str(merged.model_path)
        evaluated = self.evaluate(
            eval_name,
            model,
            st.hf_backend(self.cfg, model),
            out_dir,
            merged.fingerprint,
            f"evaluate the {what} on {st.eval_size(self.cfg)} items",
        )
        return merged, evaluated

    def gate(
        self, name: str, base: EvalSideResult, cand: EvalSideResult, out: Path, detail: str = ""
    ) -> GateResult:
        """Stage ``name``: ``cand`` judged against ``base``, the verdict written to ``out``."""
        return self.run(
            name,
            {
                "base": base.model_dump(mode="json"),
                "candidate": cand.model_dump(mode="json"),
                "policy": self.state.inputs.get("gate.yaml"),
                "options": self.cfg.identity().model_dump(),
            },
            lambda: st.run_gate(self.cfg, base.dir, cand.dir, out),
            detail,
        )
