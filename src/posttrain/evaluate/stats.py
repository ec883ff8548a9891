"""Small, exact statistics for evaluation: Wilson intervals, McNemar's exact test, the
paired bootstrap and percentiles. Plain functions, no scipy."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Z95", "mcnemar_exact", "paired_bootstrap_ci", "percentile", "wilson_interval"]

# Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and is honest at 0/n and
    n/n, which is exactly where safety rates live. Raises ``ValueError`` for n <= 0 or k
    outside [0, n].
    """
    if n <= 0:
        raise ValueError(f"wilson_interval needs n > 0, got n={n}")
    if not 0 <= k <= n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Clamp the rounding noise at the edges (k=0 gives centre == half up to 1 ulp).
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts ``b`` and ``c``.

    Under the null each discordant pair is a fair coin, so the p-value is twice the
    binomial tail P(X <= min(b, c)) with X ~ Bin(b + c, 1/2), capped at 1. Computed with
    integers, so it is exact: ``mcnemar_exact(1, 9) == 0.021484375``.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap_ci(
    base: Sequence[float],
    candidate: Sequence[float],
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``mean(candidate) - mean(base)`` resampling *pairs*.

    Resampling pairs (not each side on its own) keeps the correlation between the two
    models' answers to the same item, which is what makes a paired comparison tight.
    """
    if len(base) != len(candidate):
        raise ValueError(f"paired samples differ in length: {len(base)} vs {len(candidate)}")
    n = len(base)
    if n == 0:
        raise ValueError("paired_bootstrap_ci needs at least one pair")
    diff = np.asarray(candidate, dtype=float) - np.asarray(base, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    means = diff[idx].mean(axis=1)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, linear interpolation), or None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))
