"""Load a prepared model and its tokenizer with transformers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from posttrain.models.registry import prepare

__all__ = ["DTYPES", "load", "load_tokenizer", "native_bf16", "resolve_dtype"]

# "auto": bfloat16 where the CPU computes it natively, float32 elsewhere.
DTYPES = ("auto", "float32", "bfloat16", "float16")
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: AVX512-BF16 and AMX on
# x86, the BF16 extension on Arm. Without them torch emulates bfloat16 in float32
# registers, which is slower than float32 itself.
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def native_bf16(cpuinfo: Path | None = None) -> bool:
    """Whether this CPU has native bfloat16 arithmetic, read from the flags in
    ``cpuinfo`` (default ``/proc/cpuinfo``, read once per process); False where the file
    cannot be read, e.g. outside Linux."""
    if cpuinfo is None:
        return _native_bf16_here()
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features") and _BF16_FLAGS & set(value.split()):
            return True
    return False


@lru_cache(maxsize=1)
def _native_bf16_here() -> bool:
    return native_bf16(Path("/proc/cpuinfo"))


def resolve_dtype(dtype: str) -> str:
    """``auto`` → ``bfloat16`` where :func:`native_bf16`, else ``float32``; any other
    known dtype unchanged. Raises :class:`posttrain.errors.UsageError` for an unknown one."""
    from posttrain.errors import UsageError

    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    if dtype == "auto":
        return "bfloat16" if native_bf16() else "float32"
    return dtype


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

    ``dtype`` is one of :data:`DTYPES` (``auto``: see :func:`resolve_dtype`). Raises
    :class:`posttrain.errors.UsageError` for an unknown dtype and the errors of
    :func:`prepare` for an unknown or missing model.
    """
    import torch
    from transformers import AutoModelForCausalLM

    dtype = resolve_dtype(dtype)
    folder = prepare(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype))
    model.eval()
    return model, load_tokenizer(name_or_path)
