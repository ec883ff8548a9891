"""``posttrain export``: merge a run's adapter into its base and write deployable models.

For each requested dtype a folder ``<out>/<dtype>/`` with safetensors weights, config and
tokenizer, loadable by the ``hf`` generation backend (``--model <out>/<dtype>``):

* ``fp32``, ``bf16``, ``fp16`` - the merged model cast to that dtype;
* ``int8`` - int8 weight-only quantisation through torchao (a maintained PyTorch library;
  the weights are stored as torchao tensors in safetensors and dequantised per matmul).

and, for llama.cpp (the ``llamacpp`` backend, ``--model <out>/q4_0/model-q4_0.gguf``), one
GGUF file per quantisation (:mod:`posttrain.train.export_gguf`):

* ``q8_0`` - 8-bit blocks; ``q4_1`` and ``q4_0`` - 4-bit blocks with and without a
  per-block minimum (token embedding and head in Q8_0). On SmolLM2-135M Q4_1 keeps the
  model's next-token choice far better than Q4_0 (BENCHMARKS.md, infer-bench).

A DPO run trained on top of an SFT adapter is exported with both merged, in order. An
``export.json`` next to the folders records the run, the base fingerprint and each
folder's fingerprint.
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from posttrain.errors import InputError, MissingDependencyError, UsageError
from posttrain.train.export_gguf import GGUF_TYPES, GgufType, write_gguf
from posttrain.train.manifest import now_iso, read_manifest

__all__ = ["EXPORT_DTYPES", "ExportResult", "ExportedModel", "export_run", "merged_model"]

EXPORT_DTYPES: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8", "q8_0", "q4_1", "q4_0")
_TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


class ExportedModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dtype: str
    path: str
    size_bytes: int
    fingerprint: str
    method: str


class ExportResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    kind: Literal["export"] = "export"
    run_id: str
    base_model: str
    base_model_fingerprint: str
    adapters: list[str]
    created_at: str
    models: list[ExportedModel]


def merged_model(run_dir: Path) -> tuple[Any, Any, list[str]]:
    """The run's model with every adapter merged in (float32), its tokenizer, and the
    adapters merged. Raises :class:`InputError` for a run without a final output."""
    import torch
    from transformers import AutoModelForCausalLM

    from posttrain.models import load_tokenizer, prepare

    manifest = read_manifest(run_dir)
    if manifest.output is None:
        raise InputError(
            f"run {manifest.run_id} has no final model (status {manifest.status})",
            path=str(run_dir),
            hint="export a finished run, or resume this one with --resume",
        )
    if manifest.recipe == "reward":
        raise UsageError(
            "a reward model is a scorer, not a generator; there is nothing to deploy",
            hint="export the sft, dpo or ppo run instead",
        )
    output = Path(manifest.output)
    if manifest.finetune == "full":
        model = AutoModelForCausalLM.from_pretrained(output, dtype=torch.float32)
        return model, load_tokenizer(str(output)), []
    from peft import PeftModel

    model = AutoModelForCausalLM.from_pretrained(prepare(manifest.base_model), dtype=torch.float32)
    adapters = [a for a in (manifest.init_adapter, str(output)) if a]
    for adapter in adapters:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    return model, load_tokenizer(manifest.base_model), adapters


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def export_run(
    run_dir: Path, *, dtypes: Sequence[str] = EXPORT_DTYPES, out_dir: Path | None = None
) -> ExportResult:
    """Write one loadable folder per dtype under ``out_dir`` (default ``<run>/export``).

    Raises :class:`UsageError` for an unknown dtype (or a model GGUF export does not
    know), :class:`MissingDependencyError` when int8 is asked for without torchao,
    :class:`InputError` for a run that cannot be exported.
    """
    import torch

    from posttrain.models import fingerprint

    unknown = [d for d in dtypes if d not in EXPORT_DTYPES]
    if unknown:
        raise UsageError(
            f"unknown export dtype {', '.join(unknown)}", hint=f"use {', '.join(EXPORT_DTYPES)}"
        )
    if "int8" in dtypes and importlib.util.find_spec("torchao") is None:
        raise MissingDependencyError("int8 export needs torchao", hint="pip install torchao")
    manifest = read_manifest(run_dir)
    model, tokenizer, adapters = merged_model(run_dir)
    out_dir = out_dir or run_dir / "export"
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.padding_side = "left"
    written: list[ExportedModel] = []
    fp32_dir: Path | None = None
    # An fp32 folder from an earlier export is the user's: it is rewritten, never removed.
    fp32_kept = "fp32" in dtypes or (out_dir / "fp32").exists()
    for dtype in [d for d in EXPORT_DTYPES if d in dtypes or (d == "fp32" and "int8" in dtypes)]:
        folder = out_dir / dtype
        if folder.exists():
            shutil.rmtree(folder)
        if dtype in GGUF_TYPES:
            written.append(_export_gguf(model, tokenizer, folder, dtype, manifest.run_id))
            continue
        if dtype == "int8":
            assert fp32_dir is not None  # fp32 is written first whenever int8 is asked for
            _quantize_int8(fp32_dir, folder)
            method = "torchao Int8WeightOnlyConfig"
        else:
            # A cast copy: the float32 model stays float32 for the GGUF forms after it.
            converted = copy.deepcopy(model).to(getattr(torch, _TORCH_DTYPES[dtype]))
            converted.save_pretrained(folder, safe_serialization=True)
            del converted
            method = f"merge_and_unload + cast to {_TORCH_DTYPES[dtype]}"
            if dtype == "fp32":
                fp32_dir = folder
        tokenizer.save_pretrained(folder)
        if dtype in dtypes:
            written.append(
                ExportedModel(
                    dtype=dtype,
                    path=str(folder),
                    size_bytes=_size(folder),
                    fingerprint=fingerprint(str(folder)),
                    method=method,
                )
            )
    if not fp32_kept and fp32_dir is not None:
        shutil.rmtree(fp32_dir)  # only a stepping stone to int8
    result = ExportResult(
        run_id=manifest.run_id,
        base_model=manifest.base_model,
        base_model_fingerprint=manifest.base_model_fingerprint,
        adapters=adapters,
        created_at=now_iso(),
        models=written,
    )
    (out_dir / "export.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _export_gguf(
    model: Any, tokenizer: Any, folder: Path, kind: GgufType, run_id: str
) -> ExportedModel:
    from posttrain.core.hashing import file_sha256

    folder.mkdir(parents=True)
    path = folder / f"model-{kind}.gguf"
    method = write_gguf(model, tokenizer, path, kind, name=run_id)
    # The llamacpp backend's fingerprint of the same file (sha256, 16 hex digits).
    return ExportedModel(
        dtype=kind,
        path=str(path),
        size_bytes=path.stat().st_size,
        fingerprint=file_sha256(path)[:16],
        method=method,
    )


def _quantize_int8(src: Path, dest: Path) -> None:
    import torch
    from torchao.quantization import Int8WeightOnlyConfig
    from transformers import AutoModelForCausalLM, TorchAoConfig

    quantized = AutoModelForCausalLM.from_pretrained(
        src,
        dtype=torch.float32,
        quantization_config=TorchAoConfig(quant_type=Int8WeightOnlyConfig()),
    )
    quantized.save_pretrained(dest, safe_serialization=True)
