"""Models: resolve a name or path, prepare it once (convert / build), load it, render chats."""

from __future__ import annotations

from posttrain.models.chat import render, render_prompt_completion
from posttrain.models.loading import load, load_tokenizer
from posttrain.models.registry import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    ModelInfo,
    embedded_gguf_path,
    fingerprint,
    fingerprint_files,
    prepare,
    resolve,
)

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "ModelInfo",
    "embedded_gguf_path",
    "fingerprint",
    "fingerprint_files",
    "load",
    "load_tokenizer",
    "prepare",
    "render",
    "render_prompt_completion",
    "resolve",
]
