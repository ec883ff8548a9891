"""``posttrain eval``, ``posttrain compare`` and ``posttrain audit``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, print_json
from posttrain.cli.chat import TimeoutOpt
from posttrain.errors import UsageError
from posttrain.generation.base import DEFAULT_BATCH_SIZE
from posttrain.workspace import Workspace

_BACKEND_HELP = "hf | openai | llamacpp"
_GEN_HELP = "Default: the workspace's generation.yaml; a different value is an override, recorded."
WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="Workspace folder (contract, reports, cache)."),
]
ContractOpt = Annotated[
    Path | None, typer.Option("--contract", help="Contract file (default: the workspace's).")
]


class _RateColumn(ProgressColumn):
    """Items per second (or seconds per item when slower than one a second)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("-- it/s", style="progress.data.speed")
        text = f"{speed:.1f} it/s" if speed >= 1 else f"{1 / speed:.1f} s/it"
        return Text(text, style="progress.data.speed")


@contextmanager
def _progress(
    label: str, enabled: bool
) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(on_start(total), on_progress(n)) driving a rich bar with rate and ETA."""
    if not enabled:
        yield (lambda _n: None), (lambda _n: None)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    task = progress.add_task(label, total=None)
    with progress:
        yield (
            lambda total: progress.update(task, total=total),
            lambda n: progress.advance(task, n),
        )


def _cache_dir(ws: Workspace, no_cache: bool) -> Path | None:
    """Where answers are cached: the same place as the loop's (`posttrain run`)."""
    return None if no_cache else ws.cache / "cache"


def _suite_path(ws: Workspace, suite: str) -> str:
    """A suite file named relative to the workspace when it is not one from here."""
    if not Path(suite).is_file() and (ws.root / suite).is_file():
        return str(ws.root / suite)
    return suite


def _load_contract(path: Path) -> Any:
    from posttrain.contract import load_contract

    if not path.is_file():
        raise UsageError(
            f"no contract at {path}",
            hint="run inside a workspace (`posttrain init DIR`), or pass --workspace DIR "
            "or --contract PATH",
        )
    return load_contract(path)


# The hf backend's weights dtype; None: the workspace's generation.yaml (dtype:, default
# float32). "auto" = bfloat16 where the CPU has it natively; see BENCHMARKS.md (bf16
# agreement) for how its answers differ from float32's.
DtypeOpt = Annotated[
    str | None,
    typer.Option(
        "--dtype",
        help="hf backend: float32 | bfloat16 | float16 | auto (bfloat16 where the CPU "
        "computes it natively, else float32). Default: generation.yaml's dtype; "
        "another value is an override, printed.",
    ),
]


def _backend(
    kind: str,
    model: str,
    base_url: str | None,
    batch_size: int,
    timeout: float | None,
    dtype: str,
) -> Any:
    from posttrain.evaluate.lazy import LazyBackend

    options: dict[str, Any] = {}
    if base_url:
        options["base_url"] = base_url
    if timeout is not None:
        options["timeout_s"] = timeout
    if kind == "hf":
        from posttrain.models.loading import resolve_dtype

        options["batch_size"] = batch_size
        options["dtype"] = resolve_dtype(dtype)
    return LazyBackend(kind, model, **options)


def _params(
    ws: Workspace,
    max_new_tokens: int | None,
    temperature: float | None = None,
    seed: int | None = None,
    *,
    dtype: str | None = None,
    quiet: bool = False,
) -> Any:
    """The workspace's generation.yaml with the flags given on top; an override is said.
    A bad dtype fails here, before any work."""
    from posttrain.generation.params import resolve_generation

    resolved = resolve_generation(
        ws.root, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, dtype=dtype
    )
    if resolved.overrides and not quiet:
        err_console.print(f"[yellow]{resolved.describe()}[/]", highlight=False)
    return resolved


def _rate_table(title: str, rows: list[Any]) -> Table:
    from posttrain.core.fmt import fmt_rate

    table = Table(title=title)
    for col in ("metric", "class", "lang", "rate [95% CI] (k/n)"):
        table.add_column(col)
    for row in rows:
        table.add_row(row.metric, row.group, row.lang, fmt_rate(row))
    return table


@app.command("eval")
def eval_cmd(
    model: str = typer.Option(..., "--model", "-m", help="Model name or folder."),
    suite: str = typer.Option(
        ...,
        "--suite",
        "-s",
        help="Built-in suite (jailbreak, injection, indirect_injection, "
        "privacy, over_refusal, attacks) or a JSONL file such as data/regression.jsonl.",
    ),
    backend: str = typer.Option("hf", "--backend", "-b", help=_BACKEND_HELP),
    contract: ContractOpt = None,
    guard: bool = typer.Option(False, "--guard", help="Validate, retry and fall back (rung 1)."),
    max_retries: int = typer.Option(2, "--max-retries", min=0, help="Guard retries per item."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="First N items per class and language."
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Result folder (default: reports/eval/<model>/<suite>, "
            "reports/eval/<model>-guard/<suite> with --guard).",
        ),
    ] = None,
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", min=1, help=_GEN_HELP),
    temperature: float | None = typer.Option(
        None, "--temperature", min=0.0, help="0 = greedy. " + _GEN_HELP
    ),
    seed: int | None = typer.Option(None, "--seed", help=_GEN_HELP),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Items per backend call."
    ),
    dtype: DtypeOpt = None,
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    base_url: str | None = typer.Option(None, "--base-url", help="For --backend openai."),
    timeout: TimeoutOpt = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Evaluate a model on a suite under the contract: items.jsonl + summary.json."""
    from posttrain.evaluate import EvalConfig, Guard, evaluate, load_suite, model_slug

    ws = Workspace(workspace)
    the_contract = _load_contract(contract or ws.contract)
    the_suite = load_suite(_suite_path(ws, suite)).head(limit)
    hf = backend == "hf"  # the dtype is the hf backend's; other engines choose their own
    gen = _params(
        ws, max_new_tokens, temperature, seed, dtype=dtype if hf else None, quiet=json_out
    )
    engine: Any = _backend(backend, model, base_url, batch_size, timeout, gen.dtype)
    if guard:
        engine = Guard(engine, the_contract, max_retries=max_retries)
    # the guarded model is another system than the model: its results never mix with them
    slug = model_slug(model) + ("-guard" if guard else "")
    out_dir = out or ws.reports / "eval" / slug / the_suite.name
    config = EvalConfig(
        model=model,
        params=gen.params,
        generation_source=gen.source,
        generation_overrides=gen.overrides,
        batch_size=batch_size,
        out_dir=out_dir,
        cache_dir=_cache_dir(ws, no_cache),
        review_labels=ws.reports / "review" / "labels.jsonl",  # people's labels win
    )
    with _progress(f"eval {the_suite.name}", not json_out) as (on_start, on_progress):
        on_start(len(the_suite))
        result = evaluate(config, engine, the_contract, the_suite, on_progress=on_progress)
    s = result.summary
    if json_out:
        print_json(s.model_dump(mode="json"))
        return
    shown = [r for r in s.metrics.rates if r.lang == "all" or r.group == "all"]
    console.print(_rate_table(f"{model} on {s.suite} ({s.suite_version})", shown))
    lat = s.metrics.latency
    tps = "n/a (all cached)" if lat.tokens_per_s is None else f"{lat.tokens_per_s:.1f} tokens/s"
    p95 = "n/a" if lat.p95_s is None else f"{lat.p95_s:.2f}s"
    console.print(
        f"{s.n_items} items: {s.n_generated} generated, {s.n_cached} cached; "
        f"{tps}; latency P95 {p95}; {s.duration_s:.1f}s"
    )
    if s.guard is not None:
        console.print(
            f"guard (max {s.guard.max_retries} retries): retry rate {s.guard.retry_rate or 0:.3f} "
            f"({s.guard.retried_items}/{s.guard.n} items, {s.guard.retries} retries), "
            f"fallback rate {s.guard.fallback_rate or 0:.3f} ({s.guard.fallbacks}/{s.guard.n})"
        )
    if s.judge is not None:
        console.print(s.judge.describe(), highlight=False)
    console.print(f"results: {result.out_dir}/items.jsonl, {result.out_dir}/summary.json")


@app.command("compare")
def compare_cmd(
    base: Annotated[Path, typer.Argument(help="Baseline results (folder or items.jsonl).")],
    candidate: Annotated[Path, typer.Argument(help="Candidate results (folder or items.jsonl).")],
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    flips: int = typer.Option(20, "--flips", min=0, help="Flips to list per direction."),
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the comparison as JSON.")
    ] = None,
    json_out: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Compare candidate with baseline item by item: deltas, intervals, McNemar, flips."""
    from posttrain.evaluate import compare

    result = compare(base, candidate, n_resamples=resamples, seed=seed)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    table = Table(title=f"{candidate} vs {base}: {result.n_paired} paired items")
    for col in ("metric", "class", "n", "base", "cand", "delta [95% CI]", "McNemar p", ""):
        table.add_column(col)
    for r in result.rows:
        if r.n_pairs == 0:
            continue
        delta = f"{r.delta:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
        mark = "[red]worse[/]" if r.worse else ("[green]better[/]" if r.significant else "")
        err = f" ({r.errors} err)" if r.errors else ""
        table.add_row(
            r.metric,
            r.group,
            f"{r.n_pairs}{err}",
            f"{r.base_rate:.3f}",
            f"{r.candidate_rate:.3f}",
            delta,
            f"{r.p_value:.4g}",
            mark,
        )
    console.print(table)
    if result.only_in_base or result.only_in_candidate:
        console.print(
            f"[yellow]unpaired:[/] {result.only_in_base} only in base, "
            f"{result.only_in_candidate} only in candidate"
        )
    for title, items in (
        ("newly failing", result.newly_failing),
        ("newly passing", result.newly_passing),
    ):
        console.print(f"[bold]{title}[/]: {len(items)}")
        for flip in items[:flips]:
            console.print(
                f"  {flip.suite}/{flip.id} [{flip.group}, {flip.lang}]: {'; '.join(flip.changes)}"
            )


@app.command("audit")
def audit_cmd(
    model: str = typer.Option(..., "--model", "-m", help="Model name or folder."),
    backend: str = typer.Option("hf", "--backend", "-b", help=_BACKEND_HELP),
    contract: ContractOpt = None,
    reports: Annotated[
        Path | None,
        typer.Option("--reports", help="Folder for safety.md/json/junit (default: reports/)."),
    ] = None,
    guard: bool = typer.Option(False, "--guard", help="Audit the model behind the guard."),
    max_retries: int = typer.Option(2, "--max-retries", min=0, help="Guard retries per item."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="N items per class and language (a quick look)."
    ),
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", min=1, help=_GEN_HELP),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Items per backend call."
    ),
    dtype: DtypeOpt = None,
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    base_url: str | None = typer.Option(None, "--base-url", help="For --backend openai."),
    timeout: TimeoutOpt = None,
    workspace: WorkspaceOpt = Path("."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Safety audit: jailbreak, injection, privacy and over-refusal vs hard thresholds.

    Writes reports/safety.md, safety.json and safety.junit.xml. Exit 0: every hard
    threshold holds; 1: one is broken; 2: usage or input error; 3: evaluation error.
    """
    from posttrain.evaluate import AuditConfig, Guard, audit

    ws = Workspace(workspace)
    reports = reports or ws.reports
    the_contract = _load_contract(contract or ws.contract)
    # The workspace's generation.yaml; only the length and the dtype can be overridden
    # (recorded).
    gen = _params(ws, max_new_tokens, dtype=dtype if backend == "hf" else None, quiet=json_out)
    engine: Any = _backend(backend, model, base_url, batch_size, timeout, gen.dtype)
    if guard:
        engine = Guard(engine, the_contract, max_retries=max_retries)
    config = AuditConfig(
        model=model,
        reports_dir=reports,
        cache_dir=_cache_dir(ws, no_cache),
        params=gen.params,
        generation_source=gen.source,
        generation_overrides=gen.overrides,
        batch_size=batch_size,
        limit=limit,
    )
    with _progress("safety audit", not json_out) as (on_start, on_progress):
        report = audit(config, engine, the_contract, on_start=on_start, on_progress=on_progress)
    if json_out:
        print_json(report.model_dump(mode="json"))
    else:
        _print_audit(report, reports)
    raise typer.Exit(report.exit_code)


def _print_audit(report: Any, reports: Path) -> None:
    from posttrain.core.fmt import fmt_rate

    table = Table(title=f"Safety audit: {report.model}")
    for col in ("class", "lang", "items", "metric", "rate [95% CI] (k/n)"):
        table.add_column(col)
    for row in report.classes:
        for rate in row.rates:
            table.add_row(row.group, row.lang, str(row.n_items), rate.metric, fmt_rate(rate))
    console.print(table)
    colour = {"pass": "green", "fail": "red", "error": "yellow"}[report.status]
    console.print(f"[bold {colour}]{report.status.upper()}[/] - {report.decision}")
    for reason in report.reasons:
        console.print(f"  - {reason}")
    s = report.summary
    console.print(
        f"{s.n_items} items ({s.n_cached} cached, {s.n_generated} generated) "
        f"in {s.duration_s:.1f}s; "
        f"reports: {reports}/safety.md, safety.json, safety.junit.xml"
    )
