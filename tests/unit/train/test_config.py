from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.errors import ConfigError
from posttrain.train.config import (
    DPOTrainConfig,
    SFTTrainConfig,
    config_hash,
    load_config,
    parse_overrides,
)


def test_overrides_parse_yaml_scalars_and_dotted_keys() -> None:
    got = parse_overrides(["lr=1e-4", "max_steps=20", "safety_probe.every=5", "run_id=null"])
    assert got == {"lr": 1e-4, "max_steps": 20, "safety_probe": {"every": 5}, "run_id": None}


def test_yaml_profile_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "sft.yaml"
    path.write_text("seq_len: 512\nlr: 1.0e-4\nprofiles:\n  quick: {seq_len: 256, max_steps: 30}\n")
    cfg = load_config("sft", path, ["lr=3e-4"], profile="quick")
    assert isinstance(cfg, SFTTrainConfig)
    assert (cfg.seq_len, cfg.max_steps, cfg.lr) == (256, 30, 3e-4)


def test_a_saved_config_lies_under_the_file_profile_and_overrides(tmp_path: Path) -> None:
    # What `--resume` builds on: the run's config, with only what is given on top.
    saved = {"model": "tiny-random", "seq_len": 128, "lr": 1e-3, "safety_probe": {"every": 5}}
    cfg = load_config("sft", None, ["max_steps=9", "safety_probe.limit=2"], base=saved)
    assert (cfg.model, cfg.seq_len, cfg.lr, cfg.max_steps) == ("tiny-random", 128, 1e-3, 9)
    assert cfg.safety_probe is not None
    assert (cfg.safety_probe.every, cfg.safety_probe.limit) == (5, 2)
    path = tmp_path / "sft.yaml"
    path.write_text("lr: 1.0e-4\nprofiles:\n  quick: {seq_len: 256}\n")
    cfg = load_config("sft", path, [], profile="quick", base=saved)
    assert (cfg.model, cfg.seq_len, cfg.lr) == ("tiny-random", 256, 1e-4)


def test_bad_value_is_named_with_file_and_value(tmp_path: Path) -> None:
    path = tmp_path / "dpo.yaml"
    path.write_text("beta: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config("dpo", path, ["lr=-1"])
    assert str(path) in err.value.message
    assert '"lr"' in err.value.message and "-1" in err.value.message


def test_unknown_key_suggests_the_close_field() -> None:
    with pytest.raises(ConfigError) as err:
        load_config("sft", None, ["learning_rate=1e-4", "lora_rank=8"])
    assert "unknown field" in err.value.message
    assert err.value.hint is not None and "did you mean" in err.value.hint


def test_unknown_profile_and_method() -> None:
    with pytest.raises(ConfigError, match="unknown training method"):
        load_config("grpo")
    with pytest.raises(ConfigError, match="no profile"):
        load_config("sft", None, profile="quick")


def test_dpo_fields_and_hash_ignores_run_id() -> None:
    cfg = load_config("dpo", None, ["beta=0.2", "loss_type=ipo"])
    assert isinstance(cfg, DPOTrainConfig) and cfg.beta == 0.2 and cfg.loss_type == "ipo"
    assert config_hash(cfg) == config_hash(cfg.model_copy(update={"run_id": "x"}))
    assert config_hash(cfg) != config_hash(cfg.model_copy(update={"beta": 0.3}))
    with pytest.raises(ConfigError, match="loss_type"):
        load_config("dpo", None, ["loss_type=nope"])


def test_warmup_fraction_or_steps() -> None:
    assert load_config("sft", None, ["warmup=0.1"]).warmup == 0.1
    assert load_config("sft", None, ["warmup=10"]).warmup == 10
    with pytest.raises(ConfigError, match="warmup"):
        load_config("sft", None, ["warmup=2.5"])


def test_ppo_needs_a_reward_model() -> None:
    with pytest.raises(ConfigError, match="reward_model"):
        load_config("ppo")
