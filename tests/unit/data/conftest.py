"""Helpers for data-stage tests: a small workspace with failure records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from posttrain.data.deid import Analyzer


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture
def make_ws(tmp_path: Path) -> Callable[..., Path]:
    """Write ``failures.jsonl`` (records or raw lines) into a fresh workspace."""

    def make(rows: list[object], name: str = "failures.jsonl") -> Path:
        ws = tmp_path / "ws"
        (ws / "data").mkdir(parents=True, exist_ok=True)
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
        (ws / "data" / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return ws

    return make
