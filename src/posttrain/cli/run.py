"""``posttrain run``, ``posttrain ladder`` and ``posttrain report``: the whole loop.

Exit codes (``run`` and ``ladder``): 0 PASS (the ladder: some rung passes), 1 BLOCK (or
a blocked data build / a stopped training run; the ladder: no rung passes), 2 usage or
input error, 3 evaluation error, 4 INCONCLUSIVE.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, print_json
from posttrain.errors import UsageError

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")]
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Base model name or folder.")]
ProfileOpt = Annotated[
    str,
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
        min=1,
        help="Attack/over-refusal items per class and language (default: 8 with quick, else all).",
    ),
]
RegLimitOpt = Annotated[
    int | None,
    typer.Option(
        "--regression-limit",
        min=1,
        help="Regression items per task tag and language (default: 5 with quick, else all).",
    ),
]
TokensOpt = Annotated[int, typer.Option("--max-new-tokens", min=1, help="Tokens per answer.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Answers per backend call.")]
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
    workspace: Path,
    model: str,
    profile: str,
    dpo: bool | None,
    overrides: list[str] | None,
    eval_limit: int | None,
    regression_limit: int | None,
    max_new_tokens: int,
    batch_size: int,
    policy: Path | None,
    promote: bool = True,
    rlhf: bool = False,
) -> Any:
    from posttrain.pipeline import LoopConfig

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not (workspace / "contract.yaml").is_file():
        raise UsageError(
            f"{workspace} is not a workspace (no contract.yaml)",
            hint="create one with `posttrain init DIR`, or pass --workspace DIR",
        )
    for item in overrides or []:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE", hint="e.g. --set max_steps=20")
    return LoopConfig(
        workspace=workspace,
        model=model,
        profile=None if profile in ("full", "none", "") else profile,
        dpo=dpo,
        train_overrides=list(overrides or []),
        eval_limit=eval_limit,
        regression_limit=regression_limit,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        policy=policy,
        promote=promote,
        rlhf=rlhf,
    )


def _stage_table(stages: list[Any], total: float) -> Table:
    table = Table(title="stage times", show_edge=False)
    table.add_column("stage")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    for s in stages:
        table.add_row(s.name, s.status, f"{s.seconds:.1f}")
    table.add_row("[bold]total[/]", "", f"[bold]{total:.1f}[/]")
    return table


_STYLE = {"PASS": "bold green", "BLOCK": "bold red", "INCONCLUSIVE": "bold yellow"}


@app.command("run")
def run_cmd(
    workspace: WorkspaceOpt = Path("."),
    model: ModelOpt = "smollm2-135m-instruct",
    profile: ProfileOpt = "quick",
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
    max_new_tokens: TokensOpt = 128,
    batch_size: BatchOpt = 16,
    policy: PolicyOpt = None,
    promote: Annotated[
        bool, typer.Option("--promote/--no-promote", help="Register and promote on PASS.")
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """The loop: data -> SFT -> DPO -> eval base and candidate -> gate -> release -> reports.

    Running it again resumes where it stopped (runs/<loop_id>/loop.json).
    """
    from posttrain.pipeline import run_loop

    cfg = _config(
        workspace,
        model,
        profile,
        dpo,
        overrides,
        eval_limit,
        regression_limit,
        max_new_tokens,
        batch_size,
        policy,
        promote,
    )
    result = run_loop(cfg, observer=_RichObserver(quiet=json_out))  # type: ignore[arg-type]
    if json_out:
        print_json(result.model_dump(mode="json"))
        raise typer.Exit(result.exit_code)
    console.print(_stage_table(result.stages, result.total_s))
    style = _STYLE.get(result.decision, "bold")
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


@app.command("ladder")
def ladder_cmd(
    workspace: WorkspaceOpt = Path("."),
    model: ModelOpt = "smollm2-135m-instruct",
    profile: ProfileOpt = "quick",
    overrides: OverrideOpt = None,
    eval_limit: EvalLimitOpt = None,
    regression_limit: RegLimitOpt = None,
    max_new_tokens: TokensOpt = 128,
    batch_size: BatchOpt = 16,
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
    from posttrain.pipeline.ladder import LADDER_METRICS

    cfg = _config(
        workspace,
        model,
        profile,
        True,
        overrides,
        eval_limit,
        regression_limit,
        max_new_tokens,
        batch_size,
        policy,
        rlhf=rlhf,
    )
    result = run_ladder(cfg, size=size, observer=_RichObserver(quiet=json_out))  # type: ignore[arg-type]
    code = 0 if result.recommended is not None else 1
    if json_out:
        print_json(result.model_dump(mode="json"))
        raise typer.Exit(code)
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
    for col in ("wall s", "tokens", f"GPU-h @{size}"):
        table.add_column(col, justify="right")
    for r in result.rungs:
        cells = []
        for m in LADDER_METRICS:
            row = r.metrics.get(m)
            cells.append(
                "–"
                if row is None or row.rate is None
                else f"{row.rate:.2f}\n[{row.ci_low:.2f},{row.ci_high:.2f}]"
            )
        table.add_row(
            f"{r.index} {r.name}",
            f"[{_STYLE.get(r.decision, 'bold')}]{r.decision}[/]",
            *cells,
            f"{r.cost.wall_s:.0f}",
            str(r.cost.tokens_trained),
            f"{r.cost.gpu_hours:.3g}",
        )
    console.print(table)
    console.print(f"[bold]recommendation:[/] {result.recommendation}")
    console.print(f"ladder report: {result.report}", soft_wrap=True)
    raise typer.Exit(code)


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
        print_json(paths)
        return
    console.print(f"experiment log: {paths['log_path']}", soft_wrap=True)
    if paths.get("card_path"):
        console.print(f"model card: {paths['card_path']}", soft_wrap=True)
    console.print(f"report: [bold]{paths['report_path']}[/]", soft_wrap=True)
