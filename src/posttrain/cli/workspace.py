"""``posttrain init``: a new workspace from the example."""

from __future__ import annotations

from pathlib import Path

import typer

from posttrain.cli._app import app
from posttrain.cli._common import console, print_json


@app.command()
def init(
    directory: Path = typer.Argument(..., help="Folder for the new workspace."),
    force: bool = typer.Option(False, "--force", help="Copy into a non-empty folder."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a workspace from the ShopMate example (contract, failures, regression set)."""
    from posttrain.workspace import init_workspace

    ws = init_workspace(directory, force=force)
    files = sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*") if p.is_file())
    if json_out:
        print_json({"workspace": str(ws.root), "files": files})
        return
    console.print(f"[green]created[/] workspace {ws.root} ({len(files)} files)")
    console.print(f"next: cd {ws.root} && posttrain contract lint && posttrain data build")
