"""Training precision (``precision: auto|fp32|bf16``: what the trainer is handed and the
run records) and the right-padding mask the backbone may drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from transformers import TrainerCallback

from posttrain.errors import ConfigError
from posttrain.models import loading
from posttrain.train import SFTTrainConfig, load_config, train
from posttrain.train.runtime import resolve_precision

from .conftest import backbone_calls

BASE = ["model=tiny-random", "micro_batch=2", "seq_len=128", "lr=1e-3", "threads=1", "seed=7"]


def _cfg(*overrides: str) -> SFTTrainConfig:
    cfg = load_config("sft", None, [*BASE, *overrides])
    assert isinstance(cfg, SFTTrainConfig)
    return cfg


def test_auto_follows_the_hardware_and_explicit_values_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loading, "native_bf16", lambda: True)
    assert resolve_precision(_cfg()) == "bf16"
    assert resolve_precision(_cfg("precision=fp32")) == "fp32"
    monkeypatch.setattr(loading, "native_bf16", lambda: False)
    assert resolve_precision(_cfg()) == "fp32"
    assert resolve_precision(_cfg("precision=bf16")) == "bf16"


def test_an_unknown_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="precision"):
        _cfg("precision=fp8")


class _Args(TrainerCallback):
    """Keeps the trainer's arguments as training starts."""

    def __init__(self) -> None:
        self.bf16: bool | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.bf16 = bool(args.bf16)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_run_trains_and_records_its_precision(workspace: Path, precision: str) -> None:
    seen = _Args()
    cfg = _cfg("max_steps=2", f"precision={precision}")
    manifest = train(cfg, workspace, show=False, callbacks=[seen])
    assert manifest.status == "finished"
    assert seen.bf16 is (precision == "bf16")
    assert manifest.precision == precision
    loss = manifest.final_signals["loss"]
    assert isinstance(loss, float) and loss == loss  # a finite, logged loss


def test_a_right_padding_mask_is_dropped_with_the_same_loss(tiny_model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from posttrain.train.runtime import causal_only_when_right_padded

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    torch.manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size - 1, (3, 20))
    right = torch.ones_like(ids)
    right[0, 12:] = 0
    right[2, 5:] = 0
    labels = ids.masked_fill(right == 0, -100)
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=right, labels=labels).loss.item()
        handle = causal_only_when_right_padded(model)
        seen: list[object] = []  # what the backbone is called with, after the hook above
        model.model.register_forward_pre_hook(
            lambda m, a, k: seen.append(k.get("attention_mask")), with_kwargs=True
        )
        after = model(input_ids=ids, attention_mask=right, labels=labels).loss.item()
        assert after == pytest.approx(before, abs=1e-6)
        assert seen[-1] is None  # the mask was dropped before the backbone ran
        model(input_ids=ids, attention_mask=right.flip(1))  # left padding, as in generation
        assert seen[-1] is not None  # is kept
    handle.remove()


def test_sft_training_batches_reach_the_backbone_without_the_mask(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = backbone_calls(monkeypatch)
    train(_cfg("max_steps=2", "precision=fp32"), workspace, show=False)
    assert calls and all(c.get("attention_mask") is None for c in calls)
