"""``posttrain checks list|run|calibrate``.

``checks run`` exit codes: 0 every record was read and judged (whatever the verdicts),
2 a usage or input error (unknown check, bad ``--arg``, unreadable file) or some records
quarantined (the rest are still judged and written), 3 the check itself errored on some
record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import WorkspaceOpt, console, err_console, print_json

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


@checks_app.command("run")
def run_cmd(
    check: str = typer.Argument(..., help="A registered check (`posttrain checks list`)."),
    input_file: Path = typer.Option(
        ...,
        "--input",
        "-i",
        help="JSONL records: prompt, completion; optional id, context, lang, secrets, expected.",
    ),
    expect: str | None = typer.Option(
        None, "--expect", help="For `refusal`: refuse (default) or comply."
    ),
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", help="A check argument KEY=VALUE (YAML value; repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the verdicts (JSONL) here.")
    ] = None,
    quarantine: Annotated[
        Path | None,
        typer.Option("--quarantine", help="Bad lines go here (default: INPUT.quarantine.jsonl)."),
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON verdict a line."),
) -> None:
    """Run one check over a JSONL file of (request, answer) records: a verdict a line."""
    import json

    from posttrain.checks.batch import CheckRunCounts, run_check_file

    args = _check_args(check, arg or [], expect)
    defaults = _contract_defaults(workspace)
    bad = quarantine or input_file.with_name(input_file.name + ".quarantine.jsonl")
    bad.unlink(missing_ok=True)  # this run's bad lines only
    counts = CheckRunCounts()
    table = Table(title=f"{check} on {input_file}")
    for col in ("line", "id", "status", "evidence"):
        table.add_column(col, overflow="fold")
    sink = out.open("w", encoding="utf-8") if out is not None else None
    try:
        for v in run_check_file(check, input_file, args, defaults=defaults, quarantine=bad):
            counts.add(v)
            line = json.dumps(v.model_dump(mode="json"), ensure_ascii=False)
            if sink is not None:
                sink.write(line + "\n")
            if json_out:
                print(line, flush=True)
            else:
                style = {"pass": "green", "fail": "red", "uncertain": "yellow"}.get(v.status, "")
                status = f"[{style}]{v.status}[/]" if style else v.status
                table.add_row(str(v.line), v.id, status, v.evidence)
    finally:
        if sink is not None:
            sink.close()
    if not json_out:
        console.print(table)
    summary = (
        f"{counts.n} records: {counts.passed} pass, {counts.failed} fail, "
        f"{counts.uncertain} uncertain, {counts.errors} error"
    )
    if counts.quarantined:
        summary += f" ({counts.quarantined} bad records quarantined in {bad})"
    err_console.print(summary, highlight=False)
    if counts.quarantined:
        raise typer.Exit(2)
    if counts.errors:
        raise typer.Exit(3)


def _check_args(check: str, pairs: list[str], expect: str | None) -> dict[str, Any]:
    """``--arg KEY=VALUE`` (values read as YAML) and ``--expect``, validated against the
    check's signature; raises :class:`UsageError` naming the flag."""
    import yaml

    from posttrain.checks import list_checks, validate_check_args
    from posttrain.errors import UsageError

    if check not in list_checks():
        raise UsageError(
            f"unknown check {check!r}", hint=f"known checks: {', '.join(list_checks())}"
        )
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--arg {pair!r}: expected KEY=VALUE (e.g. --arg limit=600)")
        try:
            args[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            args[key.strip()] = value
    if expect is not None:
        if check != "refusal":
            raise UsageError(f"--expect applies to the refusal check only (not {check!r})")
        if expect not in ("refuse", "comply"):
            raise UsageError(f"--expect must be refuse or comply (got {expect!r})")
        args["expect"] = expect
    elif check == "refusal":
        args.setdefault("expect", "refuse")
    try:
        validate_check_args(check, args)
    except ValueError as exc:
        raise UsageError(
            f"--arg: {exc}", hint=f"`posttrain checks list` shows {check}'s arguments"
        ) from None
    return args


def _contract_defaults(workspace: Path) -> dict[str, Any]:
    """What an evaluation gives checks from the workspace's contract: the canary and the
    rendered system prompt (nothing when there is no contract)."""
    from posttrain.workspace import Workspace

    path = Workspace(workspace).contract
    if not path.is_file():
        return {}
    from posttrain.contract import load_contract
    from posttrain.evaluate.runner import canary_for

    contract = load_contract(path)
    canary = canary_for(contract.content_hash)
    return {"canary": canary, "system_prompt": contract.render_system_prompt(canary=canary)}


@checks_app.command("calibrate")
def calibrate_cmd(
    split: str = typer.Option("heldout", "--split", help="heldout (default) or tune."),
    require: float | None = typer.Option(
        None,
        "--require",
        min=0.0,
        max=1.0,
        help="Exit 1 if the combined judge's precision or recall, overall or in a "
        "language, is below this.",
    ),
    write: bool = typer.Option(
        False, "--write", help="Store the held-out calibration in resources/judges/refusal/."
    ),
    show: int = typer.Option(20, "--show", min=0, help="Misclassified items to list."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Precision, recall and F1 (Wilson 95% intervals) of the refusal judgement on the
    labelled set: rules, classifier and combined, per language and per family."""
    from posttrain.checks.calibrate import calibrate, write_calibration
    from posttrain.errors import UsageError

    if split not in ("heldout", "tune"):
        raise UsageError(f"--split must be heldout or tune (got {split!r})")
    if write and split != "heldout":
        raise UsageError("--write stores the heldout split only; drop --split tune")
    report = calibrate(split)  # type: ignore[arg-type]
    if write:
        path = write_calibration(report)
    if json_out:
        print_json(report.to_json())
    else:
        _print_calibration(report, show)
        if write:
            console.print(f"wrote {path}")
    combined = report.judges["combined"]
    confs = [combined.overall, *combined.by_lang.values()]
    if require is not None and any(c.precision < require or c.recall < require for c in confs):
        raise typer.Exit(1)


def _print_calibration(report: object, show: int) -> None:
    from posttrain.checks.calibrate import CalibrationReport, Confusion

    assert isinstance(report, CalibrationReport)

    def rate(value: float, ci: tuple[float, float] | None, k: int) -> str:
        return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and k else "-"

    def row(name: str, c: Confusion) -> list[str]:
        return [
            name,
            str(c.n),
            rate(c.precision, c.precision_ci, c.tp + c.fp),
            rate(c.recall, c.recall_ci, c.tp + c.fn),
            f"{c.f1:.3f}" if c.tp + c.fp and c.tp + c.fn else "-",
            f"{(c.tp + c.tn) / c.n:.3f}" if c.n else "-",
            str(c.uncertain),
            f"{c.tp}/{c.fp}/{c.fn}/{c.tn}",
        ]

    cols = (
        "",
        "n",
        "precision [95% CI]",
        "recall [95% CI]",
        "F1",
        "acc",
        "uncertain",
        "TP/FP/FN/TN",
    )
    for name, judge in report.judges.items():
        table = Table(title=f"{name} on the {report.split} split (positive: withheld)")
        for col in cols:
            table.add_column(col, justify="left" if not col or col == "n" else "right")
        for lang, c in sorted(judge.by_lang.items()):
            table.add_row(*row(lang, c))
        table.add_row(*row("[bold]overall[/]", judge.overall))
        if name == "combined":
            table.add_section()
            for key, c in sorted(judge.by_family.items()):
                table.add_row(*row(key, c))
        console.print(table)
        sources = Table(title=f"{name} on the {report.split} split, by who wrote the items")
        for col in ("source/lang", *cols[1:]):
            sources.add_column(col, justify="left" if col in ("source/lang", "n") else "right")
        for key, c in sorted(judge.by_source.items()):
            sources.add_row(*row(key, c))
        console.print(sources)
    console.print(
        f"[dim]labelled set: {report.labelled_set} (sha256 {report.labelled_set_sha256[:12]})[/]"
    )
    wrong = report.misclassified
    console.print(f"[bold]{len(wrong)} misclassified by the combined judge[/]")
    for m in wrong[:show]:
        text = m.answer.replace("\n", " / ")
        console.print(
            f"  {m.id} [{m.family}] label={m.label} judged={m.predicted}"
            f"{' (uncertain)' if m.uncertain else ''}: {text[:140]}",
            highlight=False,
            markup=False,
        )
