"""The per-key token bucket."""

from __future__ import annotations

from posttrain.serve.limits import RateLimiter


def test_a_key_gets_its_burst_then_waits_for_the_refill() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.take("a") is None and limiter.take("a") is None
    wait = limiter.take("a")
    assert wait is not None and 0.9 < wait <= 1.0
    assert RateLimiter.retry_after(wait) == "1"
    assert limiter.take("b") is None  # keys do not share a bucket
    now[0] = 1.0
    assert limiter.take("a") is None
    assert limiter.take("a") is not None
    now[0] = 100.0  # the bucket refills up to the burst, not beyond
    assert limiter.take("a") is None and limiter.take("a") is None
    assert limiter.take("a") is not None
