"""Atomic, process-safe materialisation of a model folder in the cache.

A folder is built in a temporary sibling and renamed into place only when complete, with a
marker file written last. A kill at any point leaves either no folder or a stale temporary
one, never a folder a later run mistakes for complete; stale temporaries are removed by the
next build. A file lock keeps two processes from building the same folder at once.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

__all__ = ["COMPLETE_MARKER", "is_complete", "materialize"]

COMPLETE_MARKER = "posttrain-complete.json"


def is_complete(path: Path) -> bool:
    """True when ``path`` was fully built by :func:`materialize`."""
    return (path / COMPLETE_MARKER).is_file()


def _remove_stale_temporaries(dest: Path) -> None:
    for stale in dest.parent.glob(f".{dest.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def materialize(
    dest: Path, build: Callable[[Path], dict[str, Any]], *, rebuild: bool = False
) -> Path:
    """Return ``dest``, building it with ``build(tmp_dir)`` first if it is not complete.

    ``build`` writes the folder's files into ``tmp_dir`` and returns metadata that is
    stored in the completion marker. Raises whatever ``build`` raises; the temporary folder
    is removed in that case.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")):
        if is_complete(dest) and not rebuild:
            return dest
        _remove_stale_temporaries(dest)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        try:
            meta = build(tmp)
            (tmp / COMPLETE_MARKER).write_text(json.dumps(meta, indent=2, sort_keys=True))
            if dest.exists():  # an incomplete leftover from an older layout, or rebuild
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest
