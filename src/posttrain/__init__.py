"""posttrain: contract-driven LLM post-training with safety gates."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
