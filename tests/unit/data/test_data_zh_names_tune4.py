"""Chinese names of the fifth pass (issue 14: tune4_zh_names.txt, written by a helper who
never saw the recognizer): minority names (a middle dot between two transliterated parts,
or two or three Tibetan, Mongolian or Uyghur name words), a married woman's two surnames
before a title, a space between surname and given name, four rare surnames; and what must
stay text: an everyday word after a cue, a surname's character that ends the word before a
title, idioms that hold a surname."""

from __future__ import annotations

import pytest

from posttrain.data.deid import Analyzer


def people(analyzer: Analyzer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in analyzer.analyze(text) if r.entity_type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("收货人：帕提古丽·吾买尔，请送到前台", "帕提古丽·吾买尔"),  # dotted, after a cue
        ("伊力哈木·库尔班来电问发票", "伊力哈木·库尔班"),  # dotted, before a verb
        ("客户阿迪力江申请换货", "阿迪力江"),  # a name word and the suffix 江
        ("平措旺堆已经签收了", "平措旺堆"),  # two Tibetan name words
        ("联系人：斯琴高娃，电话见备注", "斯琴高娃"),  # two Mongolian ones, after a cue
        ("周刘玉兰女士的快递到了", "周刘玉兰"),  # a married woman's two surnames
        ("上官 若水在群里问运费", "上官 若水"),  # a space inside the name
        ("姓名：赵 雅萍 会员卡号见附件", "赵 雅萍"),
        ("麴晓丹的包裹已经到驿站了", "麴晓丹"),  # surnames Faker's list lacks
        ("笪明轩说他没收到", "笪明轩"),
    ],
)
def test_the_fifth_pass_finds_these_names(analyzer: Analyzer, text: str, name: str) -> None:
    assert name in people(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "下单人信息和收货人不一致，请核实。",  # 信息 (information) after a cue
        "已为您转接值班经理。",  # 班 is 值班's, not a surname before 经理
        "别把两个订单张冠李戴了。",  # an idiom that holds two surnames
        "这次包装马马虎虎。",
        "故宫·文创的书签还有货吗？",  # a dot between words that are no transliteration
    ],
)
def test_words_idioms_and_dotted_titles_are_not_names(analyzer: Analyzer, text: str) -> None:
    assert people(analyzer, text) == []


def test_a_name_after_a_cue_that_is_an_adjective_too_stays_a_name(analyzer: Analyzer) -> None:
    # 文静 (quiet) is a word jieba counts 74 times: rare enough to be a name after a cue
    assert "文静" in people(analyzer, "收件人文静说这个电话不是她的。")


def test_the_tune4_file_keeps_the_recall_the_fifth_pass_reached(analyzer: Analyzer) -> None:
    """tune4_zh_names.txt is not in the labelled set (its tune split is what the
    recognizer catches whole, and the fifth pass left 15 of these 207 names uncaught:
    everyday words as names, 江山, 许诺), so it is scored here: PERSON recall 0.928 and
    precision 0.941 when the pass ended (0.845 and 0.919 before it); a change that loses
    more than a name or two of it fails. (Since the sixth pass the span model is trained
    on it, with the other tune files: 0.981 / 0.949 now, in-sample.) None of its lines
    is a held-out row (a few of its full names are, by chance, in blind files written
    later)."""
    from posttrain.data.pii_eval import load_labelled, score_names_file
    from posttrain.resources.pii.make_labelled import TUNE4_ZH, zh_name_rows

    # as `data pii-eval` scores: what the de-identifier would replace (JSON values too)
    person = score_names_file(TUNE4_ZH, analyzer)["PERSON"]
    assert person.expected == 207
    assert person.recall >= 0.92 and person.precision >= 0.93, person
    held = {
        e.value
        for i in load_labelled()
        if i.split == "heldout"
        for e in i.entities
        if e.type == "PERSON" and len(e.value) > 2
    }
    tune4 = {
        e["value"]
        for row in zh_name_rows(TUNE4_ZH, "tune")
        for e in row["entities"]  # type: ignore[attr-defined]
        if e["type"] == "PERSON" and len(e["value"]) > 2
    }
    # the blind files written later (blind5, blind6) share a few full names with it by
    # chance (helpers invent the same popular names: 诸葛明远, 扎西多吉), no line
    assert len(tune4 & held) <= 5, sorted(tune4 & held)
    lines = {str(row["text"]) for row in zh_name_rows(TUNE4_ZH, "tune")}
    assert not lines & {i.text for i in load_labelled() if i.split == "heldout"}
