"""Generation backends behind one protocol (see :mod:`posttrain.generation.base`)."""

from __future__ import annotations

from typing import Any

from posttrain.errors import UsageError
from posttrain.generation.base import (
    Backend,
    ChatMessage,
    Conversation,
    Generation,
    GenerationParams,
)

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

    ``options`` go to the backend's constructor (``batch_size``, ``base_url``...).
    Raises :class:`UsageError` for an unknown kind.
    """
    if kind == "hf":
        from posttrain.generation.hf import HFBackend

        return HFBackend(model, **options)
    if kind == "openai":
        from posttrain.generation.openai import OpenAIBackend

        return OpenAIBackend(model, **options)
    if kind == "llamacpp":
        from posttrain.generation.llamacpp import LlamaCppBackend

        return LlamaCppBackend(model, **options)
    raise UsageError(f"unknown backend {kind!r}", hint=f"use one of: {', '.join(BACKENDS)}")
