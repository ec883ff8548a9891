"""``posttrain release plan|step|auto|abort|status``: the staged rollout 1% → 5% → 25% →
100%, analysed on the gateway's live measurements (or, offline, a metrics file).

Exit codes: 0 success (a step that advanced, a rollout completed), 1 an aborted rollout
step, 2 usage or input error, 4 a step paused for a person or still waiting for its
minimum traffic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WaiverOpt, WorkspaceOpt, console, print_json
from posttrain.errors import UsageError
from posttrain.workspace import Workspace

if TYPE_CHECKING:
    from posttrain.release.analysis import AnalysisResult
    from posttrain.release.live import LiveStore
    from posttrain.release.rollout import Rollout, RolloutState

release_app = typer.Typer(help="Staged rollout: 1% → 5% → 25% → 100%.", no_args_is_help=True)
app.add_typer(release_app, name="release")

_PHASE_STYLE = {"Progressing": "green", "Paused": "yellow", "Aborted": "red", "Completed": "green"}


def _rollout(root: Path) -> Rollout:
    from posttrain.release.rollout import Rollout

    return Rollout.for_workspace(root)


def _store(root: Path) -> LiveStore:
    from posttrain.release.live import LiveStore

    return LiveStore.for_workspace(Workspace(root))


def _render_analysis(result: AnalysisResult, indent: str = "  ") -> None:
    for m in result.measurements:
        console.print(f"{indent}{escape(m.metric)}: {m.outcome} — {escape(m.message)}")
    for c in result.comparisons:
        console.print(f"{indent}{escape(c.metric)} vs champion: {c.outcome} — {escape(c.message)}")


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
        source = "live" if last.analysis.source == "live" else (last.metrics_file or "file")
        console.print(
            f"  last analysis at {last.weight:g}% ({escape(source)}): {last.analysis.outcome}"
        )
        _render_analysis(last.analysis, "    ")
    if state.phase == "Aborted":
        reason = next((h.reason for h in reversed(state.history) if h.action == "abort"), "")
        console.print(f"  aborted: {escape(reason)}")
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
        Path | None,
        typer.Option(
            "--metrics",
            help="The step's recorded metrics (JSON), for offline use; default: the "
            "gateway's live measurements of the step.",
        ),
    ] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="A person approves a paused step.")
    ] = False,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Analyse the current step: advance (0), pause (4) or abort (1); on live data, a step
    without its minimum traffic yet changes nothing (4)."""
    from posttrain.release.rollout import read_step_metrics

    if metrics is not None or approve:
        observed = read_step_metrics(metrics) if metrics is not None else None
        actor = os.environ.get("USER") or None
        state = _rollout(workspace).step(
            observed, metrics_file=str(metrics) if metrics else None, approve=approve, actor=actor
        )
        _render_rollout(state, json_out)
        raise typer.Exit(state.exit_code)
    state, result = _rollout(workspace).live_step(_store(workspace))
    if result is not None and result.waiting:
        if json_out:
            print_json({"waiting": True, "analysis": result.model_dump(mode="json")})
        else:
            console.print(
                f"rollout {state.id}: {state.version} at {state.weight:g}% — "
                f"{escape(result.message)}; nothing recorded, try again later "
                "(or `posttrain release auto`)"
            )
            _render_analysis(result)
        raise typer.Exit(4)
    _render_rollout(state, json_out)
    raise typer.Exit(state.exit_code)


@release_app.command("auto")
def release_auto(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between two analyses.", min=0.05)
    ] = 5.0,
    max_wait: Annotated[
        float,
        typer.Option("--max-wait", help="Stop after this many seconds in all.", min=0.0),
    ] = 600.0,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Drive the rollout on live data: advance each step that has its minimum traffic and
    passes, abort on a failure, until it completes (0), aborts (1), pauses for a person
    or the wait runs out (4). Prints each transition."""
    import time

    last: dict[str, object] = {}
    waited = [0.0]

    def on_tick(state: RolloutState, result: AnalysisResult | None) -> None:
        key = (state.step, state.phase)
        if json_out:
            return
        if result is not None and result.waiting:
            now = time.monotonic()
            if last.get("key") != key or now - waited[0] >= 30:
                waited[0] = now
                console.print(f"  {state.weight:g}%: {escape(result.message)}")
            last["key"] = key
            return
        if last.get("key") == key and result is None:
            return
        last["key"] = key
        outcome = result.outcome if result is not None else "-"
        what = {
            "Progressing": f"→ [green]{state.weight:g}%[/]",
            "Completed": f"[green]completed[/]: {state.version} is the champion",
            "Aborted": "[red]aborted[/]: weight 0, the champion takes all traffic",
            "Paused": "[yellow]paused[/] for a person (`release step --approve` or `abort`)",
        }[state.phase]
        console.print(f"{outcome}: {what}")
        if result is not None:
            console.print(f"  {escape(result.message)}")

    rollout = _rollout(workspace)
    start = rollout.status()
    if start is not None and start.active and not json_out:
        console.print(
            f"rollout {start.id}: {start.version} at {start.weight:g}% "
            f"(champion {start.champion or '-'}); analysing every {interval:g}s, "
            f"at most {max_wait:g}s"
        )
    state, timed_out = rollout.run_auto(
        _store(workspace), interval_s=interval, max_wait_s=max_wait, on_tick=on_tick
    )
    if json_out:
        print_json({**state.model_dump(mode="json"), "timed_out": timed_out})
    else:
        if timed_out:
            console.print(f"[yellow]stopped[/] after {max_wait:g}s: still at {state.weight:g}%")
        _render_rollout(state, False)
    raise typer.Exit(4 if timed_out else state.exit_code)


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
