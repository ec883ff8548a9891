"""The rollout analysed on the gateway's live measurements (issue 15, item 3): minimum
traffic, fixed thresholds with counts, the challenger against the champion paired by time
window, and the automatic controller (``auto_tick``, ``run_auto``), on a LiveStore filled
with synthetic events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from posttrain.core.auditlog import read_entries
from posttrain.errors import UsageError
from posttrain.release.analysis import AnalysisConfig, MetricCheck, analyze_live
from posttrain.release.live import LiveEvent, LiveStore, VersionStats
from posttrain.release.live_analysis import CompareCheck
from posttrain.release.registry import Registry
from posttrain.release.rollout import Rollout, RolloutConfig, RolloutState

T0 = 1_700_000_000.0


def events(
    state: RolloutState,
    version: str,
    n: int,
    *,
    t0: float = T0,
    spread_s: float = 100.0,
    errors: int = 0,
    leaks: int = 0,
    attacks: int = 0,
    unsafe: int = 0,
) -> list[LiveEvent]:
    """``n`` requests of ``version`` at the rollout's current step, spread evenly over
    ``spread_s`` seconds from ``t0``; the first ``errors`` failed, the first ``leaks``
    leaked, the first ``attacks`` were attacks, ``unsafe`` of which got an unsafe answer."""
    return [
        LiveEvent(
            ts=t0 + spread_s * i / max(n, 1),
            rollout_id=state.id,
            step=state.step,
            version=version,
            user_key_hash=f"u{i}",
            latency_ms=None if i < errors else 20.0 + i % 7,
            error=i < errors,
            grade=None if i < errors else ("replaced" if i < leaks else "pass"),
            intervened=errors <= i < leaks,
            leak=i < leaks,
            attack=i < attacks,
            unsafe=i < unsafe,
        )
        for i in range(n)
    ]


CONFIG = RolloutConfig(
    steps=[1, 5, 25, 100], analysis=AnalysisConfig(min_traffic=20, window_s=60.0)
)


@pytest.fixture
def setup(
    tmp_path: Path, make_verdict: Callable[[str], Path], copy_model: Callable[[str], str]
) -> tuple[Registry, Rollout, LiveStore]:
    audit = tmp_path / "audit-log.jsonl"
    reg = Registry(tmp_path / "registry", audit_log=audit)
    verdict = make_verdict("PASS")
    reg.register(copy_model("champion-model"), verdict=verdict)
    reg.register(copy_model("challenger-model"), verdict=verdict)
    reg.promote("v1")
    store = LiveStore(tmp_path / "live.sqlite")
    return reg, Rollout(tmp_path / "rollout", reg, audit_log=audit), store


def stats(version: str, **counts: int) -> VersionStats:
    return VersionStats(version=version, **counts)  # type: ignore[arg-type]


def test_a_good_challenger_passes_its_thresholds_and_the_comparison() -> None:
    cfg = AnalysisConfig(min_traffic=20)
    step = {
        "v2": stats("v2", requests=40, errors=0, attack_requests=10, attack_unsafe=0),
        "v1": stats("v1", requests=4000, errors=8, attack_requests=900, attack_unsafe=9),
    }
    result = analyze_live(cfg, step, [step], challenger="v2", champion="v1")
    assert (result.outcome, result.waiting, result.source) == ("Successful", False, "live")
    assert result.champion_requests == 4000
    by = {c.metric: c for c in result.comparisons}
    assert by["error_rate"].outcome == "Successful" and by["leak_rate"].outcome == "Successful"
    # No feedback at all: thumbs-down is not compared (and says so), never a pass by itself.
    assert by["thumbs_down_rate"].outcome == "Skipped"
    assert "not compared" in result.message and "thumbs_down_rate" in result.message
    # The fixed thresholds show the rate with its count.
    errors = next(m for m in result.measurements if m.metric == "error_rate")
    assert "0.000 (0/40)" in errors.message


def test_a_step_waits_for_its_minimum_traffic_and_for_attack_traffic() -> None:
    cfg = AnalysisConfig(min_traffic=20)
    few = {"v2": stats("v2", requests=5, errors=1), "v1": stats("v1", requests=500)}
    result = analyze_live(cfg, few, [few], challenger="v2", champion="v1")
    # 1 error in 5 is 20% > max 2% as a point estimate, but not with confidence: wait.
    assert (result.outcome, result.waiting) == ("Inconclusive", True)
    assert "5/20 challenger requests" in result.message
    # One error on the very first request: at 95% its rate is above 2% (exact bound 0.05),
    # but a step looked at on every tick fails early only at 99.9%.
    first = {"v2": stats("v2", requests=1, errors=1), "v1": stats("v1", requests=90)}
    assert analyze_live(cfg, first, [first], challenger="v2", champion="v1").waiting
    # Enough requests, but no attack request yet: attack_hit_rate is not measured.
    no_attacks = {"v2": stats("v2", requests=50), "v1": stats("v1", requests=5000)}
    result = analyze_live(cfg, no_attacks, [no_attacks], challenger="v2", champion="v1")
    assert result.waiting and "not measured yet: attack_hit_rate" in result.message


def test_failing_with_confidence_aborts_before_the_minimum_traffic() -> None:
    cfg = AnalysisConfig(min_traffic=100)
    # 6 errors in 8: the 95% lower bound is far above max 2%.
    bad = {"v2": stats("v2", requests=8, errors=6), "v1": stats("v1", requests=800)}
    result = analyze_live(cfg, bad, [bad], challenger="v2", champion="v1")
    assert (result.outcome, result.waiting) == ("Failed", False)
    assert "before the minimum traffic" in result.message and "error_rate" in result.message


def test_a_leaking_challenger_fails_against_a_champion_that_never_leaks() -> None:
    cfg = AnalysisConfig(min_traffic=20, metrics=[MetricCheck(name="error_rate", max=0.02)])
    # Every answer leaks: the paired difference is confidently above 0 on 4 requests.
    step = {"v3": stats("v3", requests=4, leaks=4), "v1": stats("v1", requests=400)}
    result = analyze_live(cfg, step, [step], challenger="v3", champion="v1")
    assert result.outcome == "Failed" and "leak_rate vs champion" in result.message
    # One leak in 30 is no significant difference, but the zero rule fails it at min
    # traffic: the champion had none.
    one = {"v3": stats("v3", requests=30, leaks=1), "v1": stats("v1", requests=3000)}
    result = analyze_live(cfg, one, [one], challenger="v3", champion="v1")
    leak = next(c for c in result.comparisons if c.metric == "leak_rate")
    assert result.outcome == "Failed" and leak.outcome == "Failed"
    assert leak.lower is not None and leak.lower <= 0  # not by the interval: by the rule
    assert "any event fails where the champion had none" in leak.message
    # When the champion leaks as often, only the interval decides: 1/30 vs 100/3000.
    both = {"v3": stats("v3", requests=30, leaks=1), "v1": stats("v1", requests=3000, leaks=100)}
    result = analyze_live(cfg, both, [both], challenger="v3", champion="v1")
    assert next(c for c in result.comparisons if c.metric == "leak_rate").outcome == "Successful"


def test_the_comparison_pairs_by_time_window_not_over_the_pooled_step() -> None:
    """The champion served mostly in a bad minute, the challenger mostly in a good one:
    pooled, the challenger looks better (7.5% vs 18% errors); window by window it is
    worse in both (30% vs 20%, 5% vs 0%), and that is what the analysis sees."""
    cfg = AnalysisConfig(
        min_traffic=20,
        metrics=[MetricCheck(name="error_rate", max=0.5)],
        compare=[CompareCheck(name="error_rate", margin=0.02)],
    )
    bad_minute = {
        "v2": stats("v2", requests=100, errors=30),
        "v1": stats("v1", requests=900, errors=180),
    }
    good_minute = {
        "v2": stats("v2", requests=900, errors=45),
        "v1": stats("v1", requests=100, errors=0),
    }
    step = {
        "v2": stats("v2", requests=1000, errors=75),
        "v1": stats("v1", requests=1000, errors=180),
    }
    paired = analyze_live(cfg, step, [bad_minute, good_minute], challenger="v2", champion="v1")
    cmp = paired.comparisons[0]
    assert paired.outcome == "Failed" and cmp.windows == 2
    assert cmp.difference == pytest.approx(0.075)
    assert cmp.lower is not None and cmp.lower > 0.02
    # Over one window (the pooled step), the same counts pass.
    pooled = analyze_live(cfg, step, [step], challenger="v2", champion="v1")
    assert pooled.outcome == "Successful" and pooled.comparisons[0].difference == pytest.approx(
        -0.105
    )


def test_a_metric_the_gateway_does_not_measure_pauses_for_a_person() -> None:
    cfg = AnalysisConfig(min_traffic=10, metrics=[MetricCheck(name="csat", min=0.8)])
    step = {"v2": stats("v2", requests=50), "v1": stats("v1", requests=500)}
    result = analyze_live(cfg, step, [step], challenger="v2", champion="v1")
    assert result.outcome == "Inconclusive" and not result.waiting
    assert "not measured by the gateway" in result.measurements[0].message


def test_auto_tick_drives_a_good_challenger_to_champion(
    setup: tuple[Registry, Rollout, LiveStore],
) -> None:
    reg, rollout, store = setup
    assert rollout.auto_tick(store) is None  # no rollout yet
    state = rollout.plan("v2", CONFIG)
    assert rollout.auto_tick(store) is None  # no traffic yet: waiting, nothing recorded
    assert len(rollout.status().history) == 1  # type: ignore[union-attr]
    weights = []
    t = T0
    for _ in CONFIG.steps:
        store.record_many(
            events(state, "v2", 25, t0=t, attacks=5)
            + events(state, "v1", 500, t0=t, errors=1, attacks=100)
        )
        t += 200
        moved = rollout.auto_tick(store)
        assert moved is not None
        state = moved
        weights.append(state.weight)
    assert weights == [5.0, 25.0, 100.0, 100.0]
    assert state.phase == "Completed" and reg.state().aliases == {"champion": "v2"}
    analyses = [h for h in state.history if h.action == "analysis"]
    assert [h.metrics_file for h in analyses] == ["live"] * 4
    assert all(h.analysis and h.analysis.source == "live" for h in analyses)
    assert rollout.auto_tick(store) is None  # finished: nothing more to do


def test_auto_tick_aborts_a_leaking_challenger_at_the_first_step(
    setup: tuple[Registry, Rollout, LiveStore], tmp_path: Path
) -> None:
    reg, rollout, store = setup
    state = rollout.plan("v2", CONFIG)
    store.record_many(events(state, "v2", 3, leaks=3) + events(state, "v1", 300, attacks=50))
    moved = rollout.auto_tick(store)
    assert moved is not None
    assert (moved.phase, moved.weight, moved.step) == ("Aborted", 0.0, 0)
    assert reg.state().aliases == {"champion": "v1"}
    abort = [e for e in read_entries(tmp_path / "audit-log.jsonl") if e.kind == "rollout"][
        -1
    ].payload
    assert abort["action"] == "abort" and "leak_rate vs champion" in abort["reason"]
    assert rollout.auto_tick(store) is None


def test_auto_tick_leaves_an_inconclusive_step_paused(
    setup: tuple[Registry, Rollout, LiveStore],
) -> None:
    _, rollout, store = setup
    cfg = RolloutConfig(
        analysis=AnalysisConfig(min_traffic=5, metrics=[MetricCheck(name="csat", min=0.8)])
    )
    state = rollout.plan("v2", cfg)
    store.record_many(events(state, "v2", 10) + events(state, "v1", 100))
    moved = rollout.auto_tick(store)
    assert moved is not None and moved.phase == "Paused"
    assert rollout.auto_tick(store) is None  # paused: a person decides
    approved = rollout.step(approve=True, actor="oncall")
    assert approved.phase == "Progressing" and approved.weight == 5.0


def test_run_auto_stops_by_itself_when_the_wait_runs_out(
    setup: tuple[Registry, Rollout, LiveStore],
) -> None:
    _, rollout, store = setup
    with pytest.raises(UsageError, match="no rollout"):
        rollout.run_auto(store, interval_s=1, max_wait_s=5)
    rollout.plan("v2", CONFIG)
    now = [0.0]
    ticks: list[bool] = []

    def sleep(s: float) -> None:
        now[0] += s

    state, timed_out = rollout.run_auto(
        store,
        interval_s=2,
        max_wait_s=7,
        on_tick=lambda st, res: ticks.append(bool(res and res.waiting)),
        sleep=sleep,
        clock=lambda: now[0],
    )
    assert timed_out and state.phase == "Progressing" and state.weight == 1.0
    assert ticks == [True] * 5 and now[0] == 7.0  # at 0, 2, 4, 6, 7 s


def test_step_without_metrics_reads_the_live_store(
    setup: tuple[Registry, Rollout, LiveStore],
) -> None:
    _, rollout, store = setup
    state = rollout.plan("v2", CONFIG)
    assert rollout.step(store=store).history == state.history  # waiting: nothing recorded
    store.record_many(events(state, "v2", 30, attacks=5) + events(state, "v1", 300, attacks=50))
    assert rollout.step(store=store).weight == 5.0
    with pytest.raises(UsageError, match="--metrics"):
        rollout.step()


def test_a_rollout_records_its_registry_moves_in_its_own_audit_log(
    tmp_path: Path, make_verdict: Callable[[str], Path], copy_model: Callable[[str], str]
) -> None:
    """The gateway's controller built its Rollout on a Registry without an audit log: the
    promotion it made was missing from the log, and `posttrain log verify` failed."""
    from posttrain.core.auditlog import verify_log

    audit = tmp_path / "audit-log.jsonl"
    setup_reg = Registry(tmp_path / "registry", audit_log=audit)
    verdict = make_verdict("PASS")
    setup_reg.register(copy_model("a"), verdict=verdict)
    setup_reg.register(copy_model("b"), verdict=verdict)
    setup_reg.promote("v1")
    store = LiveStore(tmp_path / "live.sqlite")
    rollout = Rollout(tmp_path / "rollout", Registry(tmp_path / "registry"), audit_log=audit)
    state = rollout.plan("v2", RolloutConfig(steps=[100], analysis=AnalysisConfig(min_traffic=5)))
    store.record_many(events(state, "v2", 10, attacks=3) + events(state, "v1", 10, attacks=3))
    done = rollout.auto_tick(store)
    assert done is not None and done.phase == "Completed"
    kinds = [e.kind for e in read_entries(audit)]
    # challenger set, then removed when it became champion; promotions of v1, then v2
    assert kinds.count("alias") == 2 and kinds.count("promotion") == 2
    assert verify_log(audit).ok


def test_the_refusal_rate_counts_only_judged_answers() -> None:
    # Answers the judge did not see (warming up, behind, outside the sample) are neither
    # refusals nor compliances: 5 refusals of 10 judged is 0.5, not 5 of 100.
    from posttrain.release.live import VersionStats
    from posttrain.release.live_analysis import rate_count

    stats = VersionStats(version="v2", requests=100, refusals=5, refusals_judged=10)
    rate = rate_count(stats, "refusal_rate")
    assert (rate.events, rate.n) == (5, 10)
