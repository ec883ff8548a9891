"""Person names, English and Chinese, as Presidio recognizers.

English (:class:`EnglishNameRecognizer`): runs of one to four capitalised words, scored
by what is known about them: a title before them (``Ms. Carter``), given and family
names from Faker's name lists (:mod:`.lexicon`: ``Emily Carter`` is a known given name
and a known family name), a cue just before (``my name is``, ``recipient``, ``Dear``,
``for``), and what speaks against a person: a common English word (``Rose Gold``), a
street or company word at the end (``Garden Road``, ``SF Express``), a well-known city
(``Hong Kong``). A deny-list regex of ~10k names would be slow; the words are looked up
in sets instead.

Chinese (:class:`ChineseNameRecognizer`): a surname (Faker ``zh_CN``'s list, compound
surnames too) and one or two given-name characters: before a form of
address (``王芳女士``, ``王先生``, ``陈小姐``: the title stays outside the span), after a
cue (``收件人：王芳``, ``我叫李娜``), or where jieba's part-of-speech tagger tags a word
``nr`` (person name) that starts with a surname (``王芳的手机号是多少``), or with none of
these where a name stands alone (a chat log's speaker ``邝志文: …``, a JSON value), sits
where a name starts and ends (``给蒲立新回个电话``) or has a doubled given name
(``这是汪洋洋的…``), or, with no cue at all, reads as a name by its given name's
characters and its place (``刘建华明天来取货``, ``帮孟大伟查一下``: how often jieba's
dictionary of names has each character in a given name against how often its words have
it, a verb, a time or punctuation after it, no word it is part of before it); everyday
words that start with a surname's character (高兴, 李子, 宋体字) are kept out by jieba's
dictionary, brands and places it tags as names (金龙鱼油, 秦皇岛) by what follows them and
how a place's name ends. Where a name
ends is jieba's segmentation's call when it has tagged one, else a cue-side rule: a
third character is part of the name unless it is one that follows names (的, 电, 说 ...).
jieba is imported on first use, in the de-identification worker.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from presidio_analyzer import RecognizerResult

from posttrain.data.deid.lexicon import (
    common_words,
    en_cities,
    first_names,
    last_names,
    zh_common_surnames,
    zh_compound_surnames,
    zh_given_chars,
    zh_places,
    zh_surnames,
)
from posttrain.data.deid.recognizers import ScoredPatternRecognizer, _Spec

__all__ = ["ChineseNameRecognizer", "EnglishNameRecognizer"]


def _result(rec: ScoredPatternRecognizer, start: int, end: int, score: float, how: str) -> Any:
    return RecognizerResult(
        entity_type=rec.ENTITY,
        start=start,
        end=end,
        score=round(max(0.0, min(1.0, score)), 4),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: type(rec).__name__,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: rec.id,
            "pattern": how,
        },
    )


# --- English -------------------------------------------------------------------------

_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mister|Mdm|Dame|Lady|Lord)"
_TOK = r"(?:Mc|Mac|O['’]|D['’])?[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?"
_RUN = re.compile(
    rf"(?<![A-Za-z0-9_@.\-])(?:(?P<title>{_TITLE})\.?\s+)?"
    rf"(?P<run>{_TOK}(?:[ \t]+(?:[A-Z]\.[ \t]+)?{_TOK}){{0,3}})(?![A-Za-z0-9_@\-])"
)
_TOK_RX = re.compile(_TOK)
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "mister",
        "mdm",
        "dame",
        "lady",
        "lord",
    ]
)
# Words just before a run that say a person follows (lower case; looked up as the last
# one to three words before the run, punctuation stripped).
_STRONG_CUES = frozenset(
    (
        "name", "name is", "named", "i'm", "im", "i am", "this is", "signed", "regards",
        "sincerely", "dear", "hi", "hello", "hey", "thanks", "thank you", "recipient",
        "receiver", "consignee", "customer", "client", "buyer", "contact", "attn",
        "attention", "c/o", "cardholder", "holder", "addressed to", "speak to", "sent by",
        "signed by", "ordered by", "paid by", "bought by",
    )
)  # fmt: skip
_WEAK_CUES = frozenset(
    (
        "for", "to", "from", "by", "ask", "tell", "call", "with", "and", "colleague",
        "friend", "neighbour", "neighbor", "wife", "husband", "mum", "mom", "dad", "sister",
        "brother", "son", "daughter", "boss", "driver", "courier", "agent", "manager",
        "author", "parcel for", "review by",
    )
)  # fmt: skip
_CUE_STRIP = " \t\n,:;=-(\"'"


def _cue(before: str) -> int:
    """2 for a strong cue just before a run, 1 for a weak one, else 0."""
    words = before.lower().rstrip(_CUE_STRIP).split()[-3:]
    found = 0
    for n in (1, 2, 3):
        if len(words) >= n:
            tail = " ".join(words[-n:]).strip(_CUE_STRIP)
            if tail in _STRONG_CUES or tail.rstrip(":=") in _STRONG_CUES:
                return 2
            if tail in _WEAK_CUES:
                found = 1
    return found


# A run ending in one of these is a place or an organisation, not a person.
_THING_END = frozenset(
    [
        "road",
        "street",
        "avenue",
        "lane",
        "drive",
        "way",
        "terrace",
        "close",
        "crescent",
        "boulevard",
        "court",
        "place",
        "square",
        "highway",
        "walk",
        "row",
        "gardens",
        "park",
        "plaza",
        "mall",
        "centre",
        "center",
        "tower",
        "building",
        "station",
        "airport",
        "hospital",
        "school",
        "university",
        "college",
        "hotel",
        "bank",
        "store",
        "shop",
        "market",
        "express",
        "logistics",
        "airlines",
        "airways",
        "group",
        "inc",
        "ltd",
        "llc",
        "co",
        "corp",
        "company",
        "limited",
        "district",
        "county",
        "province",
        "city",
        "town",
        "village",
        "bay",
        "beach",
        "island",
        "river",
        "lake",
        "mountain",
        "hill",
        "valley",
        "bridge",
        "st",
        "rd",
        "ave",
    ]
)


class EnglishNameRecognizer(ScoredPatternRecognizer):
    """Given and family names in English text (see the module docstring)."""

    ENTITY = "PERSON"
    TRIGGER_GROUPS = ("cap",)
    SPECS = (_Spec("en_name_run", _RUN.pattern, 0.5),)

    def analyze(
        self,
        text: str,
        entities: Sequence[str] | None = None,
        nlp_artifacts: object = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _RUN.finditer(text):
            found = self._score_run(text, m)
            if found is not None:
                start, end, score, how = found
                out.append(_result(self, start, end, score, how))
        return out

    def _score_run(self, text: str, m: re.Match[str]) -> tuple[int, int, float, str] | None:
        first, last, common = first_names(), last_names(), common_words()
        run = m.group("run")
        if m.group("title") is None and " " not in run and "\t" not in run:
            w = run.lower()
            # one word: a name only after a cue, and never a common word ("Where", "The")
            if (w in common and w not in first) or (w not in first and w not in last):
                return None
        toks = [(t.group(0), t.start(), t.end()) for t in _TOK_RX.finditer(run)]
        base = m.start("run")
        # leading words that are not names: "Thanks Emily", "Please call Priya Nair"
        while toks and (toks[0][0].lower() in _TITLES or _is_common(toks[0][0], first, common)):
            if len(toks) > 1 and toks[0][0].lower() in first and toks[1][0].lower() in last:
                break  # "Will Smith": a given name after all
            toks.pop(0)
        while toks and _is_common(toks[-1][0], last, common) and len(toks) > 1:
            toks.pop()
        if not toks:
            return None
        words = [t[0].lower() for t in toks]
        given_family = len(words) > 1 and _is_name(words[0], first, common) and words[-1] in last
        if words[-1] in _THING_END and not given_family:
            return None
        start, end = base + toks[0][1], base + toks[-1][2]
        span = text[start:end]
        if span.lower() in _en_city_set():
            return None
        titled = m.group("title") is not None and start == m.start("run")
        before = text[max(0, start - 24) : start]
        if titled:
            return start, end, 0.9, "title"
        n = len(words)
        f0 = words[0] in first and words[0] not in common
        l_last = words[-1] in last and words[-1] not in common
        unknown = all(w not in common for w in words)
        if n >= 2:
            if f0 and l_last:
                score, how = 0.85, "given+family"
            elif given_family:  # Wendy Hill, Curtis White: family names that are words
                score, how = 0.75, "given+family"
            elif f0 and unknown:
                score, how = 0.7, "given+word"
            elif (words[0] in first or words[0] in last) and l_last:
                score, how = 0.65, "name+family"
            elif l_last and unknown:
                score, how = 0.6, "word+family"
            elif unknown:
                score, how = 0.3, "words"
            elif words[0] in first and words[-1] in last:  # Amber Young: both are words too
                score, how = 0.45, "given+family"
            else:
                score, how = 0.1, "words"
            if text.startswith(("'s", "’s"), end):
                score += 0.2
        else:
            if (words[0] in first or words[0] in last) and words[0] not in common:
                score, how = 0.3, "single"
            elif words[0] in first:
                score, how = 0.15, "single"
            else:
                return None
            if text.startswith(("'s", "’s"), end):
                score += 0.2
        cue = _cue(before)
        if cue == 2:
            score += 0.4
            how += "+cue"
        elif cue == 1 and score >= 0.3:
            score += 0.2
            how += "+cue"
        if score < 0.3:
            return None
        return start, end, score, how


def _is_name(word: str, names: frozenset[str], common: frozenset[str]) -> bool:
    return word in names and word not in common


def _is_common(word: str, names: frozenset[str], common: frozenset[str]) -> bool:
    w = word.lower()
    return w in common and w not in names


# --- Chinese -------------------------------------------------------------------------

_HAN = "\u4e00-\u9fff"
_ZH_TITLES = (
    "先生",
    "女士",
    "小姐",
    "太太",
    "夫人",
    "老师",
    "同学",
    "经理",
    "师傅",
    "阿姨",
    "叔叔",
    # titles of address in a support chat: 刘总, 陈姐, 周哥, 林医生
    "总",
    "姐",
    "哥",
    "医生",
    "大夫",
    "教授",
    "主任",
    "律师",
    # (2026-12-02, from tune misses) ranks and family titles of address: 阮科长, 杭大姐
    "科长",
    "处长",
    "局长",
    "队长",
    "大姐",
    "大哥",
    # (2026-12-06, from the tune5 misses) ranks at work and in a shop, a passenger, an
    # elder; and 工 and 局 of one character (毛工, 孙局: an engineer's, a director's
    # title of address), after 工程师 so that the longer title is the one taken
    "组长",
    "店长",
    "班长",
    "院长",
    "所长",
    "部长",
    "厂长",
    "校长",
    "老板",
    "大爷",
    "大妈",
    "大叔",
    "旅客",
    "乘客",
    "工程师",
    # (2026-12-06, from the tune6 misses) more ranks and roles at work, elders, 某 (a
    # name withheld but for the surname: 骑手阚某)
    "主管",
    "会计",
    "助理",
    "总监",
    "教练",
    "专员",
    "奶奶",
    "爷爷",
    "小朋友",
    "秘书",
    "导游",
    "导",
    "某",
    "工",
    "局",
)
# titles of one character: not where the surname and the title are a word (员工, 施工,
# 邮局) nor where the title starts one (工作, 工资, 局面, 总结)
_ONE_CHAR_TITLES = frozenset("总姐哥工局某导")
_ZH_CUES = (
    "收件人",
    "收货人",
    "联系人",
    "寄件人",
    "签收人",
    "取件人",
    "姓名",
    "名字",
    "我叫",
    "我是",
    "本人",
    "客户",
    "顾客",
    "买家",
    "持卡人",
    "付款人",
    "下单人",
    "订购人",
    "户名",
    "尊敬的",
    "亲爱的",
    "用户",
    "致",
    # (2026-12-02, from tune misses) who applies, collects, handles or signs; greetings
    # and thanks addressed to someone; an @-mention
    "申请人",
    "领取人",
    "提货人",
    "预约人",
    "推荐人",
    "介绍人",
    "经手人",
    "经办人",
    "代收人",
    "发件人",
    "签名",
    "签字",
    "你好",
    "您好",
    "谢谢",
    "感谢",
    "@",
    # (2026-12-06, from the tune5 misses) who travels, stays, claims, complains, signs
    # a contract or a check; a pupil, a parent, an employee, a husband or a wife
    "乘客",
    "旅客",
    "入住人",
    "报销人",
    "投诉人",
    "开票人",
    "审批人",
    "负责人",
    "对接人",
    "复核",
    "乙方",
    "甲方",
    "员工",
    "学生",
    "家长",
    "老公",
    "老婆",
    "出租方",
    "承租方",
    # (2026-12-06, from the tune6 misses)
    "新郎",
    "新娘",
    "候选人",
    "面试官",
    "学员",
    "考生",
    "读者",
    "预定人",
    "预订人",
    "报告人",
    "监护人",
    "业主",
    "租客",
    "房东",
    "患者",
    "病人",
    "主持人",
    "记录人",
    "抄送",
    "乘机人",
    "实习生",
)
# characters that follow a name rather than end one (收件人王芳电话… : 电 is not 芳's)
_BREAK = frozenset(
    "的电手号地先女说在要已和与给住收帮打是了吗呢吧啊联邮身卡来去到寄送买订让请叫问想会能"
    "可也都还就才又再把被从对向跟同及等们家这那哪谁什么怎为因所但而或如若即便将曾没不很"
    "太最更比下上里外前后市省区县路街楼室元块个件次年日时分秒点姓码话址箱证账户微信告"
    "诉你我他她它有看拿退换付取发填写改留"
)
# what a person has that a support text asks about (… 的手机号, … 的地址)
_OWNED = (
    "手机", "电话", "联系方式", "地址", "住址", "邮箱", "身份证", "银行卡", "卡号", "账号",
    "订单", "快递", "包裹",
)  # fmt: skip
# what follows a name in a record read out ("李娜，身份证号…", "王芳，电话…")
_LISTED = ("身份证", "手机", "电话", "卡号", "银行卡", "邮箱", "地址", "住址")
# characters no given name ends in (a cue's name of surname + one character may end in
# any other: 周想, 衣刚)
_FUNCTION = frozenset("的是和与在了电手号地址吗呢吧啊")
# surnames that are also everyday words: not a name's start when a surname follows them
_WEAK_SURNAMES = frozenset("和于向时从有是在对将为由给跟把让叫找被与问双公")


@functools.cache
def _zh_regexes() -> tuple[re.Pattern[str], re.Pattern[str], str]:
    sur = _any_surname_rx()
    titled = re.compile(rf"(?P<n>{sur}[{_HAN}]{{0,2}}?)(?P<t>{'|'.join(_ZH_TITLES)})")
    cued = re.compile(
        rf"(?:{'|'.join(_ZH_CUES)})[：:\s]*(?:是|为|叫)?[：:\s]*(?P<n>{sur}[{_HAN}]{{1,2}})"
        # or a name that owns a contact detail: 王秀英的手机号, 杨建国的地址
        rf"|(?P<o>{sur}[{_HAN}]{{1,2}}?)(?:的(?:{'|'.join(_OWNED)})"
        # or one listed before a contact detail: 实名信息：李娜，身份证号…
        rf"|[，,、]\s*(?:{'|'.join(_LISTED)})"
        # or one greeted: 危思雨您好
        r"|(?=您好|你好))"
    )
    return titled, cued, sur


class ChineseNameRecognizer(ScoredPatternRecognizer):
    """Chinese names: surname + given name (see the module docstring)."""

    ENTITY = "PERSON"
    TRIGGER_GROUPS = ("han",)
    SPECS = (_Spec("zh_name", rf"[{_HAN}]{{2,4}}", 0.5),)

    def analyze(
        self,
        text: str,
        entities: Sequence[str] | None = None,
        nlp_artifacts: object = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        titled, cued, _ = _zh_regexes()
        surnames = zh_surnames()
        compounds = zh_compound_surnames()
        out: list[RecognizerResult] = []
        freq, tags = _jieba_dicts()
        for m in titled.finditer(text):
            s, e = m.span("n")
            # "我和李先生": 和 is a surname too, but here it is "and"
            if e - s >= 2 and text[s] in _WEAK_SURNAMES and text[s + 1] in surnames:
                s += 1
            # "此单由翟组长": 由 is "by" between the word before and the surname
            elif (
                e - s == 3
                and text[s + 1] in _WEAK_SURNAMES
                and _given_weights().get(text[s + 1], _UNSEEN) < _RARE_IN_NAMES
                and text[s + 2] in surnames
                and s > 0
                and _is_han(text[s - 1])
            ):
                s += 2
            # 值班经理, 加班师傅: the surname's character ends the word before it
            if e - s == 1 and s > 0 and freq.get(text[s - 1 : e], 0) >= 50:
                continue
            # a married woman's two surnames, her husband's first: 张王秀英女士 (the
            # pattern found 王秀英), where a name can start before them
            if e - s == 3 and s > 0 and _married_surname(text, s - 1):
                s -= 1
            # 员工, 邮局, 班主任: the surname and the title are a word; 工作, 总结: the
            # title of one character starts one
            t0, t1 = m.span("t")
            if t1 - t0 == 1 and text[t0] in _ONE_CHAR_TITLES:
                # (and 相关员工, 道路施工: the given name's last character and the title
                # are a word counted very often; not 张伟哥's 伟哥, 75)
                words = ((text[t0 : t0 + 2], 50), (text[s:t1], 50), (text[e - 1 : t1], 500))
                if any(len(w) == 2 and freq.get(w, 0) >= n for w, n in words):
                    continue
            if e - s == 1 and _common_word(text[s:t1], 50):
                continue
            # 安装师傅, 维修师傅: a word jieba counts often and tags no name, before a title
            # (not a compound surname: 欧阳总, jieba tags 欧阳 a place)
            if e - s >= 2 and _common_word(text[s:e], 50) and text[s:e] not in compounds:
                continue
            # 谢谢老板: a doubled word before a title (jieba tags 谢谢 a name)
            if e - s == 2 and text[s] == text[s + 1] and freq.get(text[s:e], 0) >= 50:
                continue
            out.append(_result(self, s, e, 0.85, "zh_title"))
        for m in cued.finditer(text):
            if m.group("o") is not None:
                s, e = m.span("o")
                given = text[s + 1 : e]
                if text[s] in _WEAK_SURNAMES or any(c in _FUNCTION for c in given):
                    continue
                if len(given) > 1 and given[-1] in _BREAK:
                    continue
                if text[s:e] in _zh_place_set():  # 上海的地址: a city's, not a person's
                    continue
                if _in_word(text, s, e):  # 小区门口的快递, 那边的快递
                    continue
                if e - s == 3 and text[e - 1] in _PLACE_END:
                    continue  # 高铁站的快递: a place's
                out.append(_result(self, s, e, 0.7, "zh_owner"))
                continue
            s, e = m.span("n")
            if text[s] in _ADVERBS:  # 顾客都说…: an adverb after the cue, not 都 the surname
                continue
            # 下单人信息, 客户服务: a noun or a verb jieba counts very often (信息 12,256;
            # not 文静, 74: 收件人文静 is a name), after a cue
            if any(
                freq.get(text[s:k], 0) >= 500
                and tags.get(text[s:k], "x")[:1]
                in ("n", "v", "a", "t", "d", "r", "c", "p", "m", "f")
                and not tags.get(text[s:k], "").startswith("nr")
                for k in (s + 2, s + 3)
                if k <= e
            ):
                continue
            sur_len = 2 if text[s : s + 2] in compounds else 1
            e = min(e, s + sur_len + 2)
            # 预定人：廖助理: a title after the surname, the surname is the name
            if text.startswith(_ZH_TITLES, s + sur_len):
                out.append(_result(self, s, s + sur_len, 0.85, "zh_cue"))
                continue
            given = text[s + sur_len : e]
            # where the name ends: after two given characters when a name ends there
            # (联系人：麦子豪 1376…: jieba reads 麦子, wheat), else jieba's word when it
            # tags one there, else the rule
            end = _cue_boundary(text, s, sur_len)
            two_given = (
                len(given) == 2
                and given[-1] not in _BREAK
                and not any(c in _FUNCTION for c in given)
                and _ends_name(text, e)
            )
            if two_given:
                pass  # e stays after the two given characters
            elif end is not None and not any(c in _FUNCTION for c in text[s + sur_len : end]):
                e = end
            else:
                if e - s == sur_len + 2 and text[e - 1] in _BREAK:
                    e -= 1
                if e - s > sur_len and text[e - 1] in _FUNCTION:
                    continue
            out.append(_result(self, s, e, 0.85, "zh_cue"))
        out.extend(self._tagged(text, surnames, compounds))
        out.extend(self._known(text, surnames, compounds))
        out.extend(self._familiar(text))
        out.extend(self._surname_said(text))
        out.extend(self._given_alone(text))
        out.extend(self._subject(text))
        out.extend(self._standalone(text, surnames, compounds))
        out.extend(self._given(text, surnames))
        out.extend(self._spaced(text))
        out.extend(_minority_names(self, text))
        out.extend(self._learned(text))
        out.extend(self._listed(text, out))
        # a name found without a title or cue: not a place's when one follows (东方明珠附近),
        # nor a word of a doubled character (毛毛虫, 金灿灿: jieba tags them nr)
        # nor part of an idiom or a longer word the dictionary holds (张冠李戴, 马马虎虎)
        return [
            r
            for r in out
            if r.score >= 0.85
            or not (
                _before_place(text, r.end)
                or _doubled_word(text[r.start : r.end])
                or _in_idiom(text, r.start, r.end, freq)
            )
        ]

    def _spaced(self, text: str) -> list[RecognizerResult]:
        """A surname and a given name with a space between them, as a form or a list lays
        them out (``欧阳 振华``, ``姓名：李 淑珍``): a compound surname and one or two given
        characters, or a single one and two, where no Chinese is on either side (or a
        character that follows names, 在, 说, after it) and the given name's characters
        are ones names have."""
        out: list[RecognizerResult] = []
        weights = _given_weights()
        double = _compound_set()
        for m in _zh_spaced().finditer(text):
            s, e = m.start(), m.end()
            sur, given = m.group("s"), m.group("g")
            if sur not in double and len(given) < 2:
                continue
            if any(c in _FUNCTION for c in given) or given[-1] in _BREAK:
                continue
            if min(weights.get(c, _UNSEEN) for c in given) < _RARE_IN_NAMES:
                continue
            nxt = text[e : e + 1]
            if _is_han(nxt or "a") and nxt not in _BREAK:
                continue
            out.append(_result(self, s, e, 0.6, "zh_spaced"))
        return out

    def _given(self, text: str, surnames: frozenset[str]) -> list[RecognizerResult]:
        """A surname and one or two characters that read as a given name, with no cue:
        scored by how often jieba's dictionary of names has each character in a given
        name against how often its words have it at all (:func:`_given_weights`), where
        the span can start (not inside a word: 关于海军's 于) and end (before a verb, a
        particle, punctuation: 刘建华明天来取货, 联系了常远航。, 帮孟大伟查一下). Not a word
        the dictionary counts (高兴, 周末, 马上), nor a name's start that is one (保温杯),
        nor a given name whose last character starts the next word (李娜明天: 明天)."""
        out: list[RecognizerResult] = []
        freq, tags = _jieba_dicts()
        weights = _given_weights()
        double = _compound_set()
        resume = 0
        for m in _zh_any_surname().finditer(text):
            s = m.start()
            if s < resume:
                continue
            sur_len = 2 if text[s : s + 2] in double else 1
            # (the given name's first character first: the cheapest test, and most
            # surnames' characters in a text are followed by one no name has: 的, 不, 有)
            w1 = weights.get(text[s + sur_len], _UNSEEN)  # Chinese: the look-ahead's
            if w1 < _RARE_IN_NAMES:
                continue
            left = _left_slot(text, s, freq)
            if left < 0 or (left < 2 and text[s] in _BREAK):  # 下午来…: a verb
                continue
            # "我和孟凡超": 和 is a surname too, but here it is "and"
            if text[s] in _WEAK_SURNAMES and text[s + 1 : s + 2] in surnames:
                continue
            for size in (2, 1):
                e = s + sur_len + size
                if size == 2 and (e > len(text) or not _is_han(text[e - 1])):
                    continue
                if freq.get(text[s:e]):
                    # 高兴, 方便, 周末, 李宁, 史努比: a word the dictionary counts, even
                    # one it tags as a name (2-character ones are words too often: 刘海,
                    # 贺卡; 3-character ones are _known's: 孔明灯, 林荫道 are among them);
                    # and no shorter name in it
                    break
                w2 = weights.get(text[e - 1], _UNSEEN) if size == 2 else w1
                if min(w1, w2) < _RARE_IN_NAMES:
                    continue  # 邱比特: 比 is hardly ever a given name's
                score = (w1 + w2) / 2
                if score + left + 2 < _GIVEN_THRESHOLD[size]:
                    continue  # not even at a name's surest end (checked first: it is cheap)
                if size == 2:
                    given = text[e - 2 : e]
                    if given[-1] in _NEVER_GIVEN:
                        continue
                    # 李娜明天来: 明 starts the next word (胥桂英明天: 明天 is one; 康小明说,
                    # 许立平和: a verb or a conjunction follows, not a noun's end: 冰箱)
                    nxt = text[e : e + 1]
                    if (
                        _is_han(nxt or "a")
                        and not (nxt in _BREAK and tags.get(nxt, "x")[0] in "vpcdu")
                        and freq.get(text[e - 1 : e + 1], 0) >= 50
                        and freq.get(text[e : e + 2], 0) < 50
                    ):
                        continue
                    if sur_len == 1 and given[-1] in _PLACE_END:
                        continue  # 武进仓, 高铁站
                    if freq.get(given, 0) >= 50 and tags.get(given, "")[:2] in _NOUNS:
                        score -= 1.5  # 来仓库, 和桃子: a verb or "and" before a noun
                    if freq.get(given, 0) >= 50 and tags.get(given) == "v":
                        score -= 1.5  # 工单备注, 但考虑: a verb, not a given name
                    # 保温杯, 黄金首饰: the first two characters are a word; a name all
                    # the same where its given name reads as one and it stands as a name
                    # (王国庆说)
                    if sur_len == 1 and _wordlike(text[s : s + 2], freq, tags):
                        score -= 2.5
                right = _right_slot(text, e, freq, tags)
                if right >= 0 and score + left + right >= _GIVEN_THRESHOLD[size]:
                    out.append(_result(self, s, e, 0.6, "zh_given"))
                    resume = e
                    break
        return out

    def _standalone(
        self, text: str, surnames: frozenset[str], compounds: tuple[str, ...]
    ) -> list[RecognizerResult]:
        """A name standing alone: a surname and one or two given characters with no
        other Chinese on either side (a chat log's speaker ``邝志文: …``, a JSON value
        ``"郜思远"``, ``备注：韦小红 周六在家``), or a doubled given name where a name ends
        (``这是汪洋洋的…``, ``通知甘露露来取件``). Not a word jieba's dictionary knows
        (李子, 高兴, 杭州), nor one that starts with a word it counts often (保温杯: 保温)."""
        out: list[RecognizerResult] = []
        freq, tags = _jieba_dicts()
        alone, doubled = _zh_standalone()
        for rx, how in ((alone, "zh_alone"), (doubled, "zh_doubled")):
            for m in rx.finditer(text):
                s, e = m.span("n")
                word = text[s:e]
                sur_len = 2 if word[:2] in compounds else 1
                given = word[sur_len:]
                if not given or len(given) > 2 or any(c in _FUNCTION for c in given):
                    continue
                if how == "zh_doubled" and (
                    given[0] in _BREAK or not _ends_name(text, e) or text[s] in _WEAK_SURNAMES
                ):
                    continue
                if freq.get(word) or word in _zh_place_set() or word.endswith(_ZH_TITLES):
                    continue
                if how == "zh_alone" and sur_len == 1:
                    if text[s] in _BREAK:  # 来取件, 到货了: a verb that is a surname too
                        continue
                    if len(word) == 3 and _wordlike(word[:2], freq, tags):
                        continue
                    if len(word) == 3 and word[-1] in _PLACE_END:
                        continue  # {"仓库": "武进仓"}
                if how == "zh_alone" and not _plausible(text, s, e):
                    continue
                out.append(_result(self, s, e, 0.6, how))
        # (a surname and two given characters where a name starts and ends, 给蒲立新回电话
        # where jieba reads 立新 as an adverb, are _given's)
        return out

    def _known(
        self, text: str, surnames: frozenset[str], compounds: tuple[str, ...]
    ) -> list[RecognizerResult]:
        """Names jieba's dictionary holds (鲁智深, 杨贵妃) at any surname, not only the
        common ones ``_tagged`` segments at: a set look-up at each character that starts
        one of them (:func:`_known_names`), no segmentation."""
        out: list[RecognizerResult] = []
        four, three, starts = _known_names()
        resume = 0
        for m in starts.finditer(text):
            i = m.start()
            if i < resume:
                continue
            if text[i : i + 4] in four:
                size = 4
            elif text[i : i + 3] in three:
                size = 3
            else:
                continue
            # a brand or a place the dictionary tags as a name (朱古力蛋糕, 金龙鱼油,
            # 秦皇岛: a noun follows, a place's end) or one that ends the word before it
            # (关于海军: 于海军)
            freq, tags = _jieba_dicts()
            if _right_slot(text, i + size, freq, tags) < 0 or _place_like(text[i : i + size]):
                continue
            if i > 0 and freq.get(text[i - 1 : i + 1], 0) >= 5:
                continue
            out.append(_result(self, i, i + size, 0.6, "zh_known"))
            resume = i + size
        return out

    def _learned(self, text: str) -> list[RecognizerResult]:
        """What the trained span model (:mod:`.name_model`) calls a name: a surname and
        one or two given characters it scores at or above its threshold, weighing the
        evidence the rules above test one by one. Not a place's name, nor a word the
        dictionary counts 100 times or more and tags no name."""
        from posttrain.data.deid.name_model import load_name_model

        model = load_name_model()
        if model is None:
            return []
        places = _zh_place_set()
        return [
            _result(self, s, e, 0.6, "zh_model")
            for s, e, _ in model.names(text)
            if text[s:e] not in places and not _common_word(text[s:e], 100)  # 暴雨, 方便
        ]

    def _surname_said(self, text: str) -> list[RecognizerResult]:
        """A surname named as one: 姓蔡的客服, 免贵姓王 (姓 and a surname where the word
        ends: 的, 一, 就, punctuation, no Chinese after it, or the surname again as it is
        spelt out: 姓秋秋天的秋)."""
        out: list[RecognizerResult] = []
        surnames = zh_surnames()
        for m in _SURNAME_SAID.finditer(text):
            s = m.start("s")
            if text[s] not in surnames:
                continue
            nxt = text[s + 1 : s + 2]
            # 姓田一位姓焦, 姓秋秋天的秋, 姓倪就是…: what follows a surname spelt out
            if nxt and _is_han(nxt) and nxt not in "的是一就也" and nxt != text[s]:
                continue
            out.append(_result(self, s, s + 1, 0.7, "zh_surname_said"))
        return out

    def _given_alone(self, text: str) -> list[RecognizerResult]:
        """A given name without its surname, where only a person's name goes: a chat's
        speaker (``【家庭群】浩然：``), someone greeted at the start (``晓东，你…``),
        before 姐, 哥, 妈妈 or 家长 (``思雨姐``, ``晶晶妈妈``), after a role or a relative
        (``客服雨欣``, ``我老婆春花``), mentioned (``@晓彤``), quoted as an app quotes a
        user (``"海燕"撤回了一条消息``), a signature (``——晨曦``), or a doubled pet name
        where a name starts and ends (``豆豆今天``, ``给苗苗的``); and 小 or 阿 with one
        given name's character (``小雅的快递``, ``阿亮``). The two characters must
        read as a given name (:func:`_given_alone_ok`): both of them common in given
        names, or one doubled, and no word the dictionary counts often (妈妈, 顾客, 系统,
        刚刚, 天天)."""
        out: list[RecognizerResult] = []
        freq, tags = _jieba_dicts()
        # after an English greeting or sign-off (Dear 格蕾丝, Hi 可馨, Best，牧野): two to
        # four Chinese characters that are no word the dictionary counts often
        for m in _EN_GREETING.finditer(text):
            s, e = m.span("g")
            if freq.get(text[s:e], 0) < 100 and not any(c in _NEVER_GIVEN for c in text[s:e]):
                out.append(_result(self, s, e, 0.85, "zh_given_alone"))
        # a chat's speaker: a given name of characters names have more often than text
        # will do (建平：), as the slot holds names and labels the dictionary counts often
        # (客服, 老板) or of characters names hardly have (买家, 备注, 大姨)
        surnames = zh_surnames()
        for m in _SPEAKER.finditer(text):
            s, e = m.span("g")
            if text[s] in "老小阿" and text[s + 1] in surnames:
                continue  # 老庄：: the surname is the name (_familiar's)
            if _given_alone_ok(text[s:e], floor=0.5):
                out.append(_result(self, s, e, 0.85, "zh_given_alone"))
        for rx, doubled, ends in _given_alone_rx():
            for m in rx.finditer(text):
                s, e = m.span("g")
                word = text[s:e]
                if (doubled and word[0] != word[1]) or not _given_alone_ok(word):
                    continue
                if ends and _right_slot(text, e, freq, tags) < 1:
                    continue
                # 喂喂, 哈哈: a verb's or an interjection's character doubled
                if doubled and tags.get(word[0], "x")[:1] in ("v", "e", "y", "o", "u"):
                    continue
                out.append(_result(self, s, e, 0.85, "zh_given_alone"))
        # 小 or 阿 and one given name's character (小雅, 阿亮): not a surname (老王, 小李
        # are _familiar's), nor a word the dictionary counts (小心, 阿姨)
        weights = _given_weights()
        for m in _PET_ONE.finditer(text):
            s = m.start("g")
            if text[s] in surnames or weights.get(text[s], _UNSEEN) < 2.5:
                continue
            if freq.get(text[s - 1 : s + 1], 0) >= 20 or not _ends_name(text, s + 1):
                continue
            out.append(_result(self, s, s + 1, 0.7, "zh_pet"))
        # one given character before 姐 or 哥, greeted (静姐，…, 艳姐：): not a word the
        # dictionary counts (大姐, 空姐, 表哥) and a character given names have often
        for m in _ONE_GIVEN_KIN.finditer(text):
            s = m.start("g")
            if weights.get(text[s], _UNSEEN) < 2.5 or text[s] in surnames:
                continue
            if freq.get(text[s : s + 2], 0) >= 20:
                continue
            out.append(_result(self, s, s + 1, 0.85, "zh_given_alone"))
        return out

    def _subject(self, text: str) -> list[RecognizerResult]:
        """A name that is a word too (许诺, 高飞, 林森: words jieba tags as names, or
        ones it does not know) at the start of a clause, before what a person does
        (说, 问, 已经, 要求, 反馈 …): ``许诺在评价里说…``, ``林森已确认…``."""
        out: list[RecognizerResult] = []
        freq, tags = _jieba_dicts()
        weights = _given_weights()
        common = zh_common_surnames()
        compounds = zh_compound_surnames()
        for m in _zh_subject().finditer(text):
            s, e = m.span("n")
            word = text[s:e]
            if freq.get(word) and not tags.get(word, "").startswith("nr"):
                continue
            if any(c in _NEVER_GIVEN for c in word[1:]):
                continue
            # 任何疑问: the first two characters are a word, the last starts the verb's
            if len(word) == 3 and _wordlike(word[:2], freq, tags):
                continue
            if freq.get(text[e - 1 : e + 1], 0) >= 50:
                continue
            # a rare surname (苗, 解, 符) starts an everyday word more often than a name:
            # a given name of given names' characters after it (苗欣然汇报)
            sur_len = 2 if word[:2] in compounds else 1
            if (
                sur_len == 1
                and word[0] not in common
                and (min(weights.get(c, _UNSEEN) for c in word[1:]) < 2.0)
            ):
                continue
            out.append(_result(self, s, e, 0.6, "zh_subject"))
        return out

    def _listed(self, text: str, found: list[RecognizerResult]) -> list[RecognizerResult]:
        """The other items of a list that holds a name (``芦苇、江雪、牧晓峰``, ``早班
        黎晨、向阳``): items of two to four Chinese characters between list separators
        (、, a space, a tab, |; not a comma, which parts clauses too) that start with a
        surname, where another item of the
        same list is a name found by the other rules, whole. Not items that are everyday words
        the dictionary counts very often, nor ones with a character no given name has."""
        if not found:
            return []
        out: list[RecognizerResult] = []
        _, tags = _jieba_dicts()
        surnames = zh_surnames()
        compounds = zh_compound_surnames()
        spans = {(r.start, r.end) for r in found if r.entity_type == self.ENTITY}
        weights = _given_weights()
        for lst in _zh_lists(text):
            if not any(item in spans for item in lst):
                continue
            for a, b in lst:
                if (a, b) in spans:
                    continue
                word = text[a:b]
                if len(word) == 2 and _given_alone_ok(word):  # 晓丽, 青青: a given name
                    out.append(_result(self, a, b, 0.7, "zh_listed"))
                    continue
                sur_len = 2 if word[:2] in compounds else 1
                if not (sur_len + 1 <= len(word) <= sur_len + 2) or word[:sur_len] not in (
                    compounds if sur_len == 2 else surnames
                ):
                    continue
                if any(c in _NEVER_GIVEN for c in word[sur_len:]) or word[-1] in _PLACE_END:
                    continue
                # 周一, 白班: a time, a number, a shift (a given name's character that
                # names hardly have: 班, 一)
                if (
                    tags.get(word, "x")[:1] in ("t", "m")
                    or min(weights.get(c, _UNSEEN) for c in word[sur_len:]) < 0.3
                ):
                    continue
                if word.endswith(_ZH_TITLES) or word in _zh_place_set() or _common_word(word, 5000):
                    continue
                out.append(_result(self, a, b, 0.7, "zh_listed"))
        return out

    def _familiar(self, text: str) -> list[RecognizerResult]:
        """老王 / 小李 / 阿陈: 老, 小 or 阿 before a common surname, where the surname ends the word
        (a break character, a verb's start or no Chinese after it: 老周说, 老孟负责, 小吴，); the
        surname is the
        name (as with a title), and everyday words (小钱, 老牛) are not names."""
        out: list[RecognizerResult] = []
        for m in _zh_familiar().finditer(text):
            s = m.start("s")
            nxt = text[s + 1 : s + 2]
            # 老庄：, 老何，: speaking or greeted, where no word goes on: a name whatever
            # else 老何 means
            if nxt in ("：", ":", "，", ",") and (s < 2 or not _is_han(text[s - 2])):
                out.append(_result(self, s, s + 1, 0.7, "zh_familiar"))
                continue
            if text[s - 1 : s + 1] in _NOT_FAMILIAR:
                continue
            if nxt and re.match(f"[{_HAN}]", nxt) and not _ends_name(text, s + 1):
                continue
            tag = _jieba_dicts()[1].get(text[s - 1 : s + 1])
            if tag is not None and tag[0] not in "nt":  # 小许 (a little), 老何 (why)
                continue
            out.append(_result(self, s, s + 1, 0.7, "zh_familiar"))
        return out

    def _tagged(
        self, text: str, surnames: frozenset[str], compounds: tuple[str, ...]
    ) -> list[RecognizerResult]:
        """Names jieba finds at a common surname: a word its HMM discovered (its
        dictionary holds no ordinary person's name) or one the dictionary tags ``nr``
        and counts rarely, of 2-4 characters.

        jieba segments a short window around each candidate (a common surname before a
        Chinese character), not the whole text, and the segmentation is cached: its
        part-of-speech tagger costs ~1 ms a text, the segmenter ~80 us a window.
        """
        out: list[RecognizerResult] = []
        seen = 0
        common = zh_common_surnames()
        freq, tags = _jieba_dicts()
        for m in _zh_candidate().finditer(text):
            i = m.start()
            if i < seen:
                continue
            # the surname's character ends the word before it (小区门口: 区 is 小区's)
            if i > 0 and freq.get(text[i - 1 : i + 1], 0) >= 50:
                continue
            # a rare surname is an everyday character more often than a name's start (解,
            # 符, 甘): only where a name starts (the pattern's look-behind: _slot_before)
            # and ends
            rare = text[i] not in common and text[i : i + 2] not in compounds
            lo = max(0, i - 3)
            for start, word in _cut_window(text[lo : i + 7], i - lo):
                name = _name_word(word, surnames, compounds)
                if name is not None and rare and not _ends_name(text, lo + start + len(name)):
                    continue
                if name is not None:
                    end = lo + start + len(name)
                    if freq.get(name):  # one the dictionary knows: as _known's
                        if _right_slot(text, end, freq, tags) < 0 or _place_like(name):
                            continue
                    elif not _plausible(text, lo + start, end):
                        continue  # 祝好，: a word jieba's HMM made up
                    out.append(_result(self, lo + start, end, 0.6, "zh_jieba"))
                    seen = end
        return out


# jieba's dictionary counts ordinary words it tags ``nr`` (高清 57, 谢谢 1089, 顾客 1365)
# beside a few famous names (李娜 438); the names of ordinary people it has never seen (its
# HMM finds them), so a word it knows needs a title, a cue or an owned detail instead
_FREQUENT = 1


# 老 / 小 + a surname that is an everyday word, not a way to call someone
_NOT_FAMILIAR = frozenset(
    ("小钱", "小孔", "小方", "小叶", "小石", "小牛", "小熊", "老牛", "小康", "小白", "老赖", "老庄",
     "小苏", "小黎", "小龙", "小毛", "老毛", "小于", "老于", "小时", "小区", "小米", "小心", "小田",
     "小安", "小文", "小常", "老江", "小乔", "小金", "老金", "小温", "老汤", "小汤")
)  # fmt: skip


@functools.cache
def _zh_familiar() -> re.Pattern[str]:
    common = "".join(sorted(zh_common_surnames()))
    return re.compile(rf"[老小阿](?P<s>[{common}])")


_ONE_GIVEN_KIN = re.compile(rf"(?:^|(?<=[：:\s]))(?P<g>[{_HAN}])(?=[姐哥](?:[，,！!：:]|$))")
_SURNAME_SAID = re.compile(rf"(?:姓|复姓)(?P<s>[{_HAN}])")

# roles and relatives a given name follows (客服雨欣, 我老婆春花); what follows a given
# name (思雨姐, 晶晶妈妈, 嘉怡家长, 嘉豪的爸爸)
_ROLE_BEFORE_GIVEN = (
    "客服", "主播", "老公", "老婆", "儿子", "女儿", "闺女", "宝宝", "孩子", "同事", "闺蜜",
    "室友", "表姐", "表妹", "表哥", "表弟", "朋友", "同学", "我是",
    # (2026-12-06, from the tune6 misses) roles at work and in a shop
    "助理", "前台", "私教", "中介", "主管", "摄影师", "化妆师", "我家",
    # (the tune7 misses) 翻译宝音, 婆婆秀云, 男朋友浩然, 团长
    "翻译", "婆婆", "男朋友", "女朋友", "团长", "主持人",
)  # fmt: skip
_KIN_AFTER_GIVEN = (
    "姐", "哥", "妈妈", "爸爸", "家长", "的爸爸", "的妈妈", "酱", "同学",
    # (2026-12-06, from the tune7 misses) 淑珍阿姨, 春生舅舅, 晓彤客服
    "阿姨", "叔叔", "舅舅", "大伯", "奶奶", "爷爷", "客服",
)  # fmt: skip


def _behind(words: Iterable[str]) -> str:
    """A look-behind for any of ``words`` (one per length: a look-behind is of one width)."""
    by_len: dict[int, list[str]] = {}
    for w in words:
        by_len.setdefault(len(w), []).append(w)
    return "|".join(rf"(?<={'|'.join(sorted(ws))})" for _, ws in sorted(by_len.items()))


@functools.cache
def _given_alone_rx() -> tuple[tuple[re.Pattern[str], bool, bool], ...]:
    """(pattern, doubled only, needs a name's end after it) of each slot of
    :meth:`ChineseNameRecognizer._given_alone`."""
    g = rf"(?P<g>[{_HAN}]{{2}})"
    start = rf"(?:^|(?<=[^{_HAN}\d]))"
    kin = "|".join(_KIN_AFTER_GIVEN)
    return (
        (re.compile(rf"(?:^|(?<=[：:])|(?<=——))\s*{g}(?=[，,！!～~])"), False, False),  # greeted
        (re.compile(rf"(?:{start}|(?<=[是给找叫问帮@]))\s*{g}(?={kin})"), False, False),
        (re.compile(rf"(?:{_behind(_ROLE_BEFORE_GIVEN)}){g}"), False, True),  # 客服雨欣
        (re.compile(rf"(?<=@){g}"), False, True),  # mentioned: @晓彤
        (re.compile(rf"(?<=[\"“「『]){g}(?=[\"”」』])"), False, False),  # quoted: "海燕"撤回了
        (re.compile(rf"(?:——|—|--)\s*{g}\s*$"), False, False),  # a signature
        (re.compile(rf"(?:{start}|(?<=[给让叫和跟帮找]))(?P<g>([{_HAN}])\2)"), True, True),
    )


# 小 / 阿 and one given name's character, where a name ends (小雅的, 阿亮人超好); 小 where a
# name starts too (从小, 大小: 小 ends a word)
_PET_ONE = re.compile(rf"(?:(?:^|(?<=[^{_HAN}\d])|(?<=[叫个是给找让和跟的]))小|阿)(?P<g>[{_HAN}])")


_EN_GREETING = re.compile(
    rf"(?<![A-Za-z])(?i:dear|hi|hello|hey|thanks|thank you|best|regards|cheers|attn)"
    rf"[,，:：!！]?\s*(?P<g>[{_HAN}]{{2,4}})(?![{_HAN}])"
)
_SPEAKER = re.compile(rf"(?:^|(?<=[^{_HAN}\d]))(?P<g>[{_HAN}]{{2}})(?=[：:])")


def _given_alone_ok(word: str, floor: float | None = None) -> bool:
    """Whether two characters read as a given name standing alone: not a word the
    dictionary counts often (100 times: 妈妈, 顾客, 刚刚; 浩然 38, 晨曦 65 are names
    enough), no character no given name has, and both characters common in given names
    (:func:`_given_weights` at least 2: 浩, 然, 雨, 欣, not 客, 统), or one doubled
    that names have at all (朵朵, 苗苗: 0.4; not 亲亲)."""
    freq, _ = _jieba_dicts()
    if freq.get(word, 0) >= 100 or any(c in _NEVER_GIVEN for c in word):
        return False
    weights = _given_weights()
    if floor is None:
        floor = 0.4 if word[0] == word[1] else 2.0
    return min(weights.get(c, _UNSEEN) for c in word) >= floor


# what a person does, said right after the name that starts a clause
_PERSON_VERBS = (
    "说", "问", "称", "表示", "反馈", "反映", "要求", "已经", "已", "来电", "打电话", "投诉",
    "申请", "确认", "签收", "负责", "汇报", "回复", "留言", "下单", "在评价",
)  # fmt: skip


@functools.cache
def _zh_subject() -> re.Pattern[str]:
    sur = _any_surname_rx()
    verbs = "|".join(sorted(_PERSON_VERBS, key=len, reverse=True))
    return re.compile(
        rf"(?:^|(?<=[，。；！？：,.;!?:\s】\]]))(?P<n>{sur}[{_HAN}]{{1,2}}?)(?=(?:{verbs}))"
    )


_LIST_SEP = "、 \t|\u3000（）()【】;；/"


def _zh_lists(text: str) -> list[list[tuple[int, int]]]:
    """Lists in ``text``: runs of items (Chinese characters, a middle dot inside) that
    only list separators part, as (start, end) spans; a list has two items at least. A
    number or a code between separators (a table's cell: ``| 11-04 | 夏侯文 | 640 |``)
    goes on the list without being an item."""
    lists: list[list[tuple[int, int]]] = []
    cur: list[tuple[int, int]] = []
    for m in re.finditer(rf"[{_HAN}{_DOTS}]+|[{_LIST_SEP}]+|[A-Za-z0-9:./-]+|.", text):
        tok = m.group()
        if _is_han(tok[0]):
            cur.append(m.span())
        elif cur and (tok[0] in _LIST_SEP or (tok[0].isascii() and tok[0].isalnum())):
            continue  # a separator; a number or a code is a table's cell, no name
        else:
            if len(cur) >= 2:
                lists.append(cur)
            cur = []
    if len(cur) >= 2:
        lists.append(cur)
    return lists


@functools.cache
def _any_surname_rx() -> str:
    """:func:`_surname_rx` over every surname, single and compound."""
    return _surname_rx("|".join(zh_compound_surnames()), "".join(sorted(zh_surnames())))


def _surname_rx(compounds: str, singles: str) -> str:
    """A compound surname of ``compounds`` (``|``-joined) or one of ``singles``, behind a
    look-ahead for their first characters: ``re`` tries every alternative of an
    alternation at every position, a character class it checks at once."""
    if not compounds:
        return rf"[{singles}]"
    first = "".join(sorted(set(singles) | {c[0] for c in compounds.split("|")}))
    return rf"(?=[{first}])(?:{compounds}|[{singles}])"


@functools.cache
def _zh_candidate() -> re.Pattern[str]:
    """A common surname (or a compound one), or a rare one where a name can start."""
    common = "".join(sorted(zh_common_surnames()))
    rare = "".join(sorted(zh_surnames() - zh_common_surnames()))
    compounds = "|".join(zh_compound_surnames())
    sur = _surname_rx(compounds, common)
    return re.compile(rf"(?:{sur}|{_slot_before()}[{rare}])(?=[{_HAN}])")


def _slot_before() -> str:
    """A look-behind for where a name can start without a title or cue: at the start,
    after anything but Chinese, a digit (a measure word or unit starts there: 第3项内容,
    228元以内) or a placeholder (<PERSON_1>来取件), or after a word that comes before a
    person (给, 通知)."""
    one = "".join(sorted(_BEFORE_NAME))
    # a look-behind must be of one width: one per length of the words
    longer = "".join(
        rf"|(?<={'|'.join(sorted(w for w in _BEFORE_NAME_2 if len(w) == n))})"
        for n in sorted({len(w) for w in _BEFORE_NAME_2})
    )
    return rf"(?:^|(?<=[^{_HAN}\d>])|(?<=[{one}]){longer})"


@functools.cache
def _zh_standalone() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A surname and one or two Chinese characters with no Chinese around them; a surname
    and a doubled character (汪洋洋)."""
    sur = _any_surname_rx()
    # (not after a placeholder: 通知<PERSON_1>来取件 goes on after a name)
    alone = re.compile(rf"(?<![{_HAN}>])(?P<n>{sur}[{_HAN}]{{1,2}})(?![{_HAN}])")
    doubled = re.compile(rf"(?P<n>{sur}(?P<a>[{_HAN}])(?P=a))")
    return alone, doubled


# what comes just before a name that has no title or cue: 给 / 让 / 通知 / 转告 … 王芳
_BEFORE_NAME = frozenset("给叫找问替帮让请和跟与同是被由向对把")
_BEFORE_NAME_2 = frozenset(
    ("通知", "转告", "交给", "转交", "告诉", "提醒", "联系", "抄送", "访客", "会员", "同事",
     "朋友", "今天", "昨天", "明天", "刚才", "已经",
     # (2026-12-02, from tune misses) a role or a relative before the name: 快递员瞿建军,
     # 我女儿满欣怡, 法务党振宇, 请核实郗雨婷的…
     "快递员", "配送员", "店长", "师傅", "法务", "财务", "女儿", "儿子", "老公", "老婆",
     "妈妈", "爸爸", "核实")
)  # fmt: skip


def _ends_name(text: str, e: int) -> bool:
    """Whether a name can end at ``e``: at the end, before anything but Chinese, or
    before a character that follows names (说, 的, 打, 反馈's 反 is not one: 签收, 申请)."""
    return e >= len(text) or not _is_han(text[e]) or text[e] in _BREAK or text[e] in _AFTER_NAME


# characters that start the verbs after a name in a support text (反馈, 申请, 签收, 投诉 …),
# a time or a count (今天, 第二次, 两位) or 本人; (2026-12-06) 负责, 汇报, 带
_AFTER_NAME = frozenset("反申签投提注催刚回今昨第两本负汇带")


# adverbs that are surnames too, right after a cue word (顾客都说, 用户也要)
_ADVERBS = frozenset("都也还就才又再")
# what follows a place, not a person (东方明珠附近, 王府井旁边)
_PLACE_AFTER = ("附近", "旁边", "对面", "门口", "一带", "周边", "站", "路", "街", "广场", "大厦")


# the doubled endings of descriptive words (金灿灿, 黄澄澄, 毛茸茸), not of given names
_ABB = frozenset(
    ("灿灿", "澄澄", "乎乎", "花花", "茫茫", "彤彤", "茸茸", "呵呵", "喷喷", "蒙蒙", "甸甸",
     "糟糟", "漉漉", "吞吞", "荡荡", "悄悄", "冰冰", "飕飕", "油油", "汪汪", "溜溜", "嘟嘟",
     "滚滚", "腾腾", "森森", "沉沉", "巴巴", "兮兮", "哄哄", "叨叨", "闷闷", "绒绒")
)  # fmt: skip


# characters a place's name ends in, not a person's (高铁站, 体育馆, 商场)
_PLACE_END = frozenset("站路街场馆厦店厂村镇区县市省仓港岛湾寺庙")


def _doubled_word(word: str) -> bool:
    """A surname's character doubled (毛毛虫, 常常) or an ABB word (金灿灿)."""
    return len(word) >= 2 and (word[0] == word[1] or word[-2:] in _ABB)


def _before_place(text: str, e: int) -> bool:
    return text.startswith(_PLACE_AFTER, e)


def _common_word(word: str, at_least: int) -> bool:
    """Whether jieba's dictionary counts ``word`` ``at_least`` times and tags it no name
    (员工, 暴雨, 方便; not 李娜, 文明: words it tags ``nr``)."""
    freq, tags = _jieba_dicts()
    return freq.get(word, 0) >= at_least and not tags.get(word, "").startswith("nr")


def _in_word(text: str, s: int, e: int) -> bool:
    """Whether the name-shaped ``text[s:e]`` is part of a word jieba's dictionary counts
    often: the surname ends the word before it (小区门口: 区), or the span is a word
    that is no name (那边)."""
    freq, _ = _jieba_dicts()
    if s > 0 and freq.get(text[s - 1 : s + 1], 0) >= 50:
        return True
    return _common_word(text[s:e], 5)


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _wordlike(prefix: str, freq: dict[str, int], tags: dict[str, str]) -> bool:
    """Whether ``prefix`` (a name's first two characters) is a word jieba's dictionary
    counts often, or counts at all and does not tag as a name: 保温, 陈列, 宋体 (not 韦小,
    晏子: names' starts it counts a few times)."""
    f = freq.get(prefix, 0)
    return f >= 50 or (f >= 5 and not tags.get(prefix, "").startswith("nr"))


# jieba's tags of common nouns (not nr, a name; nz, 建华 and 振华 are tagged one)
_NOUNS = frozenset(("n", "ng", "nt", "ns"))
# characters no given name holds: particles, pronouns, question words
# (and 氏: 张氏, 邵氏 are a family's name, 王李氏 a wife's in jieba's list of names)
_NEVER_GIVEN = frozenset("的了是在吗呢吧啊么着过和与或及你我他她它们这那哪谁什怎氏")
# a character the dictionary of names never has in a given name
_UNSEEN = -3.0
# a character of a given name of _given's scores at least this (比 -1.6, 然 -1.4 but
# zh_given_chars has it)
_RARE_IN_NAMES = -1.5
# the sum of the given name's score and its context's (_left_slot, _right_slot) that makes
# a name: a given name of ordinary characters needs a name's start and end on both sides
# (by the given name's length: a surname and one character is an everyday word's shape
# too, 2-character names need a given-name character and a name's place on both sides)
_GIVEN_THRESHOLD = {2: 3.0, 1: 5.0}


@functools.cache
def _given_weights() -> dict[str, float]:
    """How much more often a character is in a given name than in text, as a log ratio:
    given names are the last two characters of the 3-character words jieba's dictionary
    tags ``nr`` that start with a common surname (its list of names: 王安石, 李秀英, and
    many an ordinary one), text its words weighted by their counts; the characters of
    Faker's given names and of recent ones (:func:`~.lexicon.zh_given_chars`) at least
    2.5. Built once per process."""
    freq, tags = _jieba_dicts()
    common = zh_common_surnames()
    named: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for word, f in freq.items():
        if not f:
            continue
        for c in word:
            seen[c] += f
        if len(word) == 3 and word[0] in common and tags.get(word) == "nr":
            named.update(word[1:])
    n_named, n_seen = sum(named.values()) or 1, sum(seen.values()) or 1
    out = {
        c: math.log((k + 0.5) / n_named) - math.log((seen[c] + 50) / n_seen)
        for c, k in named.items()
    }
    for c in zh_given_chars():
        out[c] = max(out.get(c, _UNSEEN), 2.5)
    for c in _NEVER_GIVEN:
        out[c] = _UNSEEN
    return out


def _in_idiom(text: str, s: int, e: int, freq: dict[str, int]) -> bool:
    """Whether a word of four characters that jieba's dictionary holds covers
    ``text[s:e]`` (张冠李戴, 马马虎虎: idioms that start with or hold a surname)."""
    return any(
        freq.get(text[i : i + 4], 0) > 0 for i in range(max(0, e - 4), s + 1) if i + 4 <= len(text)
    )


def _married_surname(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a husband's surname before a married woman's name: a common
    surname that is not an everyday word (和, 向), where a name can start (no Chinese
    before it)."""
    return (
        text[i] in zh_common_surnames()
        and text[i] not in _WEAK_SURNAMES
        and (i == 0 or not _is_han(text[i - 1]))
    )


@functools.cache
def _zh_spaced() -> re.Pattern[str]:
    sur = _any_surname_rx()
    return re.compile(rf"(?<![{_HAN}])(?P<s>{sur})[ \u3000](?P<g>[{_HAN}]{{1,2}})")


# Names of China's minorities as written in Han characters (2026-12-03, from the tune4
# misses): Uyghur and other Turkic names whose parts a middle dot joins (阿依古丽·买买提),
# where both parts are of the characters such transliterations use; and Tibetan,
# Mongolian and Uyghur names of two or three common name words with no dot (扎西多吉,
# 巴图孟和, 阿不都热合曼, 买买提江), none of which is a surname or an everyday word.
_DOTS = "·•・‧"
_TRANSLITERATION = frozenset(
    "阿艾爱安昂奥巴拜班贝本比毕宾波伯博布查达戴丹道德迪蒂丁东都杜敦多厄恩尔法凡菲费芬弗"
    "伏福夫盖甘冈戈格古哈海汉罕汗豪赫黑亨胡霍基吉加贾杰金卡凯坎康考柯科克肯库拉莱兰朗"
    "劳勒雷蕾里丽莉利力林琳娜纳奈南内尼妮努诺欧帕潘佩皮普奇齐恰乔切丘热日茹瑞萨塞桑森"
    "沙莎山尚舍什斯松苏索塔泰坦汤特提图托瓦万旺威维温沃乌吾西希夏谢辛休雅亚扬耶伊依尤"
    "玉约扎泽詹兹祖买吐逊合曼木江孜娅甫素姆麦米明莫穆默马玛迈满梅门蒙孟鲁伦罗洛隆卢列"
    "廷则仁次旦增卓嘎措央宗白顿珠益贡强曲珍边群培土登琼庆才让青卜不"
    # (2026-12-06, from the tune5 and tune6 misses) of European names: 彼得, 约翰,
    # 史密斯, 朱丽叶, 安德烈, 大卫
    "彼得翰史密叶朱芙露瑟琪薇娃烈卫大"
)
_MINORITY_PARTS = (  # space-separated
    # Tibetan
    "扎西 次仁 格桑 旦增 丹增 卓玛 多吉 多杰 罗布 央金 德吉 平措 拉姆 央宗 普布 尼玛 达瓦 "
    "达娃 索朗 索南 顿珠 白玛 益西 仁增 贡布 洛桑 强巴 曲珍 措姆 拉巴 边巴 米玛 巴桑 群培 "
    "阿旺 土登 桑布 次旦 琼达 德庆 卓嘎 玉珍 梅朵 才让 才旦 仁青 泽仁 嘉措 加措 拉珍 旺姆 "
    "旺堆 次珍 贡嘎 桑珠 曲措 欧珠 朗杰 "
    # Mongolian
    "巴图 孟和 巴特尔 额尔敦 其其格 斯琴 图雅 那仁 苏和 宝音 朝鲁 敖登 格日勒 哈斯 毕力格 "
    "特木尔 阿拉坦 萨仁 娜仁 乌云 高娃 塔娜 满都拉 巴雅尔 "
    # Uyghur, Kazakh
    "买买提 麦麦提 阿不都 阿布都 阿卜杜 阿卜杜拉 热合曼 吐尔逊 努尔 艾力 艾买提 艾合买提 "
    "阿依 古丽 迪丽 热依拉 帕提 艾尔肯 阿里木 阿力木 吾买尔 依明 玉素甫 卡德尔 伊力哈木 "
    "亚森 肉孜 托合提 库尔班 再努尔 阿迪力 艾尼 艾山 阿布拉 热娜 古力"
)


@functools.cache
def _zh_minority() -> tuple[re.Pattern[str], re.Pattern[str]]:
    dotted = re.compile(rf"(?P<a>[{_HAN}]{{1,8}})[{_DOTS}](?P<b>[{_HAN}]{{1,8}})")
    words = set(_MINORITY_PARTS.split())
    # (a look-ahead for the words' first characters: re tries an alternation's every
    # branch at every position, a character class at once, as in _surname_rx)
    first = "".join(sorted({w[0] for w in words}))
    part = "|".join(sorted(words, key=lambda w: (-len(w), w)))
    parts = re.compile(
        rf"(?=[{first}])(?:(?:{part})(?:{part}){{1,2}}(?:江|汗)?|(?:{part})(?:江|汗))"
    )
    return dotted, parts


def _minority_names(rec: ChineseNameRecognizer, text: str) -> list[RecognizerResult]:
    """Minority names (see :data:`_MINORITY_PARTS`): a dotted one from the longest run of
    transliteration characters on each side of the dot (two at least), or a run of name
    words."""
    out: list[RecognizerResult] = []
    dotted, parts = _zh_minority()
    has_dot = any(d in text for d in _DOTS)
    for m in dotted.finditer(text) if has_dot else ():
        left, right = m.group("a"), m.group("b")
        k = len(left)
        while k > 0 and left[k - 1] in _TRANSLITERATION:
            k -= 1
        j = 0
        while j < len(right) and right[j] in _TRANSLITERATION:
            j += 1
        if len(left) - k >= 2 and j >= 2:
            out.append(_result(rec, m.start("a") + k, m.start("b") + j, 0.85, "zh_dotted"))
        # a foreign given name and a Chinese surname (詹姆斯·李, 玛丽亚·陈)
        elif len(left) - k >= 2 and j < 2 and right[0] in zh_surnames():
            out.append(_result(rec, m.start("a") + k, m.start("b") + 1, 0.85, "zh_dotted"))
    for m in parts.finditer(text):
        out.append(_result(rec, m.start(), m.end(), 0.85, "zh_minority"))
    return out


def _place_like(word: str) -> bool:
    """A city or a word that ends like a place's name (秦皇岛, 高铁站)."""
    return word in _zh_place_set() or word[-1] in _PLACE_END


def _plausible(text: str, s: int, e: int) -> bool:
    """Whether ``text[s:e]``, found without a cue, reads as a name by its given name's
    characters and what follows it: not 祝好， (好 is no given name's), 戴森吹风机 (a
    noun follows)."""
    if text[s : s + 2] in _compound_set():
        return True  # a compound surname says enough (公孙离)
    weights = _given_weights()
    given = text[s + 1 : e]
    if not given:
        return True
    freq, tags = _jieba_dicts()
    score = sum(weights.get(c, _UNSEEN) for c in given) / len(given)
    return score + _right_slot(text, e, freq, tags) >= _PLAUSIBLE


# (the least sum of _plausible's: a given name of ordinary characters before a verb or
# a particle, 柴进说; not a brand before a noun, 戴森吹风机)
_PLAUSIBLE = 1.25


@functools.cache
def _compound_set() -> frozenset[str]:
    return frozenset(zh_compound_surnames())


@functools.cache
def _zh_any_surname() -> re.Pattern[str]:
    return re.compile(rf"{_any_surname_rx()}(?=[{_HAN}])")


def _left_slot(text: str, s: int, freq: dict[str, int]) -> int:
    """How well a name can start at ``s``: 2 at the start, after anything but Chinese or
    after a word that comes before a person (:func:`_slot_before`), 1 after any other
    character, -1 where the surname's character ends a word (关于, 小区) or the one
    before it is a digit (第3项)."""
    if s == 0:
        return 2
    prev = text[s - 1]
    if not _is_han(prev):
        return -1 if prev.isdigit() or prev == ">" else 2
    if freq.get(text[s - 1 : s + 1], 0) >= 5 or freq.get(text[s - 2 : s + 1], 0) >= 5:
        return -1
    if (
        prev in _BEFORE_NAME
        or text[s - 2 : s] in _BEFORE_NAME_2
        or text[s - 3 : s] in _BEFORE_NAME_2
    ):
        return 2
    return 1


# the tags of the words that follow a name: a verb, an adverb, a preposition, a
# conjunction, a particle, a time, a pronoun, a number, a locality, an adjective (jieba
# tags 重新 one)
_AFTER_TAGS = frozenset("vdpcutrmfya")


def _right_slot(text: str, e: int, freq: dict[str, int], tags: dict[str, str]) -> int:
    """How well a name can end at ``e``: 2 at the end, before anything but Chinese or a
    character that follows names (:func:`_ends_name`), 1 before a word the dictionary
    tags as a verb, an adverb, a time ... (明天, 处理, 一起, 已经), else -1."""
    if _ends_name(text, e):
        return 2
    for n in (3, 2):
        nxt = text[e : e + n]
        if len(nxt) == n and freq.get(nxt, 0) >= 5:
            return 1 if tags.get(nxt, "x")[0] in _AFTER_TAGS else -1
    # a verb of one character (查一下: 查)
    return 1 if tags.get(text[e : e + 1], "x")[0] == "v" else -1


@functools.cache
def _en_city_set() -> frozenset[str]:
    return frozenset(c.lower() for c in en_cities())


@functools.cache
def _zh_place_set() -> frozenset[str]:
    return frozenset(zh_places())


@functools.cache
def _jieba() -> Any:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.posseg


def _jieba_module() -> Any:
    _jieba()
    import jieba

    return jieba


@functools.cache
def _jieba_dicts() -> tuple[dict[str, int], dict[str, str]]:
    """jieba's word frequencies and its dictionary's POS tags (the same objects for the
    process: cached, as it is called at every candidate)."""
    posseg = _jieba()
    return posseg.dt.tokenizer.FREQ, posseg.dt.word_tag_tab


@functools.cache
def _known_names() -> tuple[frozenset[str], frozenset[str], re.Pattern[str]]:
    """The names jieba's dictionary tags ``nr`` / ``nrfg`` that ``_known`` finds: 4
    characters after a compound surname, 3 after any surname, none with a character
    that follows names in its given name; and a pattern of the characters they start
    with. Built once per process (a dict look-up per surname character of every text
    was a tenth of the build's de-identification time)."""
    freq, tags = _jieba_dicts()
    surnames, compounds = zh_surnames(), frozenset(zh_compound_surnames())
    four: set[str] = set()
    three: set[str] = set()
    for word, tag in tags.items():
        if tag not in ("nr", "nrfg") or not freq.get(word) or len(word) not in (3, 4):
            continue
        if any(c in _BREAK for c in word[1:]):
            continue
        if word[:2] in compounds:
            (four if len(word) == 4 else three).add(word)
        elif len(word) == 3 and word[0] in surnames and not _wordlike(word[:2], freq, tags):
            # jieba tags many words nr that start with a surname's character: 宋体字,
            # 孔雀蓝, 陈列柜 (宋体, 孔雀, 陈列 are words; 王安, 杨贵, 鲁智 are not)
            three.add(word)
    first = "".join(sorted({w[0] for w in four | three}))
    return (
        frozenset(four),
        frozenset(three),
        re.compile(f"[{re.escape(first)}]" if first else "(?!)"),
    )


@functools.lru_cache(maxsize=200_000)
def _cut_window(window: str, at: int) -> tuple[tuple[int, str], ...]:
    """(start, word) of jieba's word of ``window`` that starts at ``at``, merged with the
    next word when jieba split a surname from a given name it does not know (郭 + 婷婷)."""
    _, tags = _jieba_dicts()
    words = _jieba_module().lcut(window)
    compounds = zh_compound_surnames()
    out: list[tuple[int, str]] = []
    pos = 0
    for k, w in enumerate(words):
        if pos == at:
            if (len(w) == 1 or w in compounds) and k + 1 < len(words):
                nxt = words[k + 1]
                # not a verb, preposition, particle, conjunction, adverb, pronoun, number
                # (after a compound surname any given name: 公孙 + 离)
                tag = tags.get(nxt, "x")
                if (
                    1 <= len(nxt) <= 2
                    and re.fullmatch(f"[{_HAN}]+", nxt)
                    and (w in compounds or tag[0] not in "vpucdrmq")
                    and not any(c in _BREAK for c in nxt)
                ):
                    w = w + nxt
            out.append((pos, w))
        pos += len(words[k])
    return tuple(out)


def _name_word(word: str, surnames: frozenset[str], compounds: tuple[str, ...]) -> str | None:
    """``word`` when it can be a person's name (see ``_tagged``), else None."""
    freq, tags = _jieba_dicts()
    if len(word) > 2 and word[-1] in _BREAK and freq.get(word):
        return None  # a dictionary word that ends like a name's context: 商品编号, 张杨路
    # jieba's HMM glues a following verb on at times (黄小燕要的 -> 黄小燕要): cut it off
    while len(word) > 2 and word[-1] in _BREAK:
        word = word[:-1]
    if not 2 <= len(word) <= 4 or not re.fullmatch(f"[{_HAN}]+", word):
        return None
    if not (word[0] in surnames or word[:2] in compounds):
        return None
    if any(c in _BREAK for c in word[1:]) or word.endswith(_ZH_TITLES):
        return None
    f = freq.get(word)
    tag = tags.get(word)
    # a name the dictionary knows (杨贵妃, 鲁智深): 3 characters, or 4 after a compound
    # surname (its 2-character "names" are too often words: 高清, 顾客)
    if f and len(word) >= 3 and tag in ("nr", "nrfg") and (len(word) == 3 or word[:2] in compounds):
        if word[:2] not in compounds and _wordlike(word[:2], freq, tags):
            return None  # 宋体字, 孔雀蓝: jieba tags them nr
        return word
    if f and (tag != "nr" or f >= _FREQUENT):
        return None  # a dictionary word (高度, 马上), or a name-tagged word it counts (谢谢)
    return word


def _cue_boundary(text: str, s: int, sur_len: int) -> int | None:
    """Where jieba ends the word at ``s`` (a cue's name), if it is a name-sized word."""
    words = _jieba_module().lcut(text[s : s + sur_len + 4])
    if words and sur_len < len(words[0]) <= sur_len + 2:
        return s + len(words[0])
    return None
