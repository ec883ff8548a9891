"""The example's quick profile trains on enough to change behaviour: issue 17 found it
training on 128 of 265 records (17.6k tokens, a fraction of one pass) with no visible
change in the candidate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from posttrain.data import DataConfig, build_dataset
from posttrain.train import SFTTrainConfig, load_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot"


def test_quick_sft_passes_over_every_training_record_at_least_once(tmp_path: Path) -> None:
    cfg = load_config("sft", EXAMPLE / "configs" / "sft.yaml", [], profile="quick")
    assert isinstance(cfg, SFTTrainConfig)
    # sft.jsonl is a build output (not in git): build the example's data as `make demo` does
    if not (EXAMPLE / "data" / "failures.jsonl").is_file():
        pytest.skip("example workspace not present")
    ws = tmp_path / "support-bot"
    keep = shutil.ignore_patterns("sft.jsonl", "prefs.jsonl", "buckets", "runs", "reports")
    shutil.copytree(EXAMPLE, ws, ignore=keep)
    assert build_dataset(DataConfig(workspace=ws), workers=1).status == "built"
    records = (ws / "data" / "sft.jsonl").read_text(encoding="utf-8").splitlines()
    n_train = len(records) - min(cfg.val_max, round(len(records) * cfg.val_fraction))
    trained = cfg.limit if cfg.limit is not None else n_train
    if cfg.max_steps is not None:
        trained = min(trained * cfg.epochs, cfg.max_steps * cfg.micro_batch * cfg.grad_accum)
    else:
        trained = trained * cfg.epochs
    assert trained >= n_train, f"quick trains {trained} examples, the data holds {n_train}"
    assert all("messages" in json.loads(line) for line in records[:3])
