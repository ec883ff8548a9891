"""The foundation commands end to end, through the console-script entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


# -- finding 9 of issue 12: no third-party noise by default, `-v` shows it ---------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-bot"
NOISE = ("torchao", "Failed to load", "deprecated", "pytree", "[transformers]", "FutureWarning")


def _posttrain(ws: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``posttrain ARGV`` in a fresh process, as a user runs it (pytest's own warning
    filters and already-imported libraries would hide what a user sees)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_VERBOSITY", "TORCH_LOGS"))}
    env["HF_HUB_OFFLINE"] = "1"
    code = "import sys; from posttrain.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_data_build_and_eval_print_no_third_party_warnings(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copy(EXAMPLE / "contract.yaml", ws / "contract.yaml")
    record = {"prompt": "Where is my parcel? It is late.", "bad_answer": "It was delivered.",
              "label": "order_number", "source": "log", "ts": "2026-01-01"}  # fmt: skip
    lines = [{**record, "id": f"a{i}", "prompt": f"{record['prompt']} #{i}"} for i in range(3)]
    (ws / "data" / "failures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    build = _posttrain(ws, "data", "build", "--workers", "1")
    assert build.returncode in (0, 1), build.stderr  # 3 records: a rule may block them
    assert "read 3 = accepted 3" in " ".join(build.stdout.split())
    evaluate = ["eval", "-m", str(tiny_model_dir), "--suite", "jailbreak", "--limit", "1"]
    evaluate += ["--max-new-tokens", "4", "--no-cache"]
    quiet = _posttrain(ws, *evaluate)
    assert quiet.returncode == 0, quiet.stderr
    for marker in NOISE:
        assert marker not in build.stderr, build.stderr
        assert marker not in quiet.stderr, quiet.stderr
    # -v shows them again (an evaluation without its earlier answers: it loads the model)
    shutil.rmtree(ws / "reports" / "eval")
    verbose = _posttrain(ws, "-v", *evaluate)
    assert verbose.returncode == 0, verbose.stderr
    assert any(marker in verbose.stderr for marker in NOISE), verbose.stderr
