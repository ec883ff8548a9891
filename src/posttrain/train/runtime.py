"""What every recipe shares: the run folder, the model and adapter, the trainer arguments,
and the loop around ``trainer.train()`` that records the run.

A recipe (``sft.py``, ``dpo.py``...) reads top to bottom as: :func:`start_run`, load data,
:func:`load_base`, build TRL's trainer with :func:`trainer_kwargs` and :func:`lora_config`,
then :func:`run_trainer`. Nothing here knows about a particular method.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from transformers import TrainerCallback

from posttrain.errors import (
    InputError,
    MissingDependencyError,
    SafetyStopError,
    TrainingDivergedError,
    UsageError,
)
from posttrain.train.config import TrainConfig, config_class, config_hash, load_config
from posttrain.train.data import DataInfo, read_data_info
from posttrain.train.manifest import (
    CheckpointInfo,
    RunManifest,
    base_fields,
    now_iso,
    read_manifest,
    write_manifest,
)
from posttrain.train.signals import SIGNALS_FILE, Probe, SignalsCallback

__all__ = [
    "RUN_IDENTITY",
    "FrozenBaseInBF16",
    "RunContext",
    "bf16_callbacks",
    "causal_only_when_right_padded",
    "find_resumable",
    "frozen_base_to_bf16",
    "label_positions_only",
    "load_base",
    "lora_config",
    "pad_multiple",
    "resolve_adapter",
    "resolve_precision",
    "resume_config",
    "run_trainer",
    "start_run",
    "system_prompt",
    "trainer_kwargs",
]

CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
FULL_MODEL = "model"
CONFIG_FILE = "config.yaml"

# The config fields that make a run what it is. Its checkpoint holds weights (or an
# adapter of one shape) trained on this model, from this starting adapter, against this
# reward model: continuing it with another value would load one model's checkpoint into
# another, so `--resume` refuses a change to any of them, as it does a change of recipe or
# of data version. Every other field (max_steps, lr, eval_every...) may change on resume;
# it is warned about, because the losses then differ from an uninterrupted run's.
RUN_IDENTITY: tuple[str, ...] = (
    "model",
    "method",
    "lora_r",
    "lora_alpha",
    "target_modules",
    "init_adapter",
    "reward_model",
)


@dataclass
class RunContext:
    """A run in progress: its folder, config, data and manifest."""

    config: TrainConfig
    workspace: Path
    run_dir: Path
    data_dir: Path
    data: DataInfo
    manifest: RunManifest
    resume_from: str | None = None
    is_main: bool = True
    world_size: int = 1
    started: float = field(default_factory=time.perf_counter)

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / CHECKPOINTS

    def save_manifest(self) -> None:
        if self.is_main:
            write_manifest(self.run_dir, self.manifest)


def _distributed() -> tuple[bool, int]:
    """(is main process, world size), from the launcher's environment."""
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return rank == 0, world


def _shared_value(value: str) -> str:
    """Under a multi-process launch, every process takes rank 0's value (the run id)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return value
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    PartialState()  # joins the process group the launcher set up
    box = [value]
    broadcast_object_list(box, from_process=0)
    return str(box[0])


def is_main_process() -> bool:
    """Whether this process is rank 0 of the launch (or not distributed)."""
    return _distributed()[0]


def find_resumable(workspace: Path, kind: str, run_id: str | None = None) -> Path:
    """The run folder ``--resume`` continues: ``run_id`` if given, else the newest run of
    this recipe that did not finish. Raises :class:`UsageError` when there is none."""
    runs = workspace / "runs"
    if run_id is not None:
        candidate = runs / run_id
        if not (candidate / "manifest.json").is_file():
            raise UsageError(f"no run {run_id!r} under {runs}", hint="see the folders in runs/")
        status = read_manifest(candidate).status
        if status in ("finished", "early_stopped"):
            raise UsageError(
                f"run {run_id} is {status.replace('_', ' ')}: there is nothing to resume",
                hint="start a new run without --resume (and without this run_id)",
            )
        return candidate
    found = []
    for path in sorted(runs.glob(f"{kind}-*")) if runs.is_dir() else []:
        if (path / "manifest.json").is_file():
            manifest = read_manifest(path)
            # a run that failed before its first checkpoint has nothing to resume from
            resumable = _last_checkpoint(path / CHECKPOINTS) is not None
            if manifest.status not in ("finished", "early_stopped") and resumable:
                found.append(path)
    if not found:
        raise UsageError(
            f"no unfinished {kind} run with a checkpoint to resume under {runs}",
            hint="start a new run without --resume, or pass run_id=<folder name>",
        )
    return found[-1]


def resume_config(
    method: str,
    workspace: Path,
    overrides: Sequence[str] = (),
    *,
    path: Path | None = None,
    profile: str | None = None,
) -> TrainConfig:
    """The config ``--resume`` continues a run with: the run's own ``config.yaml``, with
    only what is given on top - the fields of the config file ``path``, the profile
    ``profile`` (of ``path``, else of the workspace's default config file for ``method``),
    then the ``key=value`` overrides.

    The run is the one ``run_id=`` names, else the newest unfinished run of ``method``
    (:func:`find_resumable`); the config returned names it. A change to what the run is
    (:data:`RUN_IDENTITY`) is refused by :func:`start_run`, before any model is loaded.
    Raises :class:`UsageError` when there is no such run and :class:`ConfigError` when
    the result does not validate.
    """
    from posttrain.train.config import _merge, parse_overrides, profile_fields
    from posttrain.workspace import TRAINING_CONFIGS

    workspace = workspace.resolve()
    extra = parse_overrides(list(overrides))
    kind = config_class(method).kind
    given_id = extra.get("run_id")
    run_dir = find_resumable(workspace, kind, None if given_id is None else str(given_id))
    manifest = read_manifest(run_dir)
    if manifest.recipe != kind:
        raise UsageError(
            f"run {run_dir.name} is a {manifest.recipe} run, not a {kind} run",
            hint=f"resume it with `posttrain train {manifest.recipe} --resume "
            f"run_id={run_dir.name}`",
        )
    saved_path = run_dir / CONFIG_FILE
    saved: dict[str, Any] = dict(manifest.config)
    if saved_path.is_file():
        # config.yaml holds the config the run last ran with (a resume may have changed
        # max_steps...); the manifest keeps the one it started with.
        loaded = yaml.safe_load(saved_path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            saved = loaded
    saved["run_id"] = run_dir.name
    if path is None and profile is not None:
        default = workspace / TRAINING_CONFIGS[kind]
        if not default.is_file():
            raise UsageError(
                f"--profile {profile} needs a config file: there is no {default}",
                hint="pass --config FILE with the profile, or give the fields as key=value",
            )
        saved = _merge(saved, profile_fields(default, profile))
        profile = None
    source = str(path) if path is not None else f"{saved_path} with the overrides"
    return load_config(method, path, extra, profile=profile, base=saved, source=source)


def start_run(config: TrainConfig, workspace: Path, *, resume: bool = False) -> RunContext:
    """Create (or, with ``resume``, reopen) ``runs/<run_id>/`` and its manifest.

    Reads the data manifest first, so data that failed its quality rules is refused before
    any model is loaded. Raises :class:`InputError` / :class:`UsageError`.
    """
    is_main, world = _distributed()
    workspace = workspace.resolve()
    data_dir = config.data if config.data.is_absolute() else workspace / config.data
    data = read_data_info(data_dir, allow_failed_quality=config.allow_failed_quality)
    chash = config_hash(config)
    resume_from: str | None = None
    if resume:
        run_dir = find_resumable(workspace, config.kind, config.run_id)
        manifest = read_manifest(run_dir)
        _check_same_run(run_dir, manifest, config, data)
        if manifest.config_hash != chash and is_main:
            _warn_config_change(manifest, config)
        last = _last_checkpoint(run_dir / CHECKPOINTS)
        if last is None:
            raise UsageError(
                f"run {run_dir.name} has no checkpoint to resume from",
                hint="start it again without --resume",
            )
        resume_from = str(last)
        manifest.resumed_from.append(last.name)
        manifest.status = "running"
        manifest.stop_reason = None
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        run_id = config.run_id or _shared_value(f"{config.kind}-{stamp}-{chash[:6]}")
        run_dir = workspace / "runs" / run_id
        # Only rank 0 checks: it writes the manifest, possibly before the others get here.
        if is_main and (run_dir / "manifest.json").is_file():
            raise UsageError(
                f"run {run_id} already exists", hint="pass --resume to continue it, or a new run_id"
            )
        from posttrain.models import fingerprint

        manifest = RunManifest(
            run_id=run_id,
            recipe=config.kind,
            finetune=config.method,
            data=data,
            data_version=data.data_version,
            contract_hash=data.contract_hash,
            deid_policy_version=data.deid_policy_version,
            config=config.model_dump(mode="json"),
            config_hash=chash,
            base_model=config.model,
            base_model_fingerprint=fingerprint(config.model),
            world_size=world,
            started_at=now_iso(),
            **base_fields(workspace, {"data_manifest": data_dir / "manifest.json"}),
        )
    ctx = RunContext(
        config=config,
        workspace=workspace,
        run_dir=run_dir,
        data_dir=data_dir,
        data=data,
        manifest=manifest,
        resume_from=resume_from,
        is_main=is_main,
        world_size=world,
    )
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / CONFIG_FILE).write_text(
            yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
        )
        ctx.save_manifest()
    import datasets

    datasets.disable_progress_bars()
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    return ctx


def _check_same_run(
    run_dir: Path, manifest: RunManifest, config: TrainConfig, data: DataInfo
) -> None:
    """Refuse to resume ``run_dir`` as another run: another recipe, a change to a field
    of :data:`RUN_IDENTITY`, other data, or a base model whose files changed. Raises
    :class:`UsageError` naming the field, the run's value and the given one."""

    def refuse(what: str, was: object, given: object, why: str) -> UsageError:
        return UsageError(
            f"cannot resume run {run_dir.name} with {what} {given!r}: the run was made "
            f"with {was!r}; {why}",
            hint=f"resume without changing {what} (`--resume` takes the run's own config; "
            "give only what should change), or start a new run without --resume",
        )

    if manifest.recipe != config.kind:
        raise refuse("the recipe", manifest.recipe, config.kind, "that is another run")
    new = config.model_dump(mode="json")
    for key in RUN_IDENTITY:
        # A field the run's record lacks (written before it existed) is not compared.
        if key in new and key in manifest.config and manifest.config[key] != new[key]:
            raise refuse(
                key,
                manifest.config[key],
                new[key],
                "its checkpoints hold weights of that model and adapter, nothing else",
            )
    if manifest.data_version != data.data_version:
        raise refuse(
            "the data version",
            manifest.data_version,
            data.data_version,
            f"the data in {config.data} was rebuilt since the run started",
        )
    from posttrain.models import fingerprint

    # The same name can hold other weights (a local folder overwritten); the run
    # recorded the content hash of the files it started from.
    now = fingerprint(config.model)
    if now != manifest.base_model_fingerprint:
        raise refuse(
            f"the fingerprint of model {config.model}",
            manifest.base_model_fingerprint,
            now,
            "its files changed since the run started",
        )


def _warn_config_change(manifest: RunManifest, config: TrainConfig) -> None:
    from posttrain.core.console import err_console

    new = config.model_dump(mode="json", exclude={"run_id"})
    changed = [k for k in new if manifest.config.get(k) != new[k]]
    if not changed:
        return
    err_console.print(
        f"[yellow]warning:[/] resuming with a changed config ({', '.join(changed)}); "
        "the losses will not match an uninterrupted run"
    )


def _last_checkpoint(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    steps = []
    for path in folder.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and (path / "trainer_state.json").is_file():
            steps.append((int(match.group(1)), path))
    return max(steps)[1] if steps else None


def system_prompt(ctx: RunContext) -> str | None:
    """The system prompt evaluation puts before every conversation (the workspace
    contract's, with its canary), or None with ``system_prompt=data`` or no contract."""
    cfg = ctx.config
    path = cfg.contract if cfg.contract.is_absolute() else ctx.workspace / cfg.contract
    if cfg.system_prompt == "data" or not path.is_file():
        ctx.manifest.system_prompt = None
        return None
    from posttrain.contract import load_contract
    from posttrain.evaluate.runner import canary_for

    contract = load_contract(path)
    value = contract.content_hash
    chash = str(value() if callable(value) else value)
    ctx.manifest.system_prompt = f"contract {chash}"
    if ctx.manifest.contract_hash is None:
        ctx.manifest.contract_hash = chash
    return str(contract.render_system_prompt(canary=canary_for(chash)))


def record_heldout(ctx: RunContext, trained: Sequence[Any]) -> None:
    """Write the failures neither this run nor the run it starts from trained on as an
    evaluation suite (``heldout.jsonl``), to compare base and candidate on."""
    if not ctx.is_main:
        return
    from posttrain.train.heldout import write_heldout_suite

    cfg = ctx.config
    contract = cfg.contract if cfg.contract.is_absolute() else ctx.workspace / cfg.contract
    keys = {r.split_key for r in trained}
    # The run whose adapter this one starts from (DPO or RLOO on SFT): its folder holds
    # the adapter, or is the adapter's parent. A reward run scores, it is not started from.
    parent = None
    if ctx.manifest.init_adapter:
        adapter = Path(ctx.manifest.init_adapter)
        parent = next(
            (d for d in (adapter, adapter.parent) if (d / "manifest.json").is_file()), None
        )
    write_heldout_suite(ctx.run_dir, ctx.data_dir, keys, contract, parent=parent)


def resolve_adapter(path: Path, workspace: Path) -> tuple[Path, str | None]:
    """An adapter folder from a run folder or an adapter folder: (adapter path, run id)."""
    path = path if path.is_absolute() else workspace / path
    if (path / "manifest.json").is_file():
        manifest = read_manifest(path)
        if manifest.output is None:
            raise InputError(
                f"run {manifest.run_id} has no final adapter (status {manifest.status})",
                path=str(path),
            )
        return Path(manifest.output), manifest.run_id
    if (path / "adapter_config.json").is_file():
        return path, None
    raise InputError(
        "neither a run folder nor a PEFT adapter folder",
        path=str(path),
        hint="point init_adapter at runs/<run_id> of a finished SFT run",
    )


def load_base(config: TrainConfig, init_adapter: Path | None = None) -> tuple[Any, Any]:
    """The base model (float32 on CPU; 4-bit for QLoRA) and its tokenizer.

    ``init_adapter`` (an SFT adapter for DPO) is merged into the base weights, so the new
    adapter trains on top of it and the adapter-disabled model - the reference - is the
    SFT model. Raises :class:`UsageError` for QLoRA without a GPU or bitsandbytes.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from posttrain.models import load_tokenizer, prepare

    folder = prepare(config.model)
    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if config.method == "qlora":
        kwargs = _qlora_kwargs()
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    tokenizer = load_tokenizer(config.model)
    # TRL's collators pad on the right for training; generation sets left padding itself.
    tokenizer.padding_side = "right"
    if init_adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(init_adapter)).merge_and_unload()
    causal_only_when_right_padded(model)
    return model, tokenizer


def causal_only_when_right_padded(model: Any) -> Any:
    """Let the backbone of ``model`` drop an attention mask that only marks right padding.

    Under causal attention a real token never sees the padding after it, so for a batch
    whose every mask row is ``1..1 0..0`` the mask changes nothing the loss reads (the
    padded positions carry no label): without it, attention runs as plain causal
    attention, which torch's CPU kernel does without materialising a (batch, heads,
    seq, seq) score matrix per layer - less memory and less time. Any other mask (left
    padding in generation, packed rows' position ids) is passed on unchanged. The
    trainer still sees the mask (tokens/s counts real tokens from it). Returns the hook
    handle."""
    backbone = getattr(model, getattr(model, "base_model_prefix", "model"), None)
    if backbone is None or not hasattr(backbone, "register_forward_pre_hook"):
        return None

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        mask = kwargs.get("attention_mask")
        if mask is None or mask.dim() != 2 or kwargs.get("past_key_values") is not None:
            return None
        # Right padding only: each row is non-increasing (ones, then zeros).
        if bool((mask[:, 1:] <= mask[:, :-1]).all()) and bool(mask[:, 0].all()):
            kwargs = dict(kwargs, attention_mask=None)
            return args, kwargs
        return None

    return backbone.register_forward_pre_hook(hook, with_kwargs=True)


@contextmanager
def label_positions_only() -> Iterator[bool]:
    """While open, TRL's fused LM head projects only the positions that carry a label on
    a CPU too, not every position of the batch.

    SFT's and DPO's trainers score tokens through TRL's fused LM head
    (``trl.trainer.utils.add_fused_lm_head``: per-token log-probs, entropy and top-1 in
    vocabulary tiles). On a Triton GPU it projects only the positions whose label is not
    ``-100``; anywhere else it projects every position - the prompt and the padding too -
    so that a compiler (Neuron) sees one tile shape per batch size. Eager PyTorch on a CPU
    compiles nothing, so those rows are pure cost: on SmolLM2 a 49,152 x 576 projection,
    forward and backward, per prompt token, where a training record's prompt is most of
    its tokens. Their results are masked to zero, so the loss, the gradients and the
    metrics are the same either way (tested). Under bf16 autocast on a CPU the labelled
    rows are also padded to a multiple of 64 (:func:`_apply_rows_padded`). Yields whether
    it applied: a TRL without this switch is left as it is.
    """
    import trl.trainer.utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    kernel = getattr(trl_utils, "_ChunkedLogProbFunction", None)
    if original is None or kernel is None:
        yield False
        return

    def compact(device: Any) -> bool:
        return bool(device.type == "cpu" or original(device))

    class RowsPadded:
        """TRL's kernel with the labelled rows padded to a multiple (CPU, bf16 only)."""

        @staticmethod
        def apply(*args: Any) -> Any:
            return _apply_rows_padded(kernel, *args)

    trl_utils._use_triton = compact
    setattr(trl_utils, "_ChunkedLogProbFunction", RowsPadded)  # noqa: B010
    try:
        yield True
    finally:
        trl_utils._use_triton = original
        setattr(trl_utils, "_ChunkedLogProbFunction", kernel)  # noqa: B010


# The multiple the fused LM head's labelled rows are padded to on a CPU in bf16.
LM_HEAD_ROW_MULTIPLE = 64


def _apply_rows_padded(
    kernel: Any, hidden: Any, weight: Any, bias: Any, targets: Any, *rest: Any
) -> Any:
    """``kernel.apply`` on the labelled rows, padded with zero rows to a multiple of
    :data:`LM_HEAD_ROW_MULTIPLE` under bf16 autocast on a CPU; the padded rows' outputs are
    cut off again.

    The compact head's row count is the batch's number of labelled tokens, new at nearly
    every step; in bf16 its products run in oneDNN, which keeps a kernel per shape, so the
    count is rounded up as the batch lengths are (:func:`pad_multiple`). A zero row adds
    nothing to the weight's gradient and receives no gradient (its outputs are dropped).
    """
    import torch

    rows = hidden.shape[0]
    pad = -rows % LM_HEAD_ROW_MULTIPLE
    in_bf16 = torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    if not pad or hidden.device.type != "cpu" or not in_bf16:
        return kernel.apply(hidden, weight, bias, targets, *rest)
    hidden = torch.cat([hidden, hidden.new_zeros(pad, hidden.shape[1])])
    targets = torch.cat([targets, targets.new_zeros(pad)])
    outputs = kernel.apply(hidden, weight, bias, targets, *rest)
    return tuple(None if x is None else x[:rows] for x in outputs)


def _qlora_kwargs() -> dict[str, Any]:
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise UsageError(
            "method=qlora loads the base model in 4 bits, which needs a CUDA GPU; none is "
            "available here",
            hint="use method=lora (the default) on this machine, or run on a GPU host",
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise MissingDependencyError(
            "method=qlora needs bitsandbytes", hint="pip install bitsandbytes"
        )
    from transformers import BitsAndBytesConfig

    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        ),
        "dtype": torch.bfloat16,
    }


def lora_config(config: TrainConfig, task_type: str = "CAUSAL_LM") -> Any:
    """The PEFT LoRA config (None for a full fine-tune)."""
    if config.method == "full":
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        task_type=task_type,
        bias="none",
    )


def trainer_kwargs(ctx: RunContext, *, has_val: bool) -> dict[str, Any]:
    """The ``TrainingArguments`` fields every recipe sets from the control panel."""
    cfg = ctx.config
    import torch

    eval_on = has_val
    save_every = cfg.save_every or cfg.eval_every
    early = cfg.patience is not None and eval_on
    if early and save_every % cfg.eval_every:
        # Restoring the best checkpoint needs one at every evaluation.
        save_every = cfg.eval_every
    warmup: float | int = cfg.warmup if cfg.warmup < 1 else int(cfg.warmup)
    return {
        "output_dir": str(ctx.checkpoints),
        "per_device_train_batch_size": cfg.micro_batch,
        "per_device_eval_batch_size": cfg.micro_batch,
        "gradient_accumulation_steps": cfg.grad_accum,
        "learning_rate": cfg.lr,
        "lr_scheduler_type": cfg.lr_scheduler,
        "warmup_steps": warmup,
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps if cfg.max_steps is not None else -1,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        # Every step is logged so a NaN is caught at once; signals thin it to log_every.
        "logging_steps": 1,
        "eval_strategy": "steps" if eval_on else "no",
        "eval_steps": cfg.eval_every if eval_on else None,
        "save_strategy": "steps",
        "save_steps": save_every,
        "save_total_limit": cfg.keep_checkpoints,
        "load_best_model_at_end": early,
        "metric_for_best_model": "eval_loss" if early else None,
        "greater_is_better": False if early else None,
        "activation_checkpointing": cfg.gradient_checkpointing,
        "include_num_input_tokens_seen": "non_padding",
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": not torch.cuda.is_available(),
        "dataloader_num_workers": 0,
        "ddp_backend": "gloo" if not torch.cuda.is_available() and ctx.world_size > 1 else None,
        # Autocast to bf16 over fp32 weights (TrainingArguments' mixed precision, on a
        # CPU too); the resolved choice is recorded in the run manifest.
        "bf16": _precision(ctx) == "bf16",
    }


# The multiple ``pad_to_multiple_of: auto`` rounds batch lengths up to on a CPU in bf16.
CPU_BF16_PAD_MULTIPLE = 32


def pad_multiple(config: TrainConfig, *, packing: bool = False) -> int | None:
    """The collator's ``pad_to_multiple_of`` for this run (None: pad to the longest row).

    Under bf16 autocast on a CPU the matrix products run in oneDNN, which builds a kernel
    for every new shape and keeps it: with length-grouped batches each step brought new
    lengths, and the resident memory of the example's quick SFT grew from 2.7 GB at step 8
    to 5.0 GB at step 76. Rounding lengths up to a multiple of 32 bounds the shapes (12 up
    to 384 tokens) at a few per cent more padding, which carries neither label nor
    attention. Packed rows are padding-free, so they are left alone.
    """
    if packing:
        return None
    if config.pad_to_multiple_of != "auto":
        return config.pad_to_multiple_of
    return CPU_BF16_PAD_MULTIPLE if _bf16_on_cpu(config) else None


def _bf16_on_cpu(config: TrainConfig) -> bool:
    """Whether ``config`` trains under bf16 autocast on a CPU (no GPU here)."""
    import torch

    return not torch.cuda.is_available() and resolve_precision(config) == "bf16"


class FrozenBaseInBF16(TrainerCallback):
    """At the start of training, store LoRA's frozen base weights in bf16 (a run that
    trains in bf16 autocast on a CPU).

    Under autocast every matrix product of a frozen base ``Linear`` already runs in bf16:
    autocast casts its fp32 weight to a bf16 copy at every forward, and the copy is held
    until the backward pass. Casting once instead gives the same products - the cast is
    deterministic - and drops both the per-step copies and half of the stored weights (on
    SmolLM2-135M 106M parameters: 424 MB in fp32, 212 MB in bf16). The trainable LoRA
    weights, the norms, the embedding and the LM head stay fp32. Applied at train begin,
    after PEFT has created the adapters, whose initial values a bf16 base would otherwise
    round (PEFT moves new adapters to the base layer's dtype before upcasting them). A
    forward outside autocast (generation, a probe) still works: the converted layer casts
    its input to bf16 and its output back. The trained adapter is saved on its own, so
    nothing written to disk changes; the in-memory base stays bf16 after training.
    """

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if kwargs.get("model") is not None:
            frozen_base_to_bf16(kwargs["model"])  # a second call finds nothing left to do


def frozen_base_to_bf16(model: Any) -> int:
    """Store the frozen fp32 base ``Linear`` of every LoRA layer of ``model`` in bf16;
    returns how many were converted. A weight shared with another module (tied
    embeddings) is left as it is. See :class:`FrozenBaseInBF16`."""
    from collections import Counter

    import torch
    from peft.tuners.lora import LoraLayer

    uses = Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
    converted = 0
    for module in model.modules():
        if not isinstance(module, LoraLayer):
            continue
        base = module.get_base_layer()
        weight = getattr(base, "weight", None)
        if (
            type(base) is not torch.nn.Linear
            or weight is None
            or weight.dtype != torch.float32
            or weight.requires_grad
            or uses[id(weight)] > 1
        ):
            continue
        weight.data = weight.data.to(torch.bfloat16)
        if base.bias is not None and not base.bias.requires_grad:
            base.bias.data = base.bias.data.to(torch.bfloat16)
        base.register_forward_pre_hook(_bf16_input_outside_autocast)
        base.register_forward_hook(_input_dtype_output)
        converted += 1
    return converted


def _bf16_input_outside_autocast(module: Any, args: tuple[Any, ...]) -> Any:
    import torch

    x = args[0]
    module._posttrain_in_dtype = None
    if x.dtype != module.weight.dtype and not torch.is_autocast_enabled(x.device.type):
        module._posttrain_in_dtype = x.dtype
        return (x.to(module.weight.dtype), *args[1:])
    return None


def _input_dtype_output(module: Any, args: tuple[Any, ...], output: Any) -> Any:
    dtype = getattr(module, "_posttrain_in_dtype", None)
    return output.to(dtype) if dtype is not None else None


def bf16_callbacks(config: TrainConfig) -> list[TrainerCallback]:
    """The callbacks a LoRA run that trains in bf16 on a CPU gets: see
    :class:`FrozenBaseInBF16`."""
    return [FrozenBaseInBF16()] if config.method == "lora" and _bf16_on_cpu(config) else []


def _precision(ctx: RunContext) -> str:
    precision = resolve_precision(ctx.config)
    ctx.manifest.precision = precision
    return precision


def resolve_precision(config: TrainConfig) -> str:
    """The compute precision a run trains in here: ``"bf16"`` (autocast) or ``"fp32"``.

    ``precision: auto`` is bf16 where the device has it natively - a GPU that supports
    it, or a CPU with native bf16 arithmetic (:func:`posttrain.models.loading.native_bf16`,
    the check generation's ``dtype: auto`` uses) - and fp32 elsewhere; ``bf16`` / ``fp32``
    are taken as given.
    """
    if config.precision != "auto":
        return config.precision
    import torch

    from posttrain.models import loading

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if loading.native_bf16() else "fp32"


def make_signals(
    ctx: RunContext, *, probe: Probe | None = None, show: bool = True
) -> SignalsCallback:
    cfg = ctx.config
    return SignalsCallback(
        ctx.run_dir / SIGNALS_FILE,
        log_every=cfg.log_every,
        patience=cfg.patience,
        min_delta=cfg.min_delta,
        probe=probe,
        probe_every=cfg.safety_probe.every if cfg.safety_probe else 20,
        probe_margin=cfg.safety_probe.margin if cfg.safety_probe else 0.1,
        show=show and ctx.is_main,
    )


def run_trainer(
    ctx: RunContext,
    trainer: Any,
    signals: SignalsCallback,
    *,
    n_train: int,
    n_val: int,
    extra_callbacks: Sequence[TrainerCallback] = (),
    save_dirname: str | None = None,
) -> RunManifest:
    """Train (resuming when the run was reopened), save the result and finish the manifest.

    Raises :class:`TrainingDivergedError` on a NaN/inf loss (the last good checkpoint is
    kept) and :class:`SafetyStopError` when the safety probe stops the run; both exit
    non-zero. A ``KeyboardInterrupt`` marks the run ``interrupted`` (resume it later).
    """
    manifest = ctx.manifest
    manifest.n_train, manifest.n_val = n_train, n_val
    manifest.timings["prepare_s"] = round(
        manifest.timings.get("prepare_s", 0.0) + time.perf_counter() - ctx.started, 3
    )
    ctx.save_manifest()
    from transformers.trainer_callback import PrinterCallback

    # The signals callback is the one display; the trainer's own log printer would repeat it.
    trainer.remove_callback(PrinterCallback)
    for callback in extra_callbacks:
        trainer.add_callback(callback)
    t0 = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=ctx.resume_from)
    except KeyboardInterrupt:
        _close(ctx, trainer, signals, t0, status="interrupted", reason="interrupted")
        raise
    except BaseException as exc:
        _close(ctx, trainer, signals, t0, status="failed", reason=f"{type(exc).__name__}: {exc}")
        raise
    reason = signals.stop_reason
    if reason is not None and reason.startswith("diverged"):
        _close(ctx, trainer, signals, t0, status="diverged", reason=reason)
        last = _last_checkpoint(ctx.checkpoints)
        raise TrainingDivergedError(
            f"training stopped: {reason}",
            hint=(f"the last good checkpoint is {last}; " if last else "")
            + "lower lr (or raise warmup) and start again",
        )
    if reason is not None and reason.startswith("safety probe"):
        _close(ctx, trainer, signals, t0, status="safety_stopped", reason=reason)
        raise SafetyStopError(
            f"training stopped: {reason}",
            hint="inspect the probe lines in signals.jsonl; fix the data before training again",
        )
    t_save = time.perf_counter()
    name = save_dirname or (FULL_MODEL if ctx.config.method == "full" else ADAPTER)
    out = ctx.run_dir / name
    trainer.save_model(str(out))
    if ctx.is_main:
        trainer.processing_class.save_pretrained(str(out))
    manifest.output = str(out)
    manifest.timings["save_s"] = round(time.perf_counter() - t_save, 3)
    status = "early_stopped" if reason is not None else "finished"
    _close(ctx, trainer, signals, t0, status=status, reason=reason)
    return manifest


def _close(
    ctx: RunContext,
    trainer: Any,
    signals: SignalsCallback,
    t0: float,
    *,
    status: str,
    reason: str | None,
) -> None:
    manifest = ctx.manifest
    manifest.status = status  # type: ignore[assignment]
    manifest.stop_reason = reason
    manifest.finished_at = now_iso()
    train_s = time.perf_counter() - t0
    manifest.timings["train_s"] = round(manifest.timings.get("train_s", 0.0) + train_s, 3)
    manifest.timings["total_s"] = round(
        sum(v for k, v in manifest.timings.items() if k != "total_s"), 3
    )
    manifest.final_signals = dict(signals.last)
    if signals.base_hit_rate is not None:
        manifest.final_signals["base_attack_hit_rate"] = signals.base_hit_rate
    state = getattr(trainer, "state", None)
    evals = {
        int(h["step"]): float(h["eval_loss"])
        for h in (state.log_history if state else [])
        if "eval_loss" in h
    }
    manifest.checkpoints = []
    if ctx.checkpoints.is_dir():
        for path in sorted(ctx.checkpoints.glob("checkpoint-*"), key=lambda p: int(p.name[11:])):
            step = int(path.name.split("-")[1])
            manifest.checkpoints.append(
                CheckpointInfo(step=step, path=str(path), val_loss=evals.get(step))
            )
    best = getattr(state, "best_model_checkpoint", None) if state else None
    manifest.best_checkpoint = str(best) if best else None
    ctx.save_manifest()
    if ctx.is_main:
        _audit(ctx)


def _audit(ctx: RunContext) -> None:
    """One ``training_run`` entry in the workspace's hash-chained audit log."""
    from posttrain.core.auditlog import append_event
    from posttrain.core.hashing import file_sha256
    from posttrain.workspace import Workspace

    manifest = ctx.manifest
    append_event(
        Workspace(ctx.workspace).audit_log,
        "training_run",
        {
            "run_id": manifest.run_id,
            "recipe": manifest.recipe,
            "status": manifest.status,
            "data_version": manifest.data_version,
            "config_hash": manifest.config_hash,
            "manifest_sha256": file_sha256(ctx.run_dir / "manifest.json"),
        },
    )
