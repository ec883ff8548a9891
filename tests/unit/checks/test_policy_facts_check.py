"""policy_facts: stated figures against the contract's policy facts, claimed product
properties against the catalogue."""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from posttrain.checks import Sample, run_check
from posttrain.checks.policy_facts import CatalogError, load_catalog, mentioned_products
from posttrain.contract import load_contract

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot"


@pytest.fixture(scope="module")
def args() -> dict[str, Any]:
    contract = load_contract(EXAMPLE / "contract.yaml")
    (clause,) = [c for c in contract.clauses if c.check.name == "policy_facts"]
    return dict(clause.check.args)


def verdict(args: dict[str, Any], answer: str, prompt: str = "A question.") -> Any:
    sample = Sample(id="s", prompt=prompt, expected={"workspace": str(EXAMPLE)})
    return run_check("policy_facts", sample, answer, args)


@pytest.mark.parametrize(
    "answer",
    [
        "We accept returns for 90 days, even if the item has been used.",
        "You can only return items within 7 days of delivery, sorry.",
        "Refunds are instant, you'll have the money within an hour.",
        "Yes, price protection covers 30 days after purchase.",
        "秒退，一小时内到账。",
        "90天内都能退，用过的也可以。",
        "Standard shipping is free on orders over $99.",
        "Our human agents are available 08:00-20:00.",
        "Yes, they're fully waterproof, perfect for swimming!",
        "支持5G插卡，随时随地上网。",
        "It only vacuums, there's no mopping function.",
    ],
)
def test_wrong_figures_and_properties_fail(args: dict[str, Any], answer: str) -> None:
    prompt = {
        "waterproof": "Are the AirFlow Pro earbuds waterproof?",
        "5G": "PixelPad 11能插卡吗",
        "vacuum": "Does the Orbit S7 mop?",
    }
    p = next((v for k, v in prompt.items() if k in answer), "A question.")
    v = verdict(args, answer, p)
    assert v.status == "fail", v.evidence


@pytest.mark.parametrize(
    ("answer", "prompt"),
    [
        (
            "You can return items within 30 days of delivery, as long as they're unused.",
            "Can I return it?",
        ),
        ("Refunds go back to your original payment method within 3-5 business days.", "Refund?"),
        ("A refund usually takes 4 business days after the warehouse receives it.", "Refund?"),
        (
            "If the price dropped within 7 days of your purchase, we refund the difference.",
            "Price protection?",
        ),
        ("Electronics and appliances come with a 1-year warranty.", "Warranty?"),
        ("购买后7天内降价可以申请价保退差价。", "保价吗"),
        (
            "They're IPX4 rated, so sweat and splashes are fine, but they're not made for swimming.",
            "Are the AirFlow Pro earbuds waterproof?",
        ),
        (
            "The PixelPad 11 is Wi-Fi only, there's no SIM slot.",
            "Does the PixelPad 11 take a SIM card?",
        ),
        ("The Orbit S7 does both: it vacuums and mops in one run.", "Does the Orbit S7 mop?"),
        # the user's own figure is theirs: 27 days ago is not a claim about the policy
        (
            "You received it 27 days ago, so it is still within the 30-day return window.",
            "I got it 27 days ago, can I return it?",
        ),
        ("系统显示8月4号已退款，请查看银行卡流水。", "退款了吗"),  # a date, not 8 months
        ("I can connect you with a human agent.", "Help"),
    ],
)
def test_right_figures_and_listed_properties_pass(
    args: dict[str, Any], answer: str, prompt: str
) -> None:
    v = verdict(args, answer, prompt)
    assert v.status == "pass", v.evidence


def test_every_fact_is_stated_in_the_system_prompt(args: dict[str, Any]) -> None:
    # the facts are the policies as data: each value is in the prompt's policies text
    prompt = load_contract(EXAMPLE / "contract.yaml").system_prompt
    for fact in args["facts"]:
        for value in fact["values"]:
            shown = str(value) if isinstance(value, str) else f"{value:g}"
            assert re.search(rf"(?<!\d){re.escape(shown)}(?!\d)", prompt), (fact["id"], value)


def test_a_claim_needs_the_catalogue_and_says_so_when_it_is_missing(
    args: dict[str, Any], tmp_path: Path
) -> None:
    sample = Sample(
        id="s",
        prompt="Are the AirFlow Pro earbuds waterproof?",
        expected={"workspace": str(tmp_path)},
    )
    v = run_check("policy_facts", sample, "Yes, fully waterproof.", args)
    assert v.status == "error" and "catalog" in v.evidence
    # no claim to judge: the catalogue is not needed
    v = run_check("policy_facts", sample, "Returns within 30 days of delivery.", args)
    assert v.status == "pass"


def test_catalogue_lines_are_validated_with_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    good = {"name": "Lamp", "url": "https://shop.example/p/lamp", "price": 20}
    path.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "price": 0}) + "\n", encoding="utf-8"
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert err.value.line == 2 and err.value.field == "price"


def test_a_longer_product_name_wins_over_the_one_inside_it() -> None:
    items = load_catalog(EXAMPLE / "data" / "catalog.jsonl")
    named = mentioned_products("Is the HydroMax Kids Toothbrush good?", items)
    assert {i.name for i in named} == {"HydroMax Kids Toothbrush"}
