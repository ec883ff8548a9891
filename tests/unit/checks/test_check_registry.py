"""The registry: run_check turns a crash into an error verdict, and an error never passes."""

from __future__ import annotations

import pytest

from posttrain.checks import (
    Sample,
    Verdict,
    describe_check,
    list_checks,
    register_check,
    run_check,
    validate_check_args,
)

SAMPLE = Sample(id="s1", prompt="hi")


def test_every_builtin_check_is_registered() -> None:
    expected = {
        "json_schema", "regex_forbid", "regex_require", "max_items", "max_chars", "refusal",
        "refusal_quality", "asks_for", "no_pii_leak", "no_secret_leak", "canary_leak",
        "injection_followed", "language_match", "judge",
    }  # fmt: skip
    assert expected <= set(list_checks())


def test_a_crashing_check_is_an_error_and_never_a_pass() -> None:
    @register_check("test_crashes")
    def crashes(sample: Sample, completion: str) -> Verdict:
        raise RuntimeError("boom")

    verdict = run_check("test_crashes", SAMPLE, "anything")
    assert verdict.status == "error"
    assert not verdict.passed
    assert "RuntimeError: boom" in verdict.evidence


def test_a_check_returning_garbage_is_an_error() -> None:
    @register_check("test_returns_bool")
    def returns_bool(sample: Sample, completion: str) -> Verdict:
        return True  # type: ignore[return-value]

    assert run_check("test_returns_bool", SAMPLE, "x").status == "error"


def test_unknown_check_and_bad_args_are_errors_not_passes() -> None:
    assert run_check("no_such_check", SAMPLE, "x").status == "error"
    # max_chars needs `limit`; an unknown argument must not be silently ignored
    verdict = run_check("max_chars", SAMPLE, "x", {"max": 3})
    assert verdict.status == "error"
    assert "max" in verdict.evidence


def test_validate_check_args_names_the_problem() -> None:
    with pytest.raises(ValueError, match=r"takes no argument 'max'.*limit"):
        validate_check_args("max_chars", {"max": 3})
    with pytest.raises(ValueError, match=r"needs argument.*'limit'"):
        validate_check_args("max_chars", {})
    with pytest.raises(ValueError, match="argument 'limit'"):
        validate_check_args("max_chars", {"limit": "many"})
    validate_check_args("max_chars", {"limit": 600})


def test_describe_check_lists_arguments_with_defaults() -> None:
    info = describe_check("json_schema")
    args = {a.name: a for a in info.args}
    assert args["schema"].required
    assert not args["max_items"].required and args["max_items"].default is None
    assert info.summary
