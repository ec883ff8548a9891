"""``posttrain train|export|estimate`` end to end on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from transformers import TrainerCallback

from posttrain.cli import main
from posttrain.data import Manifest, QualityReport
from posttrain.train.manifest import read_manifest

TINY = ["model=tiny-random", "micro_batch=2", "seq_len=128", "threads=1"]


def _write_data(folder: Path, *, quality_ok: bool = True) -> None:
    folder.mkdir(parents=True)
    sft, prefs = [], []
    for i in range(16):
        prompt = f"Where is my order? (case {i})"
        good = "Could you share your order number so I can look it up?"
        sft.append(
            {
                "id": f"s{i}",
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": good},
                ],
            }
        )
        prefs.append({"id": f"p{i}", "prompt": prompt, "chosen": good, "rejected": "It's lost."})
    (folder / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sft))
    (folder / "prefs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in prefs))
    (folder / "manifest.json").write_text(_manifest("dv-cli").model_dump_json())
    rule = {"name": "near_duplicates", "description": "", "value": 0.0, "threshold": "-"}
    rule["status"] = "pass" if quality_ok else "fail"
    quality = QualityReport.model_validate({"passed": quality_ok, "rules": [rule]})
    (folder / "quality.json").write_text(quality.model_dump_json())


def _manifest(data_version: str) -> Manifest:
    """A data manifest as ``posttrain data build`` writes it, for hand-written data."""
    counts: dict[str, object] = {k: 0 for k in ("read", "accepted", "quarantined", "sft")}
    counts |= {"dropped_by_policy": 0, "prefs": 0, "no_chosen": 0}
    counts |= {k: {} for k in ("buckets", "label_sources", "languages", "pii_replaced")}
    counts["quarantine_reasons"] = {}
    policy = {"label": "posttrain-deid@v1", "policy_id": "posttrain-deid", "version": 1}
    policy |= {"sha256": "ab" * 32, "score_threshold": 0.5, "actions": {}}
    contract: dict[str, object] = {
        "path": None,
        "sha256": None,
        "clauses": [],
        "required_classes": [],
    }
    return Manifest.model_validate(
        {
            "data_version": data_version,
            "packages": {},
            "policy": policy,
            "counts": counts,
            "inputs": [],
            "contract": contract,
            "eval_sets": [],
            "files": {},
            "config": {},
            "config_sha256": "cd" * 32,
            "quality": {},
            "overrides": {},
        }
    )


@pytest.fixture
def ws(tmp_path: Path, tiny_model_dir: Path) -> Path:
    _write_data(tmp_path / "data")
    return tmp_path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_sft_then_dpo_on_top_then_export(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["train", "sft", "-w", str(ws), *TINY, "max_steps=2", "--json"], capsys)
    assert code == 0
    sft = json.loads(out)
    assert sft["status"] == "finished" and sft["data_version"] == "dv-cli"
    code, out, _ = _run(
        [
            "train",
            "dpo",
            "-w",
            str(ws),
            *TINY,
            "max_steps=2",
            "seq_len=256",
            f"init_adapter=runs/{sft['run_id']}",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    dpo = json.loads(out)
    assert dpo["parent_run_id"] == sft["run_id"] and "reward_accuracy" in dpo["final_signals"]
    code, out, _ = _run(
        ["export", str(ws / "runs" / dpo["run_id"]), "--dtype", "fp16", "--json"], capsys
    )
    assert code == 0
    exported = json.loads(out)
    assert [m["dtype"] for m in exported["models"]] == ["fp16"]
    assert len(exported["adapters"]) == 2  # the SFT adapter, then the DPO one


def test_reward_then_ppo_against_it(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = [*TINY, "max_steps=1", "seq_len=256"]
    code, out, _ = _run(["train", "reward", "-w", str(ws), *short, "--json"], capsys)
    assert code == 0
    reward = json.loads(out)
    assert reward["status"] == "finished" and "reward_accuracy" in reward["final_signals"]
    assert reward["output"].endswith("reward_model")
    code, _, err = _run(["train", "ppo", "-w", str(ws), *short], capsys)
    assert code == 2 and "reward_model" in err
    code, out, _ = _run(
        [
            "train",
            "ppo",
            "-w",
            str(ws),
            *short,
            "max_new_tokens=8",
            "kl_coef=0.1",
            f"reward_model=runs/{reward['run_id']}",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    ppo = json.loads(out)
    assert ppo["status"] == "finished" and ppo["parent_run_id"] == reward["run_id"]
    assert ppo["config"]["kl_coef"] == 0.1 and "reward" in ppo["final_signals"]


def test_config_errors_exit_2_and_name_the_field(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["train", "sft", "-w", str(ws), *TINY, "micro_batch=0"], capsys)
    assert code == 2 and "micro_batch" in err and "0" in err
    code, _, err = _run(["train", "sft", "-w", str(ws), *TINY, "lora_rank=8"], capsys)
    assert code == 2 and "lora_rank" in err and "lora_r" in err
    code, _, err = _run(["train", "sft", "-w", str(ws), *TINY, "method=qlora"], capsys)
    assert code == 2 and "GPU" in err


def test_failed_quality_is_refused_then_overridden_with_a_reason(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_data(tmp_path / "data", quality_ok=False)
    code, _, err = _run(["train", "sft", "-w", str(tmp_path), *TINY, "max_steps=1"], capsys)
    assert code == 2 and "near_duplicates" in err
    code, out, _ = _run(
        [
            "train",
            "sft",
            "-w",
            str(tmp_path),
            *TINY,
            "max_steps=1",
            "allow_failed_quality=duplicates reviewed by hand",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    assert json.loads(out)["data"]["quality_override_reason"] == "duplicates reviewed by hand"


def test_nan_exits_non_zero(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        [
            "train",
            "sft",
            "-w",
            str(ws),
            *TINY,
            "max_steps=6",
            "lr=1e30",
            "max_grad_norm=1e30",
            "save_every=1",
        ],
        capsys,
    )
    assert code == 1 and "diverged" in err and "last good checkpoint" in err


class _KillAfterCheckpoint(TrainerCallback):
    """A kill (Ctrl-C) right after the checkpoint at ``step`` is written."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_resume_takes_the_runs_own_config_and_refuses_another_model(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import posttrain.train
    import posttrain.train.sft

    real_train = posttrain.train.train

    def killed(config: Any, workspace: Path, **kw: Any) -> Any:
        return real_train(config, workspace, callbacks=[_KillAfterCheckpoint(2)], **kw)

    with monkeypatch.context() as patch:
        patch.setattr(posttrain.train, "train", killed)
        argv = ["train", "sft", "-w", str(ws), *TINY, "max_steps=4", "save_every=2", "lr=1e-3"]
        code, _, _ = _run(argv, capsys)
    assert code == 130
    (run_dir,) = (ws / "runs").glob("sft-*")
    assert read_manifest(run_dir).status == "interrupted"

    def no_loading(*args: Any, **kw: Any) -> Any:
        raise AssertionError("a model was loaded for a refused resume")

    # Another model: refused before anything is loaded, naming the field and both values.
    with monkeypatch.context() as patch:
        patch.setattr(posttrain.train.sft, "load_base", no_loading)
        code, _, err = _run(
            ["train", "sft", "-w", str(ws), "--resume", "model=smollm2-135m-instruct"], capsys
        )
        assert code == 2, err
        assert "model" in err and "'tiny-random'" in err and "'smollm2-135m-instruct'" in err
        # Rebuilt data is another run too.
        manifest_file = ws / "data" / "manifest.json"
        original = manifest_file.read_text()
        manifest_file.write_text(original.replace('"dv-cli"', '"dv-rebuilt"'))
        code, _, err = _run(["train", "sft", "-w", str(ws), "--resume"], capsys)
        assert code == 2 and "data version" in err and "dv-cli" in err and "dv-rebuilt" in err
        manifest_file.write_text(original)
    untouched = read_manifest(run_dir)
    assert untouched.status == "interrupted" and untouched.resumed_from == []

    # No overrides: the run's own config (tiny-random, max_steps=4), from its checkpoint.
    code, out, err = _run(["train", "sft", "-w", str(ws), "--resume", "--json"], capsys)
    assert code == 0, err
    resumed = json.loads(out)
    assert resumed["run_id"] == run_dir.name and resumed["status"] == "finished"
    assert resumed["base_model"] == "tiny-random" and resumed["resumed_from"] == ["checkpoint-2"]
    assert resumed["final_signals"]["step"] == 4
    assert "changed config" not in err  # nothing changed, so no warning about it
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (saved["model"], saved["max_steps"], saved["lr"]) == ("tiny-random", 4, 1e-3)


def test_estimate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["estimate", "--model", "13B", "--method", "qlora", "--json"], capsys)
    assert code == 0
    est = json.loads(out)
    assert 5 < est["total_gb"] < 20 and est["cost"] > 0
    code, _, err = _run(["estimate", "--model", "12Q"], capsys)
    assert code == 2 and "named size" in err


def test_estimate_options_are_validated_by_its_input_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["estimate", "--no-checkpointing", "--price", "3", "--json"], capsys)
    assert code == 0
    inp = json.loads(out)["input"]
    assert inp["checkpointing"] is False and inp["price_per_gpu_hour"] == 3.0
    assert inp["seq_len"] == 2048  # left out: the model's default
    code, _, err = _run(["estimate", "--recipe", "rlhf"], capsys)
    assert code == 2 and "--recipe 'rlhf'" in err
    code, _, err = _run(["estimate", "--seq-len", "0"], capsys)
    assert code == 2 and "--seq-len 0" in err


def _free_port() -> int:
    """A loopback port nothing listens on now (a fixed one collides with a parallel run)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_process_ddp_on_cpu_with_gloo(ws: Path, posttrain_home: Path) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    cli = Path(sys.executable).parent / "posttrain"
    env = {**os.environ, "POSTTRAIN_HOME": str(posttrain_home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--nnodes",
            "1",
            "--master_port",
            str(_free_port()),
            str(cli),
            "train",
            "sft",
            "-w",
            str(ws),
            *TINY,
            "max_steps=2",
            "run_id=ddp",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads(proc.stdout)  # only rank 0 reports
    assert manifest["world_size"] == 2 and manifest["status"] == "finished"
    rows = [
        json.loads(line)
        for line in (ws / "runs" / "ddp" / "signals.jsonl").read_text().splitlines()
    ]
    train_rows = [r for r in rows if r["kind"] == "train"]
    # One line per step (not one per process), and tokens gathered from both processes.
    assert [r["step"] for r in train_rows] == [1, 2]
    assert train_rows[0]["tokens"] == 2 * 2 * 128
