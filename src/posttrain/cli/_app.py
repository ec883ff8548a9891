"""The root typer application; stage modules add their commands to it."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="posttrain",
    help="Contract-driven LLM post-training with safety gates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
