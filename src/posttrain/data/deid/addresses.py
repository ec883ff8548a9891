"""Postal addresses, English and Chinese, as Presidio pattern recognizers.

English (:class:`EnglishAddressRecognizer`): a house number, one to four street-name
words and a street suffix (Faker ``en_US``'s list: ``Road``, ``Rd``, ``Terrace`` ...),
then what follows an address line: a unit (``Apt 5``, ``Unit 3-02``, ``#15-01``,
``Suite 200``), a district, city, state and postcode (US ZIP, UK, 5-6 digit ones), and a
unit written first (``Flat 3, 12 Station Road``); ``PO Box 1234`` too.

Chinese (:class:`ChineseAddressRecognizer`): the province / city / district / town
chain (``省``, ``市``, ``区``/``县``, ``镇``/``街道``) before a road and number
(``张杨路100号``) or a residential estate (``阳光花园小区``), then building, unit and
room (``5栋2单元1201室``). A match starts where the address does: at the first known
province or city in it (Faker ``zh_CN``'s list), else after the last word that precedes
an address (``地址是``, ``寄到``, ``改成``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from presidio_analyzer import RecognizerResult

from posttrain.data.deid.lexicon import common_words, street_suffixes, zh_places
from posttrain.data.deid.names import _result
from posttrain.data.deid.recognizers import ScoredPatternRecognizer, _Spec

__all__ = ["ChineseAddressRecognizer", "EnglishAddressRecognizer"]

_UNIT_WORD = (
    r"(?:Apt\.?|Apartment|Unit|Suite|Ste\.?|Flat|Room|Rm\.?|Floor|Fl\.?|Level|Lvl\.?|"
    r"Bldg\.?|Building|Block|Blk\.?|Tower)"
)
_CAPW = r"(?:[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?|[A-Z]{1,2}\.?|\d{1,3}(?:st|nd|rd|th))"
_POSTCODE = (
    r"(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|\d{5}(?:-\d{4})?|\d{6}|"
    r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})"
)


@functools.cache
def _en_regex() -> re.Pattern[str]:
    suffix = "|".join(re.escape(s) for s in street_suffixes())
    unit_first = rf"(?:{_UNIT_WORD}\s*#?[\w\-]+,?\s+)?"
    street = (
        rf"(?<![\w#\-.])\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?,?\s+(?:{_CAPW}\s+){{0,3}}?"
        rf"{_CAPW}?\s*(?<![A-Za-z])(?:{suffix})\.?(?![A-Za-z])(?:\s+\d{{1,3}}(?![\w\-]))?"
    )
    unit = rf"(?:,?\s*{_UNIT_WORD}\s*#?[\w\-]+|,?\s*#\s?\d+[\w\-]*)?"
    area = rf"(?:,\s*{_CAPW}(?:\s+{_CAPW}){{0,2}}(?=[\s,.;!?)\]}}]|$)){{0,3}}"
    post = rf"(?:,?\s*{_POSTCODE}(?![\w\-]))?"
    box = (
        r"|(?<![A-Za-z])P\.?\s?O\.?\s?Box\s+\d{1,6}"
        # US military mail: PSC 2835, Box 7636, APO AP 73068 / USNS Smith, FPO AE 12345
        r"|(?:(?:PSC|Unit|CMR)\s+\d{3,5},?\s*Box\s+\d{3,5}|US[A-Z]{1,4}\s+[A-Z][a-z]+),?"
        r"\s*(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5}"
    )
    return re.compile(rf"(?:{unit_first}{street}{unit}{area}{post}{box})")


class EnglishAddressRecognizer(ScoredPatternRecognizer):
    """House number + street + suffix, with unit, city and postcode (module docstring)."""

    ENTITY = "ADDRESS"
    TRIGGER_GROUPS = ("num_cap", "mil")
    SPECS = (_Spec("en_address", r"\d+ [A-Z]", 0.9),)

    def analyze(
        self,
        text: str,
        entities: Sequence[str] | None = None,
        nlp_artifacts: object = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        common = common_words()
        out: list[RecognizerResult] = []
        for m in _en_regex().finditer(text):
            s, e = m.span()
            # an area segment that is an ordinary word ("…, Thanks") is not the city
            while True:
                cut = text.rfind(",", s, e)
                tail = text[cut + 1 : e].strip() if cut >= 0 else ""
                if cut < 0 or not tail or tail.split()[0].lower() not in common:
                    break
                e = cut
            out.append(_result(self, s, e, 0.9, "en_address"))
        return out


_HAN = "\u4e00-\u9fff"
_ZH_NUM = "0-9０-９一二三四五六七八九十百"
_ZH_ADMIN = (
    rf"(?:[{_HAN}]{{2,7}}?(?:省|自治区|特别行政区))?(?:[{_HAN}]{{2,6}}?市)?"
    rf"(?:[{_HAN}]{{1,6}}?(?:新区|区|县|旗))?(?:[{_HAN}]{{1,6}}?(?:镇|乡|街道))?"
)
_ZH_ROAD = (
    rf"[{_HAN}{_ZH_NUM}]{{1,10}}?(?:大道|大街|路|街|巷|弄|胡同|道)"
    rf"(?:(?:[{_ZH_NUM}]+段)?[{_ZH_NUM}]+(?:号院|号|弄)|[A-Za-z]座)"
)
# (2026-12-06, from the tune5 to tune7 misses) 城, 院, 里, 村 end an estate's name too
# (万科城, 滨江壹号院, 幸福里, 西新桥二村, 软件园), a phase, a section and a gate may follow it
# (二期, 三区, 南门)
_ZH_ESTATE = (
    rf"[{_HAN}]{{2,10}}?(?:小区|花园|公寓|大厦|家园|新村|社区|苑|广场|中心|城|院|里|村|园)"
    rf"(?:[{_ZH_NUM}]+[期区])?(?:[东南西北]门)?"
)
_ZH_UNIT = (
    rf"(?:[{_ZH_NUM}A-Za-z]+(?:栋|幢|座|号楼|楼|单元|层|室|号|户|房)|[A-Z]座|附[{_ZH_NUM}]+号"
    # building and room joined by a dash after an estate (滨江壹号院3-1802)
    r"|(?<=[区园寓厦村苑场心城院里期])[0-9０-９]{1,3}[-－][0-9０-９]{3,4}(?![0-9０-９]))"
)
# a room number written without 室 after a building, a unit, a house number or a
# building's name (5号楼1203, 3栋-502, 1885弄22号301, 中信广场4201)
_ZH_ROOM = r"(?:(?<=[楼栋幢座元号场厦])[-－]?[0-9０-９]{2,5}(?![0-9０-９]))?"
_ZH_ADDRESS = re.compile(
    rf"{_ZH_ADMIN}(?:{_ZH_ROAD}(?:{_ZH_ESTATE})?{_ZH_UNIT}*|{_ZH_ESTATE}{_ZH_UNIT}+){_ZH_ROOM}"
    r"(?:[ ]?(?<![0-9])[0-9]{6}(?![0-9]))?"  # a postcode after it
)
# words that come before an address, never inside one: the match starts after them
_ZH_LEAD = re.compile(
    r".*(?:地址|住址|寄到|送到|寄往|送往|发到|改到|改成|改为|换成|搬到|住在|位于|在|到|是|为|：|:|，|,|的)"
)


@functools.cache
def _zh_place_regex() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in zh_places()))


class ChineseAddressRecognizer(ScoredPatternRecognizer):
    """省/市/区/路/号 addresses and estates with building and room (module docstring)."""

    ENTITY = "ADDRESS"
    TRIGGER_GROUPS = ("zh_addr",)
    SPECS = (_Spec("zh_address", _ZH_ADDRESS.pattern, 0.85),)

    def analyze(
        self,
        text: str,
        entities: Sequence[str] | None = None,
        nlp_artifacts: object = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _ZH_ADDRESS.finditer(text):
            s, e = m.span()
            place = _zh_place_regex().search(text, s, e)
            if place is not None and place.start() - s <= 8:
                s = place.start()
            else:
                lead = _ZH_LEAD.match(text, s, e)
                if lead is not None and lead.end() < e - 3:
                    s = lead.end()
            out.append(_result(self, s, e, 0.85, "zh_address"))
        return out
