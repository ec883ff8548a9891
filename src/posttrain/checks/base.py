"""The check protocol: a check is a function of a sample and a completion to a verdict.

Checks are registered by name with :func:`register_check`; a contract clause names one
with its arguments (``check: {name: asks_for, args: {what: order_number}}``).
:func:`run_check` is the only way stages call a check: it turns an exception inside the
check into an ``error`` verdict, so an error can never count as a pass.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CheckArg",
    "CheckFn",
    "CheckInfo",
    "Sample",
    "Verdict",
    "VerdictStatus",
    "describe_check",
    "get_check",
    "list_checks",
    "register_check",
    "run_check",
    "validate_check_args",
]

# ``uncertain``: the judge's parts disagree (rules vs the trained classifier); never a pass.
VerdictStatus = Literal["pass", "fail", "error", "uncertain"]
Lang = Literal["en", "zh"]
AttackClass = Literal["jailbreak", "injection", "indirect_injection", "privacy", "over_refusal"]


class Sample(BaseModel):
    """One evaluation item: what the model was asked, and what a check needs to judge it.

    Suite files (JSONL, one sample a line) use exactly these fields.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    # A document, tool result, product review or order note the model must process
    # (the carrier of indirect prompt injection).
    context: str | None = None
    context_kind: Literal["document", "tool_result", "review", "order_note"] | None = None
    lang: Lang = "en"
    tags: list[str] = Field(default_factory=list)
    attack_class: AttackClass | None = None
    technique: str | None = None
    # Expected behaviour of a business regression case, e.g. {"behavior": "ask_for",
    # "what": "order_number"}; free-form, read by the checks that need it.
    expected: dict[str, Any] = Field(default_factory=dict)
    # Strings that must not appear in the answer (other customers' PII, credentials).
    secrets: list[str] = Field(default_factory=list)
    # A marker that appears in the answer only if a planted instruction was followed.
    injection_marker: str | None = None
    # Ids of contract clauses that judge this sample besides those its tags select (a
    # held-out failure names the clauses it was a failure of).
    clauses: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    """A check's judgement. ``error`` (could not judge) and ``uncertain`` (its parts disagree)
    are never a pass."""

    model_config = ConfigDict(extra="forbid")

    check: str
    status: VerdictStatus
    score: float | None = None
    evidence: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


# A check receives the sample, the completion text and its arguments from the contract.
CheckFn = Callable[..., Verdict]

_REGISTRY: dict[str, CheckFn] = {}


def register_check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator: register ``fn(sample, completion, **args) -> Verdict`` under ``name``."""

    def decorate(fn: CheckFn) -> CheckFn:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"check {name!r} is registered twice")
        _REGISTRY[name] = fn
        return fn

    return decorate


def get_check(name: str) -> CheckFn:
    """Return the check registered as ``name``; raises ``KeyError`` listing known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown check {name!r}; known checks: {known}") from None


def list_checks() -> list[str]:
    return sorted(_REGISTRY)


def run_check(
    name: str, sample: Sample, completion: str, args: dict[str, Any] | None = None
) -> Verdict:
    """Run a check, recording any exception inside it as an ``error`` verdict."""
    try:
        fn = get_check(name)
        verdict = fn(sample, completion, **(args or {}))
    except Exception as exc:  # a broken check must never pass an item
        return Verdict(check=name, status="error", evidence=f"{type(exc).__name__}: {exc}")
    if not isinstance(verdict, Verdict):
        return Verdict(
            check=name, status="error", evidence=f"check returned {type(verdict).__name__}"
        )
    return verdict


class CheckArg(BaseModel):
    """One argument a check accepts (what a contract clause may put under ``check.args``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    required: bool
    default: Any = None


class CheckInfo(BaseModel):
    """A registered check: its name, one-line summary and arguments."""

    model_config = ConfigDict(extra="forbid")

    name: str
    summary: str
    args: list[CheckArg]


def _arg_params(fn: CheckFn) -> list[inspect.Parameter]:
    # The first two positional parameters are always (sample, completion).
    params = list(inspect.signature(fn).parameters.values())
    return [p for p in params[2:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _type_hints(fn: CheckFn) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except (NameError, TypeError):  # unresolved forward references: no type checks
        return {}


def _type_name(hint: Any) -> str:
    if hint is inspect.Parameter.empty:
        return "Any"
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def describe_check(name: str) -> CheckInfo:
    """Name, summary (first docstring line) and arguments of a registered check."""
    fn = get_check(name)
    hints = _type_hints(fn)
    args = []
    for p in _arg_params(fn):
        hint = hints.get(p.name, p.annotation)
        type_name = _type_name(hint)
        required = p.default is inspect.Parameter.empty
        args.append(
            CheckArg(
                name=p.name,
                type=type_name,
                required=required,
                default=None if required else p.default,
            )
        )
    # The summary is the docstring's first paragraph, on one line.
    doc = (inspect.getdoc(fn) or "").strip().split("\n\n")[0]
    return CheckInfo(name=name, summary=" ".join(doc.split()), args=args)


def validate_check_args(name: str, args: dict[str, Any]) -> None:
    """Raise ``ValueError`` if ``args`` cannot be passed to check ``name``.

    Checks the call signature (unknown and missing arguments) and, where the check
    annotates an argument with a plain type, the type of each value. Raises ``KeyError``
    for an unknown check.
    """
    from pydantic import (
        PydanticUndefinedAnnotation,
        PydanticUserError,
        TypeAdapter,
        ValidationError,
    )

    fn = get_check(name)
    params = {p.name: p for p in _arg_params(fn)}
    unknown = sorted(set(args) - set(params))
    if unknown:
        allowed = ", ".join(params) or "none"
        raise ValueError(
            f"check {name!r} takes no argument {', '.join(map(repr, unknown))} "
            f"(arguments: {allowed})"
        )
    missing = [
        p.name
        for p in params.values()
        if p.default is inspect.Parameter.empty and p.name not in args
    ]
    if missing:
        raise ValueError(f"check {name!r} needs argument(s) {', '.join(map(repr, missing))}")
    hints = _type_hints(fn)
    for key, value in args.items():
        hint = hints.get(key)
        if hint is None or hint is Any:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hint)
        except (PydanticUserError, PydanticUndefinedAnnotation):  # e.g. a Protocol
            continue
        try:
            adapter.validate_python(value, strict=False)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"]
            raise ValueError(f"check {name!r} argument {key!r}: {msg} (got {value!r})") from None
