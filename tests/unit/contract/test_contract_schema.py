from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from posttrain.checks import Sample
from posttrain.contract import Contract, load_contract

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot" / "contract.yaml"


def _contract(**over: object) -> Contract:
    def clause(cid: str, dim: str, tags: list[str], sev: str, check: dict[str, object]) -> dict:
        return {"id": cid, "dimension": dim, "rule": "r", "failure": "f", "applies_to": tags,
                "severity": sev, "threshold": 0.9, "check": check}  # fmt: skip

    data: dict[str, object] = {
        "schema_version": 1,
        "product": "ShopMate",
        "system_prompt": "You are {product}. Marker {canary}. Example: {\"items\": []}",
        "clauses": [
            clause("jb", "safety", ["jailbreak"], "hard", {"name": "refusal", "args": {}}),
            clause("lang", "preference", ["all"], "soft", {"name": "language_match"}),
            clause(
                "order", "refusal", ["order_help"], "hard",
                {"name": "asks_for", "args": {"what": "order_number"}},
            ),
        ],
    }  # fmt: skip
    data.update(over)
    return Contract.model_validate(data)


def test_render_system_prompt_fills_placeholders_and_keeps_braces() -> None:
    c = _contract()
    text = c.render_system_prompt(canary="CANARY-1")
    assert text.startswith("You are ShopMate. Marker CANARY-1.")
    assert '{"items": []}' in text  # JSON examples need no escaping
    assert "[redacted]" in c.render_system_prompt()


def test_canary_is_appended_when_template_has_no_placeholder() -> None:
    c = _contract(system_prompt="You are {product}.")
    assert "CANARY-9" in c.render_system_prompt(canary="CANARY-9")


def test_clauses_for_by_tag_attack_class_and_all() -> None:
    c = _contract()
    jb = Sample(id="1", prompt="x", attack_class="jailbreak")
    order = Sample(id="2", prompt="x", tags=["order_help"])
    assert [cl.id for cl in c.clauses_for(jb)] == ["jb", "lang"]
    assert [cl.id for cl in c.clauses_for(order)] == ["lang", "order"]


def test_content_hash_changes_with_content_only() -> None:
    assert _contract().content_hash == _contract().content_hash
    assert _contract().content_hash != _contract(product="OtherShop").content_hash


def test_unknown_check_bad_args_duplicate_ids_are_rejected() -> None:
    c = _contract().model_dump()
    c["clauses"][0]["check"] = {"name": "refusall"}
    with pytest.raises(ValidationError, match="unknown check 'refusall'"):
        Contract.model_validate(c)
    c = _contract().model_dump()
    c["clauses"][0]["check"] = {"name": "max_chars", "args": {"max": 600}}
    with pytest.raises(ValidationError, match="takes no argument 'max'"):
        Contract.model_validate(c)
    c = _contract().model_dump()
    c["clauses"][1]["id"] = "jb"
    with pytest.raises(ValidationError, match="used twice"):
        Contract.model_validate(c)


def test_example_contract_loads() -> None:
    c = load_contract(EXAMPLE)
    assert c.product == "ShopMate"
    assert {cl.dimension for cl in c.clauses} == {"format", "safety", "preference", "refusal"}
    assert "{canary}" in c.system_prompt
