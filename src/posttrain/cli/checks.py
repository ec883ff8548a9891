"""``posttrain checks list|calibrate``."""

from __future__ import annotations

import typer
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, print_json

checks_app = typer.Typer(help="The check registry and the refusal detector.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")


@checks_app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registered checks with their arguments."""
    from posttrain.checks import describe_check, list_checks

    infos = [describe_check(name) for name in list_checks()]
    if json_out:
        print_json([i.model_dump(mode="json") for i in infos])
        return
    table = Table(title="Registered checks (contract: check: {name, args})")
    for col in ("name", "arguments", "what it checks"):
        table.add_column(col, overflow="fold")
    for info in infos:
        args = "\n".join(
            f"{a.name}: {a.type}" + ("" if a.required else f" = {a.default!r}") for a in info.args
        )
        table.add_row(info.name, args or "-", info.summary)
    console.print(table)


@checks_app.command("calibrate")
def calibrate_cmd(
    split: str = typer.Option("heldout", "--split", help="heldout (default) or tune."),
    require: float | None = typer.Option(
        None, "--require", min=0.0, max=1.0, help="Exit 1 if precision or recall is below this."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Precision, recall and F1 of the refusal detector on the labelled set."""
    from posttrain.checks.calibrate import calibrate
    from posttrain.errors import UsageError

    if split not in ("heldout", "tune"):
        raise UsageError(f"--split must be heldout or tune (got {split!r})")
    report = calibrate(split)  # type: ignore[arg-type]
    if json_out:
        print_json(report.to_json())
    else:
        table = Table(title=f"Refusal detector on the {split} split (positive class: refusal)")
        for col in ("lang", "n", "precision", "recall", "F1", "TP", "FP", "FN", "TN"):
            table.add_column(col, justify="right" if col != "lang" else "left")
        rows = [*sorted(report.by_lang.items()), ("overall", report.overall)]
        for name, c in rows:
            table.add_row(
                f"[bold]{name}[/]" if name == "overall" else name,
                str(c.n),
                f"{c.precision:.3f}",
                f"{c.recall:.3f}",
                f"{c.f1:.3f}",
                str(c.tp),
                str(c.fp),
                str(c.fn),
                str(c.tn),
            )
        console.print(table)
        console.print(f"[dim]labelled set: {report.labelled_set}[/]")
        if report.misclassified:
            console.print(f"[bold]{len(report.misclassified)} misclassified[/]")
            for m in report.misclassified:
                text = m.text.replace("\n", " / ")
                console.print(
                    f"  {m.id} [{m.kind}] label={m.label} predicted={m.predicted}: {text[:160]}",
                    highlight=False,
                    markup=False,
                )
        else:
            console.print("no misclassified items")
    o = report.overall
    if require is not None and (o.precision < require or o.recall < require):
        raise typer.Exit(1)
