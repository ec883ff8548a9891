"""Training: one recipe per method over TRL / PEFT (``sft``, ``dpo``, ``reward``, ``ppo``),
with signals and the actions they trigger, a run record, export and a cost estimator.

``train(method, config, workspace)`` dispatches to a recipe; each recipe is a plain
function of a typed config to the run's :class:`~posttrain.train.manifest.RunManifest`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# torchao (int8 export) logs about GPU kernels it cannot load on a CPU machine, and torch
# about pytree registrations; neither concerns a user of posttrain.
logging.getLogger("torchao").setLevel(logging.ERROR)
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)

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
from posttrain.train.signals import (  # noqa: E402
    SafetyStopError,
    TrainingDivergedError,
    read_signals,
)

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
    """Run the recipe ``config`` is for (its ``kind``); see each recipe for what it raises."""
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
