"""Recipe: on-policy RL with a KL penalty against a reward model, with TRL's ``RLOOTrainer``.

TRL 1.x ships RLOO (REINFORCE leave-one-out) rather than PPO: the same loop - sample
completions from the policy, score them with the reward model, update the policy with a
KL penalty (``kl_coef``) that keeps it near the reference - without PPO's value model.
Each prompt gets ``num_generations`` samples; every sample's baseline is the mean reward
of the others. Top to bottom: open the run, render the prompts with the shared chat
renderer, load the policy (LoRA, so the reference is the adapter-disabled policy; with an
SFT adapter merged in when ``init_adapter`` names one, as DPO does) and the reward run's
scorer, train, record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from posttrain.errors import InputError
from posttrain.train.config import PPOTrainConfig
from posttrain.train.manifest import RunManifest, read_manifest
from posttrain.train.probe import make_probe
from posttrain.train.runtime import (
    load_base,
    lora_config,
    make_signals,
    record_heldout,
    resolve_adapter,
    run_trainer,
    start_run,
    system_prompt,
    trainer_kwargs,
)

__all__ = ["train_ppo"]


def _reward_model_path(config: PPOTrainConfig, workspace: Path) -> tuple[Path, str | None]:
    path = (
        config.reward_model
        if config.reward_model.is_absolute()
        else workspace / config.reward_model
    )
    if (path / "manifest.json").is_file():
        manifest = read_manifest(path)
        if manifest.recipe != "reward" or manifest.output is None:
            raise InputError(
                f"run {manifest.run_id} is not a finished reward run",
                path=str(path),
                hint="train one with `posttrain train reward` and pass its runs/<run_id>",
            )
        return Path(manifest.output), manifest.run_id
    if (path / "config.json").is_file():
        return path, None
    raise InputError(
        "not a reward run folder or a model folder",
        path=str(path),
        hint="pass reward_model=runs/<reward run id>",
    )


def train_ppo(
    config: PPOTrainConfig,
    workspace: Path,
    *,
    resume: bool = False,
    show: bool = True,
    callbacks: Sequence[TrainerCallback] = (),
) -> RunManifest:
    """Run RLOO against ``config.reward_model``; returns the run manifest."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RLOOConfig, RLOOTrainer

    from posttrain.train.data import load_prefs

    # Checked before the run folder is opened, so a bad path leaves no "running" run behind
    # (which ``--resume`` would otherwise pick as the newest unfinished one).
    reward_path, reward_run = _reward_model_path(config, workspace.resolve())
    ctx = start_run(config, workspace, resume=resume)
    ctx.manifest.parent_run_id = reward_run
    init_adapter = (
        resolve_adapter(config.init_adapter, ctx.workspace)[0] if config.init_adapter else None
    )
    # Recorded so that export merges the SFT adapter first, then this run's.
    ctx.manifest.init_adapter = str(init_adapter) if init_adapter else None
    model, tokenizer = load_base(config, init_adapter=init_adapter)
    tokenizer.padding_side = "left"  # RLOO generates from the prompts
    reward_model = AutoModelForSequenceClassification.from_pretrained(
        reward_path, num_labels=1, dtype=torch.float32
    )
    reward_tokenizer = AutoTokenizer.from_pretrained(reward_path)
    reward_tokenizer.padding_side = "right"
    train, val = load_prefs(
        ctx.data_dir,
        tokenizer,
        val_fraction=config.val_fraction,
        val_max=config.val_max,
        seed=config.seed,
        system=system_prompt(ctx),
    )
    if config.limit is not None:
        train = train[: config.limit]
    record_heldout(ctx, train)
    # Only the prompts are used: the policy writes its own answers.
    kwargs = trainer_kwargs(ctx, has_val=False)
    kwargs.update(
        load_best_model_at_end=False,
        metric_for_best_model=None,
        greater_is_better=None,
        include_num_input_tokens_seen="no",
    )
    args = RLOOConfig(
        **kwargs,
        beta=config.kl_coef,
        num_generations=config.num_generations,
        max_completion_length=config.max_new_tokens,
        temperature=config.temperature,
    )
    signals = make_signals(ctx, probe=make_probe(config, ctx.workspace), show=show)
    trainer = RLOOTrainer(
        model=model,
        reward_funcs=reward_model,
        args=args,
        train_dataset=Dataset.from_list([{"prompt": p.prompt} for p in train]),
        processing_class=tokenizer,
        reward_processing_classes=reward_tokenizer,
        peft_config=lora_config(config),
        callbacks=[signals],
    )
    return run_trainer(
        ctx, trainer, signals, n_train=len(train), n_val=len(val), extra_callbacks=callbacks
    )
