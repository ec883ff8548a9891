"""``posttrain contract lint|show``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.panel import Panel
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, print_json

contract_app = typer.Typer(help="Check and show the behaviour contract.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")

_PATH = typer.Argument(Path("contract.yaml"), help="Contract file (default ./contract.yaml).")


@contract_app.command("lint")
def lint(
    path: Path = _PATH,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Validate the contract; print every problem with its line. Exits 2 on errors."""
    from posttrain.contract import lint_contract

    result = lint_contract(path)
    if json_out:
        print_json(
            {
                "path": str(path),
                "ok": result.ok,
                "content_hash": result.contract.content_hash if result.contract else None,
                "errors": [e.model_dump() for e in result.errors],
                "warnings": [w.model_dump() for w in result.warnings],
            }
        )
    else:
        for issue in result.errors:
            err_console.print(f"[bold red]error:[/] {issue}", highlight=False, soft_wrap=True)
        for issue in result.warnings:
            err_console.print(f"[yellow]warning:[/] {issue}", highlight=False, soft_wrap=True)
        if result.contract is not None:
            c = result.contract
            hard = sum(cl.severity == "hard" for cl in c.clauses)
            console.print(
                f"[green]ok[/] {path}: {c.product}, {len(c.clauses)} clauses "
                f"({hard} hard, {len(c.clauses) - hard} soft), hash {c.content_hash[:12]}"
            )
    if not result.ok:
        raise typer.Exit(2)


@contract_app.command("show")
def show(
    path: Path = _PATH,
    canary: str | None = typer.Option(None, "--canary", help="Render with this canary token."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the clauses as a table and the rendered system prompt."""
    from posttrain.contract import load_contract

    contract = load_contract(path)
    prompt = contract.render_system_prompt(canary=canary)
    if json_out:
        print_json(
            {
                **contract.model_dump(mode="json"),
                "content_hash": contract.content_hash,
                "rendered_system_prompt": prompt,
            }
        )
        return
    table = Table(title=f"{contract.product} contract — {len(contract.clauses)} clauses")
    for col in ("id", "dimension", "severity", "threshold", "applies to", "check"):
        table.add_column(col, overflow="fold")
    for cl in contract.clauses:
        args = ", ".join(
            f"{k}={'…' if isinstance(v, (dict, list)) and len(str(v)) > 30 else v}"
            for k, v in cl.check.args.items()
        )
        sev = "[bold red]hard[/]" if cl.severity == "hard" else "[yellow]soft[/]"
        table.add_row(
            cl.id,
            cl.dimension,
            sev,
            f"{cl.threshold:.2f}",
            ", ".join(cl.applies_to),
            f"{cl.check.name}({args})",
        )
    console.print(table)
    console.print(Panel(prompt, title="system prompt (rendered)", expand=False), highlight=False)
    console.print(f"[dim]content hash {contract.content_hash}[/]")
