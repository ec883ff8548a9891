"""The staged-rollout state machine, with the semantics of Argo Rollouts' canary steps.

A rollout sends a growing share of traffic to a challenger version — 1% → 5% → 25% → 100%
by default — and runs an *analysis* (:mod:`posttrain.release.analysis`) at each step. The
analysis reads the gateway's live measurements of the step
(:class:`~posttrain.release.live.LiveStore`, :mod:`posttrain.release.live_analysis`:
fixed thresholds, and the challenger against the champion paired by time window), or,
offline, a recorded-metrics file::

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
On live data a step first *waits* for its minimum traffic (nothing is recorded; it fails
earlier only with confidence); :meth:`Rollout.auto_tick` is one step of the automatic
controller (``posttrain release auto``, or the gateway with ``serve.yaml: rollout: auto``):
Successful advances (the last step promotes), Failed or Error aborts, Inconclusive leaves
the rollout paused for a person.
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
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from posttrain.core.auditlog import append_event
from posttrain.errors import ConfigError, FingerprintMismatch, InputError, UsageError
from posttrain.release.analysis import (
    AnalysisConfig,
    AnalysisResult,
    MetricCheck,
    Outcome,
    StepMetrics,
    analyze,
    analyze_live,
    read_step_metrics,
)
from posttrain.release.registry import Registry

if TYPE_CHECKING:
    from posttrain.release.live import LiveStore

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
Phase = Literal["Progressing", "Paused", "Aborted", "Completed"]
STATE_FILE = "state.json"


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


class StepRecord(BaseModel):
    """One thing that happened to the rollout, in order."""

    model_config = ConfigDict(extra="forbid")

    ts: str
    action: Literal["plan", "analysis", "approve", "abort", "complete"]
    step: int
    weight: float
    analysis: AnalysisResult | None = None
    # The metrics file the analysis read; "live" for the gateway's measurements.
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
        # The alias moves a rollout makes (challenger set and removed, the promotion) go
        # to the log its own events go to: a registry handed over without one would leave
        # the registry's history ahead of the log, and `posttrain log verify` failing.
        if audit_log is not None and registry.audit_log is None:
            registry.audit_log = audit_log
        self.state_path = self.root / STATE_FILE
        self._lock = FileLock(str(self.root / "rollout.lock"))

    @classmethod
    def for_workspace(cls, root: Path) -> Rollout:
        """The rollout of the workspace at ``root``, its registry and itself both recording
        to the workspace's audit log (what every caller outside tests wants: a promotion
        or alias move without its audit event fails ``posttrain log verify``)."""
        from posttrain.workspace import Workspace

        ws = Workspace(Path(root))
        registry = Registry(ws.registry, audit_log=ws.audit_log)
        return cls(ws.rollout, registry, audit_log=ws.audit_log)

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
        store: LiveStore | None = None,
    ) -> RolloutState:
        """Analyse the current step's metrics — ``metrics`` (a file's), else the live
        ones in ``store`` (:meth:`live_step`) — or, when paused, take a person's
        approval, and move the state machine; see the module docstring. Raises
        :class:`FingerprintMismatch`, after aborting the rollout, when the challenger's
        files changed since registration."""
        if metrics is None and not approve and store is not None:
            return self.live_step(store)[0]
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
            return self._decide(state, analyze(state.config.analysis, metrics), metrics_file)

    def live_analysis(self, store: LiveStore, state: RolloutState | None = None) -> AnalysisResult:
        """The analysis of the current step on the gateway's measurements in ``store``
        (changes nothing). Raises :class:`UsageError` without an active rollout."""
        state = state or self._active()
        cfg = state.config.analysis
        return analyze_live(
            cfg,
            store.step_stats(state.id, state.step),
            store.window_stats(state.id, state.step, cfg.window_s),
            challenger=state.version,
            champion=state.champion,
        )

    def live_step(self, store: LiveStore) -> tuple[RolloutState, AnalysisResult | None]:
        """Analyse the current step on live data and move the state machine, unless the
        step is still waiting for its minimum traffic (then nothing is recorded and the
        analysis comes back with ``waiting``). A paused rollout is not analysed again
        (a person approves or aborts it): its state comes back with None. Raises
        :class:`UsageError` without an active rollout, :class:`FingerprintMismatch`
        (after aborting) when the challenger's files changed."""
        with self._locked():
            state = self._active()
            if state.phase == "Paused":
                return state, None
            try:
                self.registry.verify_served(state.version)
            except FingerprintMismatch as exc:
                self._abort(state, f"the served files changed: {exc.message}")
                raise
            result = self.live_analysis(store, state)
            if result.waiting:
                return state, result
            return self._decide(state, result, "live"), result

    def auto_tick(self, store: LiveStore) -> RolloutState | None:
        """One step of the automatic controller (``posttrain release auto``, the
        gateway's ``rollout: auto``): the new state when the live analysis moved the
        rollout (advanced, promoted, paused or aborted — an abort sets weight 0, so the
        champion takes every request from the next one on), else None (no active
        rollout, paused for a person, or the step is waiting for traffic). A challenger
        whose files changed is aborted and its aborted state returned."""
        state = self.status()
        if state is None or not state.active or state.phase == "Paused":
            return None
        try:
            new, result = self.live_step(store)
        except FingerprintMismatch:
            return self.status()
        except UsageError:
            return None  # finished or aborted by someone else meanwhile
        if result is None or result.waiting:
            return None
        return new

    def run_auto(
        self,
        store: LiveStore,
        *,
        interval_s: float,
        max_wait_s: float,
        on_tick: Callable[[RolloutState, AnalysisResult | None], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> tuple[RolloutState, bool]:
        """``posttrain release auto``: analyse the live step every ``interval_s`` seconds
        until the rollout completes, aborts or pauses for a person, or ``max_wait_s``
        passed. Returns the last state and whether the wait ran out. ``on_tick`` sees
        every analysis (a waiting one too). Raises :class:`UsageError` without an active
        rollout, :class:`FingerprintMismatch` after aborting one whose files changed."""
        if not (interval_s > 0 and max_wait_s >= 0):
            raise UsageError(
                f"--interval must be > 0 and --max-wait >= 0 (got {interval_s}, {max_wait_s})"
            )
        self._active()
        deadline = clock() + max_wait_s
        while True:
            try:
                state, result = self.live_step(store)
            except UsageError:
                now = self.status()
                if now is None or now.active:
                    raise
                return now, False  # finished meanwhile (the gateway's own controller)
            if on_tick is not None:
                on_tick(state, result)
            if not state.active or state.phase == "Paused":
                return state, False
            left = deadline - clock()
            if left <= 0:
                return state, True
            sleep(min(interval_s, left))

    def _decide(
        self, state: RolloutState, result: AnalysisResult, metrics_file: str | None
    ) -> RolloutState:
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
