"""``posttrain gate``, ``waive``, ``log verify``, ``promote``, ``rollback``, ``registry``
and ``release``: the decision and what follows from it.

Exit codes: 0 PASS (or success), 1 BLOCK (a refused promotion, a failed log
verification, an aborted rollout step), 2 usage or input error, 4 INCONCLUSIVE (a gate
that could not judge, a rollout step paused for a person).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, print_json
from posttrain.errors import UsageError

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="The workspace folder (default: here).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WaiverOpt = Annotated[
    list[Path] | None, typer.Option("--waiver", help="A signed waiver file (repeatable).")
]
EXIT_INCONCLUSIVE = 4
_STATUS_STYLE = {
    "pass": "green",
    "ok": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "alert": "magenta",
    "skipped": "dim",
}
_DECISION_STYLE = {"PASS": "bold green", "BLOCK": "bold red", "INCONCLUSIVE": "bold yellow"}

log_app = typer.Typer(help="The audit log.", no_args_is_help=True)
registry_app = typer.Typer(help="The model registry: versions and aliases.", no_args_is_help=True)
release_app = typer.Typer(help="Staged rollout: 1% → 5% → 25% → 100%.", no_args_is_help=True)
app.add_typer(log_app, name="log")
app.add_typer(registry_app, name="registry")
app.add_typer(release_app, name="release")


def _ws(root: Path) -> Any:
    from posttrain.workspace import Workspace

    return Workspace(root)


def _registry(root: Path) -> Any:
    from posttrain.release.registry import Registry

    ws = _ws(root)
    return Registry(ws.registry, audit_log=ws.audit_log)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _sha256_of(path: Path) -> str | None:
    files = [path] if path.is_file() else sorted(path.rglob("items.jsonl"))
    if not files:
        return None
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()


# -- gate ---------------------------------------------------------------------------------


@app.command("gate")
def gate_cmd(
    baseline: Annotated[Path, typer.Option("--baseline", help="Baseline result folder.")],
    candidate: Annotated[Path, typer.Option("--candidate", help="Candidate result folder.")],
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
    """Judge a candidate against a baseline: PASS (exit 0) | BLOCK (1) | INCONCLUSIVE (4)."""
    from posttrain.gate import gate, write_verdict
    from posttrain.gate.junit import write_junit
    from posttrain.release.auditlog import append_event

    ws = _ws(workspace)
    verdict = gate(baseline, candidate, policy=policy, workspace=ws.root, waivers=waiver or [])
    path = write_verdict(verdict, out or ws.reports / "gate" / f"{verdict.id}.json")
    if junit is not None:
        write_junit(verdict, junit)
    append_event(
        ws.audit_log,
        "gate_verdict",
        {
            "verdict_id": verdict.id,
            "decision": verdict.decision,
            "decision_without_waivers": verdict.decision_without_waivers,
            "path": str(path),
            "verdict_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "policy_source": verdict.policy_source,
            "policy_hash": verdict.policy_hash,
            "baseline": {**verdict.baseline.model_dump(), "items_sha256": _sha256_of(baseline)},
            "candidate": {
                **verdict.candidate.model_dump(),
                "items_sha256": _sha256_of(candidate),
            },
            "blocking": [r.id for r in verdict.rules if r.blocking and not r.waived_by],
            "waivers": [w.model_dump() for w in verdict.waivers],
        },
    )
    if json_out:
        print_json({**verdict.model_dump(mode="json"), "path": str(path)})
    else:
        _render_verdict(verdict, path)
    raise typer.Exit(verdict.exit_code)


def _render_verdict(verdict: Any, path: Path) -> None:
    table = Table(title=f"gate {verdict.id}: {verdict.policy_source}", show_lines=False)
    table.add_column("rule", overflow="fold", min_width=16)
    table.add_column("status", no_wrap=True, min_width=7)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("threshold", overflow="fold", min_width=10)
    table.add_column("interval", overflow="fold", min_width=8)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("evidence", overflow="fold", min_width=8)
    for r in verdict.rules:
        status = r.status.upper()
        style = _STATUS_STYLE.get(r.status, "")
        if r.waived_by:
            status, style = f"{status} (waived)", "cyan"
        interval = f"[{_fmt(r.interval[0])}, {_fmt(r.interval[1])}]" if r.interval else "-"
        value = (
            "-" if r.value is None else f"{r.value:.3f}" if r.kind != "counter" else f"{r.value:g}"
        )
        shown = ", ".join(e.id for e in r.evidence[:2])
        if r.evidence_total > 2:
            shown += f" (+{r.evidence_total - 2})"
        label = escape(r.id)
        if r.id == r.rule and r.kind != "counter":
            label += f"\n[dim]{escape(f'{r.metric} [{r.group}/{r.lang}]')}[/]"
        table.add_row(
            label,
            f"[{style}]{status}[/]",
            value,
            r.threshold,
            interval,
            "-" if r.n is None else str(r.n),
            escape(shown or "-"),
        )
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
    console.print(
        f"[{_DECISION_STYLE[decision]}]{decision}[/]{extra}  verdict: {escape(str(path))}"
    )


# -- waive --------------------------------------------------------------------------------


@app.command("waive")
def waive_cmd(
    rule: Annotated[list[str], typer.Option("--rule", help="A rule id to waive (repeatable).")],
    risk: Annotated[str, typer.Option("--risk", help="The risk statement.")],
    impact: Annotated[str, typer.Option("--impact", help="Who and what is affected.")],
    rollback_plan: Annotated[str, typer.Option("--rollback-plan", help="How to roll back.")],
    owner: Annotated[str, typer.Option("--owner", help="Who signs for it.")],
    expires: Annotated[str, typer.Option("--expires", help="48h, 7d or a date.")],
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="The candidate's model fingerprint.")
    ] = None,
    contract_hash: Annotated[
        str | None, typer.Option("--contract-hash", help="The contract version's hash.")
    ] = None,
    verdict: Annotated[
        Path | None,
        typer.Option("--verdict", help="Take candidate and contract hash from a verdict."),
    ] = None,
    algorithm: Annotated[
        str | None, typer.Option("--algorithm", help="hmac-sha256 | ed25519 (default: by key).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Waiver file.")] = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Write a signed waiver for named rules, bound to one candidate and one contract."""
    from posttrain.gate.verdict import read_verdict
    from posttrain.gate.waivers import create_waiver, parse_expiry, sign_waiver
    from posttrain.release.auditlog import append_event

    if verdict is not None:
        judged = read_verdict(verdict).candidate
        candidate = candidate or judged.fingerprint
        contract_hash = contract_hash or judged.contract_hash
    if not candidate or not contract_hash:
        raise UsageError(
            "a waiver is bound to one candidate and one contract version",
            hint="pass --candidate FINGERPRINT and --contract-hash H, or --verdict FILE",
        )
    if algorithm not in (None, "hmac-sha256", "ed25519"):
        raise UsageError(f"--algorithm {algorithm!r}: use hmac-sha256 or ed25519")
    waiver = create_waiver(
        rules=rule,
        risk=risk,
        impact=impact,
        rollback_plan=rollback_plan,
        owner=owner,
        expires_at=parse_expiry(expires),
        candidate=candidate,
        contract_hash=contract_hash,
    )
    signed = sign_waiver(waiver, algorithm=algorithm)  # type: ignore[arg-type]
    ws = _ws(workspace)
    path = out or ws.reports / "waivers" / f"{signed.id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(signed.model_dump_json(indent=2), encoding="utf-8")
    append_event(ws.audit_log, "waiver", {"path": str(path), **signed.model_dump(mode="json")})
    if json_out:
        print_json({**signed.model_dump(mode="json"), "path": str(path)})
        return
    assert signed.signature is not None
    console.print(
        f"[green]waiver[/] {signed.id} for {', '.join(signed.rules)} signed "
        f"({signed.signature.algorithm}, key {signed.signature.key_id}), expires "
        f"{signed.expires_at.isoformat()}: {path}"
    )


# -- audit log ----------------------------------------------------------------------------


@log_app.command("verify")
def log_verify(
    workspace: WorkspaceOpt = Path("."),
    file: Annotated[Path | None, typer.Option("--file", help="Another log file.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check the audit log's hash chain; exit 1 naming the first bad entry."""
    from posttrain.release.auditlog import verify_log

    result = verify_log(file or _ws(workspace).audit_log)
    if json_out:
        print_json(result.model_dump())
    elif result.ok:
        console.print(f"[green]ok[/] {result.entries} entries, head {result.head_hash}")
    else:
        where = f"entry seq {result.bad_seq}" if result.bad_seq is not None else "an entry"
        line = f" (line {result.bad_line})" if result.bad_line is not None else ""
        reason = escape(result.reason or "")
        err_console.print(f"[bold red]broken[/] {escape(result.path)}: {where}{line}: {reason}")
        err_console.print(f"  {result.entries} entries before it verify")
    raise typer.Exit(0 if result.ok else 1)


# -- registry -----------------------------------------------------------------------------


@registry_app.command("register")
def registry_register(
    model: Annotated[str, typer.Argument(help="Model name or folder (merged model or adapter).")],
    verdict: Annotated[
        Path | None, typer.Option("--verdict", help="The gate verdict of this model.")
    ] = None,
    run: Annotated[Path | None, typer.Option("--run", help="Its training run folder.")] = None,
    fingerprint: Annotated[str | None, typer.Option("--fingerprint")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Add a version with its lineage (run manifest, data version, contract, verdict)."""
    mv = _registry(workspace).register(
        model, fingerprint=fingerprint, run=run, verdict=verdict, note=note
    )
    if json_out:
        print_json(mv.model_dump(mode="json", exclude={"verdict"}))
        return
    console.print(f"[green]registered[/] {mv.version}: {model} (gate {mv.decision})")


@registry_app.command("list")
def registry_list(workspace: WorkspaceOpt = Path("."), json_out: JsonOpt = False) -> None:
    """Every version with its gate decision and aliases."""
    state = _registry(workspace).state()
    by_version: dict[str, list[str]] = {}
    for alias, version in state.aliases.items():
        by_version.setdefault(version, []).append(alias)
    if json_out:
        print_json(
            {
                "aliases": state.aliases,
                "versions": [
                    {**v.model_dump(mode="json", exclude={"verdict"}), "decision": v.decision}
                    for v in state.versions
                ],
            }
        )
        return
    table = Table(title="registry")
    for col in ("version", "aliases", "model", "gate", "run", "data", "created"):
        table.add_column(col)
    for v in state.versions:
        table.add_row(
            v.version,
            ", ".join(by_version.get(v.version, [])) or "-",
            escape(v.model),
            v.decision,
            v.run.run_id if v.run else "-",
            (v.data_version or "-")[:12],
            v.created_at[:19],
        )
    console.print(table)


@registry_app.command("show")
def registry_show(
    name: Annotated[str, typer.Argument(help="A version (v3) or an alias (champion).")],
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """One version's lineage, or an alias and its full history."""
    from posttrain.release.registry import ALIASES

    reg = _registry(workspace)
    state = reg.state()
    if name in ALIASES or name in state.aliases:
        events = reg.history(name)
        if json_out:
            print_json(
                {
                    "alias": name,
                    "version": state.aliases.get(name),
                    "history": [e.model_dump() for e in events],
                }
            )
            return
        console.print(f"[bold]{name}[/] -> {state.aliases.get(name, '(unset)')}")
        table = Table()
        for col in ("seq", "time", "action", "from", "to", "by", "reason"):
            table.add_column(col)
        for e in events:
            table.add_row(
                str(e.seq),
                e.ts[:19],
                e.action,
                e.previous or "-",
                e.version or "-",
                e.actor,
                escape(
                    e.reason
                    + (
                        f" (waivers: {', '.join(e.waivers)})"
                        if e.waivers and e.waivers[0] not in e.reason
                        else ""
                    )
                ),
            )
        console.print(table)
        return
    mv = reg.get(name)
    if json_out:
        print_json(mv.model_dump(mode="json"))
        return
    console.print(f"[bold]{mv.version}[/] {mv.model}")
    rows = [
        ("fingerprint", mv.fingerprint),
        ("created", f"{mv.created_at} by {mv.created_by}"),
        ("run", f"{mv.run.run_id} ({mv.run.manifest_path})" if mv.run else None),
        ("data version", mv.data_version),
        ("contract", mv.contract_hash),
        ("evaluation", f"{mv.eval_baseline} -> {mv.eval_candidate}" if mv.verdict else None),
        ("gate", f"{mv.decision} ({mv.verdict.id})" if mv.verdict else None),
        ("aliases", ", ".join(a for a, v in state.aliases.items() if v == mv.version)),
    ]
    for key, value in rows:
        console.print(f"  {key:13} {escape(str(value or '-'))}")


# -- promote / rollback -------------------------------------------------------------------


@app.command("promote")
def promote_cmd(
    version: Annotated[str, typer.Argument(help="The version to make champion.")],
    waiver: WaiverOpt = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Make a version the champion; refused (exit 1) without PASS or a valid waiver."""
    event = _registry(workspace).promote(version, waivers=waiver or [], reason=reason)
    if json_out:
        print_json(event.model_dump())
        return
    via = f" under waiver {', '.join(event.waivers)}" if event.waivers else ""
    console.print(
        f"[green]champion[/] {event.previous or '(none)'} -> {event.version}{via} (#{event.seq})"
    )


@app.command("rollback")
def rollback_cmd(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Put the previous champion back (recorded in the alias history and audit log)."""
    event = _registry(workspace).rollback(reason=reason)
    if json_out:
        print_json(event.model_dump())
        return
    console.print(f"[yellow]rolled back[/] champion {event.previous} -> {event.version}")


# -- release ------------------------------------------------------------------------------


def _rollout(root: Path) -> Any:
    from posttrain.release.rollout import Rollout

    ws = _ws(root)
    return Rollout(ws.rollout, _registry(root), audit_log=ws.audit_log)


def _render_rollout(state: Any, json_out: bool) -> None:
    if json_out:
        print_json(state.model_dump(mode="json"))
        return
    style = {"Progressing": "green", "Paused": "yellow", "Aborted": "red", "Completed": "green"}
    steps = " → ".join(
        f"[bold]{s:g}%[/]" if i == state.step and state.active else f"{s:g}%"
        for i, s in enumerate(state.config.steps)
    )
    console.print(
        f"rollout {state.id}: {state.version} (champion {state.champion or '-'}) "
        f"[{style[state.phase]}]{state.phase}[/] at weight {state.weight:g}%   {steps}"
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


def _rollout_exit(state: Any) -> None:
    raise typer.Exit({"Aborted": 1, "Paused": EXIT_INCONCLUSIVE}.get(state.phase, 0))


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
    _rollout_exit(state)


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
