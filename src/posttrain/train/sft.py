"""Recipe: supervised fine-tuning (LoRA by default) with TRL's ``SFTTrainer``.

Top to bottom: open the run (refusing data whose quality rules failed), render each
conversation with the shared chat renderer into prompt / completion text, split off the
held-out validation set, load the base model, train with the loss on the completion only,
and record the run. Padding waste is avoided in one of two ways: ``packing`` (best-fit
packing into ``seq_len`` rows, padding-free - the choice on a GPU with a variable-length
attention kernel) or, by default, length-grouped batches (the choice on a CPU, where a
packed row's block-diagonal attention costs more than the padding it saves).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from posttrain.train.config import SFTTrainConfig
from posttrain.train.manifest import RunManifest
from posttrain.train.probe import make_probe
from posttrain.train.runtime import (
    bf16_callbacks,
    load_base,
    lora_config,
    make_signals,
    pad_multiple,
    record_heldout,
    run_trainer,
    start_run,
    system_prompt,
    trainer_kwargs,
)

__all__ = ["train_sft"]


def train_sft(
    config: SFTTrainConfig,
    workspace: Path,
    *,
    resume: bool = False,
    show: bool = True,
    callbacks: Sequence[TrainerCallback] = (),
) -> RunManifest:
    """Run SFT; returns the finished run manifest (also in ``runs/<run_id>/``).

    Raises :class:`~posttrain.errors.InputError` for unusable data,
    :class:`~posttrain.errors.TrainingDivergedError` on a NaN loss and
    :class:`~posttrain.errors.SafetyStopError` when the safety probe stops the run.
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from posttrain.train.data import group_by_length, load_sft

    ctx = start_run(config, workspace, resume=resume)
    model, tokenizer = load_base(config)
    train, val = load_sft(
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
    if not config.packing:
        # Examples of similar length share a batch, so little compute goes to padding.
        lengths = [len(tokenizer(r.prompt + r.completion)["input_ids"]) for r in train]
        batch = config.micro_batch * config.grad_accum * ctx.world_size
        train = group_by_length(train, lengths, batch, config.seed)
    # Pre-rendered text: TRL tokenises it as is, without applying a chat template again.
    train_ds = Dataset.from_list([{"prompt": r.prompt, "completion": r.completion} for r in train])
    val_ds = Dataset.from_list([{"prompt": r.prompt, "completion": r.completion} for r in val])

    args = SFTConfig(
        **trainer_kwargs(ctx, has_val=len(val) > 0),
        max_length=config.seq_len,
        packing=config.packing,
        # Best-fit decreasing packing: whole examples, never split, no padding between them.
        packing_strategy="bfd",
        train_sampling_strategy="random" if config.packing else "sequential",
        eval_packing=False,
        completion_only_loss=True,
        dataset_num_proc=None,
        pad_to_multiple_of=pad_multiple(config, packing=config.packing),
    )
    signals = make_signals(ctx, probe=make_probe(config, ctx.workspace), show=show)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds if len(val) else None,
        processing_class=tokenizer,
        peft_config=lora_config(config),
        callbacks=[signals, *bf16_callbacks(config)],
    )
    return run_trainer(
        ctx, trainer, signals, n_train=len(train), n_val=len(val), extra_callbacks=callbacks
    )
