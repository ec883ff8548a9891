"""``posttrain log verify | checkpoint``: check the audit log against its anchors; sign its head.

Exit codes: 0 the log verifies (or a checkpoint was written), 1 it is broken (what is
missing or rewritten is named), 2 usage error (no key, an empty log).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WorkspaceOpt, console, err_console, print_json

log_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(log_app, name="log")


@log_app.command("verify")
def log_verify(
    workspace: WorkspaceOpt = Path("."),
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Another log file (its chain, head file, checkpoints)."),
    ] = None,
    require_checkpoint: Annotated[
        bool,
        typer.Option("--require-checkpoint", help="Also fail when no signed checkpoint checks."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check the audit log: its hash chain, its head file, the anchors the registry and
    every verdict recorded, and (with the waiver key) its signed checkpoints."""
    from posttrain.core.auditlog import verify_log
    from posttrain.release import checkpoint_verifier, verify_workspace_log

    if file is not None:
        result = verify_log(
            file, checkpoints=checkpoint_verifier(), require_checkpoint=require_checkpoint
        )
    else:
        result = verify_workspace_log(workspace, require_checkpoint=require_checkpoint)
    if json_out:
        print_json(result.model_dump(mode="json"))
    elif result.ok:
        console.print(
            f"[green]ok[/] {result.entries} entries, head {result.head_hash}, "
            f"{result.anchors} anchors checked"
        )
        if result.checkpoints.note:
            console.print(f"  checkpoints: {escape(result.checkpoints.note)}")
    else:
        where = f"entry seq {result.bad_seq}" if result.bad_seq is not None else "an entry"
        line = f" (line {result.bad_line})" if result.bad_line is not None else ""
        if result.bad_seq is not None or result.bad_line is not None or not result.problems:
            first = escape(result.reason or "")
            err_console.print(f"[bold red]broken[/] {escape(result.path)}: {where}{line}: {first}")
        else:
            err_console.print(f"[bold red]broken[/] {escape(result.path)}")
        for problem in result.problems:
            if problem.message != result.reason or result.bad_seq is None:
                err_console.print(f"  {escape(problem.message)}")
        if result.missing_from is not None:
            span = (
                f"seq {result.missing_from}"
                if result.missing_to in (None, result.missing_from)
                else f"seqs {result.missing_from}-{result.missing_to}"
            )
            err_console.print(f"  missing: {span}")
    raise typer.Exit(result.exit_code)


@log_app.command("checkpoint")
def log_checkpoint(
    workspace: WorkspaceOpt = Path("."),
    algorithm: Annotated[
        str | None,
        typer.Option("--algorithm", help="hmac-sha256 | ed25519 (default: by the key set)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Verify the log, then sign its head with the waiver key as a `checkpoint` entry, so
    a log rewritten whole by someone without the key is caught."""
    from typing import get_args

    from posttrain.errors import UsageError
    from posttrain.gate.waivers import Algorithm
    from posttrain.release import checkpoint_workspace_log

    if algorithm is not None and algorithm not in get_args(Algorithm):
        raise UsageError(f"--algorithm {algorithm!r}: use {' or '.join(get_args(Algorithm))}")
    entry = checkpoint_workspace_log(workspace, algorithm=algorithm)  # type: ignore[arg-type]
    if json_out:
        print_json(entry.model_dump(mode="json"))
        return
    head = entry.payload["head"]
    key_id = entry.payload["signature"].get("key_id")
    console.print(
        f"[green]checkpoint[/] seq {entry.seq}: signed head seq {head['seq']} "
        f"{head['hash']} (key {key_id})"
    )
    console.print("  keep this head somewhere outside the workspace too", style="dim")
