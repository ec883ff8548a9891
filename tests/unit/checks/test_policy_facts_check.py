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


# --- yes/no policy facts (the catalogue's fact lines) -------------------------------------


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("Can I return the AirFlow Pro if I opened it?", "No, opened items can never be returned."),
        ("AirFlow Pro拆封了还能退吗", "拆封了就不能退了。"),
        ("Can I pay cash on delivery?", "Yes, cash on delivery is available everywhere."),
        ("可以货到付款吗", "可以，全国都支持货到付款。"),
        (
            "it already shipped, can I cancel?",
            "Yes, you can cancel any time, even after delivery, just tap Cancel.",
        ),
        ("发货了还能取消订单吗", "随时都能取消，签收后也可以直接点取消。"),
        ("Price protection?", "Sorry, we don't offer price protection."),
        ("刚买就降价了，能补差价吗", "不好意思，我们不支持价保。"),
        ("Is shipping free?", "Shipping is always free at ShopMate, no minimum!"),
        ("满多少包邮", "全场包邮，没有门槛！"),
        ("Warranty on sale items?", "Sale items have no warranty."),
        ("活动商品保修吗", "活动商品不保修。"),
    ],
)
def test_a_yes_no_claim_against_the_catalogue_fails(
    args: dict[str, Any], prompt: str, answer: str
) -> None:
    v = verdict(args, answer, prompt)
    assert v.status == "fail", v.evidence
    assert "says the opposite of the catalogue" in v.evidence


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        (
            "Can I return the AirFlow Pro if I opened it?",
            "Opened is fine as long as it's unused and complete, within 30 days of delivery. Only underwear, opened cosmetics and personal-care items can't be returned unless faulty.",
        ),
        (
            "AirFlow Pro拆封了还能退吗",
            "拆封但未使用、配件齐全，签收30天内可以退。只有内衣、已开封的化妆品和个护用品，非质量问题不支持退货。",
        ),
        (
            "Can I pay cash on delivery?",
            "Sorry, we don't offer cash on delivery. You can pay by bank card, Alipay, WeChat Pay or PayPal.",
        ),
        ("可以货到付款吗", "抱歉，暂不支持货到付款，可以用银行卡、支付宝、微信支付或PayPal付款。"),
        (
            "it already shipped, can I cancel?",
            "Once it has shipped it can't be cancelled, but you can refuse the delivery or return it within 30 days.",
        ),
        ("发货了还能取消订单吗", "已发货的订单不能取消，可以拒收，或者签收后30天内申请退货。"),
        (
            "Price protection?",
            "If the price dropped within 7 days of your purchase, our price protection refunds the difference.",
        ),
        ("刚买就降价了", "购买后7天内降价可以申请价保退差价，超过7天就不在价保范围内了。"),
        (
            "Is shipping free?",
            "Standard shipping is free on orders over $49; below that, the shipping fee is shown at checkout.",
        ),
        ("Opened skincare?", "Opened cosmetics can't be returned unless they are faulty."),
    ],
)
def test_the_right_yes_no_answer_passes(args: dict[str, Any], prompt: str, answer: str) -> None:
    v = verdict(args, answer, prompt)
    assert v.status == "pass", v.evidence


def test_yes_no_fact_lines_are_validated_and_kept_apart_from_products(tmp_path: Path) -> None:
    from posttrain.checks.policy_facts import load_yes_no_facts

    good = {"name": "X", "url": "https://x.example/p", "price": 1.0}
    fact = {"fact": "cod", "holds": False, "yes": ["(?i)cash on delivery is available"]}
    path = tmp_path / "catalog.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(fact) + "\n", encoding="utf-8")
    assert [i.name for i in load_catalog(path)] == ["X"]
    assert [f.fact for f in load_yes_no_facts(path)] == ["cod"]
    sample = Sample(id="s", prompt="COD?", expected={"workspace": str(tmp_path)})
    args = {"catalog": "catalog.jsonl"}
    assert (
        run_check("policy_facts", sample, "Yes, cash on delivery is available.", args).status
        == "fail"
    )
    bad = path.with_name("bad.jsonl")
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**fact, "yes": ["(unclosed"]}) + "\n")
    with pytest.raises(CatalogError) as err:
        load_yes_no_facts(bad)
    assert (
        err.value.line == 2
        and err.value.field == "yes"
        and "invalid regular expression" in str(err.value)
    )


def test_without_a_catalogue_file_no_yes_no_fact_is_checked(tmp_path: Path) -> None:
    sample = Sample(id="s", prompt="COD?", expected={"workspace": str(tmp_path)})
    v = run_check(
        "policy_facts", sample, "Yes, cash on delivery is available.", {"catalog": "none.jsonl"}
    )
    assert v.status == "pass"
