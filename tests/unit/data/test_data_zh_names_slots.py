"""Chinese names with no title or cue (issue 14, second pass): where a name stands alone,
sits where a name starts and ends, is doubled or follows 阿; and the everyday words that
start with a surname's character and must stay text."""

from __future__ import annotations

import pytest

from posttrain.data.deid import Analyzer


def people(analyzer: Analyzer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in analyzer.analyze(text) if r.entity_type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("[08:02] 裘国梁：耳机左边没声音", "裘国梁"),  # a chat log's speaker
        ('{"handler": "阮嘉树", "state": "closed"}', "阮嘉树"),  # a JSON value
        ("备注：闵晓芸 周日不在家", "闵晓芸"),
        ("麻烦给蔡立新回个电话", "蔡立新"),  # 立新 is an adverb to jieba
        ("这是苗洋洋的换货单", "苗洋洋"),  # a doubled given name; 苗洋 is no word
        ("联系人：麦子豪 13700001234", "麦子豪"),  # jieba reads 麦子 (wheat)
        ("南宫雪反馈屏幕有坏点", "南宫雪"),  # a compound surname the list lacked
        ("阿陈说这个尺码偏大", "陈"),  # 阿 + surname, the surname is the name
        ("Order 5521 is for 阮思源, please call back.", "阮思源"),
    ],
)
def test_a_name_without_a_title_or_cue_is_found(analyzer: Analyzer, text: str, name: str) -> None:
    assert name in people(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "今天很高兴，快递终于到了。",
        "李子和桃子哪个更甜？",
        "周末能送货吗？",
        "黄金首饰可以退换吗？",
        "这样方便吗？",
        "王国的历史书有没有精装版？",
        "宋体字的包装更好看。",  # jieba's dictionary tags 宋体字 nr
        "孔雀蓝的款式卖完了吗？",
        "东方明珠附近能自提吗？",  # a compound surname, then a place
        "金灿灿的包装很好看。",
        "毛毛虫玩具还有吗？",
        "小区门口的快递柜满了。",  # 区 is 小区's
        "林荫道那边的快递柜坏了。",
        "许多顾客都说这个好用。",  # 都 after the cue 顾客 is "all"
        "现在没有任何限制，第296项内容如下。",  # a measure word after a number
        "推荐一个228元以内的蓝牙音箱。",
        "让高铁站的快递点帮忙收一下。",
        '{"color": "白色", "city": "杭州", "product": "保温杯"}',
        "麻烦通知<PERSON_1>来取件。",  # what follows a placeholder goes on after a name
        "I'll help with the 登山鞋: please share your order number.",
    ],
)
def test_everyday_words_that_start_with_a_surname_are_not_names(
    analyzer: Analyzer, text: str
) -> None:
    assert people(analyzer, text) == []


def test_names_the_dictionary_knows_are_found_its_words_are_not(analyzer: Analyzer) -> None:
    # _known: jieba tags both kinds nr; the words start with a word of their own (宋体, 陈列)
    assert people(analyzer, "鲁智深问包裹到了没有。") == ["鲁智深"]
    assert people(analyzer, "陈列柜的尺寸是多少？") == []
