"""Fingerprints from files: one function for evaluation and the registry, cached on disk by
file size and mtime."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from posttrain.core.hashing import file_sha256
from posttrain.models import fingerprint, fingerprint_files


def test_files_give_the_fingerprint_evaluation_records(tiny_model_dir: Path) -> None:
    # The hf backend records fingerprint(name); the registry hashes the folder.
    assert fingerprint_files(tiny_model_dir) == fingerprint("tiny-random")
    assert fingerprint_files(tiny_model_dir) == fingerprint(str(tiny_model_dir))


def test_the_cache_is_read_by_size_and_mtime(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    cache = tmp_path / "fingerprints.json"
    real = fingerprint_files(folder, cache=cache)
    entries = json.loads(cache.read_text())["entries"]
    assert entries[str(folder.resolve())]["fingerprint"] == real

    # An entry whose sizes and mtimes match is trusted without hashing again ...
    entries[str(folder.resolve())]["fingerprint"] = "from-the-cache"
    cache.write_text(json.dumps({"schema_version": 1, "entries": entries}))
    assert fingerprint_files(folder, cache=cache) == "from-the-cache"
    # ... and a touched file is hashed again.
    weights = folder / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert fingerprint_files(folder, cache=cache) == real

    cache.write_text("{not json")  # a broken cache only costs time
    assert fingerprint_files(folder, cache=cache) == real


def test_a_gguf_file_gives_the_llamacpp_fingerprint(tmp_path: Path) -> None:
    from posttrain.generation.llamacpp import _file_digest

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    stat = gguf.stat()
    expected = _file_digest(str(gguf.resolve()), stat.st_size, stat.st_mtime_ns)
    assert fingerprint(str(gguf)) == fingerprint_files(gguf) == expected
    assert expected == file_sha256(gguf)[:16]
