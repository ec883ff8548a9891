"""Shared pieces of the CLI: consoles, JSON output, the common options, validation of
options through the library's config models, and the quiet mode that hides third-party
warnings and log messages unless ``posttrain -v``."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TextIO, TypeVar

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
    "quiet_third_party",
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


# -- quiet mode ------------------------------------------------------------------------

# Packages whose warnings and log records a user of the CLI cannot act on (torchao's
# "Failed to load" of kernels this machine lacks, torch's pytree notices, transformers'
# deprecations): hidden by default, shown with `posttrain -v`. Our own stay visible.
THIRD_PARTY = (
    "accelerate",
    "datasets",
    "huggingface_hub",
    "peft",
    "presidio_analyzer",
    "presidio_anonymizer",
    "safetensors",
    "spacy",
    "thinc",
    "tokenizers",
    "torch",
    "torchao",
    "transformers",
    "trl",
)
_LOGGERS = (*THIRD_PARTY, "presidio-analyzer", "presidio-anonymizer")
# Libraries that set their own logger's level when first imported read it from these
# documented variables (torch: TORCH_LOGS, where "-NAME" sets a component to ERROR);
# a value the user set wins.
_LOG_ENV = {
    "TORCH_LOGS": "-torch",
    "TRANSFORMERS_VERBOSITY": "error",
    "DATASETS_VERBOSITY": "error",
    "HF_HUB_VERBOSITY": "error",
}


@contextlib.contextmanager
def quiet_third_party() -> Iterator[None]:
    """While open, third-party warnings and log records below ERROR are not shown.

    A warning is dropped when the code that issued it belongs to a :data:`THIRD_PARTY`
    package, wherever its ``stacklevel`` points (transformers attributes its deprecations
    to our call site). Logger levels and environment variables are restored on exit, so
    calling :func:`posttrain.cli.main` leaves the process as it found it.
    """
    env = {name: os.environ.get(name) for name in _LOG_ENV}
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name, value in _LOG_ENV.items():
        os.environ.setdefault(name, value)
    for name in _LOGGERS:  # for the plain loggers, and the libraries already imported
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # restores showwarning and the filters on exit
            warnings.showwarning = _unless_third_party(warnings.showwarning)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for name, old in env.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _unless_third_party(show: Any) -> Any:
    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if not _issued_by_third_party():
            show(message, category, filename, lineno, file, line)

    return showwarning


def _issued_by_third_party() -> bool:
    """Whether the code that called ``warnings.warn`` is in a third-party package: the
    first frame above this hook that is not the warnings machinery."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in ("warnings", __name__):
        frame = frame.f_back
    module = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
    return module.partition(".")[0] in THIRD_PARTY
