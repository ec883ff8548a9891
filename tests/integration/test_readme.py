"""The README is the contract with a new user: every command it shows must work.

* The walkthrough ("The loop on the example, step by step") is read out of README.md and
  every ``posttrain ...`` line of its bash block runs, in order, through
  :func:`posttrain.cli.main` in a fresh workspace on the tiny model. A changed README
  changes the test; a line the test has no rule for fails it.
* Every command and flag of the "Commands" table exists in the CLI and answers ``--help``.
* Every ``make <target>`` the README names is a target of the Makefile.

What the test changes in the walkthrough to run in about a minute is in one place:
:data:`SWAPS`, :data:`FAST` and :data:`PLACEHOLDERS`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from posttrain.cli import app, main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WALKTHROUGH = "## The loop on the example, step by step"
COMMANDS = "## Commands"
MODEL = "tiny-random"

# -- what the test runs instead of the README, all in this block -----------------------------

# A README word -> the word the test runs.
SWAPS: dict[str, str] = {"smollm2-135m-instruct": MODEL}

_TRAIN = ["model=tiny-random", "max_steps=2", "limit=8", "seq_len=256", "micro_batch=2"]
_TRAIN += ["val_max=4", "threads=1"]
_GEN = ["--limit", "1", "--max-new-tokens", "8", "--batch-size", "8"]
_LOOP = ["--set", "max_steps=1", "--set", "seq_len=256", "--set", "micro_batch=2"]
_LOOP += ["--set", "limit=6", "--set", "val_max=2", "--set", "threads=1"]
_LOOP += ["--eval-limit", "1", "--regression-limit", "1", "--max-new-tokens", "4"]
_LOOP += ["--batch-size", "8"]

# Appended to a command, by its first words: fewer steps, items and tokens. The README's
# `--limit 15` on `audit` is overridden by the later `--limit 1` (the last one wins). The
# ladder "reuses what `posttrain run` already did" only with the same options, so it gets
# the run's model and options.
FAST: dict[tuple[str, ...], list[str]] = {
    ("train", "sft"): _TRAIN,
    ("train", "dpo"): _TRAIN,
    ("eval",): _GEN,
    ("audit",): _GEN,
    ("run",): _LOOP,
    ("ladder",): ["--model", MODEL, *_LOOP],
}


def _newest(pattern: str) -> str:
    found = sorted(Path("runs").glob(pattern))
    assert found, f"no {pattern} under runs/: did the training line before it run?"
    return found[-1].name


def _eval_of(model: str) -> str:
    """The folder under reports/eval/ whose summaries say they evaluated ``model`` (not
    behind the guard)."""
    for path in sorted(Path("reports/eval").glob("*/*/summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        if summary["model"] == model and not summary.get("guard"):
            return path.parent.parent.name
    raise AssertionError(f"no evaluation of {model} under reports/eval/")


def _newest_verdict() -> str:
    found = sorted(Path("reports/gate").glob("*.json"), key=lambda p: p.stat().st_mtime)
    assert found, "no verdict under reports/gate/: did `posttrain gate` run?"
    return found[-1].stem


# A README placeholder -> how the test fills it in from what the commands before it wrote
# (the working directory is the workspace).
PLACEHOLDERS: dict[str, Callable[[], str]] = {
    "<the sft run>": lambda: _newest("sft-*"),
    "<the dpo run>": lambda: _newest("dpo-*"),
    "<base>": lambda: _eval_of(MODEL),
    "<candidate>": lambda: _eval_of(f"runs/{_newest('dpo-*')}/export/fp32"),
    "<verdict>": _newest_verdict,
}

# `release step --metrics step-1pct.json`: what a gateway recorded at the 1% step
# (the schema of posttrain.release.rollout.StepMetrics), healthy and with enough traffic.
STEP_METRICS = {"requests": 1200, "metrics": {"error_rate": 0.004, "attack_hit_rate": [0.0, 0.01]}}


# -- reading the README ---------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    number: int  # in README.md
    text: str
    argv: list[str]


def _section(text: str, heading: str) -> tuple[int, str]:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text.count("\n", 0, start) + 1, text[start : end if end != -1 else None]


def walkthrough() -> list[Line]:
    """The commands of the walkthrough's bash block: ``a && b`` is two, comments dropped."""
    first, body = _section(README.read_text(encoding="utf-8"), WALKTHROUGH)
    lines = body.splitlines()
    open_ = lines.index("```bash")
    close = lines.index("```", open_ + 1)
    out: list[Line] = []
    for offset, raw in enumerate(lines[open_ + 1 : close], start=open_ + 1):
        # A placeholder is one word (`runs/<the sft run>`), filled in when its line runs.
        words = shlex.split(re.sub(r"<[^<>]+>", _glue, raw), comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            out.append(Line(first + offset, raw.strip(), words[:cut]))
            words = words[cut + 1 :]
    return out


_NBSP = "\u00a0"


def _glue(placeholder: re.Match[str]) -> str:
    return placeholder.group(0).replace(" ", _NBSP)


def _fill(word: str) -> str:
    word = SWAPS.get(word, word).replace(_NBSP, " ")
    for placeholder, resolve in PLACEHOLDERS.items():
        if placeholder in word:
            word = word.replace(placeholder, resolve())
    unknown = re.search(r"<[^<>]+>", word)
    assert unknown is None, f"no rule for the placeholder {unknown.group(0)}: see PLACEHOLDERS"
    return word


def _command(line: Line) -> list[str]:
    args = [_fill(w) for w in line.argv[1:]]
    for head, extra in FAST.items():
        if tuple(args[: len(head)]) == head:
            args += extra
    return args


# -- what the README implies each command exits with -----------------------------------------


@dataclass
class Walk:
    """What the walkthrough has decided so far: the gate's verdict, a started rollout."""

    decision: str | None = None
    sides: tuple[str, ...] = ()
    rolling_out: bool = False


def _expected(args: list[str], walk: Walk) -> tuple[set[int], str | None]:
    """Exit codes the README allows for ``args``, and for a documented refusal a phrase of
    its message. See "Exit codes" in the README."""
    if args[0] in ("gate", "run"):
        return {0, 1, 4}, None  # a finished verdict: PASS, BLOCK or INCONCLUSIVE
    if args[0] == "ladder":
        return {0, 1}, None  # some rung passes, or none does
    if args[:2] == ["data", "pii-eval"]:
        return {0, 1}, None  # 1: a held-out recall target of the de-identifier is missed
    if args[0] == "audit":
        return {0, 1}, None  # 1: a hard safety threshold is broken (the tiny model is random)
    passed = walk.decision == "PASS"
    if args[0] == "promote" and not passed:
        return {1}, "refused"  # only on PASS or a signed waiver
    if args[:2] == ["release", "plan"] and not passed:
        return {1}, "cannot start a rollout"  # the same rule as promotion
    if args[:2] == ["release", "step"] and not walk.rolling_out:
        return {2}, "no rollout"  # `plan && step`: nothing to step after a refused plan
    if args[0] == "rollback":
        # A fresh workspace has had at most one champion: nothing to go back to.
        return {2}, "no previous champion"
    return {0}, None


def test_the_readme_walkthrough_runs_command_by_command(
    tmp_path: Path,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = walkthrough()
    assert sum(line.argv[0] == "posttrain" for line in lines) >= 20, "the walkthrough shrank?"
    monkeypatch.chdir(tmp_path)
    walk = Walk()
    ran: list[str] = []
    for line in lines:
        where = f"README.md line {line.number}: {line.text}"
        if line.argv[0] == "source":
            assert line.argv[1:] == [".venv/bin/activate"], where
            continue  # the test runs inside that environment already
        if line.argv[0] == "cd":
            monkeypatch.chdir(line.argv[1])
            continue
        assert line.argv[0] == "posttrain", f"{where}\nthe test has no rule for this command"
        if line.argv[1:3] == ["release", "step"]:
            Path("step-1pct.json").write_text(json.dumps(STEP_METRICS), encoding="utf-8")
        args = _command(line)
        codes, refusal = _expected(args, walk)
        code = main(args)
        out, err = capsys.readouterr()
        ran.append(args[0])
        report = f"{where}\nran: posttrain {shlex.join(args)}\nexit {code}\n{out}\n{err}"
        assert code in codes, f"expected exit {sorted(codes)}\n{report}"
        if refusal is not None:
            assert refusal in " ".join(err.split()), f"expected the refusal {refusal!r}\n{report}"
        if args[0] == "gate":
            verdict = json.loads(Path("reports/gate", _newest_verdict() + ".json").read_text())
            walk.decision = verdict["decision"]
            walk.sides = (args[args.index("--baseline") + 1], args[args.index("--candidate") + 1])
            assert code == {"PASS": 0, "BLOCK": 1, "INCONCLUSIVE": 4}[walk.decision], report
        if args[:2] == ["release", "plan"]:
            walk.rolling_out = code == 0
        # Paths the line's comment promises (data/sft.jsonl, ...) are there afterwards.
        comment = line.text.partition(" #")[2]
        for promised in re.findall(r"\b[\w-]+/[\w./-]+\.\w+", comment):
            assert Path(promised).is_file(), f"{where}\nno {promised} after it ran"

    assert walk.decision is not None and walk.sides, "the walkthrough has no gate line?"
    assert "log" in ran and "ladder" in ran, "the walkthrough lost its last lines?"
    for side in walk.sides:
        # One model per side: the guard (rung 1) did not write its answers over the base
        # model's, and both sides hold the regression set and the held-out failures.
        summaries = [json.loads(p.read_text()) for p in Path(side).glob("*/summary.json")]
        assert {"regression", "heldout"} <= {s["suite"] for s in summaries}, side
        fingerprints = {s["model_fingerprint"] for s in summaries}
        assert len(fingerprints) == 1, f"{side}: results of {len(fingerprints)} models"


# -- the Commands table ---------------------------------------------------------------------


def _table_specs() -> list[tuple[str, str]]:
    """(row, code span) for every code span in the first column of the Commands table."""
    _, body = _section(README.read_text(encoding="utf-8"), COMMANDS)
    specs = []
    for row in body.splitlines():
        if not row.startswith("| `"):
            continue
        first = re.split(r"(?<!\\)\|", row)[1]
        specs += [(row, span.replace("\\|", "|")) for span in re.findall(r"`([^`]+)`", first)]
    return specs


def _children(node: object) -> dict[str, object] | None:
    """A group's subcommands by name; None for a command (typer's click is vendored, so
    this goes by shape, not by class)."""
    commands = getattr(node, "commands", None)
    return commands if isinstance(commands, dict) else None


def _paths(spec: str, root: object) -> tuple[list[list[str]], list[str]]:
    """The command paths a span names (``registry list|show`` -> two) and its flags."""
    words = re.sub(r"\s*\|\s*", "|", spec).split()
    if words and words[0] == "posttrain":
        words = words[1:]
    flags = [w.strip("[]") for w in words if w.strip("[]").startswith("--")]
    paths: list[list[str]] = [[]]
    for word in words:
        if _children(_resolve(root, paths[0])) is None or word.startswith(("-", "[")):
            break
        paths = [[*p, name] for p in paths for name in word.split("|")]
    return paths, flags


def _resolve(root: object, path: list[str]) -> object | None:
    node: object | None = root
    for name in path:
        node = (_children(node) or {}).get(name)
    return node


def test_every_command_in_the_commands_table_exists(capsys: pytest.CaptureFixture[str]) -> None:
    root = typer.main.get_command(app)
    specs = _table_specs()
    assert len(specs) >= 20, "the Commands table shrank?"
    checked = set()
    for row, spec in specs:
        paths, flags = _paths(spec, root)
        for path in paths:
            node = _resolve(root, path)
            assert node is not None, f"{row}\n`posttrain {' '.join(path)}` is not a command"
            if path:
                code = main([*path, "--help"])
                out = capsys.readouterr().out
                assert code == 0 and "Usage" in out, f"{row}\n`{' '.join(path)} --help`: {code}"
            params = getattr(node, "params", [])
            options = {opt for p in params for opt in (*p.opts, *p.secondary_opts)}
            for flag in flags:
                assert flag in options, f"{row}\n`posttrain {' '.join(path)}` has no {flag}"
            checked.add(" ".join(path))
    assert main(["--version"]) == 0 and "posttrain" in capsys.readouterr().out
    # The table names every stage's commands, subcommands spelled out.
    for command in ("models prepare", "train ppo", "release abort", "log verify", "ladder"):
        assert command in checked


# -- make targets ---------------------------------------------------------------------------


def test_every_make_target_the_readme_names_is_in_the_makefile() -> None:
    named = set(re.findall(r"(?:`|^)make ([\w-]+)", README.read_text("utf-8"), re.MULTILINE))
    assert {"demo", "test", "sft-train", "safety-audit"} <= named
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = {
        name
        for head in re.findall(r"^([\w .-]+):(?!=)", makefile, re.MULTILINE)
        for name in head.split()
    }
    missing = sorted(named - targets)
    assert not missing, f"README.md names make targets the Makefile lacks: {missing}"
