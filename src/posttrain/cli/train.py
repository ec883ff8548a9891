"""``posttrain train sft|dpo|reward|ppo``, ``posttrain export`` and ``posttrain estimate``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from posttrain.cli._app import app
from posttrain.cli._common import console, err_console, given, print_json, validated
from posttrain.workspace import TRAINING_CONFIGS

train_app = typer.Typer(
    help="Train with a recipe (LoRA by default) from a YAML config; see configs/.",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config (default: configs/<method>.yaml)."),
]
Overrides = Annotated[
    list[str] | None, typer.Argument(help="key=value overrides, e.g. lr=1e-4 max_steps=20")
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="A named profile of the config (quick).")
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the last unfinished run (or run_id=...) from its checkpoint, with its "
        "own saved config; key=value, --config and --profile apply on top only when given. "
        "A change of model, method, LoRA shape, init_adapter, reward_model or data version "
        "is refused.",
    ),
]
WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the run manifest as JSON.")]


def _run(
    method: str,
    config: Path | None,
    overrides: list[str] | None,
    profile: str | None,
    resume: bool,
    workspace: Path,
    as_json: bool,
) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from posttrain.train import load_config, train

    path = config
    relative = path is not None and not path.is_absolute() and not path.is_file()
    if path is not None and relative and (workspace / path).is_file():
        path = workspace / path
    if resume:
        # The run's own saved config, with only what this command line gives on top.
        from posttrain.train.runtime import resume_config

        cfg = resume_config(method, workspace, overrides or [], path=path, profile=profile)
        if int(os.environ.get("RANK", "0")) == 0:
            err_console.print(f"[dim]resuming {cfg.run_id} with its saved config[/]")
    else:
        if path is None:
            default = workspace / TRAINING_CONFIGS[method]
            path = default if default.is_file() else None
        cfg = load_config(method, path, overrides or [], profile=profile)
    manifest = train(cfg, workspace, resume=resume, show=not as_json)
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun / accelerate, rank 0 reports for all
    if as_json:
        print_json(manifest.model_dump(mode="json"))
        return
    table = Table(title=f"run {manifest.run_id}", show_header=False)
    table.add_row("status", manifest.status)
    if manifest.stop_reason:
        table.add_row("stop reason", manifest.stop_reason)
    table.add_row("data version", str(manifest.data_version))
    table.add_row("examples", f"{manifest.n_train} train / {manifest.n_val} val")
    signals = manifest.final_signals
    for key in ("loss", "val_loss", "reward_accuracy", "tokens_per_s", "peak_rss_mb"):
        if key in signals:
            table.add_row(key, f"{signals[key]:.4g}")
    table.add_row("wall time", f"{manifest.timings.get('total_s', 0):.1f} s")
    table.add_row("output", str(manifest.output))
    console.print(table)


_RECIPES = {
    "sft": "Supervised fine-tuning on data/sft.jsonl.",
    "dpo": "Direct preference optimisation on data/prefs.jsonl.",
    "reward": "A reward model on data/prefs.jsonl (for ppo).",
    "ppo": "On-policy RL against a reward run with a KL penalty (TRL's RLOO).",
}


def _recipe_command(method: str, doc: str) -> None:
    """Register ``posttrain train <method>``: every recipe takes the same options."""

    def command(
        overrides: Overrides = None,
        config: ConfigOpt = None,
        profile: ProfileOpt = None,
        resume: ResumeOpt = False,
        workspace: WorkspaceOpt = Path("."),
        as_json: JsonOpt = False,
    ) -> None:
        _run(method, config, overrides, profile, resume, workspace, as_json)

    command.__doc__ = doc
    command.__name__ = f"train_{method}"
    train_app.command(method)(command)


for _method, _doc in _RECIPES.items():
    _recipe_command(_method, _doc)


@app.command("export")
def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A training run folder (runs/<run_id>).")],
    dtype: Annotated[
        list[str] | None,
        typer.Option(
            "--dtype",
            help="fp32 | bf16 | fp16 | int8 | q8_0 | q4_1 | q4_0 (the q*: GGUF for llama.cpp); "
            "repeatable; default all.",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge a run's adapter into its base and write loadable models (safetensors, GGUF)."""
    from posttrain.train.export import EXPORT_DTYPES, export_run

    dtypes = dtype or list(EXPORT_DTYPES)
    result = export_run(run_dir, dtypes=dtypes, out_dir=out)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    table = Table(title=f"export of {result.run_id}")
    for col in ("dtype", "folder", "size (MB)", "via"):
        table.add_column(col)
    for item in result.models:
        table.add_row(item.dtype, item.path, f"{item.size_bytes / 1e6:.1f}", item.method)
    console.print(table)


# Each option is an EstimateInput field of the same name (--price: price_per_gpu_hour);
# one left out (None) takes the model's default, and the model validates every value.
@app.command("estimate")
def estimate_cmd(
    ctx: typer.Context,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="A named size (7B, 13B...) or a config.json path."),
    ] = None,
    method: Annotated[str | None, typer.Option(help="full | lora | qlora")] = None,
    recipe: Annotated[str | None, typer.Option(help="sft | dpo | reward | ppo")] = None,
    dpo_reference: Annotated[
        str | None, typer.Option(help="DPO reference: copy | adapter | precomputed")
    ] = None,
    seq_len: Annotated[int | None, typer.Option()] = None,
    micro_batch: Annotated[int | None, typer.Option()] = None,
    grad_accum: Annotated[int | None, typer.Option()] = None,
    lora_r: Annotated[int | None, typer.Option()] = None,
    checkpointing: Annotated[bool | None, typer.Option(help="Activation checkpointing.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adamw | adamw8bit | sgd")] = None,
    dtype: Annotated[str | None, typer.Option(help="Training dtype: bf16 | fp16 | fp32")] = None,
    tokens: Annotated[float | None, typer.Option(help="Training tokens (all epochs).")] = None,
    throughput: Annotated[
        float | None, typer.Option(help="Measured tokens/s per GPU (default: from FLOPs).")
    ] = None,
    gpu: Annotated[str | None, typer.Option(help="GPU kind for the FLOPs estimate.")] = None,
    gpus: Annotated[int | None, typer.Option(help="Number of GPUs.")] = None,
    price_per_gpu_hour: Annotated[
        float | None, typer.Option("--price", help="$ per GPU-hour.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Memory, time and money for a training run, before you start it.

    An option left out takes the estimator's default; --json shows every input used.
    """
    from posttrain.train.estimate import EstimateInput, estimate, render_table

    fields = given(**{k: v for k, v in ctx.params.items() if k in EstimateInput.model_fields})
    inp = validated(EstimateInput, fields, flags={"price_per_gpu_hour": "--price"})
    result = estimate(inp)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    console.print(render_table(result))
    for note in result.notes:
        err_console.print(f"[dim]{note}[/]")
