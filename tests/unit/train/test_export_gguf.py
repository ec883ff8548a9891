"""GGUF export (Q8_0, Q4_1, Q4_0) of a merged run: llama.cpp loads it, tokenises like
transformers, predicts what the float32 model predicts, and the llamacpp backend serves it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posttrain.errors import UsageError
from posttrain.train import load_config, train
from posttrain.train.export import export_run

llama_cpp = pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (pip install 'posttrain[llamacpp]')"
)

TEXT = "<|im_start|>user\nWhere is my order? 订单 SM-2026-12345<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    from .conftest import write_data

    ws = tmp_path_factory.mktemp("gguf-ws")
    write_data(ws / "data")
    cfg = load_config(
        "sft",
        None,
        [
            "model=tiny-random",
            "max_steps=2",
            "micro_batch=4",
            "seq_len=128",
            "lr=0.02",
            "threads=1",
        ],
    )
    run = ws / "runs" / train(cfg, ws, show=False).run_id
    result = export_run(run, dtypes=["fp32", "q8_0", "q4_1", "q4_0"])
    return {"run": run, "models": {m.dtype: m for m in result.models}}


def _llama(path: str) -> Any:
    return llama_cpp.Llama(model_path=path, n_ctx=256, logits_all=True, verbose=False)


def test_the_gguf_files_are_written_and_recorded(exported: dict[str, Any]) -> None:
    models = exported["models"]
    assert set(models) == {"fp32", "q8_0", "q4_1", "q4_0"}
    for kind in ("q8_0", "q4_1", "q4_0"):
        path = Path(models[kind].path)
        assert path.suffix == ".gguf" and path.stat().st_size == models[kind].size_bytes
    assert models["q4_0"].size_bytes < models["q4_1"].size_bytes < models["q8_0"].size_bytes
    recorded = json.loads((exported["run"] / "export" / "export.json").read_text())
    assert {m["dtype"] for m in recorded["models"]} == {"fp32", "q8_0", "q4_1", "q4_0"}


@pytest.mark.parametrize("kind", ["q8_0", "q4_1", "q4_0"])
def test_llama_cpp_tokenises_and_predicts_like_the_merged_model(
    exported: dict[str, Any], kind: str
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    fp32 = exported["models"]["fp32"].path
    tok = AutoTokenizer.from_pretrained(fp32)
    model = AutoModelForCausalLM.from_pretrained(fp32, dtype=torch.float32).eval()
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].numpy()

    llm = _llama(exported["models"][kind].path)
    try:
        # The vocabulary, merges and special tokens made it into the file.
        assert llm.tokenize(TEXT.encode(), add_bos=False, special=True) == ids
        llm.eval(ids)
        got = np.array(llm.scores[: len(ids)])
    finally:
        llm.close()
    agreement = float((got.argmax(-1) == ref.argmax(-1)).mean())
    assert agreement >= 0.9, f"{kind}: next-token argmax agrees on {agreement:.2f}"
    # Quantisation error, not a wrong layout (a missing q/k permutation is far larger).
    assert np.abs(got - ref).max() < (0.05 if kind == "q8_0" else 0.25)


def test_the_llamacpp_backend_serves_the_export(exported: dict[str, Any]) -> None:
    from posttrain.generation.base import GenerationParams
    from posttrain.generation.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(exported["models"]["q4_0"].path, n_ctx=256)
    gens = backend.generate(
        [[{"role": "user", "content": "Where is my order?"}]], GenerationParams(max_new_tokens=8)
    )
    assert gens[0].prompt_tokens > 0 and gens[0].completion_tokens > 0
    assert backend.fingerprint == exported["models"]["q4_0"].fingerprint


def test_a_non_llama_model_is_refused_clearly() -> None:
    from types import SimpleNamespace

    from posttrain.train.export_gguf import write_gguf

    fake = SimpleNamespace(config=SimpleNamespace(model_type="gpt2"))
    with pytest.raises(UsageError, match="Llama-architecture"):
        write_gguf(fake, None, Path("x.gguf"), "q4_0", name="x")


def test_the_rotary_layout_is_converted(tmp_path: Path, tiny_model_dir: Path) -> None:
    # The tiny model's random attention is nearly uniform, so a wrong q/k layout hardly
    # shows; with q and k scaled up attention is sharp and a missing permutation moves
    # the logits by ~0.8 and flips the argmax on ~15% of positions (measured).
    import torch

    from posttrain.models import load
    from posttrain.train.export_gguf import write_gguf

    model, tok = load("tiny-random")
    model = model.float().eval()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.mul_(20)
            layer.self_attn.k_proj.weight.mul_(20)
        ids = tok(TEXT, add_special_tokens=False)["input_ids"]
        ref = model(torch.tensor([ids])).logits[0].numpy()
    path = tmp_path / "sharp.gguf"
    write_gguf(model, tok, path, "q8_0", name="sharp")
    llm = _llama(str(path))
    try:
        llm.eval(ids)
        got = np.array(llm.scores[: len(ids)])
    finally:
        llm.close()
    assert float((got.argmax(-1) == ref.argmax(-1)).mean()) >= 0.95
    assert np.abs(got - ref).max() < 0.3


def test_exporting_int8_later_keeps_an_earlier_fp32_folder(exported: dict[str, Any]) -> None:
    # Found by make infer-bench: exporting only the missing forms removed fp32.
    export_run(exported["run"], dtypes=["int8"])
    assert (exported["run"] / "export" / "fp32" / "model.safetensors").is_file()
    assert (exported["run"] / "export" / "int8").is_dir()
