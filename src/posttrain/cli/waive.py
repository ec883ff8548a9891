"""``posttrain waive``: a signed, expiring waiver for named gate rules.

Exit codes: 0 signed and written, 2 usage error (no key, a missing binding, a statement
too short to be real).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

import typer

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, WorkspaceOpt, console, print_json
from posttrain.errors import UsageError
from posttrain.workspace import Workspace


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
    from posttrain.gate.waivers import Algorithm, create_waiver, issue_waiver, parse_expiry

    verdict_id = None
    if verdict is not None:
        judged_verdict = read_verdict(verdict)
        verdict_id = judged_verdict.id
        judged = judged_verdict.candidate
        candidate = candidate or judged.fingerprint
        contract_hash = contract_hash or judged.contract_hash
    if not candidate or not contract_hash:
        raise UsageError(
            "a waiver is bound to one candidate and one contract version",
            hint="pass --candidate FINGERPRINT and --contract-hash H, or --verdict FILE",
        )
    if algorithm is not None and algorithm not in get_args(Algorithm):
        raise UsageError(f"--algorithm {algorithm!r}: use {' or '.join(get_args(Algorithm))}")
    waiver = create_waiver(
        rules=rule,
        risk=risk,
        impact=impact,
        rollback_plan=rollback_plan,
        owner=owner,
        expires_at=parse_expiry(expires),
        candidate=candidate,
        contract_hash=contract_hash,
        verdict=verdict_id,
    )
    ws = Workspace(workspace)
    path = out or ws.reports / "waivers" / f"{waiver.id}.json"
    signed = issue_waiver(waiver, path, ws.audit_log, algorithm=algorithm)  # type: ignore[arg-type]
    if json_out:
        print_json({**signed.model_dump(mode="json"), "path": str(path)})
        return
    sig = signed.signature
    assert sig is not None  # issue_waiver always signs
    console.print(
        f"[green]waiver[/] {signed.id} for {', '.join(signed.rules)} signed "
        f"({sig.algorithm}, key {sig.key_id}), expires {signed.expires_at.isoformat()}: {path}"
    )
