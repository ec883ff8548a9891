"""Recording the input shapes of a model's forwards, for tests of the decoding loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def forward_shapes(model: Any) -> Iterator[list[tuple[int, int]]]:
    """While open, ``(rows, tokens)`` of every forward of ``model``, in order: a decoding
    step has 1 token, a prefill more."""
    shapes: list[tuple[int, int]] = []

    def record(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        rows, tokens = kwargs["input_ids"].shape
        shapes.append((int(rows), int(tokens)))

    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        yield shapes
    finally:
        handle.remove()
