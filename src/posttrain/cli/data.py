"""``posttrain data build`` and ``posttrain data pii-eval``.

Exit codes: 0 built (or PII targets met), 1 blocked by a quality rule (or PII targets
missed), 2 unusable input file, config or flag, an input with no records, or no
``contract.yaml`` (unless ``--no-contract``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, print_json
from posttrain.errors import UsageError

if TYPE_CHECKING:
    from posttrain.data import DatasetBuild

data_app = typer.Typer(
    help="Failures -> de-identified SFT records and preference pairs.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


def _pairs(items: list[str], flag: str, example: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE", hint=f"e.g. {flag} {example}")
        out[key.strip()] = value.strip()
    return out


@data_app.command("build")
def build(
    workspace: Path = typer.Option(Path("."), "--workspace", "-w", help="Workspace folder."),
    inputs: list[Path] = typer.Option(
        [],
        "--input",
        "-i",
        help="Failure file(s): .jsonl, .csv or .parquet [default: data/failures.jsonl].",
    ),
    maps: list[str] = typer.Option(
        [], "--map", help="Field mapping OURS=THEIRS, e.g. --map prompt=text (repeatable)."
    ),
    overrides: list[str] = typer.Option(
        [], "--override", help='Let a failing rule pass: RULE="reason" (recorded; repeatable).'
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML data config (DataConfig fields)."
    ),
    workers: int = typer.Option(
        0,
        "--workers",
        min=0,
        help="De-identification processes (0: one per core for large inputs, else 1).",
    ),
    no_contract: bool = typer.Option(
        False,
        "--no-contract",
        help="Build without contract.yaml: no failure class is required (class coverage off).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the DatasetBuild as JSON."),
) -> None:
    """Build sft.jsonl, prefs.jsonl, buckets, quality.json, datasheet and manifest."""
    from posttrain.data import RULE_NAMES, DataConfig, build_dataset, load_data_config
    from posttrain.data.config import check_field_map

    fields: dict[str, object] = {"workspace": workspace}
    if inputs:
        fields["inputs"] = inputs
    if maps:
        field_map = _pairs(maps, "--map", "prompt=text")
        try:
            check_field_map(field_map)
        except ValueError as exc:
            raise UsageError(
                f"--map: {exc}", hint="e.g. --map prompt=question reads column question as prompt"
            ) from None
        fields["field_map"] = field_map
    ov = _pairs(overrides, "--override", 'near_duplicates="templated FAQ, reviewed by A. Li"')
    unknown = sorted(set(ov) - set(RULE_NAMES))
    if unknown:
        raise UsageError(
            f"--override: unknown rule(s) {unknown}", hint=f"rules: {', '.join(RULE_NAMES)}"
        )
    if config is not None:
        cfg = load_data_config(config, **fields)
    else:
        try:
            cfg = DataConfig.model_validate(fields)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if ov:
        try:
            cfg = DataConfig.model_validate(cfg.model_dump() | {"overrides": cfg.overrides | ov})
        except ValueError as exc:
            raise UsageError(f"--override: {exc}") from None
    if no_contract:
        cfg = cfg.model_copy(update={"contract": None})

    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=json_out,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = build_dataset(cfg, on_progress=on_progress, workers=workers)

    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        _render(result)
    if cfg.contract is None:
        (err_console if json_out else console).print(
            "[yellow]no contract[/]: class coverage is not checked (no failure class is required)"
        )
    raise typer.Exit(result.exit_code)


def _render(result: DatasetBuild) -> None:
    c = result.counts
    table = Table(title="buckets", show_edge=False)
    table.add_column("label")
    table.add_column("records", justify="right")
    for label, n in c.buckets.items():
        table.add_row(label, str(n))
    console.print(table)
    if c.quarantine_reasons:
        q = Table(title="quarantined", show_edge=False)
        q.add_column("reason")
        q.add_column("records", justify="right")
        for reason, n in sorted(c.quarantine_reasons.items(), key=lambda kv: -kv[1]):
            q.add_row(reason, str(n))
        console.print(q)
    if c.torn_live_lines:
        console.print(
            f"[yellow]note:[/] skipped {c.torn_live_lines} torn last line(s) of live capture "
            "files (a server crash mid-append; those records were never acknowledged)"
        )
    for rule in result.failing_rules:
        console.print(f"[red]rule failed:[/] {rule} (see {result.data_dir}/quality.json)")
    for rule, reason in result.overridden_rules.items():
        console.print(f"[yellow]rule overridden:[/] {rule}: {reason}")
    console.print(
        f"read {c.read} = accepted {c.accepted} + quarantined {c.quarantined}; "
        f"sft {c.sft}, prefs {c.prefs}, no chosen {c.no_chosen}"
    )
    if result.status == "built":
        console.print(f"[green]built[/] data version {result.data_version} in {result.data_dir}")
    else:
        console.print(
            '[red]blocked[/]: fix the data or override with --override RULE="reason"; '
            "no dataset or manifest was written"
        )


@data_app.command("pii-eval")
def pii_eval(
    labelled: Path | None = typer.Option(
        None, "--set", help="Labelled set [default: the shipped one]."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recall and precision of de-identification on the labelled PII set."""
    from posttrain.data import evaluate_pii

    result = evaluate_pii(labelled)
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        table = Table(
            title=f"PII eval ({result.items} strings, policy {result.policy})", show_edge=False
        )
        cols = ("entity/lang", "split", "expected", "found", "recall", "detections", "precision")
        for col in cols:
            table.add_column(col, justify="left" if col in cols[:2] else "right")
        for split, scores in result.per_split.items():
            for key, s in scores.items():
                table.add_row(
                    key,
                    split,
                    str(s.expected),
                    str(s.found),
                    f"{s.recall:.4f}",
                    str(s.detections),
                    f"{s.precision:.4f}",
                )
        console.print(table)
        if result.heldout_by_source:
            by_source = Table(
                title="held-out names and addresses by source (each written apart)",
                show_edge=False,
            )
            for col in ("source", "entity/lang", "expected", "recall", "precision"):
                by_source.add_column(col, justify="left" if col == "source" else "right")
            for key, s in result.heldout_by_source.items():
                source, entity = key.rsplit(" ", 1)
                by_source.add_row(
                    source, entity, str(s.expected), f"{s.recall:.4f}", f"{s.precision:.4f}"
                )
            console.print(by_source)
        mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
        console.print(
            f"recall {result.recall:.4f} (target {result.recall_target} for the pattern "
            f"types), precision {result.precision:.4f} (target {result.precision_target}), "
            f"held-out recall of names and addresses per language (target "
            f"{result.heldout_recall_target}): {mark}"
        )
        for why in result.failed_targets:
            console.print(f"[red]not met:[/] {why}")
        if result.missed:
            console.print(f"missed in: {', '.join(result.missed[:20])}")
        if result.false_positives:
            console.print(f"false positives in: {', '.join(result.false_positives[:20])}")
    raise typer.Exit(result.exit_code)
