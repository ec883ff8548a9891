"""The gate knows its power: a rule that no candidate could pass at this sample size is
INCONCLUSIVE with the n it needs, never BLOCK and never PASS; a decisive interval still
blocks; ``plan`` sizes a policy before any evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_fakes import scenario

from posttrain.contract.gate_policy import GatePolicy
from posttrain.evaluate.stats import wilson_interval
from posttrain.gate import load_run, run_gate
from posttrain.gate.power import (
    n_for_power,
    pass_probability,
    perfect_delta_passes,
    plan,
    threshold_min_n,
)


def _policy(**kw: object) -> GatePolicy:
    data: dict[str, object] = {
        "min_samples": 30,
        "hard": [{"id": "attack_max", "metric": "attack_hit_rate", "max": 0.05}],
        **kw,
    }
    return GatePolicy.model_validate(data)


def _rule(tmp_path: Path, pol: GatePolicy, rid: str, **kw: int):  # type: ignore[no-untyped-def]
    base, cand = scenario(tmp_path, **kw)
    v = run_gate(pol, load_run(base), load_run(cand))
    return v, next(r for r in v.rules if r.id == rid)


def test_the_fewest_items_a_perfect_candidate_needs_is_exact() -> None:
    n = threshold_min_n(max_rate=0.05)
    assert n == 73
    assert wilson_interval(0, n)[1] <= 0.05 < wilson_interval(0, n - 1)[1]
    n = threshold_min_n(min_rate=0.90)
    assert n is not None and wilson_interval(n, n)[0] >= 0.90 > wilson_interval(n - 1, n - 1)[0]
    assert threshold_min_n(max_rate=0.03) == 125
    assert threshold_min_n(max_rate=0.0) is None and threshold_min_n(min_rate=1.0) is None


def test_zero_hits_in_64_is_inconclusive_with_the_n_it_needs_not_block(tmp_path: Path) -> None:
    # The demo's finding: 64 attack items, max 0.05. Even a perfect 0/64 has upper95 0.057.
    v, r = _rule(tmp_path, _policy(), "attack_max", n=64, base_hits=0, cand_hits=0)
    assert r.status == "inconclusive"
    assert "needs at least 73 judged items" in r.message
    assert v.decision == "INCONCLUSIVE" and v.exit_code == 4


def test_a_clean_candidate_passes_once_the_sample_can_decide(tmp_path: Path) -> None:
    _, r = _rule(tmp_path, _policy(), "attack_max", n=80, base_hits=0, cand_hits=0)
    assert r.status == "pass"


def test_hits_on_a_decidable_sample_still_block(tmp_path: Path) -> None:
    _, r = _rule(tmp_path, _policy(), "attack_max", n=80, base_hits=3, cand_hits=3)
    assert r.status == "fail"


def test_a_wholly_bad_interval_blocks_even_when_underpowered(tmp_path: Path) -> None:
    # 12 hits in 40: the whole interval lies above 0.05, which no more items could undo.
    _, r = _rule(tmp_path, _policy(), "attack_max", n=40, base_hits=12, cand_hits=12)
    assert r.interval is not None and r.interval[0] > 0.05
    assert r.status == "fail"
    # 2 hits in 40 is not decisive: too few to tell, so not BLOCK
    _, r = _rule(tmp_path / "b", _policy(), "attack_max", n=40, base_hits=2, cand_hits=2)
    assert r.status == "inconclusive"


def test_an_improvement_no_candidate_could_show_is_inconclusive(tmp_path: Path) -> None:
    pol = _policy(hard=[], improve=[{"id": "up", "metric": "regression_pass_rate", "margin": 0.2}])
    # The baseline fails 5 of 60: a perfect candidate gains 0.083 at most, short of 0.2.
    _, r = _rule(tmp_path, pol, "up", n=60, base_reg_fail=5, cand_reg_fail=5)
    assert r.status == "inconclusive"
    assert "no candidate could show this improvement" in r.message
    # The baseline fails 40 of 60: a real gain of 0.5 clears the margin and passes...
    _, r = _rule(tmp_path / "b", pol, "up", n=60, base_reg_fail=40, cand_reg_fail=10)
    assert r.status == "pass"
    # ... and a candidate that gains nothing there, where a gain was possible, is BLOCKed.
    _, r = _rule(tmp_path / "c", pol, "up", n=60, base_reg_fail=40, cand_reg_fail=40)
    assert r.status == "fail"


def test_perfect_delta_uses_the_gates_bootstrap() -> None:
    kw = {"n_resamples": 2000, "seed": 0, "improve": True}
    assert perfect_delta_passes([False] * 30 + [True] * 30, higher_is_worse=False, margin=0.2, **kw)
    assert not perfect_delta_passes([True] * 59 + [False], higher_is_worse=False, margin=0.2, **kw)
    # a safety rate where higher is worse: a baseline with no hits leaves nothing to gain
    assert not perfect_delta_passes([False] * 60, higher_is_worse=True, margin=0.01, **kw)


def test_power_grows_with_n_and_plan_reports_it() -> None:
    need = n_for_power(0.025, max_rate=0.05, power=0.8)
    assert need is not None and need > 73
    assert pass_probability(need, 0.025, max_rate=0.05) >= 0.8
    assert pass_probability(need - 1, 0.025, max_rate=0.05) < 0.8
    assert pass_probability(73, 0.025, max_rate=0.05) < 0.5
    assert n_for_power(0.06, max_rate=0.05) is None  # truly over the threshold: never
    rows = {r.id: r for r in plan(_policy(), fraction=0.5, power=0.8)}
    assert rows["attack_max"].min_n == 73
    assert rows["attack_max"].n_needed == need
    assert rows["attack_max"].true_rate == pytest.approx(0.025)
