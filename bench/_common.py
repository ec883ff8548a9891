"""Shared helpers for benchmarks: the machine line and the command line printed with results."""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["command_line", "machine_line"]


def machine_line() -> str:
    import torch

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"python {platform.python_version()}"
    )


def command_line() -> str:
    return " ".join([os.path.relpath(sys.executable), *sys.argv])
