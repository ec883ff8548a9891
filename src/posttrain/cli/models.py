"""``posttrain models list|prepare``."""

from __future__ import annotations

import typer
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, print_json

models_app = typer.Typer(help="List and prepare models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_models(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the known model names and whether each is prepared in the cache."""
    from posttrain.models import DEFAULT_MODEL, KNOWN_MODELS, resolve

    rows: list[dict[str, str | bool]] = []
    for name in KNOWN_MODELS:
        info = resolve(name)
        rows.append(
            {
                "name": name,
                "default": name == DEFAULT_MODEL,
                "prepared": info.prepared,
                "path": str(info.path),
                "description": info.description,
            }
        )
    if json_out:
        print_json(rows)
        return
    table = Table(title="Known models (or pass a local HF folder)")
    for col in ("name", "prepared", "description"):
        table.add_column(col)
    for row in rows:
        name = f"{row['name']} [dim](default)[/]" if row["default"] else str(row["name"])
        table.add_row(name, "yes" if row["prepared"] else "no", str(row["description"]))
    console.print(table)


@models_app.command("prepare")
def prepare_model(
    name: str = typer.Argument("smollm2-135m-instruct", help="Model name or local folder."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Convert again even if cached."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Convert or build a model into the cache once; print where it is."""
    from posttrain.models import fingerprint, prepare

    path = prepare(name, show_progress=not json_out, rebuild=rebuild)
    fp = fingerprint(name)
    if json_out:
        print_json({"name": name, "path": str(path), "fingerprint": fp})
    else:
        console.print(f"[green]ready[/] {name} → {path} (fingerprint {fp})")
