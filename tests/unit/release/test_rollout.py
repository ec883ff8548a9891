"""The staged rollout: Argo's outcomes and what each does to weight and aliases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from posttrain.core.auditlog import read_entries, verify_log
from posttrain.errors import UsageError
from posttrain.release.registry import PromotionRefused, Registry
from posttrain.release.rollout import (
    AnalysisConfig,
    MetricCheck,
    Rollout,
    RolloutConfig,
    StepMetrics,
    analyze,
    read_step_metrics,
)

GOOD = StepMetrics(requests=500, metrics={"error_rate": 0.001, "attack_hit_rate": 0.0})
BAD = StepMetrics(requests=500, metrics={"error_rate": 0.001, "attack_hit_rate": 0.12})


@pytest.fixture
def setup(
    tmp_path: Path, make_verdict: Callable[[str], Path], copy_model: Callable[[str], str]
) -> tuple[Registry, Rollout]:
    reg = Registry(tmp_path / "registry", audit_log=tmp_path / "audit-log.jsonl")
    verdict = make_verdict("PASS")
    reg.register(copy_model("champion-model"), verdict=verdict)
    reg.register(copy_model("challenger-model"), verdict=verdict)
    reg.promote("v1")
    return reg, Rollout(tmp_path / "rollout", reg, audit_log=tmp_path / "audit-log.jsonl")


def test_analysis_outcomes() -> None:
    cfg = AnalysisConfig(
        metrics=[MetricCheck(name="error_rate", max=0.02), MetricCheck(name="csat", min=0.8)],
        failure_limit=1,
        min_traffic=100,
    )

    def outcome(requests: int, **metrics: object) -> str:
        return analyze(cfg, StepMetrics(requests=requests, metrics=metrics)).outcome  # type: ignore[arg-type]

    assert outcome(500, error_rate=0.01, csat=0.9) == "Successful"
    # One failed measurement is within failure_limit=1, two are not.
    assert outcome(500, error_rate=[0.01, 0.05, 0.01], csat=0.9) == "Successful"
    assert outcome(500, error_rate=[0.05, 0.05, 0.01], csat=0.9) == "Failed"
    assert outcome(500, error_rate=0.01, csat=[0.5, 0.6]) == "Failed"
    assert outcome(500, error_rate=None, csat=0.9) == "Error"
    assert outcome(50, error_rate=0.01, csat=0.9) == "Inconclusive"
    assert outcome(500, error_rate=0.01) == "Inconclusive"
    # Failing wins over everything, even on little traffic.
    assert outcome(50, error_rate=[0.5, 0.5], csat=None) == "Failed"


def test_full_rollout_promotes_the_challenger(setup: tuple[Registry, Rollout]) -> None:
    reg, rollout = setup
    state = rollout.plan("v2")
    assert (state.phase, state.weight, state.champion) == ("Progressing", 1.0, "v1")
    assert reg.state().aliases == {"champion": "v1", "challenger": "v2"}
    weights = []
    for _ in range(4):
        state = rollout.step(GOOD)
        weights.append(state.weight)
    assert weights == [5.0, 25.0, 100.0, 100.0]
    assert state.phase == "Completed"
    assert reg.state().aliases == {"champion": "v2"}
    assert reg.history("champion")[-1].reason.startswith(f"rollout {state.id} completed")


def test_failing_analysis_at_5_percent_aborts_to_weight_0_and_keeps_the_champion(
    setup: tuple[Registry, Rollout], tmp_path: Path
) -> None:
    reg, rollout = setup
    rollout.plan("v2")
    state = rollout.step(GOOD)
    assert state.weight == 5.0
    state = rollout.step(BAD)
    assert state.phase == "Aborted"
    assert state.weight == 0.0
    assert reg.state().aliases == {"champion": "v1"}
    assert "attack_hit_rate" in state.history[-1].reason
    failed = state.history[-2].analysis
    assert failed is not None and failed.outcome == "Failed" and state.history[-2].weight == 5.0
    with pytest.raises(UsageError, match="Aborted"):
        rollout.step(GOOD)
    # Persisted: a new process sees the same state.
    again = Rollout(rollout.root, reg).status()
    assert again is not None and (again.phase, again.weight) == ("Aborted", 0.0)
    log = tmp_path / "audit-log.jsonl"
    assert verify_log(log).ok
    assert [e.payload["action"] for e in read_entries(log) if e.kind == "rollout"] == [
        "plan",
        "analysis",
        "abort",
    ]


def test_error_aborts_like_failure(setup: tuple[Registry, Rollout]) -> None:
    reg, rollout = setup
    rollout.plan("v2")
    state = rollout.step(
        StepMetrics(requests=500, metrics={"error_rate": None, "attack_hit_rate": 0.0})
    )
    assert (state.phase, state.weight) == ("Aborted", 0.0)
    assert "challenger" not in reg.state().aliases


def test_inconclusive_pauses_for_a_person(setup: tuple[Registry, Rollout]) -> None:
    reg, rollout = setup
    rollout.plan("v2", RolloutConfig(steps=[10, 100]))
    state = rollout.step(
        StepMetrics(requests=3, metrics={"error_rate": 0.0, "attack_hit_rate": 0.0})
    )
    assert (state.phase, state.weight) == ("Paused", 10.0)
    assert reg.state().aliases["challenger"] == "v2"
    state = rollout.step(approve=True, actor="bob")
    assert (state.phase, state.weight) == ("Progressing", 100.0)
    assert state.history[-1].action == "approve" and state.history[-1].actor == "bob"
    with pytest.raises(UsageError, match="paused rollout"):
        rollout.step(approve=True)


def test_manual_abort(setup: tuple[Registry, Rollout]) -> None:
    reg, rollout = setup
    rollout.plan("v2")
    state = rollout.abort("customer complaints")
    assert (state.phase, state.weight) == ("Aborted", 0.0)
    assert reg.state().aliases == {"champion": "v1"}


def test_plan_refused_without_pass_or_while_active(
    setup: tuple[Registry, Rollout],
    make_verdict: Callable[[str], Path],
    copy_model: Callable[[str], str],
) -> None:
    reg, rollout = setup
    reg.register(copy_model("blocked-model"), verdict=make_verdict("BLOCK"))
    with pytest.raises(PromotionRefused, match="BLOCK"):
        rollout.plan("v3")
    rollout.plan("v2")
    with pytest.raises(UsageError, match="Progressing"):
        rollout.plan("v2")


def test_steps_are_validated() -> None:
    with pytest.raises(ValueError, match="increase"):
        RolloutConfig(steps=[5, 1, 100])
    with pytest.raises(ValueError, match="last step must be 100"):
        RolloutConfig(steps=[1, 5, 25])


def test_metrics_file_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "step.json"
    path.write_text('{"requests": "many", "metrics": {}}')
    with pytest.raises(Exception, match=r"step.json.*requests"):
        read_step_metrics(path)
