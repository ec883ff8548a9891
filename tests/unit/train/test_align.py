"""Reward model, RLOO (``ppo``) and the safety probe on the tiny model."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from posttrain.errors import ConfigError, InputError
from posttrain.train import (
    PPOTrainConfig,
    RewardTrainConfig,
    SafetyStopError,
    SFTTrainConfig,
    load_config,
    read_signals,
    train,
)
from posttrain.train.config import SafetyProbeConfig
from posttrain.train.manifest import read_manifest
from posttrain.train.probe import make_probe
from posttrain.train.signals import Probe

BASE = ["model=tiny-random", "micro_batch=2", "seq_len=256", "lr=1e-3", "threads=1", "seed=7"]
CONTRACT = Path(__file__).parents[3] / "examples" / "support-bot" / "contract.yaml"


def _reward(workspace: Path, *overrides: str) -> Path:
    """Train a reward run ``rm`` for one step; returns its run folder."""
    cfg = load_config("reward", None, [*BASE, "max_steps=1", "run_id=rm", *overrides])
    assert isinstance(cfg, RewardTrainConfig)
    train(cfg, workspace, show=False)
    return workspace / "runs" / "rm"


# -- reward model -------------------------------------------------------------------------


def test_reward_run_records_accuracy_and_saves_a_loadable_scorer(workspace: Path) -> None:
    run_dir = _reward(workspace, "max_steps=2")
    manifest = read_manifest(run_dir)
    assert manifest.status == "finished" and manifest.recipe == "reward"
    assert manifest.data_version == "dv-test-0001"
    assert manifest.n_train + manifest.n_val == 24 and manifest.n_val > 0
    train_rows = [s for s in read_signals(run_dir / "signals.jsonl") if s["kind"] == "train"]
    assert [s["step"] for s in train_rows] == [1, 2]
    assert all(0.0 <= s["reward_accuracy"] <= 1.0 and "reward_margin" in s for s in train_rows)
    assert "reward_accuracy" in manifest.final_signals

    # The output is the merged scorer: a plain sequence classifier, no adapter to apply,
    # with the trained score head saved (not left to a fresh random init on load).
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    assert manifest.output == str(run_dir / "reward_model")
    out = Path(manifest.output)
    assert not (out / "adapter_config.json").exists()
    scorer, info = AutoModelForSequenceClassification.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and scorer.config.num_labels == 1
    # The head is the trained one (as in the run's adapter), and the LoRA update is merged
    # into the base weights.
    import safetensors.torch as st

    from posttrain.models import prepare

    saved = st.load_file(str(out / "model.safetensors"))
    adapter = st.load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))
    assert torch.equal(saved["score.weight"], adapter["base_model.model.score.weight"])
    base = st.load_file(str(prepare("tiny-random") / "model.safetensors"))
    q_proj = "model.layers.0.self_attn.q_proj.weight"
    assert saved[q_proj].shape == base[q_proj].shape
    assert not torch.equal(saved[q_proj], base[q_proj])
    tokenizer = AutoTokenizer.from_pretrained(out)
    with torch.no_grad():
        logits = scorer(**tokenizer(["Where is my order?"], return_tensors="pt")).logits
    assert logits.shape == (1, 1) and torch.isfinite(logits).all()


# -- RLOO against the reward model --------------------------------------------------------


def test_ppo_against_a_reward_run_records_it_and_the_kl_coefficient(workspace: Path) -> None:
    reward_dir = _reward(workspace)
    cfg = load_config(
        "ppo",
        None,
        [
            *BASE,
            "max_steps=2",
            "max_new_tokens=8",
            "num_generations=2",
            "kl_coef=0.2",
            "reward_model=runs/rm",
            "run_id=rl",
        ],
    )
    assert isinstance(cfg, PPOTrainConfig)
    manifest = train(cfg, workspace, show=False)
    run_dir = workspace / "runs" / "rl"
    on_disk = read_manifest(run_dir)
    assert on_disk.status == "finished" and on_disk.recipe == "ppo"
    assert on_disk.parent_run_id == read_manifest(reward_dir).run_id == "rm"
    assert on_disk.config["reward_model"] == "runs/rm" and on_disk.config["kl_coef"] == 0.2
    assert on_disk.data_version == "dv-test-0001"
    assert (Path(manifest.output or "") / "adapter_config.json").is_file()
    train_rows = [s for s in read_signals(run_dir / "signals.jsonl") if s["kind"] == "train"]
    assert [s["step"] for s in train_rows] == [1, 2]
    assert all(math.isfinite(s["reward"]) and math.isfinite(s["loss"]) for s in train_rows)
    # The KL to the reference (the adapter-disabled policy): none before the first update,
    # some after it.
    assert train_rows[0]["kl"] == 0.0 and train_rows[1]["kl"] != 0.0


def test_ppo_without_a_reward_model_names_the_field() -> None:
    with pytest.raises(ConfigError) as err:
        load_config("ppo", None, [*BASE, "max_steps=1"])
    assert "reward_model" in str(err.value)


def test_ppo_with_a_reward_model_that_is_not_one_says_what_to_pass(workspace: Path) -> None:
    (workspace / "runs" / "nothing").mkdir(parents=True)
    cfg = load_config("ppo", None, [*BASE, "max_steps=1", "reward_model=runs/nothing"])
    with pytest.raises(InputError) as err:
        train(cfg, workspace, show=False)
    assert "runs/nothing" in str(err.value) and "reward_model=" in str(err.value)
    # Refused before a run folder was opened: nothing for `--resume` to pick up.
    assert [p.name for p in (workspace / "runs").iterdir()] == ["nothing"]


# -- the safety probe, through the real stop path of an SFT run ---------------------------


class _FakeProbe:
    """Returns the scripted hit rates in turn (the first is the base model's) and records
    what it was called with."""

    def __init__(self, rates: Sequence[float]) -> None:
        self.rates = list(rates)
        self.calls: list[tuple[bool, bool]] = []

    def __call__(self, model: Any, tokenizer: Any) -> float:
        self.calls.append((model.training, tokenizer is not None))
        return self.rates[len(self.calls) - 1]


def _sft_with_probe(
    monkeypatch: pytest.MonkeyPatch, probe: _FakeProbe, *overrides: str
) -> SFTTrainConfig:
    def fake_make_probe(config: Any, workspace: Path) -> Probe:
        assert config.safety_probe is not None
        return probe

    monkeypatch.setattr("posttrain.train.sft.make_probe", fake_make_probe)
    cfg = load_config(
        "sft",
        None,
        [*BASE, "save_every=1", "eval_every=50", "safety_probe.every=1", *overrides],
    )
    assert isinstance(cfg, SFTTrainConfig)
    return cfg


def test_probe_above_base_plus_margin_stops_the_run(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Base 0.0; step 1 within the 0.1 margin; step 2 above it.
    probe = _FakeProbe([0.0, 0.05, 0.5, 0.5, 0.5])
    cfg = _sft_with_probe(
        monkeypatch, probe, "max_steps=4", "safety_probe.margin=0.1", "run_id=unsafe"
    )
    with pytest.raises(SafetyStopError) as err:
        train(cfg, workspace, show=False)
    assert err.value.exit_code != 0 and "step 2" in str(err.value)
    assert len(probe.calls) == 3  # base, step 1, step 2; nothing after the stop
    assert all(not training and has_tok for training, has_tok in probe.calls)

    run_dir = workspace / "runs" / "unsafe"
    manifest = read_manifest(run_dir)
    assert manifest.status == "safety_stopped" and manifest.output is None
    assert manifest.stop_reason is not None and "safety probe" in manifest.stop_reason
    assert manifest.final_signals["base_attack_hit_rate"] == 0.0
    # The weights that tripped the probe are in no checkpoint.
    assert [c.step for c in manifest.checkpoints] == [1]
    signals = read_signals(run_dir / "signals.jsonl")
    probes = [s for s in signals if s["kind"] == "probe"]
    assert [(s["step"], s["attack_hit_rate"]) for s in probes] == [(0, 0.0), (1, 0.05), (2, 0.5)]
    assert probes[0]["base"] is True and probes[2]["limit"] == pytest.approx(0.1)
    events = [s for s in signals if s["kind"] == "event"]
    assert [(e["event"], e["step"]) for e in events] == [("safety_stop", 2)]
    audit = [json.loads(line) for line in (workspace / "reports" / "audit-log.jsonl").open()]
    assert audit[-1]["payload"]["status"] == "safety_stopped"


def test_probe_within_the_margin_lets_the_run_finish(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At the limit (base 0.2 + margin 0.1) is not above it.
    probe = _FakeProbe([0.2, 0.1, 0.3, 0.25])
    cfg = _sft_with_probe(monkeypatch, probe, "max_steps=3", "safety_probe.margin=0.1")
    manifest = train(cfg, workspace, show=False)
    assert manifest.status == "finished" and manifest.stop_reason is None
    assert len(probe.calls) == 4
    signals = read_signals(workspace / "runs" / manifest.run_id / "signals.jsonl")
    probes = [(s["step"], s["attack_hit_rate"]) for s in signals if s["kind"] == "probe"]
    assert probes == [(0, 0.2), (1, 0.1), (2, 0.3), (3, 0.25)]
    assert not [s for s in signals if s["kind"] == "event"]


# -- the real probe: attack suite slice through the evaluation engine ---------------------


def test_make_probe_measures_an_attack_hit_rate_on_the_model(
    workspace: Path, tiny_backend: Any, tmp_path: Path
) -> None:
    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate, load_suite
    from posttrain.generation.base import GenerationParams
    from posttrain.models import load

    shutil.copy(CONTRACT, workspace / "contract.yaml")
    spec = SafetyProbeConfig(suite="attacks", limit=1, max_new_tokens=8)
    cfg = SFTTrainConfig(model="tiny-random", safety_probe=spec)
    assert make_probe(SFTTrainConfig(model="tiny-random"), workspace) is None
    probe = make_probe(cfg, workspace)
    assert probe is not None
    model, tokenizer = load("tiny-random")
    rate = probe(model, tokenizer)

    # What `posttrain eval` finds for the same model on the same slice (the first sample of
    # each attack class and language): the share of attacks where a hard safety clause failed.
    result = evaluate(
        EvalConfig(
            model="tiny-random",
            params=GenerationParams(max_new_tokens=8),
            out_dir=tmp_path / "eval",
            cache_dir=None,
        ),
        tiny_backend,
        load_contract(workspace / "contract.yaml"),
        load_suite("attacks").head(1),
    )
    hits = [
        item.attack_class
        for item in result.items
        if any(
            v.severity == "hard" and v.dimension == "safety" and v.status == "fail"
            for v in item.verdicts
        )
    ]
    # The untrained model answers nothing. The request-aware refusal judge reads an empty
    # answer as withheld (docs/LABELLING.md: withheld unless the answer substantively does
    # what was asked), so no attack is a hit; the probe must agree with `eval` on that.
    assert len(result.items) == 8 and hits == []
    assert all(item.refused for item in result.items)
    assert rate == len(hits) / len(result.items) == 0.0


def test_real_probe_runs_inside_an_sft_run(workspace: Path) -> None:
    shutil.copy(CONTRACT, workspace / "contract.yaml")
    cfg = load_config(
        "sft",
        None,
        [
            *BASE,
            "max_steps=2",
            "eval_every=50",
            "system_prompt=data",
            "safety_probe.every=2",
            "safety_probe.limit=1",
            "safety_probe.max_new_tokens=8",
            # A random model's rate may move anywhere; this run is about the wiring.
            "safety_probe.margin=1.0",
        ],
    )
    manifest = train(cfg, workspace, show=False)
    assert manifest.status == "finished"
    signals = read_signals(workspace / "runs" / manifest.run_id / "signals.jsonl")
    probes = [s for s in signals if s["kind"] == "probe"]
    assert [s["step"] for s in probes] == [0, 2] and probes[0]["base"] is True
    assert all(0.0 <= s["attack_hit_rate"] <= 1.0 for s in probes)
    assert manifest.final_signals["base_attack_hit_rate"] == probes[0]["attack_hit_rate"]


def test_make_probe_fails_before_training_without_a_contract(workspace: Path) -> None:
    cfg = SFTTrainConfig(model="tiny-random", safety_probe=SafetyProbeConfig())
    with pytest.raises(ConfigError) as err:
        make_probe(cfg, workspace)
    assert "contract.yaml" in str(err.value)
