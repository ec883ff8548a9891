"""The embedded 135M model, for real (slow: converts the GGUF once per test session)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_converted_checkpoint_is_trainable_and_answers() -> None:
    from posttrain.generation import GenerationParams, make_backend
    from posttrain.models import load, prepare

    folder = prepare("smollm2-135m-instruct", show_progress=False)
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    model, _ = load("smollm2-135m-instruct")
    assert getattr(model, "hf_quantizer", None) is None
    assert not getattr(model, "is_quantized", False)
    # A trainer-facing check: gradients flow through the converted weights.
    import torch

    ids = torch.tensor([[1, 2, 3, 4]])
    model.train()
    model(input_ids=ids, labels=ids).loss.backward()
    assert model.lm_head.weight.grad is not None

    backend = make_backend("hf", "smollm2-135m-instruct")
    gen = backend.generate(
        [[{"role": "user", "content": "What is the capital of France?"}]],
        GenerationParams(max_new_tokens=24),
    )[0]
    assert "Paris" in gen.text
    assert gen.finish_reason == "stop"
