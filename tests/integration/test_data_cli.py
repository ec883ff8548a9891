"""``posttrain data build`` / ``pii-eval`` end to end through the CLI."""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from posttrain.cli import main
from posttrain.data.pii_eval import load_labelled

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-bot"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    """``--json`` runs: the document from stdout alone (library warnings go to stderr)."""
    code = main([*args, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else {}), out.out + out.err


@pytest.fixture
def example_ws(tmp_path: Path) -> Path:
    if not (EXAMPLE / "data" / "failures.jsonl").is_file():
        pytest.skip("example workspace not present")
    ws = tmp_path / "support-bot"
    shutil.copytree(
        EXAMPLE, ws, ignore=shutil.ignore_patterns("sft.jsonl", "prefs.jsonl", "buckets")
    )
    return ws


def test_example_workspace_builds_and_is_reproducible(
    example_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first, out = run_json(capsys, "data", "build", "--workspace", str(example_ws))
    assert code == 0, out
    c = first["counts"]
    assert c["accepted"] + c["quarantined"] == c["read"] > 0
    data = example_ws / "data"
    for name in (
        "sft.jsonl",
        "prefs.jsonl",
        "quarantine.jsonl",
        "quality.json",
        "DATASHEET.md",
        "manifest.json",
        "buckets/index.json",
    ):
        assert (data / name).is_file(), name
    assert sum(1 for _ in (data / "buckets").glob("*/failures.jsonl")) == len(c["buckets"])
    # a second run, forced onto two worker processes: the same data version
    code, second, out = run_json(
        capsys, "data", "build", "--workspace", str(example_ws), "--workers", "2"
    )
    assert code == 0, out
    assert second["data_version"] == first["data_version"]
    code, out = run(capsys, "data", "build", "--workspace", str(example_ws))
    assert code == 0 and f"read {c['read']} = accepted {c['accepted']}" in out


def test_broken_lines_are_reported_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    good = {
        "id": "a",
        "prompt": "Where is my parcel, it is late?",
        "bad_answer": "It was delivered.",
        "label": "order_number",
        "source": "log",
        "ts": "2026-01-01T00:00:00Z",
    }
    lines = [json.dumps(good), "{oops", json.dumps(good | {"label": "spam", "id": "b"}), "[]"]
    (ws / "data" / "failures.jsonl").write_text("\n".join(lines) + "\n")
    code, out = run(
        capsys,
        "data",
        "build",
        "-w",
        str(ws),
        "--no-contract",
        "--override",
        "template_overuse=single-record smoke test workspace",
        "--override",
        "length_ratio=single-record smoke test workspace",
    )
    assert code == 0, out
    assert "read 4 = accepted 1 + quarantined 3" in out
    q = [json.loads(x) for x in (ws / "data" / "quarantine.jsonl").read_text().splitlines()]
    assert [(x["file"], x["line"]) for x in q] == [("data/failures.jsonl", n) for n in (2, 3, 4)]
    assert "Traceback" not in out


def test_usage_errors_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "data", "build", "-w", str(tmp_path), "--no-contract")
    assert code == 2 and "input file not found" in out and "Traceback" not in out
    code, out = run(capsys, "data", "build", "-w", str(tmp_path), "--map", "prompt")
    assert code == 2 and "expected KEY=VALUE" in out
    code, out = run(
        capsys, "data", "build", "-w", str(tmp_path), "--override", "nope=some long reason"
    )
    assert code == 2 and "unknown rule" in out
    code, out = run(capsys, "data", "build", "-w", str(tmp_path), "--workers", "-1")
    assert code == 2 and "--workers" in out and "Traceback" not in out


def test_blocked_build_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    rec = {
        "id": "a",
        "prompt": "Where is my parcel?",
        "bad_answer": "Delivered.",
        "label": "order_number",
        "source": "log",
        "ts": "2026-01-01",
    }
    (ws / "data" / "failures.jsonl").write_text(
        json.dumps(rec) + "\n" + json.dumps(rec | {"id": "b"}) + "\n"
    )
    code, out = run(capsys, "data", "build", "-w", str(ws), "--no-contract")
    assert code == 1 and "rule failed: exact_duplicates" in out and "blocked" in out


def test_pii_eval_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "data", "pii-eval", "--json")
    res = json.loads(out)
    # exit 1 while a target is not met (the blind held-out Chinese names, issue 14)
    assert code == (0 if res["passed"] else 1), res["failed_targets"]
    # recall over the tune split (what the recognizers were built on); the set's overall
    # recall mixes in the blind held-out Chinese names (937 of its 1,512 positives since
    # the sixth pass), whose shortfall is the failed target above
    tune = res["per_split"]["tune"].values()
    assert sum(c["found"] for c in tune) / sum(c["expected"] for c in tune) >= 0.99
    assert res["precision"] >= 0.95
    code, out = run(capsys, "data", "pii-eval")
    verdict = "PASS" if res["passed"] else "FAIL"
    assert code == (0 if res["passed"] else 1) and "BANK_CARD" in out and verdict in out


def _forms(value: str) -> set[str]:
    """The value as written, and its digits-only form for numbers written with separators."""
    forms = {value}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 11 and len(digits) >= len(value) * 0.6:
        forms.add(digits)
    if value.startswith("-----BEGIN"):
        forms |= {line for line in value.splitlines()[1:-1]}  # every key body line
    return forms


def test_no_pii_from_the_labelled_set_reaches_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the tune split: every value the recognizers were built on must be caught; names and
    # addresses of the held-out split are scored by `data pii-eval` (recall >= 0.95, not 1)
    # and planted from Faker by tests/unit/data/test_data_pii_planted.py
    items = [i for i in load_labelled() if i.entities and i.split == "tune"]
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    labels = ["privacy", "jailbreak", "order_number", "out_of_scope"]
    lines = []
    for n, item in enumerate(items):
        other = items[(n + 7) % len(items)].text
        rec = {
            "id": f"pii-{n}",
            "prompt": f"Case {n}: {item.text}",
            "bad_answer": f"Sure, I noted it. {other} (ticket {n})",
            "ideal_answer": f"Thanks, I won't repeat {other} here. Ticket {n} is with a human agent."
            if n % 3 == 0
            else None,
            "context": item.text if n % 4 == 0 else None,
            "label": labels[n % len(labels)],
            "source": "redteam",
            "ts": "2026-08-01T10:00:00Z",
        }
        lines.append(
            json.dumps({k: v for k, v in rec.items() if v is not None}, ensure_ascii=False)
        )
    # PII in broken lines, in an unknown label and in an id must not leak either
    lines.append(f'{{"id": "x", "prompt": "{items[0].entities[0].value}"')
    lines.append(
        json.dumps(
            {
                "id": items[1].entities[0].value,
                "prompt": "hi there",
                "bad_answer": "b",
                "label": items[2].entities[0].value[:30],
                "source": "s",
                "ts": "2026-01-01",
            }
        )
    )
    (ws / "data" / "failures.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    overrides = [
        "template_overuse=synthetic leak-test workspace",
        "length_ratio=synthetic leak-test workspace",
        "near_duplicates=synthetic leak-test workspace",
        "pair_similarity=synthetic leak-test workspace",
    ]
    args = ["data", "build", "-w", str(ws), "--no-contract"]
    args += [a for o in overrides for a in ("--override", o)]
    code, log = run(capsys, *args)
    assert code == 0, log
    code, log_json = run(capsys, *args, "--json")
    assert code == 0, log_json

    outputs = [p for p in (ws / "data").rglob("*") if p.is_file() and p.name != "failures.jsonl"]
    assert {p.name for p in outputs} >= {
        "sft.jsonl",
        "prefs.jsonl",
        "quarantine.jsonl",
        "quality.json",
        "DATASHEET.md",
        "manifest.json",
        "audit.jsonl",
    }
    corpus = {str(p.relative_to(ws)): p.read_text(encoding="utf-8") for p in outputs}
    corpus["<cli output>"] = log + log_json
    leaks = []
    for item in items:
        for ent in item.entities:
            if len(ent.value) < 2:  # a surname alone (张女士) matches any text with 张 in it
                continue
            for form in _forms(ent.value):
                for name, text in corpus.items():
                    if form in text:
                        leaks.append((item.id, ent.type, name))
    assert leaks == []
    # and the PII really was there to leak: placeholders replaced it
    assert (
        "<BANK_CARD_1>" in corpus["data/prefs.jsonl"] and "<ID_CARD_1>" in corpus["data/sft.jsonl"]
    )


# -- findings 7 and 8 of issue 12, as a user hits them -----------------------------------


def flat(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``run``, with the output's line wrapping undone."""
    code, out = run(capsys, *args)
    return code, " ".join(out.split())


ORDER = {
    "prompt": "Where is my parcel, it is late?",
    "bad_answer": "It was delivered.",
    "label": "order_number",
    "source": "log",
}


@pytest.fixture
def contract_ws(tmp_path: Path) -> Path:
    """A workspace with the example's contract and an empty data folder."""
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copy(EXAMPLE / "contract.yaml", ws / "contract.yaml")
    return ws


def test_csv_with_an_unterminated_quote_names_it_and_reads_every_row(
    contract_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        f'o{i},"Where is my order {i}, please? It is late",It was delivered.,order_number,log,'
        f"2026-01-0{i}T00:00:00Z"
        for i in range(1, 7)
    ]
    rows[4] = rows[4].replace('late",', "late,")  # record 5 (line 6) never closes its quote
    (contract_ws / "data" / "f.csv").write_text(
        "id,prompt,bad_answer,label,source,ts\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    code, out = flat(capsys, "data", "build", "-w", str(contract_ws), "-i", "data/f.csv")
    assert code in (0, 1), out  # six look-alike records may well be blocked by a rule
    assert "read 6 = accepted 5 + quarantined 1" in out
    assert "unterminated quote" in out
    [q] = [
        json.loads(x) for x in (contract_ws / "data" / "quarantine.jsonl").read_text().splitlines()
    ]
    assert (q["file"], q["line"], q["field"]) == ("data/f.csv", 6, "prompt")
    assert q["reason"] == 'unterminated quote in field "prompt" (opened on line 6)'


def test_unknown_map_key_names_the_known_fields(
    contract_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (contract_ws / "data" / "failures.jsonl").write_text(
        json.dumps({"id": "a", "question": "Where is my parcel?", **ORDER, "ts": "2026-01-01"})
        + "\n"
    )
    code, out = flat(capsys, "data", "build", "-w", str(contract_ws), "--map", "nosuch=question")
    assert code == 2 and "Traceback" not in out
    assert "unknown field 'nosuch'" in out
    assert "id, prompt, bad_answer, source, ts, label, ideal_answer, context" in out
    # written the other way round, the message says how to turn it
    code, out = flat(capsys, "data", "build", "-w", str(contract_ws), "--map", "question=prompt")
    assert code == 2 and "prompt=question" in out
    # and in a data config file
    cfg = contract_ws / "data.yaml"
    cfg.write_text("field_map: {nosuch: question}\n")
    code, out = flat(capsys, "data", "build", "-w", str(contract_ws), "--config", str(cfg))
    assert code == 2 and "unknown field 'nosuch'" in out and "Value error" not in out


@pytest.mark.parametrize("content", ["", "\n\n"], ids=["empty", "blank_lines"])
def test_empty_failures_file_is_exit_2_no_records(
    contract_ws: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    (contract_ws / "data" / "failures.jsonl").write_text(content)
    code, out = flat(capsys, "data", "build", "-w", str(contract_ws))
    assert code == 2, out
    assert "no records in data/failures.jsonl" in out
    assert "rule failed" not in out and "Traceback" not in out


def test_build_without_a_contract_needs_no_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    records = [
        {**ORDER, "id": f"a{i}", "prompt": f"Where is my parcel number {i}? It is {i} days late.",
         "ts": "2026-01-01"}
        for i in range(3)
    ]  # fmt: skip
    (ws / "data" / "failures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    code, out = flat(capsys, "data", "build", "-w", str(ws))
    assert code == 2 and "Traceback" not in out
    assert "contract.yaml: contract not found" in out and "--no-contract" in out
    assert not (ws / "data" / "quality.json").exists()  # refused before building anything

    overrides = [
        "template_overuse=three-record no-contract test",
        "length_ratio=three-record test",
        "pair_similarity=three-record test, one-line bad answers",
    ]
    args = [a for o in overrides for a in ("--override", o)]
    code, out = flat(capsys, "data", "build", "-w", str(ws), "--no-contract", *args)
    assert code == 0, out
    assert "no contract" in out and "class coverage is not checked" in out
    datasheet = (ws / "data" / "DATASHEET.md").read_text(encoding="utf-8")
    assert "Classes the contract requires: (no contract)." in datasheet
    manifest = json.loads((ws / "data" / "manifest.json").read_text())
    assert manifest["contract"]["path"] is None and manifest["contract"]["required_classes"] == []
