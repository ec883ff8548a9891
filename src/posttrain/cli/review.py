"""``posttrain review sample|label|import|agreement``: the human review queue.

Exit codes: 0 done, 2 a usage or input error (unreadable results, a queue line that does
not validate: nothing from that file is recorded), 130 when the labelling is interrupted
(what was labelled before is kept).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WorkspaceOpt, console, print_json

review_app = typer.Typer(
    help="The human review queue: sample answers, label them, measure the judge against people.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

_KEYS = {"w": "withheld", "c": "complied", "p": "partial"}


def _labels_file(workspace: Path) -> Path:
    from posttrain.review import LABELS_FILE

    return workspace / LABELS_FILE


@review_app.command("sample")
def sample_cmd(
    results: Path = typer.Argument(
        ..., help="An evaluation's result folder (items.jsonl + summary.json) or items.jsonl."
    ),
    n: int = typer.Option(..., "--n", min=1, help="Items to pick (every uncertain one first)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the stratified sample."),
    batch: str | None = typer.Option(None, "--batch", help="Name of this batch of labels."),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The queue file (default: reports/review/queue-<batch>.jsonl)."),
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Pick answers for a person: every uncertain item, then a stratified random sample
    (class × language × verdict), into a queue file to label."""
    from posttrain.review import read_labels, sample_for_review, write_queue

    name = batch or "batch-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    labelled = {x.key for x in read_labels(_labels_file(workspace))}
    queue = sample_for_review(results, n, seed=seed, batch=name, labelled=labelled)
    path = write_queue(out or workspace / "reports" / "review" / f"queue-{name}.jsonl", queue.items)
    if json_out:
        print_json({"queue": str(path), "batch": name, **queue.model_dump(exclude={"items"})})
        return
    table = Table(title=f"Review queue {name}: {len(queue.items)} items")
    table.add_column("class / lang / verdict")
    table.add_column("items", justify="right")
    for stratum, count in queue.strata.items():
        table.add_row(stratum, str(count))
    console.print(table)
    console.print(
        f"{queue.n_uncertain} uncertain first, {queue.n_stratified} sampled (seed {seed}); "
        f"left out: {queue.already_labelled} already labelled, {queue.judge_errors} judge errors"
    )
    if queue.without_prompt:
        console.print(
            f"[yellow]{queue.without_prompt} items without their prompt[/] (the suite file is "
            "not where the evaluation read it): label them from the answer alone"
        )
    console.print(f"wrote {path}\nlabel it: posttrain review label {path} --reviewer NAME")


@review_app.command("label")
def label_cmd(
    queue: Path = typer.Argument(..., help="A queue file from `posttrain review sample`."),
    reviewer: str = typer.Option(..., "--reviewer", help="Your name (recorded with each label)."),
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Label the queue in the terminal: w(ithheld), c(omplied), p(artial), s(kip), q(uit).
    Each label is recorded at once in reports/review/labels.jsonl."""
    from posttrain.errors import UsageError
    from posttrain.review import append_labels, read_labels, read_queue, to_label

    if not reviewer.strip():
        raise UsageError("--reviewer must name you")
    labels_file = _labels_file(workspace)
    done = {(x.key, x.completion_sha256) for x in read_labels(labels_file)}
    items = [item for _, item in read_queue(queue)]
    todo = [i for i in items if (i.key, i.completion_sha256) not in done]
    console.print(
        f"{len(todo)} of {len(items)} items to label "
        f"({len(items) - len(todo)} already labelled); w=withheld c=complied p=partial "
        "s=skip q=quit"
    )
    recorded = skipped = 0
    for pos, item in enumerate(todo, start=1):
        body = f"[bold]request[/]\n{escape(item.prompt or '(prompt not found)')}"
        if item.context:
            body += f"\n\n[bold]context[/]\n{escape(item.context)}"
        body += f"\n\n[bold]answer[/]\n{escape(item.completion)}"
        judge = "uncertain" if item.judge_uncertain else (item.judge_outcome or "-")
        body += f"\n\n[dim]judge: {escape(judge)} - {escape(item.judge_evidence)}[/]"
        title = f"{pos}/{len(todo)} {item.suite}/{item.id} ({item.group}, {item.lang})"
        console.print(Panel(body, title=escape(title), expand=False))
        key = Prompt.ask("label", choices=["w", "c", "p", "s", "q"], console=console)
        if key == "q":
            break
        if key == "s":
            skipped += 1
            continue
        append_labels(labels_file, [to_label(item, _KEYS[key], reviewer.strip())])  # type: ignore[arg-type]
        recorded += 1
    console.print(f"recorded {recorded} labels ({skipped} skipped) in {labels_file}")


@review_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="A queue file with `label` (and `reviewer`) filled in."),
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="For lines that name no reviewer."
    ),
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Record a filled-in queue file (validated as a whole: one bad line records nothing)."""
    from posttrain.review import import_queue

    result = import_queue(file, _labels_file(workspace), reviewer)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    console.print(
        f"recorded {result.recorded} labels in {result.labels_file} "
        f"({result.unlabelled} lines left unlabelled)"
    )


@review_app.command("agreement")
def agreement_cmd(
    by: str = typer.Option("month", "--by", help="month, week or batch."),
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """The judge against the people: Cohen's kappa, precision and recall (refusal as the
    positive class) per month, week or batch, and overall."""
    from posttrain.core.fmt import fmt_num
    from posttrain.errors import UsageError
    from posttrain.review import agreement, read_labels

    if by not in ("month", "week", "batch"):
        raise UsageError(f"--by must be month, week or batch (got {by!r})")
    labels = read_labels(_labels_file(workspace))
    report = agreement(labels, by)  # type: ignore[arg-type]
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    if not labels:
        console.print(
            f"no labels yet in {_labels_file(workspace)}: `posttrain review sample` first"
        )
        return
    table = Table(title=f"Refusal judge vs people, by {by} ({report.n_labels} labelled answers)")
    for col in ("period", "n", "kappa", "agreement", "precision", "recall", "uncertain", "who"):
        table.add_column(col, justify="left" if col in ("period", "who") else "right")

    def ci(value: float | None, interval: tuple[float, float] | None) -> str:
        if value is None:
            return "–"
        tail = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
        return f"{value:.3f}{tail}"

    for row in [*report.rows, report.overall]:
        table.add_row(
            f"[bold]{row.period}[/]" if row.period == "overall" else row.period,
            str(row.n),
            fmt_num(row.kappa),
            fmt_num(row.agreement),
            ci(row.precision, row.precision_ci),
            ci(row.recall, row.recall_ci),
            f"{row.uncertain} ({row.uncertain_refused} refused)",
            ", ".join(row.reviewers),
        )
    console.print(table)
