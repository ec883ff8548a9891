"""Recipe: a reward model for RLHF with TRL's ``RewardTrainer``.

Top to bottom: open the run, render the preference pairs with the shared chat renderer,
load the base model as a sequence classifier with one score (a fresh head on the same
weights), train a LoRA adapter plus the head with the Bradley-Terry loss (chosen must
score above rejected), and save the merged scorer to ``runs/<run_id>/reward_model/``,
which the ``ppo`` recipe loads. Reward accuracy and margin go to the signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from posttrain.train.config import RewardTrainConfig
from posttrain.train.manifest import RunManifest
from posttrain.train.runtime import (
    lora_config,
    make_signals,
    run_trainer,
    start_run,
    system_prompt,
    trainer_kwargs,
)

__all__ = ["REWARD_MODEL", "train_reward"]

REWARD_MODEL = "reward_model"


def train_reward(
    config: RewardTrainConfig,
    workspace: Path,
    *,
    resume: bool = False,
    show: bool = True,
    callbacks: Sequence[TrainerCallback] = (),
) -> RunManifest:
    """Train a reward model; returns the run manifest (``output`` is the merged scorer)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from posttrain.models import load_tokenizer, prepare
    from posttrain.train.data import drop_too_long, load_prefs

    if config.method == "qlora":
        from posttrain.train.runtime import _qlora_kwargs

        _qlora_kwargs()  # the same clear error on a machine without a GPU
    ctx = start_run(config, workspace, resume=resume)
    tokenizer = load_tokenizer(config.model)
    tokenizer.padding_side = "right"
    model = AutoModelForSequenceClassification.from_pretrained(
        prepare(config.model), num_labels=1, dtype=torch.float32
    )
    model.config.pad_token_id = tokenizer.pad_token_id
    from posttrain.train.runtime import causal_only_when_right_padded

    causal_only_when_right_padded(model)  # the score head finds the last token by pad id
    train, val = load_prefs(
        ctx.data_dir,
        tokenizer,
        val_fraction=config.val_fraction,
        val_max=config.val_max,
        seed=config.seed,
        system=system_prompt(ctx),
    )
    # too-long pairs first, so ``limit`` counts pairs that are actually trained on
    train = drop_too_long(tokenizer, train, config.seq_len, "train")
    if config.limit is not None:
        train = train[: config.limit]
    val = drop_too_long(tokenizer, val, config.seq_len, "validation") if val else val

    def rows(pairs: Sequence[object]) -> Dataset:
        return Dataset.from_list(
            [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in pairs]  # type: ignore[attr-defined]
        )

    args = RewardConfig(
        **trainer_kwargs(ctx, has_val=len(val) > 0),
        max_length=config.seq_len,
        dataset_num_proc=None,
    )
    signals = make_signals(ctx, show=show)
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=rows(train),
        eval_dataset=rows(val) if val else None,
        processing_class=tokenizer,
        peft_config=lora_config(config, task_type="SEQ_CLS"),
        callbacks=[signals],
    )
    manifest = run_trainer(
        ctx, trainer, signals, n_train=len(train), n_val=len(val), extra_callbacks=callbacks
    )
    # PPO needs a plain scorer: merge the adapter (and the trained head) into the weights.
    scorer: Any = trainer.model
    if hasattr(scorer, "merge_and_unload"):
        scorer = scorer.merge_and_unload()
    out = ctx.run_dir / REWARD_MODEL
    if ctx.is_main:
        scorer.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    manifest.output = str(out)
    ctx.save_manifest()
    return manifest
