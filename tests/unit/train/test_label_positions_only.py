"""The fused LM head scores only labelled positions on a CPU (prompt and padding rows
skipped), with the same loss and gradients, inside the SFT and DPO recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import trl.trainer.utils as trl_utils
from transformers import AutoModelForCausalLM, TrainerCallback

from posttrain.train import load_config, train
from posttrain.train.runtime import label_positions_only

from .conftest import rows_scored

BASE = ["model=tiny-random", "micro_batch=2", "seq_len=128", "lr=1e-3", "threads=1", "seed=7"]


def _loss_and_grads(model: Any, batch: dict[str, torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
    model.zero_grad()
    out = model(**batch, fused_lm_head=True)
    out.loss.backward()
    return out.loss.item(), [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_only_labelled_positions_are_projected_with_the_same_loss_and_gradients(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    ids = torch.randint(3, 100, (2, 12))
    labels = ids.clone()
    labels[:, :8] = -100  # the prompt
    labels[1, 10:] = -100  # right padding
    batch = {"input_ids": ids, "labels": labels}
    seen = rows_scored(monkeypatch)

    full_loss, full_grads = _loss_and_grads(model, batch)
    with label_positions_only() as applied:
        compact_loss, compact_grads = _loss_and_grads(model, batch)
    assert applied
    # 2 rows x 11 shifted positions without it; with it, only the 4 + 2 labelled ones.
    assert seen == [22, 6]
    assert compact_loss == pytest.approx(full_loss, rel=1e-6)
    assert len(compact_grads) == len(full_grads) > 0
    for a, b in zip(compact_grads, full_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # Restored afterwards: nothing outside the recipes changes.
    assert not trl_utils._use_triton(torch.device("cpu"))


class _Watch(TrainerCallback):
    """Whether TRL's fused head is compact on a CPU at each training step."""

    def __init__(self) -> None:
        self.compact: list[bool] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.compact.append(bool(trl_utils._use_triton(torch.device("cpu"))))


@pytest.mark.parametrize("method", ["sft", "dpo"])
def test_the_recipes_train_with_the_compact_lm_head(workspace: Path, method: str) -> None:
    watch = _Watch()
    cfg = load_config(method, None, [*BASE, "max_steps=2", "val_fraction=0"])
    train(cfg, workspace, show=False, callbacks=[watch])
    assert watch.compact == [True, True]
    assert not trl_utils._use_triton(torch.device("cpu"))
