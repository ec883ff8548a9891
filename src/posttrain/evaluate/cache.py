"""The generation cache: one sqlite file per workspace, keyed by what determines an answer.

The key hashes the model fingerprint, the conversation (system prompt with its canary,
user turn with any document) and the generation parameters. The conversation stands in
for the rendered prompt: the chat template that turns it into text belongs to the
tokenizer, and the tokenizer is part of the model fingerprint. Entries are committed
batch by batch, so a run killed half-way resumes from where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from posttrain.errors import InputError
from posttrain.generation.base import Conversation, Generation, GenerationParams

__all__ = ["CACHE_FILE", "GenerationCache", "cache_key"]

CACHE_FILE = "generations.sqlite"
# Bump when the meaning of a cached entry changes (e.g. a new guard protocol).
_KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    generation TEXT NOT NULL,
    extra TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(fingerprint: str, conversation: Conversation, params: GenerationParams) -> str:
    """sha256 of (model fingerprint, conversation, generation parameters)."""
    payload = {
        "v": _KEY_VERSION,
        "fingerprint": fingerprint,
        "conversation": [dict(m) for m in conversation],
        "params": params.model_dump(mode="json"),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


class GenerationCache:
    """Cached generations in ``<dir>/generations.sqlite``; use as a context manager."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / CACHE_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise InputError(
                f"cannot open the generation cache: {exc}",
                path=str(self.path),
                hint="delete the file to start an empty cache, or pass --no-cache",
            ) from None

    def get_many(self, keys: Sequence[str]) -> dict[str, tuple[Generation, dict[str, Any]]]:
        """The cached (generation, extra) for each key that has one."""
        found: dict[str, tuple[Generation, dict[str, Any]]] = {}
        # sqlite caps the number of bound parameters; query in chunks.
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, generation, extra FROM generations WHERE key IN ({marks})", chunk
            )
            for key, generation, extra in rows:
                found[key] = (Generation.model_validate_json(generation), json.loads(extra))
        return found

    def put_many(self, entries: Iterable[tuple[str, str, Generation, dict[str, Any]]]) -> None:
        """Store ``(key, fingerprint, generation, extra)`` entries and commit."""
        now = time.time()
        self._db.executemany(
            "INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?, ?)",
            [
                (key, fp, gen.model_dump_json(), json.dumps(extra, ensure_ascii=False), now)
                for key, fp, gen, extra in entries
            ],
        )
        self._db.commit()

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM generations").fetchone()
        return int(count)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> GenerationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
