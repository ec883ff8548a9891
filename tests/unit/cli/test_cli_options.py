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


def _module(name: str) -> dict[str, object]:
    """The globals of a module named ``name`` whose ``warn()`` warns as libraries do:
    ``stacklevel=2`` attributes the warning to the caller (here, this test file)."""
    namespace: dict[str, object] = {"__name__": name}
    exec(  # a stand-in module, written here
        "import warnings\ndef warn(text):\n    warnings.warn(text, UserWarning, stacklevel=2)\n",
        namespace,
    )
    return namespace


def test_quiet_mode_hides_third_party_warnings_and_logs_but_not_ours() -> None:
    import logging
    import os
    import warnings

    from posttrain.cli._common import quiet_third_party

    theirs = _module("transformers.generation.stand_in")["warn"]
    ours = _module("posttrain.stand_in")["warn"]
    torchao = logging.getLogger("torchao")
    level_before, env_before = torchao.level, os.environ.get("TRANSFORMERS_VERBOSITY")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with quiet_third_party():
            theirs("past_key_values is deprecated")  # type: ignore[operator]
            ours("our own warning")  # type: ignore[operator]
            assert not torchao.isEnabledFor(logging.WARNING)
            assert logging.getLogger("posttrain.release").isEnabledFor(logging.WARNING)
            if env_before is None:
                assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
        theirs("shown again once the command is over")  # type: ignore[operator]
    assert [str(w.message) for w in shown] == [
        "our own warning",
        "shown again once the command is over",
    ]
    assert torchao.level == level_before
    assert os.environ.get("TRANSFORMERS_VERBOSITY") == env_before
