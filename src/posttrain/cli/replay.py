"""``posttrain replay FILE.jsonl``: send a file of conversations (benign and attack) at the
gateway, bounded in count and time, and print what each version answered.

Exit codes: 0 the replay ran (whatever the answers), 2 usage or input error (a bad line,
a non-loopback URL without --allow-remote, a gateway that cannot be reached).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import JsonOpt, console, print_json, validated

if TYPE_CHECKING:
    from posttrain.release.replay import ReplayReport

KEY_ENV = "POSTTRAIN_API_KEY"


@app.command("replay")
def replay_cmd(
    file: Annotated[Path, typer.Argument(help="JSONL: {messages, user, kind} a line.")],
    url: Annotated[str, typer.Option("--url", help="The gateway.")] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None,
        typer.Option("--key", help=f"An API key with the chat scope (default: ${KEY_ENV})."),
    ] = None,
    rate: Annotated[float, typer.Option("--rate", help="Requests per second.")] = 5.0,
    duration: Annotated[float, typer.Option("--duration", help="Seconds to send for.")] = 30.0,
    max_requests: Annotated[
        int | None, typer.Option("--max-requests", help="Stop after this many requests.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="The model to ask for (default: what the gateway serves)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Requests in flight at most.")
    ] = 8,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds one request may take.")
    ] = 60.0,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens")] = None,
    same_users: Annotated[
        bool,
        typer.Option("--same-users", help="Keep each line's user on every pass (default: user~N)."),
    ] = False,
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="Append @TAG to every user: a fresh set of users."),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a gateway not on this machine.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Replay conversations at the gateway; prints requests, errors, guard grades,
    refusals and latency per version (the x-posttrain-version header)."""
    from posttrain.release.replay import ReplayConfig, read_replay, replay

    cfg = validated(
        ReplayConfig,
        {
            "url": url,
            "key": key or os.environ.get(KEY_ENV) or None,
            "rate": rate,
            "duration_s": duration,
            "max_requests": max_requests,
            "model": model,
            "concurrency": concurrency,
            "timeout_s": timeout,
            "max_tokens": max_tokens,
            "same_users": same_users,
            "tag": tag,
            "allow_remote": allow_remote,
        },
        flags={"duration_s": "--duration", "timeout_s": "--timeout"},
    )
    lines = read_replay(file)
    report = replay(lines, cfg)
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    _render(report)


def _render(report: ReplayReport) -> None:
    console.print(
        f"replayed {report.sent} requests at {escape(report.url)} (model "
        f"{escape(report.model)}) in {report.duration_s:.1f}s; stopped by {report.stopped_by}"
    )
    table = Table(title="per version (x-posttrain-version)")
    for col in (
        "version",
        "requests",
        "errors",
        "attacks",
        "refused",
        "grades",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(col)
    for t in report.versions:
        grades = ", ".join(f"{g} {n}" for g, n in sorted(t.grades.items()))
        table.add_row(
            escape(t.version),
            str(t.requests),
            str(t.errors),
            str(t.attack_requests),
            str(t.refusals),
            escape(grades or "-"),
            f"{t.latency_p50_ms:.0f}" if t.latency_p50_ms is not None else "-",
            f"{t.latency_p95_ms:.0f}" if t.latency_p95_ms is not None else "-",
        )
    console.print(table)
    for reason, n in sorted(report.transport_errors.items()):
        console.print(f"[red]{n} request(s) got no answer[/]: {escape(reason)}")
