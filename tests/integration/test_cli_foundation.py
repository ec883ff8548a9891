"""The foundation commands end to end, through the console-script entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain import __version__
from posttrain.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert __version__ in out


def test_models_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"smollm2-135m-instruct", "tiny-random"} <= names


def test_models_prepare_tiny(capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    code, out, _ = run(capsys, "models", "prepare", "tiny-random", "--json")
    assert code == 0
    assert json.loads(out)["path"] == str(tiny_model_dir)


def test_unknown_model_exits_2_with_known_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "chat", "--model", "no-such-model", "hi")
    assert code == 2
    assert "unknown model" in err
    assert "smollm2-135m-instruct" in err


def test_chat_json_on_tiny(capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    code, out, _ = run(
        capsys, "chat", "--model", "tiny-random", "--max-new-tokens", "4", "--json", "hello"
    )
    assert code == 0
    gen = json.loads(out)
    assert gen["completion_tokens"] <= 4
    assert gen["prompt_tokens"] > 0


def test_init_copies_example(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "ws"
    code, out, _ = run(capsys, "init", str(dest), "--json")
    assert code == 0
    files = json.loads(out)["files"]
    assert "contract.yaml" in files
    assert "data/failures.jsonl" in files
    code, _, err = run(capsys, "init", str(dest))
    assert code == 2
    assert "not empty" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "chat", "--max-new-tokens", "0", "hi")
    assert code == 2
