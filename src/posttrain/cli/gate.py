"""``posttrain gate``: judge a candidate against a baseline and show the verdict.

Exit codes (the verdict's own, :attr:`GateVerdict.exit_code`): 0 PASS, 1 BLOCK, 2 usage
or input error, 4 INCONCLUSIVE (a gate that could not judge).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import (
    DECISION_STYLE,
    JsonOpt,
    WaiverOpt,
    WorkspaceOpt,
    console,
    print_json,
)
from posttrain.core.fmt import fmt_num
from posttrain.workspace import Workspace

if TYPE_CHECKING:
    from posttrain.gate import GateVerdict, RuleResult

_STATUS_STYLE = {
    "pass": "green",
    "ok": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "alert": "magenta",
    "skipped": "dim",
}


gate_app = typer.Typer(
    help="Judge a candidate against a baseline: PASS (exit 0) | BLOCK (1) | INCONCLUSIVE (4).",
    invoke_without_command=True,
)
app.add_typer(gate_app, name="gate")


@gate_app.callback()
def gate_cmd(
    ctx: typer.Context,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Baseline result folder.")
    ] = None,
    candidate: Annotated[
        Path | None, typer.Option("--candidate", help="Candidate result folder.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="gate.yaml (default: the workspace's, else built in)."),
    ] = None,
    waiver: WaiverOpt = None,
    workspace: WorkspaceOpt = Path("."),
    out: Annotated[
        Path | None, typer.Option("--out", help="Verdict file (default reports/gate/).")
    ] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write JUnit XML.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Judge a candidate against a baseline: PASS (exit 0) | BLOCK (1) | INCONCLUSIVE (4).

    `posttrain gate plan` says, before any evaluation, how many items each rule needs.
    """
    from posttrain.errors import UsageError
    from posttrain.gate import gate, record_verdict
    from posttrain.gate.junit import write_junit

    if ctx.invoked_subcommand is not None:
        return
    if baseline is None or candidate is None:
        raise UsageError(
            "gate needs --baseline and --candidate (two evaluation result folders)",
            hint="`posttrain eval` writes them; `posttrain gate plan` sizes an evaluation",
        )

    ws = Workspace(workspace)
    verdict = gate(baseline, candidate, policy=policy, workspace=ws.root, waivers=waiver or [])
    path = out or ws.reports / "gate" / f"{verdict.id}.json"
    record_verdict(verdict, path, ws.audit_log)
    if junit is not None:
        write_junit(verdict, junit)
    if json_out:
        print_json({**verdict.model_dump(mode="json"), "path": str(path)})
    else:
        _render_verdict(verdict, path)
    raise typer.Exit(verdict.exit_code)


def _rule_row(r: RuleResult) -> tuple[str, ...]:
    """One table row: rule, status, value, threshold, interval, n, evidence."""
    status = r.status.upper()
    style = _STATUS_STYLE.get(r.status, "")
    if r.waived_by:
        status, style = f"{status} (waived)", "cyan"
    interval = f"[{fmt_num(r.interval[0])}, {fmt_num(r.interval[1])}]" if r.interval else "-"
    if r.kind == "counter":
        value = "-" if r.value is None else f"{r.value:g}"
    else:
        value = fmt_num(r.value, missing="-")
    shown = ", ".join(e.id for e in r.evidence[:2])
    if r.evidence_total > 2:
        shown += f" (+{r.evidence_total - 2})"
    label = escape(r.id)
    if r.id == r.rule and r.kind != "counter":
        label += f"\n[dim]{escape(f'{r.metric} [{r.group}/{r.lang}]')}[/]"
    n = "-" if r.n is None else str(r.n)
    return label, f"[{style}]{status}[/]", value, r.threshold, interval, n, escape(shown or "-")


def _render_verdict(verdict: GateVerdict, path: Path) -> None:
    table = Table(title=f"gate {verdict.id}: {verdict.policy_source}", show_lines=False)
    table.add_column("rule", overflow="fold", min_width=16)
    table.add_column("status", no_wrap=True, min_width=7)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("threshold", overflow="fold", min_width=10)
    table.add_column("interval", overflow="fold", min_width=8)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("evidence", overflow="fold", min_width=8)
    for r in verdict.rules:
        table.add_row(*_rule_row(r))
    console.print(table)
    for r in verdict.rules:
        if r.status in ("fail", "inconclusive", "alert"):
            console.print(f"  [bold]{escape(r.id)}[/]: {escape(r.message)}")
    for w in verdict.waivers:
        mark = "[green]accepted[/]" if w.accepted else "[yellow]ignored[/]"
        console.print(f"  waiver {escape(str(w.id or w.path))}: {mark} — {escape(w.reason)}")
    for note in verdict.notes:
        console.print(f"  [dim]note: {escape(note)}[/]")
    decision = verdict.decision
    extra = ""
    if verdict.decision_without_waivers != decision:
        extra = f" (without waivers: {verdict.decision_without_waivers})"
    console.print(f"[{DECISION_STYLE[decision]}]{decision}[/]{extra}  verdict: {escape(str(path))}")


@gate_app.command("plan")
def plan_cmd(
    workspace: WorkspaceOpt = Path("."),
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="gate.yaml (default: the workspace's, else built in)."),
    ] = None,
    fraction: Annotated[
        float,
        typer.Option(
            "--fraction",
            min=0.01,
            max=0.99,
            help="The candidate's true bad rate as a share of the allowed one.",
        ),
    ] = 0.5,
    power: Annotated[
        float, typer.Option("--power", min=0.5, max=0.99, help="Chance of passing wanted.")
    ] = 0.8,
    json_out: JsonOpt = False,
) -> None:
    """Per rule: the judged items it needs before it can decide, and what the workspace's
    quick sample (`posttrain run`'s) holds."""
    from posttrain.contract import load_contract
    from posttrain.gate import resolve_policy
    from posttrain.gate.power import plan
    from posttrain.pipeline.stages import suites_for
    from posttrain.pipeline.state import LoopConfig

    ws = Workspace(workspace)
    gate_policy, source = resolve_policy(policy, ws.root)
    contract = load_contract(ws.contract) if ws.contract.is_file() else None
    sample = suites_for(LoopConfig(workspace=ws.root, policy=policy)) if contract else []
    rows = plan(gate_policy, fraction=fraction, power=power, sample=sample, contract=contract)
    if json_out:
        print_json({"policy": source, "rows": [r.model_dump(mode="json") for r in rows]})
        return
    table = Table(title=f"gate plan: {source}")
    table.add_column("rule", no_wrap=True)
    table.add_column("threshold", overflow="fold")
    for col in ("min n", "n at power", "in sample"):
        table.add_column(col, justify="right", overflow="fold")
    short = []
    for r in rows:
        need = "never" if r.min_n is None else str(r.min_n)
        at_power = "-" if r.n_needed is None else f"{r.n_needed} @ {r.true_rate:.3g}"
        have = "-" if r.in_sample is None else str(r.in_sample)
        if r.in_sample is not None and r.min_n is not None and r.in_sample < r.min_n:
            have = f"[yellow]{have}[/]"
            short.append(r.id)
        label = f"{escape(r.id)}\n[dim]{escape(f'{r.metric} [{r.group}/{r.lang}]')}[/]"
        table.add_row(label, r.threshold, need, at_power, have)
    console.print(table)
    console.print(
        f"min n: the fewest judged items at which a perfect candidate passes; n at power: "
        f"items for a {power:.0%} chance of passing when the true rate is {fraction:g} of "
        "the threshold's allowance."
    )
    if short:
        console.print(
            f"[yellow]too few in the quick sample to decide:[/] {', '.join(short)} "
            "(the gate will say INCONCLUSIVE for these; add items to the suites)"
        )
