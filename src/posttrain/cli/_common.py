"""Shared pieces of the CLI: consoles and JSON output."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

__all__ = ["console", "err_console", "print_json"]

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print machine-readable output on stdout, without rich markup or wrapping."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
