"""Offline guards for de-identification: no network, and how Presidio is imported.

Nothing here imports Presidio at module level, so ``posttrain.data`` (configs, policy,
results) stays cheap to import and never decides for the rest of the process which
optional libraries exist.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import sys
from collections.abc import Iterator
from typing import Any

from posttrain.errors import NetworkAccessError

__all__ = ["NetworkAccessError", "import_presidio_in_worker", "no_network"]


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Make every socket connection and DNS lookup raise :class:`NetworkAccessError`."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkAccessError(
            f"network access attempted during offline de-identification ({args[:2]!r})",
            hint="a recognizer or NLP engine tried to download something; "
            "de-identification must run offline",
        )

    saved = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    )
    setattr(socket.socket, "connect", refuse)  # noqa: B010 - patching a C type's method
    setattr(socket.socket, "connect_ex", refuse)  # noqa: B010
    setattr(socket, "create_connection", refuse)  # noqa: B010
    setattr(socket, "getaddrinfo", refuse)  # noqa: B010
    try:
        yield
    finally:
        for owner, name, fn in zip(
            (socket.socket, socket.socket, socket, socket),
            ("connect", "connect_ex", "create_connection", "getaddrinfo"),
            saved,
            strict=True,
        ):
            setattr(owner, name, fn)


def import_presidio_in_worker() -> None:
    """Import Presidio without torch/transformers; ONLY in a de-identification worker.

    ``presidio_analyzer`` (and ``presidio_anonymizer``, which imports it) pulls in
    transformers and torch for NLP engines we never use: ~7 CPU-seconds here, against
    ~1.5 s when both look absent. Making them look absent (``sys.modules[name] = None``)
    is permanent for the process: thinc, spaCy and Presidio's own transformer engine
    cache "no torch" at import time. That is why this is only ever called in the
    build's worker processes (:mod:`posttrain.data._workers`), which are started fresh
    (spawn), de-identify and exit, and never import torch. Everywhere else Presidio is
    imported the ordinary way, on first use.
    """
    if "presidio_analyzer" in sys.modules:
        return
    hidden = [m for m in ("torch", "transformers") if m not in sys.modules]
    for m in hidden:
        # left hidden: this process must never import them (see above)
        sys.modules[m] = None  # type: ignore[assignment]
    importlib.import_module("presidio_analyzer")
    importlib.import_module("presidio_anonymizer")
