"""Evaluation: suites, the runner with its cache, metrics with intervals, the paired
comparison, the safety audit and the guard (rung 1 of the ladder)."""

from __future__ import annotations

from posttrain.evaluate.audit import AuditConfig, AuditReport, ThresholdResult, audit
from posttrain.evaluate.cache import GenerationCache, cache_key
from posttrain.evaluate.compare import CompareResult, CompareRow, Flip, compare, compare_items
from posttrain.evaluate.guard import Guard
from posttrain.evaluate.lazy import LazyBackend
from posttrain.evaluate.metrics import LatencyStats, Metrics, RateRow, compute_metrics
from posttrain.evaluate.results import EvalSummary, ItemResult, read_items, read_summary
from posttrain.evaluate.runner import EvalConfig, EvalResult, evaluate, model_slug
from posttrain.evaluate.stats import mcnemar_exact, paired_bootstrap_ci, wilson_interval
from posttrain.evaluate.suites import Suite, load_suite

__all__ = [
    "AuditConfig",
    "AuditReport",
    "CompareResult",
    "CompareRow",
    "EvalConfig",
    "EvalResult",
    "EvalSummary",
    "Flip",
    "GenerationCache",
    "Guard",
    "ItemResult",
    "LatencyStats",
    "LazyBackend",
    "Metrics",
    "RateRow",
    "Suite",
    "ThresholdResult",
    "audit",
    "cache_key",
    "compare",
    "compare_items",
    "compute_metrics",
    "evaluate",
    "load_suite",
    "mcnemar_exact",
    "model_slug",
    "paired_bootstrap_ci",
    "read_items",
    "read_summary",
    "wilson_interval",
]
