"""The gateway's Prometheus metrics, in a registry of their own (one per app).

Names start with ``posttrain_serve_``; ``GET /metrics`` serves them in Prometheus' text
format. Labels are bounded: endpoints, status codes, grades, clause ids of the contract,
upstream error kinds, served versions (champion and challenger), never a request id or a
key.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "ServeMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_S_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ServeMetrics:
    """Every metric the gateway records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "posttrain_serve_requests",
            "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "posttrain_serve_request_seconds",
            "Time to answer a chat completion, upstream included.",
            buckets=_S_BUCKETS,
            registry=r,
        )
        self.guard_latency = Histogram(
            "posttrain_serve_guard_seconds",
            "Time the runtime guard itself spent on a request (upstream excluded).",
            buckets=_MS_BUCKETS,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "posttrain_serve_upstream_seconds",
            "Time spent waiting for the upstream, all attempts of a request.",
            buckets=_S_BUCKETS,
            registry=r,
        )
        self.grades = Counter(
            "posttrain_serve_guard_decisions",
            "Guard decisions, by grade.",
            ["grade", "version"],
            registry=r,
        )
        self.failed_checks = Counter(
            "posttrain_serve_guard_failed_checks",
            "Contract clauses failed by served answers.",
            ["clause"],
            registry=r,
        )
        self.attacks = Counter(
            "posttrain_serve_input_attacks",
            "Requests the input side flagged as attacks, by class.",
            ["attack_class"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "posttrain_serve_upstream_errors",
            "Upstream failures, by kind (unavailable, timeout, bad_response).",
            ["kind"],
            registry=r,
        )
        self.rejected = Counter(
            "posttrain_serve_rejected",
            "Requests refused before the upstream, by reason.",
            ["reason"],
            registry=r,
        )
        self.captured = Counter(
            "posttrain_serve_captured",
            "Live failures appended to the pool, by kind (guard, feedback).",
            ["kind"],
            registry=r,
        )
        self.feedback = Counter(
            "posttrain_serve_feedback", "Feedback received, by rating.", ["rating"], registry=r
        )
        self.tokens = Counter(
            "posttrain_serve_tokens", "Tokens served, by kind.", ["kind"], registry=r
        )
        self.in_flight = Gauge(
            "posttrain_serve_in_flight", "Chat completions being answered.", registry=r
        )
        # Per served version (the canary's champion and challenger side by side); the
        # analysis itself reads .posttrain/live.sqlite, these are for dashboards.
        self.version_requests = Counter(
            "posttrain_serve_version_requests",
            "Chat completions by served version and outcome (ok, error).",
            ["version", "outcome"],
            registry=r,
        )
        self.version_latency = Histogram(
            "posttrain_serve_version_request_seconds",
            "Time to answer a chat completion, by served version.",
            ["version"],
            buckets=_S_BUCKETS,
            registry=r,
        )
        self.version_tokens = Counter(
            "posttrain_serve_version_tokens",
            "Tokens served, by version and kind.",
            ["version", "kind"],
            registry=r,
        )
        self.version_attacks = Counter(
            "posttrain_serve_version_attacks",
            "Attack-flagged requests by version and the upstream's answer (safe, unsafe).",
            ["version", "answer"],
            registry=r,
        )
        self.version_leaks = Counter(
            "posttrain_serve_version_leaks",
            "Upstream answers that leaked the canary, the system prompt, PII or a secret.",
            ["version"],
            registry=r,
        )
        self.version_refusals = Counter(
            "posttrain_serve_version_refusals",
            "Upstream answers the refusal judge found withheld, by version.",
            ["version"],
            registry=r,
        )
        self.version_feedback = Counter(
            "posttrain_serve_version_feedback",
            "Feedback by the version that answered and the rating.",
            ["version", "rating"],
            registry=r,
        )
        self.rollout_weight = Gauge(
            "posttrain_serve_rollout_weight",
            "The challenger's share of traffic in percent (0: no active rollout).",
            registry=r,
        )
        self.refusals_not_judged = Counter(
            "posttrain_serve_refusals_not_judged",
            "Upstream answers the refusal judge did not see (warming up, behind, crashed).",
            registry=r,
        )
        self.live_dropped = Counter(
            "posttrain_serve_live_dropped",
            "Live measurements not stored, by reason (queue_full, store_error).",
            ["reason"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
