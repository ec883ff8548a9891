"""The two rich consoles every layer prints through.

``console`` is stdout (what a command outputs); ``err_console`` is stderr (progress,
notes, warnings), so ``--json`` output on stdout stays machine-readable. The CLI and the
library (training notes, signal lines, progress bars) share these two objects, so rich's
live displays never fight over the terminal.
"""

from __future__ import annotations

from rich.console import Console

__all__ = ["console", "err_console"]

console = Console()
err_console = Console(stderr=True)
