"""Names, addresses, JSON records and retention modes of the de-identifier."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from posttrain.data import DataConfig
from posttrain.data.deid import Analyzer, Deidentifier, DeidPolicy
from posttrain.data.deid.secret import KEY_ENV, KEY_FILE
from posttrain.data.deid.structured import classify_key
from posttrain.errors import ConfigError


def spans(analyzer: Analyzer, text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for r in analyzer.analyze(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sure! Emily Carter's number is on file.", ("PERSON", "Emily Carter")),
        ("Please ask Ms. Okafor to sign for it", ("PERSON", "Okafor")),
        ("My name is Xavier Quenneville", ("PERSON", "Xavier Quenneville")),
        ("Dear Priya, your refund is on its way.", ("PERSON", "Priya")),
        ("收件人：王芳，电话见备注", ("PERSON", "王芳")),
        ("李女士您好，退款已到账", ("PERSON", "李")),
        ("我和陈小姐约好了", ("PERSON", "陈")),
        ("我叫欧阳娜娜", ("PERSON", "欧阳娜娜")),
        (
            "the parcel goes to 308 Garden Road, #20-09, Shanghai.",
            ("ADDRESS", "308 Garden Road, #20-09, Shanghai"),
        ),
        (
            "Flat 3, 12 Station Road, Leeds LS1 4AP",
            ("ADDRESS", "Flat 3, 12 Station Road, Leeds LS1 4AP"),
        ),
        (
            "地址改成上海市浦东新区张杨路100号5栋2单元1201室吧",
            ("ADDRESS", "上海市浦东新区张杨路100号5栋2单元1201室"),
        ),
        ("请寄到广东省深圳市南山区科苑路15号", ("ADDRESS", "广东省深圳市南山区科苑路15号")),
    ],
)
def test_names_and_addresses_are_found(
    analyzer: Analyzer, text: str, expected: tuple[str, str]
) -> None:
    assert expected in spans(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "Is the AeroStyle High-Speed Dryer on sale?",
        "I love the Rose Gold Phone Case",
        "SF Express says it is at the Hong Kong hub",
        "Is there a pickup point near Park Avenue?",
        "Will the Black Friday deal last until Christmas?",
        "这款蓝牙音箱的续航怎么样？",
        "你们发货到上海市浦东新区吗？",
    ],
)
def test_products_places_and_plain_words_are_not_people(analyzer: Analyzer, text: str) -> None:
    assert [s for s in spans(analyzer, text) if s[0] in ("PERSON", "ADDRESS")] == []


def test_a_name_keeps_one_placeholder_across_fields_and_forms() -> None:
    out = Deidentifier(DeidPolicy()).apply(
        {
            "prompt": "Where is the parcel for Emily Carter?",
            "bad_answer": "Emily's parcel is out. Daniel Wong signed for it; Ms. Carter was out.",
        }
    )
    assert out.fields["prompt"] == "Where is the parcel for <PERSON_1>?"
    assert out.fields["bad_answer"] == (
        "<PERSON_1>'s parcel is out. <PERSON_2> signed for it; Ms. <PERSON_1> was out."
    )


def test_json_values_under_personal_keys_go_whatever_they_look_like() -> None:
    context = json.dumps(
        {
            "tool": "crm.lookup_order",
            "order_id": "SM-2026-4285866",
            "recipient": {
                "name": "Li Wei",
                "phone": "+86 188 3475 4765",
                "address": "240 Garden Road, #15-01, Xiamen",
            },
            "items": [{"name": "AeroStyle High-Speed Dryer", "sku": "aero", "price": 129}],
            "客户": {"姓名": "张三", "地址": "某某小区"},
            "note": "call \u674e\u4f1f first",
        }
    )
    assert "\\u674e" in json.dumps("\u674e", ensure_ascii=True)
    escaped = context.replace("李伟", "\\u674e\\u4f1f")
    out = Deidentifier(DeidPolicy(actions={"ADDRESS": "placeholder"})).apply(
        {"context": escaped, "prompt": "what did Li Wei order?"}
    )
    doc = json.loads(out.fields["context"] or "")
    assert doc["recipient"] == {
        "name": "<PERSON_1>",
        "phone": "<PHONE_1>",
        "address": "<ADDRESS_1>",
    }
    assert doc["order_id"] == "SM-2026-4285866"
    assert doc["items"][0]["name"] == "AeroStyle High-Speed Dryer"  # a product's name stays
    assert doc["客户"] == {"姓名": "<PERSON_2>", "地址": "<ADDRESS_2>"}
    assert "李伟" not in doc["note"] and doc["note"].startswith("call <PERSON_")
    assert out.fields["prompt"] == "what did <PERSON_1> order?"


def test_json_inside_text_and_json_in_a_json_string() -> None:
    inner = json.dumps({"contactName": "Tobias Whitfield", "mobile": 13912345678})
    text = "Tool result: " + json.dumps({"result": inner}) + " (end)"
    out = Deidentifier(DeidPolicy()).redact_text(text)
    assert out.startswith("Tool result: ") and out.endswith(" (end)")
    doc = json.loads(json.loads(out[len("Tool result: ") : -len(" (end)")])["result"])
    assert doc == {"contactName": "<PERSON_1>", "mobile": "<PHONE_1>"}


@pytest.mark.parametrize(
    ("key", "siblings", "expected"),
    [
        ("recipient", (), "PERSON"),
        ("billing_address", (), "ADDRESS"),
        ("customerPhone", (), "PHONE"),
        ("身份证", (), "ID_CARD"),
        ("card_number", (), "BANK_CARD"),
        ("name", ("sku", "price"), None),
        ("name", ("arguments",), None),
        ("name", ("phone",), "PERSON"),
        ("id", ("phone", "name"), "ID_CARD"),
        ("id", ("status", "total"), None),
        ("order_id", (), None),
        ("customer_comment", (), None),
        ("customer_note_free", (), "PERSON"),
    ],
)
def test_personal_keys(key: str, siblings: tuple[str, ...], expected: str | None) -> None:
    assert classify_key(key, frozenset(siblings)) == expected


def test_drop_leaves_a_non_identifying_summary_in_the_text_language() -> None:
    d = Deidentifier(DeidPolicy(actions={"ADDRESS": "drop", "PERSON": "drop"}))
    out = d.apply(
        {
            "en": "ship it to 308 Garden Road, #20-09, Shanghai please, for Emily Carter",
            "zh": "请寄到上海市浦东新区张杨路100号5栋，收件人王芳",
        }
    )
    assert out.fields["en"] == "ship it to an address in Shanghai please, for a person"
    assert out.fields["zh"] == "请寄到一个上海的地址，收件人某人"
    assert out.dropped_for == []


def test_quarantine_action_quarantines_the_record() -> None:
    out = Deidentifier(DeidPolicy(actions={"PERSON": "quarantine"})).apply(
        {"p": "for Emily Carter"}
    )
    assert out.dropped_for == ["PERSON"] and out.fields == {}


def test_hash_is_keyed_by_a_workspace_secret_created_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    cfg = DataConfig(workspace=tmp_path / "ws", policy=DeidPolicy(actions={"PHONE": "hash"}))
    key_file = tmp_path / "ws" / KEY_FILE
    assert not key_file.exists()
    a = Deidentifier(cfg.policy).redact_text("call 13800138000")
    assert key_file.is_file() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert KEY_FILE.parts[0] == ".posttrain"  # outside data/, git-ignored with .posttrain/
    b = Deidentifier(DataConfig(workspace=tmp_path / "ws", policy=cfg.policy).policy).redact_text(
        "call 138-0013-8000"
    )
    assert a == b and a.startswith("call <PHONE:") and "13800" not in a
    # another workspace has another secret: the same phone gets another token
    other = DataConfig(workspace=tmp_path / "other", policy=DeidPolicy(actions={"PHONE": "hash"}))
    assert Deidentifier(other.policy).redact_text("call 13800138000") != a
    # the token is an HMAC, not a bare hash of the number
    import hashlib

    assert hashlib.sha256(b"13800138000").hexdigest()[:12] not in a
    # the policy's content hash does not depend on where the workspace is
    assert cfg.policy.content_hash() == other.policy.content_hash()


def test_hash_without_workspace_or_env_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=KEY_ENV):
        Deidentifier(DeidPolicy(actions={"EMAIL": "hash"}))


def test_a_truncated_key_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / ".posttrain").mkdir()
    (tmp_path / KEY_FILE).write_text("short\n")
    cfg = DataConfig(workspace=tmp_path, policy=DeidPolicy(actions={"EMAIL": "hash"}))
    with pytest.raises(ConfigError, match="too short"):
        Deidentifier(cfg.policy)


def test_default_retention_per_type() -> None:
    actions = DeidPolicy().actions
    assert actions["ADDRESS"] == "drop" and actions["PERSON"] == "placeholder"
    assert {actions[t] for t in ("PHONE", "EMAIL", "ID_CARD", "BANK_CARD")} == {"placeholder"}
