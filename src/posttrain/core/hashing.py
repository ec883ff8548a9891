"""Content hashes: of a file (read in chunks, so a multi-GB checkpoint never sits in
memory) and of a JSON-able value (canonical JSON, so key order does not matter)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Protocol

__all__ = ["CHUNK_BYTES", "file_sha256", "stable_hash", "update_from_file"]

CHUNK_BYTES = 1 << 20


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def update_from_file(digest: _Digest, path: Path) -> None:
    """Feed the bytes of ``path`` to ``digest`` one chunk at a time (for a digest over
    several files). Raises :class:`OSError` when the file cannot be read."""
    with Path(path).open("rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            digest.update(block)


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of the file at ``path``. Raises :class:`OSError` (e.g.
    :class:`FileNotFoundError`) when it cannot be read; callers that accept a missing
    file check ``path.is_file()`` first."""
    digest = hashlib.sha256()
    update_from_file(digest, path)
    return digest.hexdigest()


def stable_hash(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (16 hex digits)."""
    blob = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
