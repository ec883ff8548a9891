"""Load a prepared model and its tokenizer with transformers."""

from __future__ import annotations

from typing import Any

from posttrain.models.registry import prepare

__all__ = ["load", "load_tokenizer"]

_DTYPES = ("float32", "bfloat16", "float16")


def load_tokenizer(name_or_path: str) -> Any:
    """The tokenizer of a model, set for batched generation (left padding, a pad token)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepare(name_or_path))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load(name_or_path: str, *, dtype: str = "float32") -> tuple[Any, Any]:
    """Return ``(model, tokenizer)`` for a name or local folder, model in eval mode on CPU.

    Raises :class:`posttrain.errors.UsageError` for an unknown dtype and the errors of
    :func:`prepare` for an unknown or missing model.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from posttrain.errors import UsageError

    if dtype not in _DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(_DTYPES)}")
    folder = prepare(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype))
    model.eval()
    return model, load_tokenizer(name_or_path)
