"""The CLI builds library configs from the options given and names the flag of a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.cli._common import given, validated
from posttrain.errors import UsageError
from posttrain.pipeline import LoopConfig
from posttrain.train.estimate import EstimateInput


def test_options_left_out_take_the_models_defaults() -> None:
    fields = given(workspace=Path("ws"), model=None, max_new_tokens=None, batch_size=4)
    cfg = validated(LoopConfig, fields)
    assert cfg.batch_size == 4 and cfg.workspace == Path("ws")
    assert cfg.model == LoopConfig().model and cfg.max_new_tokens == LoopConfig().max_new_tokens


def test_a_rejected_value_names_its_flag_and_the_reason() -> None:
    with pytest.raises(UsageError, match=r"--max-new-tokens 5000: .*less than or equal to 4096"):
        validated(LoopConfig, {"max_new_tokens": 5000})
    with pytest.raises(UsageError, match=r"--price -1\.0: .*greater than or equal to 0"):
        validated(EstimateInput, {"price_per_gpu_hour": -1.0}, {"price_per_gpu_hour": "--price"})
