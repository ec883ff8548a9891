"""Shared pieces of the CLI: consoles, JSON output, the common options and validation of
options through the library's config models."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from posttrain.core.console import console, err_console
from posttrain.errors import UsageError

__all__ = [
    "DECISION_STYLE",
    "JsonOpt",
    "WaiverOpt",
    "WorkspaceOpt",
    "console",
    "err_console",
    "given",
    "print_json",
    "validated",
]

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="The workspace folder (default: here).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WaiverOpt = Annotated[
    list[Path] | None, typer.Option("--waiver", help="A signed waiver file (repeatable).")
]

# How a gate decision is shown wherever one is (gate, run, ladder).
DECISION_STYLE = {"PASS": "bold green", "BLOCK": "bold red", "INCONCLUSIVE": "bold yellow"}

M = TypeVar("M", bound=BaseModel)


def print_json(data: Any) -> None:
    """Print machine-readable output on stdout, without rich markup or wrapping."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def given(**options: Any) -> dict[str, Any]:
    """The options the user gave: an option left at ``None`` means "the model's default"."""
    return {name: value for name, value in options.items() if value is not None}


def validated(
    model: type[M], values: Mapping[str, Any], flags: Mapping[str, str] | None = None
) -> M:
    """``model`` built from command-line values; a value it rejects raises
    :class:`UsageError` naming the flag (``flags`` maps a field to its flag where that is
    not ``--field-name``), the value and the model's reason."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        flag = (flags or {}).get(field) or "--" + field.replace("_", "-")
        value = values.get(field, err.get("input"))
        raise UsageError(f"{flag} {value!r}: {err['msg']}") from None
