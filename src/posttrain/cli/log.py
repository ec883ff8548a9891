"""``posttrain log verify``: check the audit log's hash chain.

Exit codes: 0 the chain verifies, 1 an entry is broken (named), 2 usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WorkspaceOpt, console, err_console, print_json
from posttrain.workspace import Workspace

log_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(log_app, name="log")


@log_app.command("verify")
def log_verify(
    workspace: WorkspaceOpt = Path("."),
    file: Annotated[Path | None, typer.Option("--file", help="Another log file.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check the audit log's hash chain; exit 1 naming the first bad entry."""
    from posttrain.core.auditlog import verify_log

    result = verify_log(file or Workspace(workspace).audit_log)
    if json_out:
        print_json(result.model_dump())
    elif result.ok:
        console.print(f"[green]ok[/] {result.entries} entries, head {result.head_hash}")
    else:
        where = f"entry seq {result.bad_seq}" if result.bad_seq is not None else "an entry"
        line = f" (line {result.bad_line})" if result.bad_line is not None else ""
        reason = escape(result.reason or "")
        err_console.print(f"[bold red]broken[/] {escape(result.path)}: {where}{line}: {reason}")
        err_console.print(f"  {result.entries} entries before it verify")
    raise typer.Exit(0 if result.ok else 1)
