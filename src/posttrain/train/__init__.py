"""Training: one recipe per method over TRL / PEFT (``sft``, ``dpo``, ``reward``, ``ppo``),
with signals and the actions they trigger, a run record, export and a cost estimator.

``train(method, config, workspace)`` dispatches to a recipe; each recipe is a plain
function of a typed config to the run's :class:`~posttrain.train.manifest.RunManifest`.
"""

from __future__ import annotations

import logging
import typing

# torchao (int8 export) logs about GPU kernels it cannot load on a CPU machine, and torch
# about pytree registrations; neither concerns a user of posttrain.
logging.getLogger("torchao").setLevel(logging.ERROR)
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)

from posttrain.errors import SafetyStopError, TrainingDivergedError  # noqa: E402
from posttrain.train.config import (  # noqa: E402
    METHODS,
    DPOTrainConfig,
    PPOTrainConfig,
    RewardTrainConfig,
    SFTTrainConfig,
    TrainConfig,
    load_config,
)
from posttrain.train.manifest import RunManifest, read_manifest  # noqa: E402
from posttrain.train.signals import read_signals  # noqa: E402

if typing.TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

__all__ = [
    "METHODS",
    "DPOTrainConfig",
    "PPOTrainConfig",
    "RewardTrainConfig",
    "RunManifest",
    "SFTTrainConfig",
    "SafetyStopError",
    "TrainConfig",
    "TrainingDivergedError",
    "load_config",
    "read_manifest",
    "read_signals",
    "train",
]


def train(
    config: TrainConfig,
    workspace: Path,
    *,
    resume: bool = False,
    show: bool = True,
    callbacks: Sequence[Any] = (),
) -> RunManifest:
    """Run the recipe ``config`` is for (its ``kind``); see each recipe for what it raises.

    A run that fails before training starts (a bad adapter path, examples longer than
    ``seq_len``) is marked ``failed`` with the reason, not left ``running``.
    """
    from posttrain.train.runtime import label_positions_only

    started = {p.name for p in (workspace / "runs").glob("*")} if not resume else None
    try:
        # TRL's fused LM head skips the prompt's rows on a CPU too (DPO's reference
        # log-probs, computed while its trainer is built, included).
        with label_positions_only():
            return _dispatch(config, workspace, resume=resume, show=show, callbacks=callbacks)
    except Exception as exc:
        if started is not None:
            _mark_failed(workspace, started, exc)
        raise


def _mark_failed(workspace: Path, before: set[str], exc: Exception) -> None:
    """Mark the run this call created, if it is still ``running``, as ``failed``."""
    from posttrain.train.manifest import read_manifest, write_manifest
    from posttrain.train.runtime import is_main_process

    if not is_main_process():
        return  # rank 0 owns the manifest

    for path in (workspace / "runs").glob("*"):
        if path.name in before or not (path / "manifest.json").is_file():
            continue
        manifest = read_manifest(path)
        if manifest.status == "running":
            manifest.status = "failed"
            manifest.stop_reason = f"{type(exc).__name__}: {exc}"[:500]
            write_manifest(path, manifest)


def _dispatch(
    config: TrainConfig,
    workspace: Path,
    *,
    resume: bool,
    show: bool,
    callbacks: Sequence[Any],
) -> RunManifest:
    if isinstance(config, SFTTrainConfig):
        from posttrain.train.sft import train_sft

        return train_sft(config, workspace, resume=resume, show=show, callbacks=callbacks)
    if isinstance(config, DPOTrainConfig):
        from posttrain.train.dpo import train_dpo

        return train_dpo(config, workspace, resume=resume, show=show, callbacks=callbacks)
    if isinstance(config, RewardTrainConfig):
        from posttrain.train.reward import train_reward

        return train_reward(config, workspace, resume=resume, show=show, callbacks=callbacks)
    if isinstance(config, PPOTrainConfig):
        from posttrain.train.ppo import train_ppo

        return train_ppo(config, workspace, resume=resume, show=show, callbacks=callbacks)
    raise TypeError(f"no recipe for {type(config).__name__}")
