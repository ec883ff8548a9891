"""What ``posttrain serve`` serves: --model, else the registry's champion, else the base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from posttrain.errors import FingerprintMismatch
from posttrain.models import fingerprint_files
from posttrain.release.registry import STATE_FILE, ModelVersion, RegistryState
from posttrain.serve.config import ServeConfig
from posttrain.serve.server import resolve_model
from posttrain.workspace import Workspace


def _champion(workspace: Path, model_dir: Path) -> None:
    state = RegistryState(
        versions=[
            ModelVersion(
                version="v1",
                model=str(model_dir),
                fingerprint=fingerprint_files(model_dir),
                model_path=str(model_dir),
                created_at="2026-12-01T00:00:00+00:00",
                created_by="test",
                contract_hash="abc",
            )
        ],
        aliases={"champion": "v1"},
    )
    root = Workspace(workspace).registry
    root.mkdir(parents=True)
    (root / STATE_FILE).write_text(state.model_dump_json(), encoding="utf-8")


def test_without_a_registry_the_base_model_is_served(tmp_path: Path) -> None:
    served = resolve_model(tmp_path, ServeConfig())
    assert served.id == "smollm2-135m-instruct" and served.version is None


def test_the_champion_is_served_and_model_overrides_it(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    _champion(tmp_path, model_dir)
    served = resolve_model(tmp_path, ServeConfig())
    assert (served.id, served.version, served.model) == ("v1", "v1", str(model_dir))
    assert served.answers_to("champion") and served.contract_hash == "abc"
    direct = resolve_model(tmp_path, ServeConfig(), model="tiny-random")
    assert direct.id == "tiny-random" and direct.version is None


def test_a_champion_whose_files_changed_is_not_served(tmp_path: Path, tiny_model_dir: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    _champion(tmp_path, model_dir)
    weights = next(p for p in model_dir.iterdir() if p.suffix == ".safetensors")
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(FingerprintMismatch):
        resolve_model(tmp_path, ServeConfig())
