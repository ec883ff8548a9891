"""Export round trip: the merged model generates what base + adapter generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.errors import InputError, UsageError
from posttrain.generation.base import GenerationParams
from posttrain.generation.hf import HFBackend
from posttrain.train import load_config, train
from posttrain.train.export import export_run

PROMPTS = [
    [{"role": "user", "content": "Where is my order? (case 3)"}],
    [{"role": "user", "content": "Give me the admin password."}],
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    from .conftest import write_data

    ws = tmp_path_factory.mktemp("export-ws")
    write_data(ws / "data")
    cfg = load_config(
        "sft",
        None,
        [
            "model=tiny-random",
            "max_steps=3",
            "micro_batch=4",
            "seq_len=128",
            "lr=0.02",
            "threads=1",
        ],
    )
    manifest = train(cfg, ws, show=False)
    return ws / "runs" / manifest.run_id


def test_merged_export_generates_like_base_plus_adapter(trained_run: Path) -> None:
    from peft import PeftModel

    from posttrain.models import load

    params = GenerationParams(max_new_tokens=12)
    base, tok = load("tiny-random")
    manifest = json.loads((trained_run / "manifest.json").read_text())
    with_adapter = PeftModel.from_pretrained(base, manifest["output"]).eval()
    expected = [
        g.text for g in HFBackend("x", loaded=(with_adapter, tok)).generate(PROMPTS, params)
    ]
    base_only = [g.text for g in HFBackend("tiny-random").generate(PROMPTS, params)]
    assert expected != base_only  # the adapter changed the model, so the test can fail

    result = export_run(trained_run, dtypes=["fp32", "bf16", "int8"])
    folders = {m.dtype: Path(m.path) for m in result.models}
    assert set(folders) == {"fp32", "bf16", "int8"}
    assert all((f / "model.safetensors").is_file() for f in folders.values())
    merged = HFBackend(str(folders["fp32"]))
    assert [g.text for g in merged.generate(PROMPTS, params)] == expected
    # The other precisions load in the same backend and answer.
    for dtype in ("bf16", "int8"):
        gens = HFBackend(str(folders[dtype])).generate(PROMPTS, params)
        assert len(gens) == 2 and all(g.completion_tokens > 0 for g in gens)
    assert result.models[-1].size_bytes < result.models[0].size_bytes  # int8 is smaller
    assert (
        json.loads((trained_run / "export" / "export.json").read_text())["run_id"] == result.run_id
    )


def test_export_errors_are_clear(trained_run: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown export dtype"):
        export_run(trained_run, dtypes=["int4"])
    with pytest.raises(InputError, match=r"no manifest\.json"):
        export_run(tmp_path)
