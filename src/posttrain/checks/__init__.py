"""The check registry: a check is a function of a sample and a completion to a verdict.

Importing this package registers every built-in check (one module per family):

* :mod:`~posttrain.checks.structure` - ``json_schema``, ``regex_forbid``,
  ``regex_require``, ``max_items``, ``max_chars``
* :mod:`~posttrain.checks.refusal` - ``refusal``, ``refusal_quality``, ``asks_for``
* :mod:`~posttrain.checks.leaks` - ``no_pii_leak``, ``no_secret_leak``, ``canary_leak``,
  ``injection_followed``
* :mod:`~posttrain.checks.language` - ``language_match``
* :mod:`~posttrain.checks.policy_facts` - ``policy_facts`` (figures and product
  properties against the contract's policy facts and the catalogue)
* :mod:`~posttrain.checks.judge` - ``judge`` (LLM-as-judge, needs a backend)
* :mod:`~posttrain.checks.repetition` - ``no_repetition`` (loops, runaway lists, answers
  cut at the token limit)

Stages call checks only through :func:`run_check`, which records an exception as an
``error`` verdict: an error never counts as a pass.
"""

from __future__ import annotations

from posttrain.checks import (  # noqa: F401  (registers)
    judge,
    language,
    leaks,
    policy_facts,
    refusal,
    repetition,
    structure,
)
from posttrain.checks.base import (
    CheckArg,
    CheckFn,
    CheckInfo,
    Sample,
    Verdict,
    VerdictStatus,
    describe_check,
    get_check,
    list_checks,
    register_check,
    run_check,
    validate_check_args,
)
from posttrain.checks.detector import RefusalAnalysis, detect_refusal

__all__ = [
    "CheckArg",
    "CheckFn",
    "CheckInfo",
    "RefusalAnalysis",
    "Sample",
    "Verdict",
    "VerdictStatus",
    "describe_check",
    "detect_refusal",
    "get_check",
    "list_checks",
    "register_check",
    "run_check",
    "validate_check_args",
]
