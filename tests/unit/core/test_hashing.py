"""One file hash (streamed) and one value hash (canonical JSON)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from posttrain.core.hashing import CHUNK_BYTES, file_sha256, stable_hash, update_from_file


def test_file_sha256_matches_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    for size in (0, 1, CHUNK_BYTES, CHUNK_BYTES * 2 + 7):
        f = tmp_path / f"f{size}"
        f.write_bytes(bytes(i % 251 for i in range(size)))
        assert file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_sha256(tmp_path / "nope")


def test_update_from_file_digests_several_files_in_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"first")
    b.write_bytes(b"second")
    digest = hashlib.sha256()
    update_from_file(digest, a)
    update_from_file(digest, b)
    assert digest.hexdigest() == hashlib.sha256(b"firstsecond").hexdigest()


def test_stable_hash_ignores_key_order_and_sees_values() -> None:
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})
    assert len(stable_hash({"path": Path("x")})) == 16  # non-JSON values via str()
