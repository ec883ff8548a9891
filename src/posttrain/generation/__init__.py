"""Generation backends behind one protocol (see :mod:`posttrain.generation.base`)."""

from __future__ import annotations

import typing

from posttrain.generation.base import (
    Backend,
    ChatMessage,
    Conversation,
    Generation,
    GenerationParams,
)

if typing.TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BACKENDS",
    "Backend",
    "ChatMessage",
    "Conversation",
    "Generation",
    "GenerationParams",
    "make_backend",
]

BACKENDS = ("hf", "openai", "llamacpp")


def make_backend(kind: str = "hf", model: str = "smollm2-135m-instruct", **options: Any) -> Backend:
    """Build a backend by name: ``hf`` (local transformers), ``openai`` (any
    OpenAI-compatible endpoint) or ``llamacpp`` (GGUF through llama-cpp-python).

    ``options`` go to the backend's constructor (``batch_size``, ``base_url``,
    ``timeout_s``: the openai backend's deadline per request; the others ignore it...).
    Raises :class:`~posttrain.errors.UsageError` for an unknown kind.
    """
    from posttrain.errors import UsageError

    if kind == "hf":
        from posttrain.generation.hf import HFBackend as cls
    elif kind == "openai":
        from posttrain.generation.openai import OpenAIBackend as cls  # type: ignore[assignment]
    elif kind == "llamacpp":
        from posttrain.generation.llamacpp import LlamaCppBackend as cls  # type: ignore[assignment]
    else:
        raise UsageError(f"unknown backend {kind!r}", hint=f"use one of: {', '.join(BACKENDS)}")
    try:
        return cls(model, **options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        raise UsageError(
            f"backend {kind!r} does not take that option: {exc}",
            hint=f"see `help({cls.__module__}.{cls.__name__})` for its options",
        ) from exc
