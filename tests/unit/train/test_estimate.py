from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.errors import ConfigError, InputError
from posttrain.train.estimate import architecture, estimate

from .conftest import data_manifest


def test_named_sizes_have_the_parameter_counts_people_know() -> None:
    assert architecture("7B").params == pytest.approx(6.74e9, rel=0.01)
    assert architecture("13b").params == pytest.approx(13.0e9, rel=0.01)
    assert architecture("smollm2-135m-instruct").params == pytest.approx(134.5e6, rel=0.01)


def test_full_vs_lora_vs_qlora_at_7b() -> None:
    full, lora, qlora = (estimate({"model": "7B", "method": m}) for m in ("full", "lora", "qlora"))
    # Full fine-tune with AdamW in bf16: ~16 bytes a parameter before activations.
    assert 95 < full.total_gb < 115
    assert 13 < lora.total_gb < 18 and 4 < qlora.total_gb < 8
    assert lora.trainable_params == pytest.approx(16.8e6, rel=0.01)  # r=16 on q,k,v,o
    assert full.memory_gb["optimizer"] > 10 * lora.memory_gb["weights"] / 2


def test_checkpointing_shrinks_activations() -> None:
    on = estimate({"model": "7B", "checkpointing": True, "seq_len": 4096, "micro_batch": 4})
    off = estimate({"model": "7B", "checkpointing": False, "seq_len": 4096, "micro_batch": 4})
    assert off.memory_gb["activations"] > 5 * on.memory_gb["activations"]
    assert on.tokens_per_s < off.tokens_per_s  # recomputation costs time


def test_dpo_reference_options() -> None:
    base = {"model": "13B", "recipe": "dpo", "method": "lora"}
    copy = estimate({**base, "dpo_reference": "copy"})
    adapter = estimate({**base, "dpo_reference": "adapter"})
    pre = estimate({**base, "dpo_reference": "precomputed"})
    assert copy.memory_gb["reference_model"] == copy.memory_gb["weights"]
    assert "reference_model" not in adapter.memory_gb and "reference_model" not in pre.memory_gb
    assert pre.tokens_per_s > adapter.tokens_per_s  # no reference forward per step


def test_ppo_counts_its_models() -> None:
    ppo = estimate({"model": "7B", "recipe": "ppo", "method": "full"})
    assert {"reference_model", "reward_model", "value_model"} <= set(ppo.memory_gb)
    assert ppo.total_gb > estimate({"model": "7B", "method": "full"}).total_gb * 1.2


def test_time_and_money_from_tokens_throughput_and_price() -> None:
    est = estimate(
        {"model": "7B", "tokens": 36e6, "throughput": 1000, "gpus": 2, "price_per_gpu_hour": 3}
    )
    assert est.hours == pytest.approx(5.0) and est.gpu_hours == pytest.approx(10.0)
    assert est.cost == pytest.approx(30.0)


def test_hf_config_file_and_errors(tmp_path: Path) -> None:
    cfg = {
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "intermediate_size": 11008,
        "vocab_size": 32000,
        "num_attention_heads": 32,
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert architecture(str(tmp_path)).params == architecture("7B").params
    with pytest.raises(InputError, match="named size"):
        architecture("12Q")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a usable model config"):
        architecture(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="seq_len"):
        estimate({"seq_len": 0})
    with pytest.raises(ConfigError, match="unknown gpu"):
        estimate({"gpu": "TPU9"})


@pytest.mark.slow
def test_estimate_is_within_25_percent_of_a_measured_run(tmp_path: Path) -> None:
    """The estimator against reality: one LoRA SFT step of the embedded model on CPU."""
    from posttrain.models import load_tokenizer
    from posttrain.train import load_config, read_signals, train

    data = tmp_path / "data"
    data.mkdir()
    answer = "Could you share your order number (SM-2026-XXXXXXX) so I can check it? " * 4
    rows = [
        {
            "id": f"r{i}",
            "messages": [
                {"role": "user", "content": "Where is my parcel? " * 8},
                {"role": "assistant", "content": answer},
            ],
        }
        for i in range(8)
    ]
    (data / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "manifest.json").write_text(data_manifest("est"))
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    cfg = load_config(
        "sft",
        None,
        [
            "model=smollm2-135m-instruct",
            "micro_batch=4",
            "max_steps=1",
            "val_fraction=0",
            "system_prompt=data",
            f"target_modules={json.dumps(modules)}",
        ],
    )
    manifest = train(cfg, tmp_path, show=False)
    measured_mb = read_signals(tmp_path / "runs" / manifest.run_id / "signals.jsonl")[0][
        "peak_rss_mb"
    ]
    tok = load_tokenizer("smollm2-135m-instruct")
    from posttrain.train.data import load_sft

    seq = max(
        len(tok(r.prompt + r.completion)["input_ids"])
        for r in load_sft(data, tok, val_fraction=0, val_max=0, seed=0)[0]
    )
    est = estimate(
        {
            "model": "smollm2-135m-instruct",
            "method": "lora",
            "gpu": "cpu",
            "dtype": "fp32",
            "seq_len": seq,
            "micro_batch": 4,
            "checkpointing": False,
            "target_modules": modules,
        }
    )
    assert est.total_gb * 1024 == pytest.approx(measured_mb, rel=0.25)
