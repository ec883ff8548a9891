from __future__ import annotations

import pytest

from posttrain.evaluate.stats import (
    mcnemar_exact,
    paired_bootstrap_ci,
    percentile,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Textbook values (Newcombe 1998, Table I; Wilson 1927).
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
    ],
)
def test_wilson_interval_matches_known_values(k: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=1e-4)
    assert got_high == pytest.approx(high, abs=1e-4)


def test_wilson_interval_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(3, 2)


def test_mcnemar_exact_known_p_values() -> None:
    assert mcnemar_exact(1, 9) == 0.021484375
    assert mcnemar_exact(9, 1) == 0.021484375
    assert mcnemar_exact(0, 6) == 0.03125
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_paired_bootstrap_is_seeded_and_brackets_the_delta() -> None:
    base = [1.0] * 30 + [0.0] * 70
    cand = [1.0] * 10 + [0.0] * 90  # 20 items flipped from 1 to 0: delta -0.2
    low, high = paired_bootstrap_ci(base, cand, seed=0)
    assert low < -0.2 < high < 0
    assert paired_bootstrap_ci(base, cand, seed=0) == (low, high)
    assert paired_bootstrap_ci(base, base) == (0.0, 0.0)


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
