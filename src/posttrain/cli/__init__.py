"""The ``posttrain`` command: a thin shell over the library.

Each stage keeps its commands in its own module here (``cli/models.py``, ``cli/chat.py``,
...) and registers them on :data:`app` in :func:`_register`. Commands parse arguments, call
one library function and render the result; :func:`main` turns every
:class:`~posttrain.errors.PosttrainError` into a message and its documented exit code.
"""

from __future__ import annotations

import sys

import typer
import typer.exceptions
from rich.markup import escape as _escape

from posttrain import __version__, errors
from posttrain.cli import _common
from posttrain.cli._app import app

# Only `app` and `main` are public: the rest is imported as modules or under underscores.
__all__ = ["app", "main"]


def _version_callback(value: bool) -> None:
    if value:
        _common.console.print(f"posttrain {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Also show the warnings and log messages of torch, transformers and the other "
        "libraries (hidden by default; posttrain's own are always shown).",
    ),
) -> None:
    """Contract-driven LLM post-training with safety gates."""
    # Before the command runs, so before it imports torch & co; closed with the command.
    if not verbose:
        ctx.with_resource(_common.quiet_third_party())


def _register() -> None:
    # One import per command group; each module adds its commands to `app`, and
    # `posttrain --help` lists them in this order (the gate and what follows it together).
    # isort: off
    from posttrain.cli import (  # noqa: F401
        chat,
        checks,
        contract,
        data,
        evaluate,
        gate,
        waive,
        log,
        registry,
        release,
        replay,
        review,
        serve,
        keys,
        models,
        run,
        train,
        workspace,
    )
    # isort: on


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    try:
        rv = app(args=argv, standalone_mode=False)
    except errors.PosttrainError as exc:
        # The message is the user's own material (paths, fields, values): printed as text,
        # never read as rich markup, and never broken at the 80 columns rich assumes when
        # stderr is not a terminal, so a path or "line N" stays whole to search and copy.
        _common.err_console.print("[bold red]error:[/]", _escape(exc.message), soft_wrap=True)
        if exc.hint:
            _common.err_console.print("[yellow]hint:[/]", _escape(exc.hint), soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        _common.err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        _common.err_console.print("interrupted")
        return 130
    except typer.exceptions.TyperException as exc:  # the CLI's own (bad option, missing arg)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", 2))
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
