"""Shared fixtures: an isolated $POSTTRAIN_HOME per test session, the tiny model, offline hub."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Nothing in the test suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def posttrain_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session gets its own cache, so tests never touch or depend on the user's."""
    home = tmp_path_factory.mktemp("posttrain-home")
    old = os.environ.get("POSTTRAIN_HOME")
    os.environ["POSTTRAIN_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("POSTTRAIN_HOME", None)
    else:
        os.environ["POSTTRAIN_HOME"] = old


@pytest.fixture(scope="session")
def tiny_model_dir(posttrain_home: Path) -> Path:
    """The tiny random model, built once per session."""
    from posttrain.models import prepare

    return prepare("tiny-random", show_progress=False)


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    """An HF backend on the tiny model (batch size 4)."""
    from posttrain.generation.hf import HFBackend

    return HFBackend("tiny-random", batch_size=4)
