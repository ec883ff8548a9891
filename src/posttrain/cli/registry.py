"""``posttrain registry register|list|show``, ``promote`` and ``rollback``: model versions,
their lineage and the champion alias.

Exit codes: 0 success, 1 a refused promotion (no PASS and no valid waiver), 2 usage or
input error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WaiverOpt, WorkspaceOpt, console, print_json
from posttrain.workspace import Workspace

if TYPE_CHECKING:
    from posttrain.release.registry import Registry, RegistryState

__all__ = ["open_registry"]

registry_app = typer.Typer(help="The model registry: versions and aliases.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")


def open_registry(root: Path) -> Registry:
    """The workspace's registry, recording to its audit log."""
    from posttrain.release.registry import Registry

    ws = Workspace(root)
    return Registry(ws.registry, audit_log=ws.audit_log)


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
    mv = open_registry(workspace).register(
        model, fingerprint=fingerprint, run=run, verdict=verdict, note=note
    )
    if json_out:
        print_json(mv.model_dump(mode="json", exclude={"verdict"}))
        return
    console.print(f"[green]registered[/] {mv.version}: {model} (gate {mv.decision})")


@registry_app.command("list")
def registry_list(workspace: WorkspaceOpt = Path("."), json_out: JsonOpt = False) -> None:
    """Every version with its gate decision and aliases."""
    state = open_registry(workspace).state()
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

    reg = open_registry(workspace)
    state = reg.state()
    if name in ALIASES or name in state.aliases:
        _show_alias(reg, state, name, json_out)
    else:
        _show_version(reg, state, name, json_out)


def _show_alias(reg: Registry, state: RegistryState, name: str, json_out: bool) -> None:
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
        waivers = ""
        if e.waivers and e.waivers[0] not in e.reason:
            waivers = f" (waivers: {', '.join(e.waivers)})"
        table.add_row(
            str(e.seq),
            e.ts[:19],
            e.action,
            e.previous or "-",
            e.version or "-",
            e.actor,
            escape(e.reason + waivers),
        )
    console.print(table)


def _show_version(reg: Registry, state: RegistryState, name: str, json_out: bool) -> None:
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
    if mv.bundle is None:
        console.print("  bundle        - (none recorded: rollback moves the alias only)")
        return
    table = Table(title=f"{mv.version} bundle (restored by `posttrain rollback`)")
    for col in ("role", "file", "sha256"):
        table.add_column(col)
    for e in mv.bundle.entries:
        table.add_row(e.role, e.path, e.sha256 or "(absent)")
    console.print(table)


@app.command("promote")
def promote_cmd(
    version: Annotated[str, typer.Argument(help="The version to make champion.")],
    waiver: WaiverOpt = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Make a version the champion; refused (exit 1) without PASS or a valid waiver."""
    event = open_registry(workspace).promote(version, waivers=waiver or [], reason=reason)
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
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite bundle files with local edits no version holds (their bytes are "
            "kept in .posttrain/registry/blobs and named in the audit log).",
        ),
    ] = False,
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Put the previous champion back with its configuration: contract, gate policy and
    serve config as registered (recorded in the alias history and audit log)."""
    event = open_registry(workspace).rollback(reason=reason, force=force)
    if json_out:
        print_json(event.model_dump())
        return
    console.print(f"[yellow]rolled back[/] champion {event.previous} -> {event.version}")
    if event.restored is None:
        console.print(f"  {event.version} has no configuration bundle: only the alias moved")
    elif not event.restored:
        console.print("  configuration already as registered: no file changed")
    for c in event.restored or []:
        what = "removed" if c.after is None else f"restored ({c.after[:12]})"
        edit = " — local edit kept as a blob" if c.local_edit else ""
        console.print(f"  {escape(c.path)}: {what}{edit}")
