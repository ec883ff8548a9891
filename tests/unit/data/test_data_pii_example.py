"""Issue 14's finding, reproduced on the example: personal data from tool-result records
(a recipient's name and street address beside the replaced phone) must reach no file the
data build writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.data import DataConfig, build_dataset
from posttrain.workspace import init_workspace


def _personal_values(failures: Path) -> dict[str, set[str]]:
    """Entity type -> the personal values of the example's tool results (its `context`
    JSON: recipient name / phone / address, e-mail, card numbers), read here on their own
    so the test does not trust the code under test to find them."""
    out: dict[str, set[str]] = {}

    def add(etype: str, value: object) -> None:
        if isinstance(value, str) and value.strip():
            out.setdefault(etype, set()).add(value)

    for line in failures.read_text(encoding="utf-8").splitlines():
        context = json.loads(line).get("context") or ""
        if not context.startswith("{"):
            continue
        doc = json.loads(context)
        recipient = doc.get("recipient") or {}
        add("PERSON", recipient.get("name"))
        add("PHONE", recipient.get("phone"))
        add("ADDRESS", recipient.get("address"))
        add("EMAIL", doc.get("email"))
        add("BANK_CARD", (doc.get("payment") or {}).get("card_number"))
        for card in doc.get("cards") or []:
            add("BANK_CARD", card.get("number"))
    return out


def _written(data: Path) -> dict[str, str]:
    return {
        p.relative_to(data).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(data.rglob("*"))
        if p.is_file() and p.name != "failures.jsonl" and p.suffix in (".jsonl", ".json", ".md")
    }


@pytest.fixture(scope="module")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DataConfig]:
    ws = init_workspace(tmp_path_factory.mktemp("example") / "ws").root
    cfg = DataConfig(workspace=ws)
    res = build_dataset(cfg, workers=1)
    assert res.status == "built", res.failing_rules
    return ws, cfg


def test_the_example_has_tool_results_with_names_and_addresses(
    example_build: tuple[Path, DataConfig],
) -> None:
    ws, _ = example_build
    values = _personal_values(ws / "data" / "failures.jsonl")
    assert {"PERSON", "ADDRESS", "PHONE"} <= set(values)
    assert any("Garden Road" in v for v in values["ADDRESS"])


def test_no_value_of_a_tool_result_reaches_any_output(
    example_build: tuple[Path, DataConfig],
) -> None:
    ws, _ = example_build
    data = ws / "data"
    assert (data / "sft.jsonl").is_file() and (data / "prefs.jsonl").is_file()
    values = _personal_values(data / "failures.jsonl")
    leaks = [
        (name, etype, value)
        for name, text in _written(data).items()
        for etype, vals in values.items()
        for value in vals
        if value in text
    ]
    assert leaks == []


def test_the_context_stays_valid_json_with_placeholders(
    example_build: tuple[Path, DataConfig],
) -> None:
    ws, _ = example_build
    seen = 0
    for line in (ws / "data" / "sft.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("input", "").startswith('{"tool": "crm.'):
            doc = json.loads(rec["input"])
            if "recipient" in doc:
                seen += 1
                assert doc["recipient"]["name"].startswith("<PERSON_")
                assert doc["recipient"]["phone"].startswith("<PHONE_")
                assert not any(ch.isdigit() for ch in doc["recipient"]["address"])
            if "customer_comment" in doc:  # free text under a customer_ key stays readable
                assert "Note to chatbot" in doc["customer_comment"]
    assert seen > 0
