"""Recipe: direct preference optimisation with TRL's ``DPOTrainer``.

Top to bottom: open the run, render each preference pair's prompt, chosen and rejected
answers with the shared chat renderer, split off the validation pairs, load the base (with
an SFT adapter merged in when ``init_adapter`` names one), and train a fresh LoRA adapter.
The reference model is the same weights with the adapter disabled - never a second copy in
memory - and its log-probs are computed once before training (``precompute_ref``), which
saves a forward pass per step. Reward accuracy (the preference win rate) and margins go to
the signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from posttrain.errors import UsageError
from posttrain.train.config import DPOTrainConfig
from posttrain.train.manifest import RunManifest
from posttrain.train.probe import make_probe
from posttrain.train.runtime import (
    bf16_callbacks,
    load_base,
    lora_config,
    make_signals,
    pad_multiple,
    record_heldout,
    resolve_adapter,
    run_trainer,
    start_run,
    system_prompt,
    trainer_kwargs,
)

__all__ = ["train_dpo"]


def train_dpo(
    config: DPOTrainConfig,
    workspace: Path,
    *,
    resume: bool = False,
    show: bool = True,
    callbacks: Sequence[TrainerCallback] = (),
) -> RunManifest:
    """Run DPO; returns the finished run manifest.

    Raises :class:`~posttrain.errors.InputError` for unusable data or a bad
    ``init_adapter``, :class:`UsageError` for a full fine-tune without a reference, and the
    signals' stop errors (see :func:`posttrain.train.runtime.run_trainer`).
    """
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from posttrain.train.data import group_by_length, load_prefs

    if config.method == "full" and not config.precompute_ref:
        raise UsageError(
            "method=full DPO needs a reference model; posttrain never loads a second copy",
            hint="set precompute_ref=true (reference log-probs computed once), or use method=lora",
        )
    ctx = start_run(config, workspace, resume=resume)
    init_adapter, parent = (
        resolve_adapter(config.init_adapter, ctx.workspace) if config.init_adapter else (None, None)
    )
    ctx.manifest.init_adapter = str(init_adapter) if init_adapter else None
    ctx.manifest.parent_run_id = parent
    model, tokenizer = load_base(config, init_adapter=init_adapter)
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
    # Pairs of similar length share a batch, so little compute goes to padding.
    lengths = [
        len(tokenizer(p.prompt + max(p.chosen, p.rejected, key=len))["input_ids"]) for p in train
    ]
    batch = config.micro_batch * config.grad_accum * ctx.world_size
    train = group_by_length(train, lengths, batch, config.seed)

    def rows(pairs: Sequence[object]) -> Dataset:
        return Dataset.from_list(
            [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in pairs]  # type: ignore[attr-defined]
        )

    args = DPOConfig(
        **trainer_kwargs(ctx, has_val=len(val) > 0),
        max_length=config.seq_len,
        beta=config.beta,
        loss_type=[config.loss_type],
        precompute_ref_log_probs=config.precompute_ref,
        train_sampling_strategy="sequential" if config.micro_batch > 1 else "random",
        dataset_num_proc=None,
        pad_to_multiple_of=pad_multiple(config),
    )
    signals = make_signals(ctx, probe=make_probe(config, ctx.workspace), show=show)
    trainer = DPOTrainer(
        model=model,
        ref_model=None,  # with PEFT: the adapter-disabled model is the reference
        args=args,
        train_dataset=rows(train),
        eval_dataset=rows(val) if val else None,
        processing_class=tokenizer,
        peft_config=lora_config(config),
        callbacks=[signals, *bf16_callbacks(config)],
    )
    return run_trainer(
        ctx, trainer, signals, n_train=len(train), n_val=len(val), extra_callbacks=callbacks
    )
