"""The staged-rollout state machine, with the semantics of Argo Rollouts' canary steps.

A rollout sends a growing share of traffic to a challenger version — 1% → 5% → 25% → 100%
by default — and runs an *analysis* at each step. The analysis reads the step's recorded
metrics (a JSON file, for now; the serving gateway will feed it later)::

    {"requests": 1200, "metrics": {"error_rate": 0.004, "attack_hit_rate": [0.0, 0.01]}}

and gives one of Argo's four outcomes:

* **Successful**: enough traffic, and no metric failed more than ``failure_limit`` of its
  measurements → the next step (after the last one, the challenger is promoted to
  champion);
* **Failed**: a metric broke its threshold more than ``failure_limit`` times → abort;
* **Error**: a measurement could not be taken (``null`` or not a number) → abort;
* **Inconclusive**: too little traffic (``min_traffic``) or a metric was not measured →
  the rollout pauses for a person, who approves the step or aborts.

Abort means: traffic weight 0, the ``challenger`` alias removed, the ``champion`` kept.
Planning and every step first check that the challenger's files still have the
fingerprint they were registered (and judged) with
(:meth:`~posttrain.release.registry.Registry.verify_served`): a plan is refused, and a
step on changed files aborts the rollout and raises
:class:`~posttrain.errors.FingerprintMismatch`.
The state lives in ``.posttrain/rollout/state.json``; every transition is recorded in
the audit log.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from posttrain.core.auditlog import append_event
from posttrain.errors import ConfigError, FingerprintMismatch, InputError, UsageError
from posttrain.release.registry import Registry

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "MetricCheck",
    "Outcome",
    "Rollout",
    "RolloutConfig",
    "RolloutState",
    "StepMetrics",
    "analyze",
    "load_rollout_config",
    "read_step_metrics",
]

SCHEMA_VERSION = 1
Outcome = Literal["Successful", "Failed", "Inconclusive", "Error"]
Phase = Literal["Progressing", "Paused", "Aborted", "Completed"]
STATE_FILE = "state.json"


class MetricCheck(BaseModel):
    """A live metric and its bounds; each measurement outside them is one failure."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> MetricCheck:
        if self.max is None and self.min is None:
            raise ValueError(f"metric {self.name!r}: give `max` or `min`")
        return self


class AnalysisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: list[MetricCheck] = Field(
        default_factory=lambda: [
            MetricCheck(name="error_rate", max=0.02),
            MetricCheck(name="attack_hit_rate", max=0.05),
        ],
        min_length=1,
    )
    # Failed measurements tolerated per metric (Argo's failureLimit).
    failure_limit: int = Field(default=0, ge=0)
    # Fewer requests than this at a step cannot succeed: the step is inconclusive.
    min_traffic: int = Field(default=100, ge=0)


class RolloutConfig(BaseModel):
    """Steps (percent of traffic, increasing, ending at 100) and the analysis at each."""

    model_config = ConfigDict(extra="forbid")

    steps: list[float] = Field(default_factory=lambda: [1.0, 5.0, 25.0, 100.0], min_length=1)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[float]) -> list[float]:
        if any(not 0 < s <= 100 for s in steps):
            raise ValueError(f"every step must be a percentage in (0, 100], got {steps}")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(f"steps must increase, got {steps}")
        if steps[-1] != 100:
            raise ValueError(f"the last step must be 100 (full traffic), got {steps[-1]:g}")
        return steps


class StepMetrics(BaseModel):
    """What was observed at one step: traffic, and per metric one or more measurements
    (``null`` marks a measurement that could not be taken)."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=0)
    metrics: dict[str, float | list[float | None] | None]


class Measurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    values: list[float | None]
    failed: int
    errored: int
    outcome: Outcome
    message: str


class AnalysisResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    requests: int
    measurements: list[Measurement]
    message: str


class StepRecord(BaseModel):
    """One thing that happened to the rollout, in order."""

    model_config = ConfigDict(extra="forbid")

    ts: str
    action: Literal["plan", "analysis", "approve", "abort", "complete"]
    step: int
    weight: float
    analysis: AnalysisResult | None = None
    metrics_file: str | None = None
    actor: str | None = None
    reason: str = ""


class RolloutState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["rollout"] = "rollout"
    id: str
    version: str
    champion: str | None
    config: RolloutConfig
    phase: Phase
    step: int
    weight: float
    waivers: list[str] = Field(default_factory=list)
    started_at: str
    updated_at: str
    history: list[StepRecord] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.phase in ("Progressing", "Paused")

    @property
    def exit_code(self) -> int:
        """1 aborted (as a BLOCK), 4 paused for a person (as an INCONCLUSIVE gate), else 0."""
        return {"Aborted": 1, "Paused": 4}.get(self.phase, 0)


_SEVERITY: dict[Outcome, int] = {"Successful": 0, "Inconclusive": 1, "Error": 2, "Failed": 3}


def analyze(config: AnalysisConfig, observed: StepMetrics) -> AnalysisResult:
    """Judge one step's metrics; the worst outcome wins (Failed > Error > Inconclusive)."""
    measurements: list[Measurement] = []
    for check in config.metrics:
        raw = observed.metrics.get(check.name)
        if raw is None and check.name not in observed.metrics:
            measurements.append(
                Measurement(
                    metric=check.name,
                    values=[],
                    failed=0,
                    errored=0,
                    outcome="Inconclusive",
                    message="not measured at this step",
                )
            )
            continue
        values = raw if isinstance(raw, list) else [raw]
        errored = sum(1 for v in values if v is None or not math.isfinite(v))
        failed = sum(
            1
            for v in values
            if v is not None
            and math.isfinite(v)
            and (
                (check.max is not None and v > check.max)
                or (check.min is not None and v < check.min)
            )
        )
        bounds = " and ".join(
            ([f"≤ {check.max:g}"] if check.max is not None else [])
            + ([f"≥ {check.min:g}"] if check.min is not None else [])
        )
        outcome: Outcome = "Successful"
        message = f"{len(values) - failed - errored}/{len(values)} measurements {bounds}"
        if failed > config.failure_limit:
            outcome = "Failed"
            message += f"; {failed} failed > failure_limit {config.failure_limit}"
        elif errored:
            outcome = "Error"
            message += f"; {errored} could not be measured"
        measurements.append(
            Measurement(
                metric=check.name,
                values=list(values),
                failed=failed,
                errored=errored,
                outcome=outcome,
                message=message,
            )
        )
    worst = max((m.outcome for m in measurements), key=_SEVERITY.__getitem__)
    message = "; ".join(f"{m.metric}: {m.message}" for m in measurements if m.outcome == worst)
    if observed.requests < config.min_traffic and _SEVERITY[worst] < _SEVERITY["Inconclusive"]:
        worst = "Inconclusive"
        message = f"{observed.requests} requests < min_traffic {config.min_traffic}"
    if worst == "Successful":
        message = f"all {len(measurements)} metrics within bounds over {observed.requests} requests"
    return AnalysisResult(
        outcome=worst, requests=observed.requests, measurements=measurements, message=message
    )


def read_step_metrics(path: Path) -> StepMetrics:
    """Read a recorded-metrics file; raises :class:`InputError` naming the bad field."""
    try:
        return StepMetrics.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read metrics: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(
            err["msg"],
            path=str(path),
            field=field,
            hint='expected {"requests": 1200, "metrics": {"error_rate": 0.01, ...}}',
        ) from None


def load_rollout_config(path: Path) -> RolloutConfig:
    """Read ``rollout.yaml`` (or a ``rollout:`` section); raises :class:`ConfigError`."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the rollout config: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("rollout"), dict):
        data = data["rollout"]
    try:
        return RolloutConfig.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: field {field!r}: {err['msg']}") from None


class Rollout:
    """The workspace's one rollout at a time; every change takes the lock."""

    def __init__(self, root: Path, registry: Registry, *, audit_log: Path | None = None) -> None:
        self.root = Path(root)
        self.registry = registry
        self.audit_log = audit_log
        self.state_path = self.root / STATE_FILE
        self._lock = FileLock(str(self.root / "rollout.lock"))

    def status(self) -> RolloutState | None:
        if not self.state_path.is_file():
            return None
        try:
            return RolloutState.model_validate_json(self.state_path.read_text("utf-8"))
        except ValidationError as exc:
            raise InputError(
                f"unreadable rollout state: {exc.errors()[0]['msg']}", path=str(self.state_path)
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock.acquire(timeout=60):
            yield

    def _save(self, state: RolloutState) -> None:
        state.updated_at = _now()
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(self.state_path)
        if self.audit_log is not None:
            last = state.history[-1]
            payload: dict[str, Any] = {
                "rollout": state.id,
                "version": state.version,
                "phase": state.phase,
                "weight": state.weight,
                **last.model_dump(exclude={"ts"}),
            }
            append_event(self.audit_log, "rollout", payload)

    def plan(
        self, version: str, config: RolloutConfig | None = None, *, waivers: Sequence[Path] = ()
    ) -> RolloutState:
        """Start a rollout of ``version`` at the first step's weight and make it the
        challenger. Refused (:class:`~posttrain.errors.PromotionRefused`) when
        its gate verdict would not allow promotion, :class:`FingerprintMismatch` when its
        files are not the registered ones; :class:`UsageError` while another rollout is
        active."""
        config = config or RolloutConfig()
        with self._locked():
            current = self.status()
            if current is not None and current.active:
                raise UsageError(
                    f"rollout {current.id} of {current.version} is {current.phase} at "
                    f"{current.weight:g}%",
                    hint="finish it (`posttrain release step`) or `posttrain release abort`",
                )
            mv = self.registry.get(version)
            ok, why, _ = self.registry.check_promotion(mv.version, waivers)
            if not ok:
                from posttrain.errors import PromotionRefused

                raise PromotionRefused(f"cannot start a rollout of {mv.version}: {why}")
            self.registry.verify_served(mv.version)
            if current is not None:
                archive = self.root / "history" / f"{current.id}.json"
                archive.parent.mkdir(parents=True, exist_ok=True)
                self.state_path.replace(archive)
            champion = self.registry.state().aliases.get("champion")
            if champion == mv.version:
                raise UsageError(f"{mv.version} is already the champion")
            self.registry.set_alias("challenger", mv.version, reason="rollout planned")
            now = _now()
            state = RolloutState(
                id=f"rollout-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}",
                version=mv.version,
                champion=champion,
                config=config,
                phase="Progressing",
                step=0,
                weight=config.steps[0],
                waivers=[str(p) for p in waivers],
                started_at=now,
                updated_at=now,
                history=[StepRecord(ts=now, action="plan", step=0, weight=config.steps[0])],
            )
            self._save(state)
            return state

    def step(
        self,
        metrics: StepMetrics | None = None,
        *,
        metrics_file: str | None = None,
        approve: bool = False,
        actor: str | None = None,
    ) -> RolloutState:
        """Analyse the current step's metrics (or, when paused, take a person's
        approval) and move the state machine; see the module docstring. Raises
        :class:`FingerprintMismatch`, after aborting the rollout, when the challenger's
        files changed since registration."""
        with self._locked():
            state = self._active()
            try:
                self.registry.verify_served(state.version)
            except FingerprintMismatch as exc:
                self._abort(state, f"the served files changed: {exc.message}")
                raise
            if approve:
                if state.phase != "Paused":
                    raise UsageError(
                        "--approve is for a paused rollout; this one is " + state.phase,
                        hint="give the step's recorded metrics with --metrics FILE",
                    )
                state.history.append(
                    StepRecord(
                        ts=_now(),
                        action="approve",
                        step=state.step,
                        weight=state.weight,
                        actor=actor,
                    )
                )
                return self._advance(state)
            if metrics is None:
                raise UsageError("give the step's recorded metrics (--metrics FILE)")
            result = analyze(state.config.analysis, metrics)
            state.history.append(
                StepRecord(
                    ts=_now(),
                    action="analysis",
                    step=state.step,
                    weight=state.weight,
                    analysis=result,
                    metrics_file=metrics_file,
                )
            )
            if result.outcome == "Successful":
                return self._advance(state)
            if result.outcome == "Inconclusive":
                state.phase = "Paused"
                self._save(state)
                return state
            return self._abort(state, f"analysis {result.outcome}: {result.message}")

    def abort(self, reason: str = "aborted by hand") -> RolloutState:
        with self._locked():
            return self._abort(self._active(), reason)

    def _active(self) -> RolloutState:
        state = self.status()
        if state is None or not state.active:
            what = "no rollout" if state is None else f"rollout {state.id} is {state.phase}"
            raise UsageError(what, hint="start one with `posttrain release plan VERSION`")
        return state

    def _advance(self, state: RolloutState) -> RolloutState:
        steps = state.config.steps
        if state.step + 1 < len(steps):
            state.step += 1
            state.weight = steps[state.step]
            state.phase = "Progressing"
            self._save(state)
            return state
        self.registry.promote(
            state.version,
            waivers=[Path(p) for p in state.waivers],
            reason=f"rollout {state.id} completed",
        )
        state.phase = "Completed"
        state.weight = 100.0
        state.history.append(
            StepRecord(ts=_now(), action="complete", step=state.step, weight=100.0)
        )
        self._save(state)
        return state

    def _abort(self, state: RolloutState, reason: str) -> RolloutState:
        state.phase = "Aborted"
        state.weight = 0.0
        if self.registry.state().aliases.get("challenger") == state.version:
            self.registry.set_alias("challenger", None, reason=f"rollout aborted: {reason}")
        state.history.append(
            StepRecord(ts=_now(), action="abort", step=state.step, weight=0.0, reason=reason)
        )
        self._save(state)
        return state


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
