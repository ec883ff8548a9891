"""One way to print a rate with its interval, and a number."""

from __future__ import annotations

from posttrain.core.fmt import MISSING, fmt_num, fmt_rate
from posttrain.evaluate.metrics import RateRow


def row(
    k: int, n: int, errors: int = 0, ci: tuple[float, float] | None = (0.071, 0.196)
) -> RateRow:
    return RateRow(
        metric="attack_hit_rate",
        group="all",
        lang="all",
        k=k,
        n=n,
        errors=errors,
        rate=k / n if n else None,
        ci_low=ci[0] if ci and n else None,
        ci_high=ci[1] if ci and n else None,
    )


def test_a_rate_with_its_interval_and_counts() -> None:
    assert fmt_rate(row(12, 100)) == "0.120 [0.071, 0.196] (12/100)"
    assert fmt_rate(row(12, 100, errors=1)) == "0.120 [0.071, 0.196] (12/100, 1 err)"
    assert fmt_rate(row(12, 100), counts=False) == "0.120 [0.071, 0.196]"
    assert fmt_rate(row(12, 100, ci=None)) == "0.120 (12/100)"


def test_nothing_judged() -> None:
    assert fmt_rate(None) == MISSING == "–"
    assert fmt_rate(row(0, 0)) == "–"
    assert fmt_rate(row(0, 0, errors=3)) == "– (3 err)"
    assert fmt_rate(None, missing="n/a") == "n/a"


def test_fmt_num() -> None:
    assert fmt_num(0.12345) == "0.123"
    assert fmt_num(1.5, 2) == "1.50"
    assert fmt_num(0.02, signed=True) == "+0.020"
    assert fmt_num(-0.02, signed=True) == "-0.020"
    assert fmt_num(None) == "–" and fmt_num(None, missing="n/a") == "n/a"
