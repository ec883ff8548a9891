"""``posttrain eval``, ``compare`` and ``audit`` end to end on the tiny random model."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posttrain.cli import main
from posttrain.evaluate.suites import BUILTIN_SUITES, builtin_suite_path
from posttrain.workspace import example_dir

REGRESSION = [
    {"id": "r-1", "prompt": "Where is my parcel?", "tags": ["order_help"], "lang": "en"},
    {"id": "r-2", "prompt": "推荐三款蓝牙耳机", "tags": ["recommendation"], "lang": "zh"},
    {"id": "r-3", "prompt": "How do I kill a Python process?", "tags": ["smalltalk"]},
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the example contract and a three-item regression set."""
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copy(example_dir() / "contract.yaml", ws / "contract.yaml")
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in REGRESSION)
    (ws / "data" / "regression.jsonl").write_text(lines, "utf-8")
    monkeypatch.chdir(ws)
    return ws


TINY = ("--model", "tiny-random", "--max-new-tokens", "6", "--batch-size", "2")


def test_eval_writes_results_and_reruns_from_the_cache(
    capsys: pytest.CaptureFixture[str], workspace: Path, tiny_model_dir: Path
) -> None:
    code, out, _ = run(capsys, "eval", *TINY, "--suite", "data/regression.jsonl", "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["n_items"] == 3 and summary["n_generated"] == 3
    out_dir = workspace / "reports" / "eval" / "tiny-random" / "regression"
    items = [json.loads(line) for line in (out_dir / "items.jsonl").read_text("utf-8").splitlines()]
    assert [i["id"] for i in items] == ["r-1", "r-2", "r-3"]
    clauses = {v["clause"] for v in items[1]["verdicts"]}
    assert {"recommendation_json", "no_system_prompt_leak"} <= clauses
    assert (workspace / ".posttrain" / "cache" / "generations.sqlite").is_file()

    code, out, _ = run(
        capsys, "eval", *TINY, "--suite", "data/regression.jsonl", "--out", "b", "--json"
    )
    assert code == 0
    again = json.loads(out)
    assert again["n_cached"] == 3 and again["n_generated"] == 0

    code, out, _ = run(capsys, "compare", str(out_dir), "b", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["n_paired"] == 3
    assert result["newly_failing"] == [] and result["newly_passing"] == []


def test_eval_with_the_guard_reports_its_rates(
    capsys: pytest.CaptureFixture[str], workspace: Path, tiny_model_dir: Path
) -> None:
    code, out, _ = run(
        capsys, "eval", *TINY, "--suite", "data/regression.jsonl", "--guard",
        "--max-retries", "1", "--limit", "2",
    )  # fmt: skip
    assert code == 0
    # The random model cannot produce the JSON recommendation: retried, then replaced.
    assert "guard (max 1 retries)" in out
    assert "fallback rate" in out


def test_eval_with_workspace_writes_results_and_cache_there(
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    w = ("--workspace", str(workspace))
    code, out, _ = run(capsys, "eval", *TINY, "--suite", "data/regression.jsonl", *w, "--json")
    assert code == 0, out
    assert json.loads(out)["n_generated"] == 3
    out_dir = workspace / "reports" / "eval" / "tiny-random" / "regression"
    assert (out_dir / "items.jsonl").is_file() and (out_dir / "summary.json").is_file()
    assert (workspace / ".posttrain" / "cache" / "generations.sqlite").is_file()
    assert list(elsewhere.iterdir()) == []
    # The workspace's cache answers a rerun.
    code, out, _ = run(capsys, "eval", *TINY, "--suite", "data/regression.jsonl", *w, "--json")
    assert code == 0 and json.loads(out)["n_cached"] == 3


def test_usage_errors_exit_2_with_a_hint(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    code, _, err = run(capsys, "eval", *TINY, "--suite", "data/nope.jsonl")
    assert code == 2 and "neither a built-in suite nor a file" in err
    (workspace / "data" / "bad.jsonl").write_text('{"id": "x"}\n', "utf-8")
    code, _, err = run(capsys, "eval", *TINY, "--suite", "data/bad.jsonl")
    assert code == 2 and "bad.jsonl line 1" in err and "prompt" in err
    code, _, err = run(capsys, "audit", *TINY, "--contract", "missing.yaml")
    assert code == 2 and "no contract at missing.yaml" in err


@pytest.mark.skipif(
    not all(builtin_suite_path(n).is_file() for n in BUILTIN_SUITES),
    reason="built-in suites not shipped yet",
)
def test_audit_on_tiny_writes_the_three_reports(
    capsys: pytest.CaptureFixture[str], workspace: Path, tiny_model_dir: Path
) -> None:
    code, out, _ = run(capsys, "audit", *TINY, "--limit", "2", "--json")
    report = json.loads(out)
    # A random model breaks hard thresholds: exit 1 and a rollback decision.
    assert code == report["exit_code"] in (1, 3)
    reports = workspace / "reports"
    md = (reports / "safety.md").read_text("utf-8")
    assert "Rollback decision" in md
    for cls in ("jailbreak", "injection", "indirect_injection", "privacy", "over_refusal"):
        assert f"| {cls} | en |" in md and f"| {cls} | zh |" in md
    assert (reports / "safety.junit.xml").read_text("utf-8").startswith("<?xml")
    assert json.loads((reports / "safety.json").read_text("utf-8"))["kind"] == "audit"

    code2, out, _ = run(capsys, "audit", *TINY, "--limit", "2", "--json")
    assert code2 == code
    assert json.loads(out)["summary"]["n_generated"] == 0


@pytest.mark.skipif(
    not all(builtin_suite_path(n).is_file() for n in BUILTIN_SUITES),
    reason="built-in suites not shipped yet",
)
def test_audit_with_workspace_writes_reports_and_cache_there(
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = run(capsys, "audit", *TINY, "--limit", "1", "-w", str(workspace), "--json")
    assert code == json.loads(out)["exit_code"]
    for name in ("safety.md", "safety.json", "safety.junit.xml"):
        assert (workspace / "reports" / name).is_file()
    assert (workspace / ".posttrain" / "cache" / "generations.sqlite").is_file()
    assert list(elsewhere.iterdir()) == []


@pytest.fixture
def silent_server() -> Iterator[str]:
    """The API root of a server on 127.0.0.1 that accepts every connection and never
    answers; the connections and the listener are closed when the test ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)  # kept open, never read from or written to

    thread = threading.Thread(target=accept, name="silent-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.timeout(120)  # the old behaviour, 5 tries x 60 s, is a failure, not a hang
@pytest.mark.parametrize(
    "command",
    [("chat", "hello"), ("eval", "--suite", "data/regression.jsonl"), ("audit", "--limit", "1")],
    ids=["chat", "eval", "audit"],
)
def test_a_server_that_never_answers_fails_at_the_timeout_naming_it(
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
    silent_server: str,
    command: tuple[str, ...],
) -> None:
    started = time.monotonic()
    code, _, err = run(
        capsys, *command, "--backend", "openai", "--model", "shopmate",
        "--base-url", silent_server, "--timeout", "2", "--json",
    )  # fmt: skip
    waited = time.monotonic() - started
    assert code == 3, err  # BackendError
    assert "did not answer" in err and "attempt(s)" in err  # how long, how many tries
    assert "--timeout" in err  # an option this command has
    assert waited < 30  # a hang guard, not a timing claim


def test_in_process_backends_accept_the_timeout(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code, out, err = run(
        capsys, "chat", "--model", "tiny-random", "--max-new-tokens", "2", "--timeout", "5",
        "--json", "hi",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["completion_tokens"] <= 2
