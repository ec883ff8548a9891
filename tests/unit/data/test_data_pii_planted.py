"""Property test: generated personal data planted in every field reaches no output file.

Faker's ``en_US`` and ``zh_CN`` providers generate the values (names, street addresses,
phone numbers, e-mails); they are planted into the prompt, the context (as a JSON tool
result and as free text), the bad answer and the ideal answer of records of a small
workspace, the data build runs, and every file it writes is searched for every value.
Faker's name lists are among the lists the name recognizer looks words up in, so this
test proves the plumbing (every field, JSON, every output) more than the recognizers'
reach; ``posttrain data pii-eval``'s held-out split measures that.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from faker import Faker

from posttrain.data import DataConfig, QualityConfig, build_dataset

N = 40


def _planted(seed: int) -> tuple[list[dict[str, object]], list[str]]:
    en, zh = Faker("en_US"), Faker("zh_CN")
    en.seed_instance(seed)
    zh.seed_instance(seed + 1)
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    values: list[str] = []
    for i in range(N):
        if i % 2:
            name, other = zh.name(), zh.name()
            address = zh.address().replace("\n", " ")
            phone, email = zh.phone_number(), zh.free_email()
            prompt = rng.choice(
                [f"我是{name}，我的订单到哪了？手机{phone}", f"帮我查下{name}的快递，寄到{address}"]
            )
            bad = f"好的，{other}的电话是{phone}，地址是{address}，邮箱{email}。"
            ideal = f"抱歉，我不能提供{other}的联系方式。"
            note = f"客服备注：联系人{other}，电话{phone}"
            lang = "zh"
        else:
            name, other = en.name(), en.name()
            address = en.address().replace("\n", ", ")
            phone, email = en.phone_number(), en.free_email()
            prompt = rng.choice(
                [
                    f"Hi, this is {name}. Where is my order? Call me on {phone}.",
                    f"Please send the parcel for {name} to {address}.",
                ]
            )
            bad = f"Sure! {other}'s number is {phone}, address {address}, e-mail {email}."
            ideal = f"Sorry, I can't share {other}'s contact details."
            note = f"Note: recipient {other}, phone {phone}."
            lang = "en"
        tool = {
            "tool": "crm.lookup_order",
            "order_id": f"SM-2026-{i:07d}",
            "recipient": {"name": other, "phone": phone, "address": address},
            "email": email,
        }
        context = json.dumps(tool, ensure_ascii=rng.random() < 0.5) if i % 3 else note
        rows.append(
            {
                "id": f"p-{i:03d}",
                "prompt": prompt,
                "bad_answer": bad,
                "ideal_answer": ideal,
                "context": context,
                "label": "privacy",
                "source": "production_log",
                "ts": "2026-08-01T07:20:17+08:00",
                "lang_hint": lang,
            }
        )
        values += [name, other, address, phone, email]
    return rows, values


@pytest.mark.parametrize("seed", [14, 2026])
def test_no_planted_value_reaches_any_output(tmp_path: Path, seed: int) -> None:
    rows, values = _planted(seed)
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    with (ws / "data" / "failures.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            r.pop("lang_hint")
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    res = build_dataset(
        DataConfig(
            workspace=ws,
            contract=None,
            eval_sets=[],
            # generated from a few templates: duplicates and template shares are expected
            quality=QualityConfig(
                length_ratio_high=50.0,
                max_template_share=1.0,
                max_exact_duplicate_fraction=1.0,
                max_near_duplicate_fraction=1.0,
            ),
        ),
        workers=1,
    )
    assert res.status == "built", res.failing_rules
    assert res.counts.sft == N and res.counts.prefs == N
    outputs = [p for p in (ws / "data").rglob("*") if p.is_file() and p.name != "failures.jsonl"]
    assert {"sft.jsonl", "prefs.jsonl", "DATASHEET.md", "manifest.json"} <= {
        p.name for p in outputs
    }
    texts = {p.name: p.read_text(encoding="utf-8") for p in outputs}
    leaks = sorted({(name, v) for name, text in texts.items() for v in values if v and v in text})
    assert leaks == []
    # and in the form JSON escapes them (the ensure_ascii contexts)
    escaped = {json.dumps(v)[1:-1] for v in values} - set(values)
    assert not [v for v in escaped for text in texts.values() if v in text]
