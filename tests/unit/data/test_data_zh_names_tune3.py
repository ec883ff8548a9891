"""Chinese names with no cue beside them (issue 14, fourth pass: tune3_zh_names.txt):
a surname and a given name scored by its characters and its place (a verb, a time or
punctuation after it, not inside a word before it), rare surnames, given names whose
first two characters are a word; and brands, places and made-up words that start with
a surname's character, which must stay text."""

from __future__ import annotations

import pytest

from posttrain.data.deid import Analyzer


def people(analyzer: Analyzer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in analyzer.analyze(text) if r.entity_type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("已经电话联系了常远航。", "常远航"),  # jieba reads 了常 and 远航 (to sail)
        ("庹晓燕已经确认收货。", "庹晓燕"),  # a surname Faker's list lacks
        ("钭鸿飞明天来取货。", "钭鸿飞"),  # a rare surname before a time word
        ("帮孟大伟查一下", "孟大伟"),  # before a one-character verb
        ("订单转给谷宏伟处理。", "谷宏伟"),  # before a verb jieba knows
        ("负责人谷翠花已经同意", "谷翠花"),
        ("我妈闵安琪下的单", "闵安琪"),  # a recent given name's character (琪)
        ("王国庆说不要了。", "王国庆"),  # 王国 is a word, 国庆 a given name
        ("董家乐签收了", "董家乐"),  # 家 follows names too, here it is the name's
        ("眭诗雨在群里说", "眭诗雨"),
        ("麻烦转告一下闫志伟", "闫志伟"),  # 闫, a common surname Faker's list lacks
        ("寄给牛若彤", "牛若彤"),  # at the end of the text
    ],
)
def test_a_name_with_no_cue_is_found_by_its_given_name(
    analyzer: Analyzer, text: str, name: str
) -> None:
    assert name in people(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "朱古力蛋糕能送到吗？",  # brands jieba's dictionary tags as names
        "金龙鱼油多少钱一桶？",
        "秦皇岛能发货吗？",  # a city it tags as a name
        "戴森吹风机能分期吗？",  # a noun follows: a brand, not a person
        '{"城市": "常州", "仓库": "武进仓"}',  # a warehouse
        "关于海军的问题",  # 于 is 关于's
    ],
)
def test_brands_places_and_words_are_not_names(analyzer: Analyzer, text: str) -> None:
    assert people(analyzer, text) == []


def test_a_greeting_that_starts_with_a_surname_is_not_a_name(analyzer: Analyzer) -> None:
    found = people(analyzer, "祝好，秦雨萱")  # 祝 is a surname, 好 no given name's
    assert "祝好" not in found and "秦雨萱" in found
