"""Word lists the name and address recognizers look words up in.

Names come from a maintained package: Faker's person providers (MIT licence; the lists
are those its ``en_US``, ``en_GB``, ``en_IN``, ... locales draw fake names from, the
most common given and family names of each country), read straight from the provider
classes, so no generator is instantiated and nothing is downloaded. Chinese surnames are
Faker ``zh_CN``'s, plus the compound surnames it lacks. Street suffixes are Faker
``en_US``'s (``Road``, ``Street``, ``Terrace`` ... with their postal abbreviations),
common English words its ``lorem`` word list, and Chinese provinces and cities its
``zh_CN`` address provider's. The cities of the ``drop`` summary (``an address in
Shanghai``) are a short built-in list of well-known cities: a big city says nothing about
who lives there.

Every list is built once per process (``functools.cache``), lower-cased where looked up
case-insensitively.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "city_in",
    "common_words",
    "en_cities",
    "first_names",
    "last_names",
    "street_suffixes",
    "zh_common_surnames",
    "zh_compound_surnames",
    "zh_given_chars",
    "zh_places",
    "zh_surnames",
]

# Latin-script locales whose given and family names are common in the data we see
# (English-speaking, European, Indian, Filipino, romanised Chinese / Malay names).
_NAME_LOCALES = (
    "en_US",
    "en_GB",
    "en_IE",
    "en_IN",
    "en_PH",
    "en_NZ",
    "fr_FR",
    "de_DE",
    "es_ES",
    "it_IT",
    "pt_BR",
    "nl_NL",
    "tr_TR",
)


def _provider(kind: str, locale: str) -> type | None:
    try:
        module = importlib.import_module(f"faker.providers.{kind}.{locale}")
    except ImportError:
        return None
    provider: type | None = getattr(module, "Provider", None)
    return provider


def _words(values: Iterable[object]) -> set[str]:
    out = set()
    for v in values:
        s = unicodedata.normalize("NFKD", str(v))
        s = "".join(c for c in s if not unicodedata.combining(c)).strip().lower()
        if s and s.replace("-", "").replace("'", "").isalpha() and s.isascii():
            out.add(s)
    return out


def _attrs(provider: type, *names: str) -> list[object]:
    out: list[object] = []
    for name in names:
        value = getattr(provider, name, None)
        if isinstance(value, dict | tuple | list):
            out.extend(value)
    return out


@functools.cache
def first_names() -> frozenset[str]:
    """Given names (lower case, accents stripped), Faker's, of :data:`_NAME_LOCALES`."""
    out: set[str] = set()
    for loc in _NAME_LOCALES:
        p = _provider("person", loc)
        if p is not None:
            out |= _words(_attrs(p, "first_names", "first_names_male", "first_names_female"))
    zh = _provider("person", "zh_CN")
    if zh is not None:  # romanised given names (Wei, Jing, Xiaoming ...)
        out |= _words(_attrs(zh, "first_romanized_names"))
    return frozenset(n for n in out if len(n) > 1)


@functools.cache
def last_names() -> frozenset[str]:
    """Family names (lower case, accents stripped), Faker's, plus romanised Chinese ones."""
    out: set[str] = set()
    for loc in _NAME_LOCALES:
        p = _provider("person", loc)
        if p is not None:
            out |= _words(_attrs(p, "last_names", "last_names_male", "last_names_female"))
    zh = _provider("person", "zh_CN")
    if zh is not None:
        out |= _words(_attrs(zh, "last_romanized_names"))
    return frozenset(n for n in out if len(n) > 1)


@functools.cache
def common_words() -> frozenset[str]:
    """Common English words (Faker ``en_US`` lorem) that a capitalised word may just be."""
    p = _provider("lorem", "en_US")
    words = _words(_attrs(p, "word_list")) if p is not None else set()
    return frozenset(words | _EXTRA_COMMON)


# Capitalised words of shop talk that are also someone's name somewhere.
_EXTRA_COMMON = frozenset(
    [
        "pro",
        "max",
        "plus",
        "mini",
        "ultra",
        "lite",
        "air",
        "gold",
        "silver",
        "rose",
        "black",
        "white",
        "grey",
        "gray",
        "blue",
        "red",
        "green",
        "pink",
        "purple",
        "jade",
        "ruby",
        "pearl",
        "amber",
        "ivory",
        "navy",
        "edition",
        "series",
        "express",
        "prime",
        "premium",
        "classic",
        "sport",
        "smart",
        "home",
        "kit",
        "set",
        "pack",
        "case",
        "cover",
        "charger",
        "cable",
        "speaker",
        "lamp",
        "light",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "christmas",
        "easter",
        "black",
        "friday",
        "day",
        "night",
        "customer",
        "service",
        "support",
        "team",
        "store",
        "shop",
        "order",
        "delivery",
        "refund",
        "return",
        "dear",
        "hi",
        "hello",
        "thanks",
        "thank",
        "regards",
        "best",
        "sir",
        "madam",
        "mr",
        "mrs",
        "ms",
        "dr",
    ]
)


_ABBREV = (
    "St",
    "Rd",
    "Ave",
    "Av",
    "Blvd",
    "Ln",
    "Dr",
    "Ct",
    "Pl",
    "Hwy",
    "Pkwy",
    "Ter",
    "Cres",
    "Sq",
    "Cir",
    "Expy",
    "Fwy",
    "Trl",
    "Jalan",
    "Jln",
)


@functools.cache
def street_suffixes() -> tuple[str, ...]:
    """Street suffixes (``Road``, ``Rd``, ``Terrace`` ...), longest first, for a regex."""
    p = _provider("address", "en_US")
    got = {str(s) for s in _attrs(p, "street_suffixes")} if p is not None else set()
    got |= {"Road", "Street", "Avenue", "Lane", "Drive", "Way", "Terrace", "Close", "Crescent"}
    got |= {"Boulevard", "Court", "Place", "Square", "Highway", "Walk", "Row", "Gardens"}
    got |= set(_ABBREV)
    return tuple(sorted((s for s in got if s.isalpha()), key=lambda s: (-len(s), s)))


@functools.cache
def zh_surnames() -> frozenset[str]:
    """Single-character Chinese surnames (Faker ``zh_CN``'s)."""
    p = _provider("person", "zh_CN")
    got = {str(s) for s in _attrs(p, "last_names")} if p is not None else set()
    # (訾, 郦, 濮, 郗 ...: surnames of the Hundred Family Surnames that Faker's list lacks,
    # characters that are hardly ever the start of an everyday word, or (暴, 堵, 苍) only of
    # words jieba counts: 暴雨, 堵车, 苍蝇)
    return frozenset(s for s in got if len(s) == 1) | frozenset(
        "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗訾郦濮郗郏隗宓逄郤璩厍乜蒯钭邴钮暴堵苍"
        # (2026-12-02, fourth pass) more of the Hundred Family Surnames, of the same kind
        "庹眭籍牧酆贲荀羿汲糜蓟鄂莘庾暨殳夔竺桓宦"
        # and 闫 (a common variant of 阎), 雒, 綦
        "闫雒綦"
        # (2026-12-03, from the tune4 misses) 禤 (Cantonese), 麴, 仉, 笪
        "禤麴仉笪"
        # (2026-12-06, from the tune5 misses) 贝, 丘, 凤, and 肖 and 付 (the common
        # simplified forms of 萧 and 傅, among the hundred most common surnames), 寿; (the
        # tune7 misses) 滑, 佴
        "贝丘凤肖付寿滑佴"
    )


@functools.cache
def zh_common_surnames() -> frozenset[str]:
    """The ~120 most frequent single-character surnames (by Faker ``zh_CN``'s weights):
    where a name without a title or cue may start."""
    p = _provider("person", "zh_CN")
    weights = getattr(p, "last_names", None) if p is not None else None
    if isinstance(weights, dict) and weights:
        ranked = sorted((s for s in weights if len(str(s)) == 1), key=lambda s: -float(weights[s]))
        return frozenset(str(s) for s in ranked[:120])
    return frozenset(_FALLBACK_SURNAMES)


_FALLBACK_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)


@functools.cache
def zh_given_chars() -> frozenset[str]:
    """Characters of Chinese given names: Faker ``zh_CN``'s and ``zh_TW``'s given names
    (those written the same in simplified script count), and the characters of given
    names popular since the 1990s that both lists lack (子轩, 梓涵, 雨萱, 若曦 ...): jieba's
    dictionary, the other source of given-name characters, predates them."""
    out: set[str] = set(_MODERN_GIVEN)
    for loc in ("zh_CN", "zh_TW"):
        p = _provider("person", loc)
        if p is not None:
            names = _attrs(p, "first_names", "first_names_male", "first_names_female")
            out |= {c for n in names for c in str(n) if "\u4e00" <= c <= "\u9fff"}
    return frozenset(out)


_MODERN_GIVEN = (
    "轩涵萱梓琪彤曦嫣瑶诺睿泽宸奕辰昊皓铭煜烨沐悦歆妍馨怡欣雯婧琳玥瑾璇珊韵蕊芊茜菲萌"
    "晨卓航凡骏凯豪博翔宇哲瀚钰琦瑞嘉雅静婷颖倩然"
)


@functools.cache
def zh_compound_surnames() -> tuple[str, ...]:
    p = _provider("person", "zh_CN")
    got = {str(s) for s in _attrs(p, "last_names")} if p is not None else set()
    got |= set(
        [
            "欧阳",
            "司马",
            "上官",
            "诸葛",
            "东方",
            "皇甫",
            "尉迟",
            "公孙",
            "慕容",
            "长孙",
            "宇文",
            "司徒",
            "令狐",
            "夏侯",
            "轩辕",
            "端木",
            "南宫",
            "独孤",
            "呼延",
            "赫连",
            "澹台",
            "濮阳",
            "淳于",
            "申屠",
            "闻人",
            "钟离",
            "宗政",
            "拓跋",
            "公冶",
            "万俟",
            "闾丘",
            "左丘",
            "颛孙",
            "太叔",
            # (2026-12-06) more of the Hundred Family Surnames' compound ones
            "东郭",
            "西门",
            "百里",
            "第五",
            "公羊",
            "谷梁",
            "羊舌",
            "巫马",
            "漆雕",
            "乐正",
            "壤驷",
            "公良",
            "拓拔",
            "亓官",
            "夹谷",
            "宰父",
            "段干",
            "东门",
            "梁丘",
            "公西",
        ]
    )
    return tuple(sorted((s for s in got if len(s) == 2), key=lambda s: (-len(s), s)))


_ZH_PROVINCES = [
    "广东", "江苏", "浙江", "山东", "河南", "河北", "湖南", "湖北", "四川", "福建", "安徽",
    "江西", "辽宁", "吉林", "黑龙江", "山西", "陕西", "甘肃", "青海", "云南", "贵州", "海南",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆",
]  # fmt: skip
_ZH_EXTRA_PLACES = [
    *_ZH_PROVINCES,
    "北京",
    "上海",
    "天津",
    "重庆",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "长沙",
    "青岛",
    "厦门",
    "宁波",
    "郑州",
    "济南",
    "沈阳",
    "大连",
    "哈尔滨",
    "长春",
    "合肥",
    "福州",
    "昆明",
    "南宁",
    "贵阳",
    "南昌",
    "太原",
    "石家庄",
    "兰州",
    "乌鲁木齐",
    "呼和浩特",
    "海口",
    "三亚",
    "珠海",
    "东莞",
    "佛山",
    "无锡",
    "常州",
    "温州",
    "绍兴",
    "嘉兴",
    "金华",
    "台州",
    "香港",
    "澳门",
    "台北",
]


@functools.cache
def zh_places() -> tuple[str, ...]:
    """Chinese provinces and cities (Faker ``zh_CN``'s and well-known ones), longest first."""
    p = _provider("address", "zh_CN")
    got: set[str] = set(_ZH_EXTRA_PLACES)
    if p is not None:
        for v in _attrs(p, "provinces", "cities", "city_names"):
            s = str(v).removesuffix("市").removesuffix("省")
            if 2 <= len(s) <= 8:
                got.add(s)
    return tuple(sorted(got, key=lambda s: (-len(s), s)))


_EN_CITIES = (
    "Shanghai Beijing Shenzhen Guangzhou Hangzhou Chengdu Wuhan Nanjing Suzhou Xiamen Xi'an "
    "Chongqing Tianjin Qingdao Changsha Kunming Dalian Ningbo Hefei Fuzhou Harbin Shenyang "
    "Singapore|Hong Kong|Kuala Lumpur|Taipei|Macau|Tokyo|Osaka|Seoul|Bangkok|Manila|Jakarta|"
    "Hanoi|Mumbai|Delhi|New Delhi|Bangalore|Bengaluru|Chennai|Dubai|London|Manchester|"
    "Birmingham|Edinburgh|Dublin|Paris|Berlin|Munich|Madrid|Barcelona|Rome|Milan|Amsterdam|"
    "Brussels|Vienna|Zurich|Stockholm|Oslo|Copenhagen|Lisbon|Prague|Warsaw|Istanbul|Moscow|"
    "New York|Los Angeles|San Francisco|Chicago|Seattle|Boston|Houston|Dallas|Austin|Miami|"
    "Atlanta|Denver|Phoenix|Philadelphia|Washington|Toronto|Vancouver|Montreal|Sydney|"
    "Melbourne|Brisbane|Perth|Auckland|Wellington|Cape Town|Johannesburg|Cairo|Lagos|Nairobi|"
    "Sao Paulo|Rio de Janeiro|Buenos Aires|Mexico City|Lima|Santiago|Bogota"
)


@functools.cache
def en_cities() -> tuple[str, ...]:
    """Well-known cities (English names), longest first."""
    head, _, rest = _EN_CITIES.partition("Singapore")
    names = head.split() + ("Singapore" + rest).split("|")
    return tuple(sorted(names, key=len, reverse=True))


@functools.cache
def _en_city_regex() -> re.Pattern[str]:
    alts = "|".join(re.escape(n) for n in en_cities())
    return re.compile(rf"(?<![A-Za-z])({alts})(?![A-Za-z])")


@functools.cache
def _zh_city_regex() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in zh_places()))


def city_in(value: str, zh: bool) -> str | None:
    """The well-known city (or province) named in an address, if any (the last one)."""
    if zh:
        m = _zh_city_regex().search(value)
        return m.group(0) if m else None
    found = _en_city_regex().findall(value)
    return found[-1] if found else None
