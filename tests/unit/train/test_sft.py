"""SFT on the tiny model: the run record, resume equivalence, NaN stop, early stop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from transformers import TrainerCallback

from posttrain.train import SFTTrainConfig, TrainingDivergedError, load_config, read_signals, train
from posttrain.train.manifest import read_manifest

BASE = ["model=tiny-random", "micro_batch=2", "seq_len=128", "lr=1e-3", "threads=1", "seed=7"]


def _cfg(*overrides: str) -> SFTTrainConfig:
    cfg = load_config("sft", None, [*BASE, *overrides])
    assert isinstance(cfg, SFTTrainConfig)
    return cfg


class _KillAt(TrainerCallback):
    """Simulates a kill right after the checkpoint at ``step`` is written."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step == self.step:
            raise KeyboardInterrupt


def _losses(run_dir: Path) -> dict[int, float]:
    return {
        s["step"]: s["loss"]
        for s in read_signals(run_dir / "signals.jsonl")
        if s["kind"] == "train"
    }


def test_run_record_binds_data_config_model_and_outputs(
    workspace: Path, tiny_model_dir: Path
) -> None:
    manifest = train(_cfg("max_steps=2", "eval_every=2"), workspace, show=False)
    run_dir = workspace / "runs" / manifest.run_id
    on_disk = read_manifest(run_dir)
    assert on_disk.status == "finished"
    assert (on_disk.data_version, on_disk.contract_hash, on_disk.deid_policy_version) == (
        "dv-test-0001",
        "c0ffee",
        "posttrain-deid v1",
    )
    assert on_disk.config["lr"] == 1e-3 and len(on_disk.config_hash) == 16
    assert len(on_disk.base_model_fingerprint) == 16
    assert {"torch", "transformers", "trl", "peft"} <= set(on_disk.packages)
    assert on_disk.n_train == 22 and on_disk.n_val == 2
    assert on_disk.timings["train_s"] > 0 and on_disk.checkpoints[-1].step == 2
    assert on_disk.final_signals["step"] == 2 and "val_loss" in on_disk.final_signals
    # The adapter is in PEFT format, next to the tokenizer.
    assert (Path(on_disk.output or "") / "adapter_config.json").is_file()
    audit = [json.loads(line) for line in (workspace / "reports" / "audit-log.jsonl").open()]
    assert audit[-1]["kind"] == "training_run"
    assert audit[-1]["payload"]["run_id"] == manifest.run_id
    signals = read_signals(run_dir / "signals.jsonl")
    train_rows = [s for s in signals if s["kind"] == "train"]
    assert [s["step"] for s in train_rows] == [1, 2]
    assert all(s["tokens_per_s"] > 0 and s["peak_rss_mb"] > 0 and "lr" in s for s in train_rows)


def test_resume_after_a_kill_gives_the_losses_of_an_uninterrupted_run(workspace: Path) -> None:
    full = train(
        _cfg("max_steps=6", "save_every=3", "eval_every=3", "run_id=full"), workspace, show=False
    )
    with pytest.raises(KeyboardInterrupt):
        train(
            _cfg("max_steps=6", "save_every=3", "eval_every=3", "run_id=killed"),
            workspace,
            show=False,
            callbacks=[_KillAt(3)],
        )
    assert read_manifest(workspace / "runs" / "killed").status == "interrupted"
    resumed = train(
        _cfg("max_steps=6", "save_every=3", "eval_every=3", "run_id=killed"),
        workspace,
        resume=True,
        show=False,
    )
    assert resumed.status == "finished" and resumed.resumed_from == ["checkpoint-3"]
    a, b = _losses(workspace / "runs" / full.run_id), _losses(workspace / "runs" / "killed")
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        assert b[step] == pytest.approx(a[step], abs=1e-6), f"step {step}"


def test_nan_loss_stops_keeps_the_last_good_checkpoint_and_fails(workspace: Path) -> None:
    cfg = _cfg(
        "max_steps=8",
        "save_every=1",
        "eval_every=50",
        "lr=1e30",
        "max_grad_norm=1e30",
        "run_id=nan",
    )
    with pytest.raises(TrainingDivergedError) as err:
        train(cfg, workspace, show=False)
    assert err.value.exit_code != 0
    run_dir = workspace / "runs" / "nan"
    manifest = read_manifest(run_dir)
    assert manifest.status == "diverged" and manifest.output is None
    bad_step = next(
        s["step"] for s in read_signals(run_dir / "signals.jsonl") if s.get("event") == "diverged"
    )
    # No checkpoint holds the diverged weights, and the last one is named in the hint.
    assert manifest.checkpoints and max(c.step for c in manifest.checkpoints) < bad_step
    assert err.value.hint is not None and manifest.checkpoints[-1].path in err.value.hint


def test_early_stop_restores_the_best_checkpoint(workspace: Path) -> None:
    # A large constant learning rate makes validation loss rise after the first evaluation.
    cfg = _cfg(
        "max_steps=40",
        "eval_every=2",
        "patience=2",
        "lr=0.05",
        "lr_scheduler=constant",
        "run_id=es",
    )
    manifest = train(cfg, workspace, show=False)
    assert manifest.status == "early_stopped" and manifest.stop_reason is not None
    run_dir = workspace / "runs" / "es"
    evals = [s for s in read_signals(run_dir / "signals.jsonl") if s["kind"] == "eval"]
    best = min(evals, key=lambda s: s["val_loss"])
    assert evals[-1]["step"] < 40  # it stopped early
    assert manifest.best_checkpoint is not None and manifest.best_checkpoint.endswith(
        f"checkpoint-{best['step']}"
    )
    # The saved adapter is the best checkpoint's, not the last step's.
    import safetensors.torch as st

    saved = st.load_file(str(Path(manifest.output or "") / "adapter_model.safetensors"))
    kept = st.load_file(str(Path(manifest.best_checkpoint) / "adapter_model.safetensors"))
    assert saved.keys() == kept.keys()
    assert all((saved[k] == kept[k]).all() for k in saved)
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "early_stopped"


def test_a_run_that_fails_before_training_is_marked_failed_and_not_resumed(
    workspace: Path,
) -> None:
    from posttrain.errors import InputError, UsageError
    from posttrain.train.runtime import find_resumable

    cfg = load_config("dpo", None, [*BASE, "init_adapter=runs/no-such-run"])
    with pytest.raises(InputError, match="neither a run folder"):
        train(cfg, workspace, show=False)
    (run_dir,) = (workspace / "runs").glob("dpo-*")
    manifest = read_manifest(run_dir)
    assert manifest.status == "failed" and "no-such-run" in (manifest.stop_reason or "")
    with pytest.raises(UsageError, match="with a checkpoint"):
        find_resumable(workspace, "dpo")
