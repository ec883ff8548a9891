"""The model cache is atomic: a killed build leaves nothing a later run takes as complete."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from posttrain.models.cache import COMPLETE_MARKER, is_complete, materialize


def _write_files(dest: Path) -> dict[str, str]:
    (dest / "config.json").write_text("{}")
    (dest / "model.safetensors").write_bytes(b"\0" * 1024)
    return {"built": "yes"}


def test_materialize_builds_once(tmp_path: Path) -> None:
    calls = []

    def build(dest: Path) -> dict[str, str]:
        calls.append(dest)
        return _write_files(dest)

    target = tmp_path / "models" / "m"
    assert materialize(target, build) == target
    assert materialize(target, build) == target
    assert len(calls) == 1
    assert is_complete(target)
    assert (target / "model.safetensors").stat().st_size == 1024


def test_failed_build_leaves_no_folder(tmp_path: Path) -> None:
    def build(dest: Path) -> dict[str, str]:
        (dest / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    target = tmp_path / "m"
    with pytest.raises(RuntimeError, match="disk full"):
        materialize(target, build)
    assert not target.exists()
    assert list(tmp_path.glob(".m.tmp-*")) == []


def test_killed_build_is_not_mistaken_for_complete(tmp_path: Path) -> None:
    """SIGKILL in the middle of writing: no complete cache, and the next run rebuilds."""
    target = tmp_path / "models" / "m"
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from posttrain.models.cache import materialize

        def build(dest):
            (dest / "config.json").write_text("{{}}")
            (dest / "model.safetensors").write_bytes(b"\\0" * 10)  # half written
            os.kill(os.getpid(), signal.SIGKILL)

        materialize(Path({str(target)!r}), build)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not is_complete(target)
    assert not target.exists()
    stale = list(target.parent.glob(".m.tmp-*"))
    assert len(stale) == 1  # the half-written temporary is all that is left

    materialize(target, _write_files)
    assert is_complete(target)
    assert (target / COMPLETE_MARKER).is_file()
    assert list(target.parent.glob(".m.tmp-*")) == []  # the stale one was cleaned up
