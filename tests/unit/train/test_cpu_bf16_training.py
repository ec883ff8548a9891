"""Training in bf16 autocast on a CPU (issue 17's memory): batch lengths rounded to a
multiple of 32, so that oneDNN's per-shape kernels stop piling up, and LoRA's frozen base
weights stored in bf16 once instead of cast at every forward - with the same loss."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, TrainerCallback

from posttrain.errors import ConfigError
from posttrain.models import loading
from posttrain.train import load_config, runtime, train
from posttrain.train.runtime import (
    CPU_BF16_PAD_MULTIPLE,
    bf16_callbacks,
    frozen_base_to_bf16,
    lora_config,
    pad_multiple,
)

from .conftest import backbone_calls, rows_scored

BASE = ["model=tiny-random", "micro_batch=2", "seq_len=128", "lr=1e-3", "threads=1", "seed=7"]


def test_auto_pads_to_32_only_on_a_cpu_in_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "native_bf16", lambda: True)
    auto = load_config("sft", None, BASE)
    assert pad_multiple(auto) == CPU_BF16_PAD_MULTIPLE == 32
    assert pad_multiple(auto, packing=True) is None  # packed rows carry no padding
    assert pad_multiple(load_config("sft", None, [*BASE, "precision=fp32"])) is None
    assert pad_multiple(load_config("sft", None, [*BASE, "pad_to_multiple_of=8"])) == 8
    assert pad_multiple(load_config("sft", None, [*BASE, "pad_to_multiple_of=null"])) is None
    monkeypatch.setattr(loading, "native_bf16", lambda: False)
    assert pad_multiple(load_config("sft", None, BASE)) is None
    assert len(bf16_callbacks(load_config("sft", None, BASE))) == 0
    assert len(bf16_callbacks(load_config("sft", None, [*BASE, "precision=bf16"]))) == 1
    assert (
        len(bf16_callbacks(load_config("sft", None, [*BASE, "precision=bf16", "method=full"]))) == 0
    )


def test_a_pad_multiple_below_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pad_to_multiple_of"):
        load_config("sft", None, [*BASE, "pad_to_multiple_of=0"])


@pytest.mark.parametrize("method", ["sft", "dpo"])
def test_the_recipes_pad_batches_to_a_multiple_of_32_in_bf16_only(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    calls = backbone_calls(monkeypatch)
    common = [*BASE, "max_steps=3", "val_fraction=0", "seq_len=1024"]
    train(load_config(method, None, [*common, "precision=bf16"]), workspace, show=False)
    lengths = [int(c["input_ids"].shape[1]) for c in calls]
    assert lengths and all(n % 32 == 0 for n in lengths), lengths
    calls.clear()
    train(load_config(method, None, [*common, "precision=fp32"]), workspace, show=False)
    lengths = [int(c["input_ids"].shape[1]) for c in calls]
    assert any(n % 32 for n in lengths), lengths  # fp32: padded to the longest row only


def _peft_tiny(tiny_model_dir: Path) -> Any:
    from peft import get_peft_model

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    cfg = load_config(
        "sft", None, [*BASE, "lora_dropout=0", "target_modules=[q_proj,v_proj,up_proj]"]
    )
    peft_model = get_peft_model(model, lora_config(cfg))
    # B starts at zero; move it off so that the adapters take part in the output.
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.02)
    return peft_model


def _loss_and_lora_grads(model: Any, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = [p.grad.clone() for n, p in model.named_parameters() if "lora_" in n]
    return loss.detach(), grads


def test_a_bf16_frozen_base_gives_the_same_loss_and_gradients_under_autocast(
    tiny_model_dir: Path,
) -> None:
    model = _peft_tiny(tiny_model_dir)
    reference = copy.deepcopy(model)
    layers = sum(1 for n, _ in model.named_modules() if n.endswith(("q_proj", "v_proj", "up_proj")))
    assert frozen_base_to_bf16(model) == layers > 0

    base = {n: p.dtype for n, p in model.named_parameters() if "base_layer" in n}
    assert base and set(base.values()) == {torch.bfloat16}
    others = {p.dtype for n, p in model.named_parameters() if "base_layer" not in n}
    assert others == {torch.float32}  # adapters, norms, embedding (and the tied head)

    ids = torch.randint(3, 100, (2, 24))
    loss, grads = _loss_and_lora_grads(model, ids)
    ref_loss, ref_grads = _loss_and_lora_grads(reference, ids)
    # Autocast casts an fp32 weight to the same bf16 values at every forward: equal.
    assert torch.equal(loss, ref_loss)
    assert len(grads) == len(ref_grads) > 0
    for a, b in zip(grads, ref_grads, strict=True):
        assert torch.equal(a, b)

    # Outside autocast (generation, a probe) the converted layers still run, in bf16.
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        fp32 = reference(input_ids=ids).logits
    assert plain.dtype == torch.float32
    torch.testing.assert_close(plain, fp32, rtol=0.05, atol=0.05)
    assert frozen_base_to_bf16(model) == 0  # nothing left to convert


def test_a_weight_shared_with_another_module_is_left_in_fp32(tiny_model_dir: Path) -> None:
    from peft import get_peft_model

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    layer = model.model.layers[0].self_attn
    layer.k_proj.weight = layer.q_proj.weight  # q and k share one weight here
    cfg = load_config("sft", None, [*BASE, "target_modules=[q_proj,k_proj]"])
    peft_model = get_peft_model(model, lora_config(cfg))
    frozen_base_to_bf16(peft_model)
    assert layer.q_proj.base_layer.weight.dtype == torch.float32
    assert model.model.layers[1].self_attn.q_proj.base_layer.weight.dtype == torch.bfloat16


class _BaseDtype(TrainerCallback):
    """The dtype of one frozen base weight at every step."""

    def __init__(self) -> None:
        self.dtypes: list[torch.dtype] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        weight = next(p for n, p in kw["model"].named_parameters() if "base_layer" in n)
        self.dtypes.append(weight.dtype)


def test_an_sft_run_in_bf16_trains_on_the_bf16_base_with_the_losses_of_an_fp32_base(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = [*BASE, "max_steps=4", "val_fraction=0", "precision=bf16"]
    seen = _BaseDtype()
    converted = train(
        load_config("sft", None, [*cfg, "run_id=bf16-base"]),
        workspace,
        show=False,
        callbacks=[seen],
    )
    assert seen.dtypes == [torch.bfloat16] * 4

    monkeypatch.setattr(runtime, "frozen_base_to_bf16", lambda model: 0)
    kept = _BaseDtype()
    fp32_base = train(
        load_config("sft", None, [*cfg, "run_id=fp32-base"]),
        workspace,
        show=False,
        callbacks=[kept],
    )
    assert kept.dtypes == [torch.float32] * 4
    assert converted.final_signals["loss"] == fp32_base.final_signals["loss"]


def test_the_compact_lm_head_pads_its_rows_to_64_in_bf16_with_the_same_results(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trl.trainer.utils as trl_utils

    from posttrain.train.runtime import LM_HEAD_ROW_MULTIPLE, label_positions_only

    seen = rows_scored(monkeypatch)
    spy = trl_utils._ChunkedLogProbFunction
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    ids = torch.randint(3, 100, (2, 40))
    labels = ids.clone()
    labels[:, :25] = -100  # the prompt: 2 x 15 labelled (shifted) positions remain
    labels[1, 35:] = -100  # right padding: 5 fewer, 25 in all

    def run(precision: torch.dtype | None) -> tuple[float, list[torch.Tensor], Any]:
        model.zero_grad()
        with label_positions_only(), torch.autocast("cpu", torch.bfloat16, enabled=bool(precision)):
            out = model(input_ids=ids, labels=labels, fused_lm_head=True)
        out.loss.backward()
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        return out.loss.item(), grads, out

    loss, grads, out = run(torch.bfloat16)
    assert seen == [LM_HEAD_ROW_MULTIPLE]  # 25 labelled rows, padded to 64
    assert out.log_probs.shape == labels[:, 1:].shape  # the padding is cut off again
    assert bool((out.log_probs[labels[:, 1:] == -100] == 0).all())
    assert trl_utils._ChunkedLogProbFunction is spy  # restored on leaving

    monkeypatch.setattr("posttrain.train.runtime.LM_HEAD_ROW_MULTIPLE", 1)  # no padding
    seen.clear()
    plain_loss, plain_grads, _ = run(torch.bfloat16)
    assert seen == [25]
    assert loss == pytest.approx(plain_loss, rel=1e-5)
    for a, b in zip(grads, plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)

    monkeypatch.setattr("posttrain.train.runtime.LM_HEAD_ROW_MULTIPLE", 64)
    seen.clear()
    run(None)  # fp32: MKL has no per-shape kernels to bound, so no padding
    assert seen == [25]
