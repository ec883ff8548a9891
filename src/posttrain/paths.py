"""Where posttrain keeps things that are not part of a workspace (converted models, caches)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["posttrain_home"]


def posttrain_home() -> Path:
    """``$POSTTRAIN_HOME``, default ``~/.cache/posttrain``; created on first use."""
    root = Path(os.environ.get("POSTTRAIN_HOME") or Path.home() / ".cache" / "posttrain")
    root.mkdir(parents=True, exist_ok=True)
    return root
