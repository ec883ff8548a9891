"""``posttrain chat``: one question, or a REPL, against any model and backend."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, print_json
from posttrain.generation.base import ChatMessage, Conversation, GenerationParams

# `--timeout` of every command that talks to a backend (chat, eval, audit).
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        max=3600,
        metavar="SECONDS",
        help="Deadline of one answer from an openai server, all retries together "
        "(default 60). The in-process hf and llamacpp backends ignore it.",
    ),
]


@app.command()
def chat(
    message: str | None = typer.Argument(None, help="The message; without it, a REPL."),
    model: str = typer.Option("smollm2-135m-instruct", "--model", "-m", help="Name or folder."),
    backend: str = typer.Option("hf", "--backend", "-b", help="hf | openai | llamacpp"),
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", min=1),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0 = greedy."),
    seed: int = typer.Option(0, "--seed"),
    base_url: str | None = typer.Option(None, "--base-url", help="For --backend openai."),
    timeout: TimeoutOpt = None,
    json_out: bool = typer.Option(False, "--json", help="Print the generation as JSON."),
) -> None:
    """Talk to a model. With MESSAGE, answer once; without it, start a REPL (/reset, /quit)."""
    from posttrain.generation import make_backend

    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    if timeout is not None:
        options["timeout_s"] = timeout
    engine = make_backend(backend, model, **options)
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    history: Conversation = []
    if system:
        history.append(ChatMessage(role="system", content=system))

    def ask(text: str) -> None:
        history.append(ChatMessage(role="user", content=text))
        gen = engine.generate([list(history)], params)[0]
        history.append(ChatMessage(role="assistant", content=gen.text))
        if json_out:
            print_json(gen.model_dump())
            return
        console.print(gen.text, markup=False, highlight=False)
        err_console.print(
            f"[dim]{gen.completion_tokens} tokens in {gen.latency_s:.1f}s "
            f"({gen.completion_tokens / max(gen.latency_s, 1e-9):.1f} tok/s), "
            f"finish: {gen.finish_reason}[/]"
        )

    if message is not None:
        ask(message)
        return
    err_console.print(f"[bold]posttrain chat[/] with {model} ({backend}); /reset, /quit")
    while True:
        try:
            text = console.input("[bold cyan]you>[/] ").strip()
        except EOFError:
            break
        if not text:
            continue
        if text in ("/quit", "/exit"):
            break
        if text == "/reset":
            del history[1 if system else 0 :]
            continue
        ask(text)
