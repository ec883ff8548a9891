"""How numbers are written in every report, table and message.

One format for a rate with its interval, so the experiment log, the model card, the HTML
report, the audit report and the CLI tables show the same thing the same way::

    0.120 [0.071, 0.196] (12/100)          k of n judged, 95% Wilson interval
    0.120 [0.071, 0.196] (12/100, 1 err)   and items whose judging errored
    –                                      nothing judged
    – (3 err)                              nothing judged, three errors
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MISSING", "RateLike", "fmt_num", "fmt_rate"]

# What a missing value prints as (an en dash: reads as "none" in a table cell).
MISSING = "–"


class RateLike(Protocol):
    """What :func:`fmt_rate` reads from a row (``posttrain.evaluate.metrics.RateRow``)."""

    @property
    def rate(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def k(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def errors(self) -> int: ...


def fmt_rate(row: RateLike | None, *, counts: bool = True, missing: str = MISSING) -> str:
    """``0.120 [0.071, 0.196] (12/100, 1 err)``: the rate, its 95% interval (left out
    when there is none) and, with ``counts``, k of n and the errors (left out when zero).
    ``missing`` for no row or nothing judged."""
    if row is None:
        return missing
    tail = f", {row.errors} err" if row.errors else ""
    if row.rate is None:
        return f"{missing} ({row.errors} err)" if row.errors else missing
    text = f"{row.rate:.3f}"
    if row.ci_low is not None and row.ci_high is not None:
        text += f" [{row.ci_low:.3f}, {row.ci_high:.3f}]"
    return text + (f" ({row.k}/{row.n}{tail})" if counts else "")


def fmt_num(
    x: float | None, digits: int = 3, *, signed: bool = False, missing: str = MISSING
) -> str:
    """``x`` with ``digits`` decimals (``+`` in front of a positive one when ``signed``);
    ``missing`` for None."""
    if x is None:
        return missing
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
