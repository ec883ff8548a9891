"""``posttrain release plan|step|abort|status``: the staged rollout 1% → 5% → 25% → 100%.

Exit codes: 0 success (a step that advanced), 1 an aborted rollout step, 2 usage or input
error, 4 a step paused for a person.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WaiverOpt, WorkspaceOpt, console, print_json
from posttrain.cli.registry import open_registry
from posttrain.errors import UsageError
from posttrain.workspace import Workspace

if TYPE_CHECKING:
    from posttrain.release.rollout import Rollout, RolloutState

release_app = typer.Typer(help="Staged rollout: 1% → 5% → 25% → 100%.", no_args_is_help=True)
app.add_typer(release_app, name="release")

_PHASE_STYLE = {"Progressing": "green", "Paused": "yellow", "Aborted": "red", "Completed": "green"}


def _rollout(root: Path) -> Rollout:
    from posttrain.release.rollout import Rollout

    ws = Workspace(root)
    return Rollout(ws.rollout, open_registry(root), audit_log=ws.audit_log)


def _render_rollout(state: RolloutState, json_out: bool) -> None:
    if json_out:
        print_json(state.model_dump(mode="json"))
        return
    steps = " → ".join(
        f"[bold]{s:g}%[/]" if i == state.step and state.active else f"{s:g}%"
        for i, s in enumerate(state.config.steps)
    )
    console.print(
        f"rollout {state.id}: {state.version} (champion {state.champion or '-'}) "
        f"[{_PHASE_STYLE[state.phase]}]{state.phase}[/] at weight {state.weight:g}%   {steps}"
    )
    last = next((h for h in reversed(state.history) if h.analysis), None)
    if last is not None and last.analysis is not None:
        console.print(f"  last analysis at {last.weight:g}%: {last.analysis.outcome}")
        for m in last.analysis.measurements:
            console.print(f"    {escape(m.metric)}: {m.outcome} — {escape(m.message)}")
    if state.phase == "Paused":
        console.print(
            "  paused for a person: `posttrain release step --approve` or `release abort`"
        )


@release_app.command("plan")
def release_plan(
    version: Annotated[str, typer.Argument(help="The version to roll out (the challenger).")],
    steps: Annotated[
        str | None, typer.Option("--steps", help="Traffic percentages, e.g. 1,5,25,100.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="rollout.yaml: steps and analysis.")
    ] = None,
    waiver: WaiverOpt = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Start a staged rollout: the version becomes challenger at the first step."""
    from posttrain.release.rollout import RolloutConfig, load_rollout_config

    cfg = load_rollout_config(config) if config else RolloutConfig()
    if steps:
        try:
            values = [float(s) for s in steps.split(",")]
            cfg = RolloutConfig(steps=values, analysis=cfg.analysis)
        except ValueError as exc:
            raise UsageError(f"--steps {steps!r}: {exc}") from None
    state = _rollout(workspace).plan(version, cfg, waivers=waiver or [])
    _render_rollout(state, json_out)


@release_app.command("step")
def release_step(
    metrics: Annotated[
        Path | None, typer.Option("--metrics", help="The step's recorded metrics (JSON).")
    ] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="A person approves a paused step.")
    ] = False,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Analyse the current step: advance (0), pause (4) or abort (1)."""
    from posttrain.release.rollout import read_step_metrics

    observed = read_step_metrics(metrics) if metrics is not None else None
    actor = os.environ.get("USER") or None
    state = _rollout(workspace).step(
        observed, metrics_file=str(metrics) if metrics else None, approve=approve, actor=actor
    )
    _render_rollout(state, json_out)
    raise typer.Exit(state.exit_code)


@release_app.command("abort")
def release_abort(
    reason: Annotated[str, typer.Option("--reason")] = "aborted by hand",
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Abort: weight 0, challenger alias removed, champion kept."""
    state = _rollout(workspace).abort(reason)
    _render_rollout(state, json_out)


@release_app.command("status")
def release_status(workspace: WorkspaceOpt = Path("."), json_out: JsonOpt = False) -> None:
    """Where the rollout stands."""
    state = _rollout(workspace).status()
    if state is None:
        if json_out:
            print_json(None)
        else:
            console.print("no rollout yet: `posttrain release plan VERSION`")
        return
    _render_rollout(state, json_out)
