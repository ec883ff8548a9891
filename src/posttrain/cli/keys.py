"""``posttrain keys create|list|revoke``: API keys of ``posttrain serve``.

A key is printed once, at creation; the workspace keeps only its hash
(``.posttrain/keys.json``). Exit codes: 0 success, 2 a usage error (a name in use, no
such key).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WorkspaceOpt, console, err_console, print_json
from posttrain.workspace import Workspace

if TYPE_CHECKING:
    from posttrain.serve.keys import KeyStore

keys_app = typer.Typer(help="API keys of `posttrain serve`.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _store(workspace: Path) -> KeyStore:
    from posttrain.serve.keys import KeyStore

    return KeyStore(Workspace(workspace).cache)


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", help="Who or what uses the key."),
    scope: str = typer.Option("chat", "--scope", help="chat | admin"),
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from posttrain.errors import UsageError

    if scope not in ("chat", "admin"):
        raise UsageError(f"--scope {scope!r}: use chat or admin")
    chosen: Literal["chat", "admin"] = "admin" if scope == "admin" else "chat"
    created = _store(workspace).create(name, chosen)
    if json_out:
        print_json(created.model_dump())
        return
    print(created.key)
    err_console.print(
        f"[green]created[/] key {name!r} (scope {scope}); it is shown only now. "
        "Send it as `Authorization: Bearer <key>`."
    )


@keys_app.command("list")
def keys_list(workspace: WorkspaceOpt = Path("."), json_out: JsonOpt = False) -> None:
    """The keys: name, scope, first characters, created, revoked."""
    keys = _store(workspace).read().keys
    if json_out:
        print_json([k.model_dump(exclude={"sha256"}) for k in keys])
        return
    table = Table("name", "scope", "prefix", "created", "revoked")
    for k in keys:
        table.add_row(k.name, k.scope, k.prefix + "…", k.created_at, "yes" if k.revoked else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    name: str = typer.Argument(..., help="The key's name."),
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Revoke a key (a running server picks it up on POST /admin/reload or a restart)."""
    _store(workspace).revoke(name)
    console.print(f"revoked key {name!r}")
