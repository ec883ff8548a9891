"""``posttrain run``, ``posttrain ladder`` and ``posttrain report``: the whole loop.

Exit codes (``run`` and ``ladder``): 0 PASS (the ladder: some rung passes), 1 BLOCK (or
a blocked data build / a stopped training run; the ladder: no rung passes), 2 usage or
input error, 3 evaluation error, 4 INCONCLUSIVE.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import (
    DECISION_STYLE,
    console,
    err_console,
    given,
    print_json,
    validated,
)
from posttrain.core.fmt import MISSING, fmt_num
from posttrain.errors import UsageError
from posttrain.workspace import Workspace

if TYPE_CHECKING:
    from posttrain.evaluate.metrics import RateRow
    from posttrain.pipeline import LadderResult, LoopConfig

# Options left out (None) take LoopConfig's defaults, which also validates every value.
WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Base model name or folder.")]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", help="Training profile of the configs (quick = CPU); 'full' = none."
    ),
]
OverrideOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="KEY=VALUE override for both training configs (repeatable)."),
]
EvalLimitOpt = Annotated[
    int | None,
    typer.Option(
        "--eval-limit",
        help="Attack/over-refusal items per class and language (default: 8 with quick, else all).",
    ),
]
RegLimitOpt = Annotated[
    int | None,
    typer.Option(
        "--regression-limit",
        help="Regression items per task tag and language (default: 5 with quick, else all).",
    ),
]
TokensOpt = Annotated[int | None, typer.Option("--max-new-tokens", help="Tokens per answer.")]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="Answers per backend call.")]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="Gate policy (default: the workspace gate.yaml).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


class _RichObserver:
    """Stage lines, evaluation progress bars and training's own live line, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._progress: Progress | None = None

    @property
    def show_training(self) -> bool:
        return not self.quiet

    def stage_started(self, name: str, detail: str) -> None:
        if not self.quiet:
            err_console.print(f"[bold cyan]▶ {name}[/] {detail}")

    def stage_finished(self, name: str, status: str, seconds: float, detail: str) -> None:
        if self.quiet:
            return
        if status == "skipped":
            err_console.print(f"[dim]· {name}: skipped ({detail})[/]")
        else:
            err_console.print(f"[green]✓ {name}[/] {seconds:.1f}s  {detail}")

    def eval_progress(self, total: int) -> Callable[[int], None] | None:
        if self.quiet:
            return None
        self._progress = Progress(
            TextColumn("[bold]eval[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        task = self._progress.add_task("eval", total=total)
        self._progress.start()
        progress = self._progress
        return lambda n: progress.advance(task, n)

    def eval_done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _config(
    workspace: Path, profile: str | None, overrides: list[str] | None, **options: Any
) -> LoopConfig:
    """The loop's config from the options given (``None``: LoopConfig's default);
    raises :class:`UsageError` for a folder without a contract or a bad value."""
    from posttrain.pipeline import LoopConfig

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not Workspace(workspace).contract.is_file():
        raise UsageError(
            f"{workspace} is not a workspace (no contract.yaml)",
            hint="create one with `posttrain init DIR`, or pass --workspace DIR",
        )
    for item in overrides or []:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE", hint="e.g. --set max_steps=20")
    fields = given(workspace=workspace, train_overrides=overrides or None, **options)
    if profile is not None:
        fields["profile"] = None if profile in ("full", "none", "") else profile
    return validated(LoopConfig, fields, flags={"train_overrides": "--set"})


def _stage_table(stages: list[Any], total: float) -> Table:
    table = Table(title="stage times", show_edge=False)
    table.add_column("stage")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    for s in stages:
        table.add_row(s.name, s.status, f"{s.seconds:.1f}")
    table.add_row("[bold]total[/]", "", f"[bold]{total:.1f}[/]")
    return table


@app.command("run")
def run_cmd(
    workspace: WorkspaceOpt = Path("."),
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    dpo: Annotated[
        bool | None,
        typer.Option(
            "--dpo/--no-dpo",
            help="Train DPO on top of SFT (default: when configs/align/dpo.yaml exists).",
        ),
    ] = None,
    overrides: OverrideOpt = None,
    eval_limit: EvalLimitOpt = None,
    regression_limit: RegLimitOpt = None,
    max_new_tokens: TokensOpt = None,
    batch_size: BatchOpt = None,
    policy: PolicyOpt = None,
    promote: Annotated[
        bool | None,
        typer.Option("--promote/--no-promote", help="Register and promote on PASS."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The loop: data -> SFT -> DPO -> eval base and candidate -> gate -> release -> reports.

    Running it again resumes where it stopped (runs/<loop_id>/loop.json).
    """
    from posttrain.pipeline import run_loop

    cfg = _config(
        workspace,
        profile,
        overrides,
        model=model,
        dpo=dpo,
        eval_limit=eval_limit,
        regression_limit=regression_limit,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        policy=policy,
        promote=promote,
    )
    result = run_loop(cfg, observer=_RichObserver(quiet=json_out))  # type: ignore[arg-type]
    if json_out:
        print_json(result.model_dump(mode="json"))
        raise typer.Exit(result.exit_code)
    console.print(_stage_table(result.stages, result.total_s))
    style = DECISION_STYLE.get(result.decision, "bold")
    console.print(
        f"verdict: [{style}]{result.decision}[/]  ({result.verdict_path})", soft_wrap=True
    )
    if result.blocking:
        shown = ", ".join(result.blocking[:6])
        more = f" and {len(result.blocking) - 6} more" if len(result.blocking) > 6 else ""
        console.print(f"  blocking: {shown}{more} (see the report's gate table)")
    if result.version:
        promoted = " and promoted to champion" if result.promoted else ""
        console.print(
            f"registered {result.version}{promoted}; model card: {result.model_card}",
            soft_wrap=True,
        )
    console.print(f"experiment log: {result.experiment_log}", soft_wrap=True)
    console.print(f"report: [bold]{result.report}[/]", soft_wrap=True)
    raise typer.Exit(result.exit_code)


def _rate_cell(row: RateRow | None) -> str:
    """A rate over its 95% interval in two short lines, for the ladder's wide table."""
    if row is None or row.rate is None:
        return MISSING
    return f"{fmt_num(row.rate, 2)}\n[{fmt_num(row.ci_low, 2)},{fmt_num(row.ci_high, 2)}]"


@app.command("ladder")
def ladder_cmd(
    workspace: WorkspaceOpt = Path("."),
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    overrides: OverrideOpt = None,
    eval_limit: EvalLimitOpt = None,
    regression_limit: RegLimitOpt = None,
    max_new_tokens: TokensOpt = None,
    batch_size: BatchOpt = None,
    policy: PolicyOpt = None,
    size: Annotated[
        str, typer.Option("--size", help="Model size for the GPU-hours estimate (7B, 13B...).")
    ] = "7B",
    rlhf: Annotated[
        bool,
        typer.Option(
            "--rlhf",
            help="Also climb rung 4: a reward model, then RLOO on top of SFT (needs "
            "configs/align/reward.yaml and configs/align/ppo.yaml).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Rung 0 base, 1 guard, 2 SFT, 3 SFT+DPO: verdict, metrics, cost; the cheapest that passes.

    --rlhf adds rung 4, SFT+RLHF (reward model + RLOO): named only when no lower rung passes.

    Reuses what `posttrain run` (with DPO and the same options) and earlier ladders already did.
    """
    from posttrain.pipeline import run_ladder

    cfg = _config(
        workspace,
        profile,
        overrides,
        model=model,
        dpo=True,
        eval_limit=eval_limit,
        regression_limit=regression_limit,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        policy=policy,
        rlhf=rlhf,
    )
    result = run_ladder(cfg, size=size, observer=_RichObserver(quiet=json_out))  # type: ignore[arg-type]
    if json_out:
        print_json(result.model_dump(mode="json"))
        raise typer.Exit(result.exit_code)
    console.print(_ladder_table(result))
    console.print(f"[bold]recommendation:[/] {result.recommendation}")
    console.print(f"ladder report: {result.report}", soft_wrap=True)
    raise typer.Exit(result.exit_code)


def _ladder_table(result: LadderResult) -> Table:
    """One row per rung: decision, each ladder metric with its interval, and cost."""
    from posttrain.pipeline.ladder import LADDER_METRICS

    table = Table(title=f"the ladder ({result.loop_id}); rates with 95% intervals")
    heads = {
        "attack_hit_rate": "attack hit",
        "leak_rate": "leak",
        "over_refusal_rate": "over-refusal",
        "regression_pass_rate": "regression pass",
        "format_validity": "format ok",
    }
    table.add_column("rung", no_wrap=True)
    table.add_column("decision", no_wrap=True)
    for m in LADDER_METRICS:
        table.add_column(heads.get(m, m))
    for col in ("wall s", "tokens", f"GPU-h @{result.size}"):
        table.add_column(col, justify="right")
    for r in result.rungs:
        cells = [_rate_cell(r.metrics.get(m)) for m in LADDER_METRICS]
        table.add_row(
            f"{r.index} {r.name}",
            f"[{DECISION_STYLE.get(r.decision, 'bold')}]{r.decision}[/]",
            *cells,
            f"{r.cost.wall_s:.0f}",
            str(r.cost.tokens_trained),
            f"{r.cost.gpu_hours:.3g}",
        )
    return table


@app.command("report")
def report_cmd(
    loop: Annotated[
        str | None, typer.Argument(help="Loop id or folder (default: the newest loop).")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Write a loop's HTML report, experiment-log entry and model card again."""
    from posttrain.pipeline.loop import regenerate_reports

    paths = regenerate_reports(workspace, loop)
    if json_out:
        print_json(paths.model_dump(mode="json", exclude={"kind"}))
        return
    console.print(f"experiment log: {paths.log_path}", soft_wrap=True)
    if paths.card_path:
        console.print(f"model card: {paths.card_path}", soft_wrap=True)
    console.print(f"report: [bold]{paths.report_path}[/]", soft_wrap=True)
