"""A backend that is built on first use.

An evaluation whose answers all come from the cache needs the model's fingerprint, not
the model: for the ``hf`` backend the fingerprint is a hash of the files on disk, so a
cached rerun never pays for loading weights (or importing torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from posttrain.generation.base import (
    Backend,
    Conversation,
    Generation,
    GenerationParams,
    ProgressCallback,
)

__all__ = ["LazyBackend"]


class LazyBackend:
    """``make_backend(kind, model, **options)``, deferred until :meth:`generate`."""

    def __init__(self, kind: str, model: str, **options: Any) -> None:
        from posttrain.errors import UsageError
        from posttrain.generation import BACKENDS

        if kind not in BACKENDS:
            raise UsageError(f"unknown backend {kind!r}", hint=f"use one of: {', '.join(BACKENDS)}")
        self.name = kind
        self.model = model
        self.options = options
        self._backend: Backend | None = None
        self._fingerprint: str | None = None
        self._files: str | None = None  # the hf model files' fingerprint, once hashed

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    @property
    def dtype(self) -> str | None:
        """The hf backend's weights dtype, resolved (``auto`` → this CPU's); None for an
        engine that chooses its own."""
        if self.name != "hf":
            return None
        from posttrain.models.loading import resolve_dtype

        return resolve_dtype(str(self.options.get("dtype", "float32")))

    @property
    def weights_fingerprint(self) -> str:
        """What a verdict binds to: for ``hf`` the model files' hash alone (the registry
        checks the files it serves against it), without the dtype that
        :attr:`fingerprint` - the cache identity - mixes in; else the fingerprint. The
        files are hashed once for both."""
        if self.name != "hf":
            return self.fingerprint
        if self._files is None:
            from posttrain.models import fingerprint

            self._files = fingerprint(self.model)
        return self._files

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            if self.name == "hf" and self.dtype is not None:
                from posttrain.generation.hf import with_dtype

                # bfloat16 answers differently from float32: its own cache identity.
                self._fingerprint = with_dtype(self.weights_fingerprint, self.dtype)
            else:
                self._fingerprint = self.backend.fingerprint
        return self._fingerprint

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from posttrain.generation import make_backend

            self._backend = make_backend(self.name, self.model, **self.options)
        return self._backend

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        return self.backend.generate(conversations, params, on_progress=on_progress)
