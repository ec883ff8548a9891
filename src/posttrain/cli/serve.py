"""``posttrain serve``: the OpenAI-compatible gateway with the contract's runtime guard.

Exit codes: 0 stopped cleanly, 1 the champion's files changed since registration
(fingerprint mismatch), 2 a usage or config error (serve.yaml with its line numbers).
"""

from __future__ import annotations

from pathlib import Path

import typer

from posttrain.cli._app import app
from posttrain.cli._common import WorkspaceOpt, err_console


@app.command()
def serve(
    workspace: WorkspaceOpt = Path("."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Serve this model (name or folder) directly; default: the registry's champion, "
        "else the base model.",
    ),
    log_content: bool = typer.Option(
        False, "--log-content", help="Also log prompts and answers (never keys)."
    ),
) -> None:
    """Serve the workspace's model behind the contract's guard (OpenAI-compatible API,
    configured by serve.yaml in the workspace)."""
    from posttrain.serve import build_gateway, run_server

    gateway = build_gateway(workspace, model=model, log_content=log_content)
    served = gateway.served
    what = f"{served.id} (version {served.version})" if served.version else served.id
    err_console.print(
        f"[bold]posttrain serve[/] {what} on http://{host}:{port}/v1 "
        f"(upstream {gateway.upstream.name}, guard {gateway.config.guard.mode})"
    )
    run_server(gateway, host=host, port=port)
