"""``policy_facts``: the figures and product properties an answer states are the contract's.

A clause gives the product's policy facts as data (``facts``: each a topic with its cue
words, the values the contract allows and their unit: ``day`` / ``hour`` / ``week`` /
``month`` / ``year`` durations, ``money`` amounts or ``clock`` times) and, optionally, a
vocabulary of product claims (``claims``: property -> regexes) and the workspace's product
catalogue (``catalog``: a JSONL file of ``{name, url, price, aliases?, properties?}``).

The answer fails when a sentence that names a topic (one of its cues) states a figure of
that topic's kind the contract does not allow ("returns within 90 days" when the contract
says 30; "refunds within an hour" when it says 3-5 business days), or claims a property of
a catalogue product that its entry does not list ("fully waterproof"), or denies one it
does list ("it only vacuums, there's no mopping" for a vacuum-and-mop robot). Figures the
user wrote themselves (in the prompt or context) are theirs, not the answer's claims, and
are not judged. A sentence that names no topic, and a claim about no catalogue product,
is not judged: the check says what is wrong, never what is missing.

The catalogue also holds the store's yes/no policy facts (none are checked without a
catalogue file), one a line
(``{"fact": "cash_on_delivery", "holds": false, "yes": [...], "no": [...], "except": [...]}``;
:class:`YesNoFact`): ``yes`` are regexes of sentences that say the fact holds ("we accept
cash on delivery"), ``no`` of sentences that say it does not ("opened items can't be
returned"). An answer fails when a sentence says the opposite of ``holds``, unless the
sentence names one of the ``except`` words (it speaks of the exception: "opened
cosmetics can't be returned" is right where opened items in general can be).
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from posttrain.checks.base import Sample, Verdict, register_check

__all__ = [
    "CatalogError",
    "CatalogItem",
    "PolicyFact",
    "YesNoFact",
    "load_catalog",
    "load_yes_no_facts",
    "mentioned_products",
    "policy_facts",
]

Unit = Literal["hour", "day", "week", "month", "year", "money", "clock"]
_HOURS = {"hour": 1.0, "day": 24.0, "week": 168.0, "month": 730.0, "year": 8760.0}


class PolicyFact(BaseModel):
    """One figure of the contract's policies, e.g. the return window of 30 days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    cues: list[str] = Field(min_length=1)  # words that name the topic (case-insensitive)
    values: list[float | str] = Field(min_length=1)  # "09:00" for clock facts
    unit: Unit
    # values [3, 5] with between: any figure from 3 to 5 ("refunds take 4 days") is right
    between: bool = False

    def allows(self, value: float | str) -> bool:
        kind, allowed = _allowed(self)
        if self.between and kind != "clock" and isinstance(value, float):
            nums = [float(v) for v in allowed]
            return min(nums) <= value <= max(nums)
        return value in allowed


class CatalogItem(BaseModel):
    """One line of ``data/catalog.jsonl``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://\S+$")
    price: float = Field(gt=0)
    lang: Literal["en", "zh"] = "en"
    category: str = ""
    aliases: list[str] = Field(default_factory=list)
    properties: list[str] = Field(default_factory=list)


class YesNoFact(BaseModel):
    """A yes/no policy of the store, a ``fact`` line of the catalogue (see the module
    docstring): "can I pay cash on delivery?" has one right answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fact: str = Field(min_length=1)
    holds: bool
    yes: list[str] = Field(default_factory=list)  # regexes: says the fact holds
    no: list[str] = Field(default_factory=list)  # regexes: says it does not
    # words that name an exception to the fact: a sentence with one is not judged
    except_: list[str] = Field(default_factory=list, alias="except")

    @field_validator("yes", "no")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for rx in v:
            try:
                re.compile(rx)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {rx!r}: {exc}") from None
        return v

    def contradicted_by(self, sentence: str) -> str | None:
        """The words of ``sentence`` that say the opposite of the fact, or None."""
        low = sentence.lower()
        if any(w.lower() in low for w in self.except_):
            return None
        for rx in self.no if self.holds else self.yes:
            m = re.search(rx, sentence)
            if m is not None:
                return m.group(0)
        return None


_FACTS = TypeAdapter(list[PolicyFact])
_CLAIMS = TypeAdapter(dict[str, list[str]])

# --- figures -----------------------------------------------------------------------------

_EN_NUM = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fourteen": 14,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
_ZH_DIGIT = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_EN_UNIT = {
    "hour": "hour",
    "hr": "hour",
    "day": "day",
    "week": "week",
    "month": "month",
    "year": "year",
}
# no bare 月 / 日: "8月4号" is a date, not eight months
_ZH_UNIT = {
    "小时": "hour",
    "钟头": "hour",
    "天": "day",
    "工作日": "day",
    "周": "week",
    "星期": "week",
    "个月": "month",
    "年": "year",
}
_NUM = r"\d+(?:\.\d+)?"
_EN_WORDNUM = r"\b(?:" + "|".join(sorted(_EN_NUM, key=len, reverse=True)) + r")\b"
_DURATION_EN = re.compile(
    rf"(?P<a>{_NUM}|{_EN_WORDNUM})(?:\s*(?:-|–|~|to|or)\s*(?P<b>{_NUM}))?[\s-]*"
    r"(?:business |working |calendar )?(?P<u>hour|hr|day|week|month|year)s?\b",
    re.IGNORECASE,
)
_DURATION_ZH = re.compile(
    rf"(?P<a>{_NUM}|[一二两三四五六七八九十]+)\s*(?:(?:-|–|~|到|至)\s*(?P<b>{_NUM}|[一二两三四五六七八九十]+))?\s*"
    r"(?P<u>工作日|小时|钟头|天|星期|周|个月|年)(?![0-9一二三四五六七八九十]+[号日])"
)
_MONEY = re.compile(
    rf"(?:\$|US\$|¥|￥)\s?(?P<a>{_NUM})|(?P<b>{_NUM})\s*(?:元|块|yuan|RMB|CNY|USD|dollars?)\b",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"(?<!\d)(?P<h>[01]?\d|2[0-3])(?:[:：](?P<m>[0-5]\d)|\s*(?P<ap>am|pm|a\.m\.|p\.m\.))",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；\n])")
_NEG_EN = re.compile(
    r"\b(?:not|no|never|without|cannot|isn't|aren't|doesn't|don't|can't|won't|only)\b|n't\b",
    re.IGNORECASE,
)
_NEG_ZH = re.compile(r"[不没无非别]|只能")


def _zh_number(text: str) -> float | None:
    if re.fullmatch(_NUM, text):
        return float(text)
    if text == "十":
        return 10.0
    if "十" in text:
        left, _, right = text.partition("十")
        tens = _ZH_DIGIT.get(left, 1) if left else 1
        return float(tens * 10 + (_ZH_DIGIT.get(right, 0) if right else 0))
    if len(text) == 1 and text in _ZH_DIGIT:
        return float(_ZH_DIGIT[text])
    return None


def _number(text: str) -> float | None:
    low = text.lower()
    if low in _EN_NUM:
        return float(_EN_NUM[low])
    return _zh_number(text)


def _figures(text: str) -> list[tuple[str, float | str]]:
    """(kind, value) of every figure in ``text``: durations in hours, money, clock times."""
    out: list[tuple[str, float | str]] = []
    for rx, units in ((_DURATION_EN, _EN_UNIT), (_DURATION_ZH, _ZH_UNIT)):
        for m in rx.finditer(text):
            hours = _HOURS[units[m.group("u").lower()]]
            for part in (m.group("a"), m.group("b")):
                n = _number(part) if part else None
                if n is not None:
                    out.append(("duration", n * hours))
    for m in _MONEY.finditer(text):
        out.append(("money", float(m.group("a") or m.group("b"))))
    for m in _CLOCK.finditer(text):
        h = int(m.group("h"))
        ap = (m.group("ap") or "").lower()
        if ap.startswith("p") and h < 12:
            h += 12
        out.append(("clock", f"{h:02d}:{m.group('m') or '00'}"))
    return out


def _allowed(fact: PolicyFact) -> tuple[str, set[float | str]]:
    if fact.unit == "money":
        return "money", {float(v) for v in fact.values}
    if fact.unit == "clock":
        return "clock", {_clock(str(v)) for v in fact.values}
    return "duration", {float(v) * _HOURS[fact.unit] for v in fact.values}


def _clock(v: str) -> str:
    found = [x for k, x in _figures(v) if k == "clock"]
    return str(found[0]) if found else v


def _cued(sentence: str, fact: PolicyFact) -> bool:
    low = sentence.lower()
    return any(c.lower() in low for c in fact.cues)


# --- catalogue ---------------------------------------------------------------------------


def load_catalog(path: Path) -> list[CatalogItem]:
    """The products of a catalogue file; raises :class:`CatalogError` naming the line and
    field of the first bad entry (``OSError`` when it cannot be read)."""
    return list(_load_catalog(str(path), path.stat().st_mtime_ns)[0])


def load_yes_no_facts(path: Path) -> list[YesNoFact]:
    """The yes/no policy facts of a catalogue file (its ``fact`` lines); raises like
    :func:`load_catalog`."""
    return list(_load_catalog(str(path), path.stat().st_mtime_ns)[1])


class CatalogError(ValueError):
    """A catalogue line that is not a valid entry (``line`` and ``field`` name it)."""

    def __init__(self, message: str, line: int, field: str | None) -> None:
        super().__init__(f"line {line}" + (f', field "{field}"' if field else "") + f": {message}")
        self.message, self.line, self.field = message, line, field


@lru_cache(maxsize=8)
def _load_catalog(path: str, _mtime: int) -> tuple[tuple[CatalogItem, ...], tuple[YesNoFact, ...]]:
    items: list[CatalogItem] = []
    facts: list[YesNoFact] = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise CatalogError(f"not valid JSON ({exc})", i, None) from None
        try:
            if isinstance(obj, dict) and "fact" in obj:
                facts.append(YesNoFact.model_validate(obj))
            else:
                items.append(CatalogItem.model_validate(obj))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            raise CatalogError(str(first["msg"]).removeprefix("Value error, "), i, field) from None
    return tuple(items), tuple(facts)


def mentioned_products(text: str, catalog: list[CatalogItem]) -> list[CatalogItem]:
    """Catalogue entries ``text`` names (by name or alias); a name inside a longer matched
    name ("HydroMax" in "HydroMax Kids") does not count on its own."""
    low = text.lower()
    hits: list[tuple[str, CatalogItem]] = []
    for item in catalog:
        names = [n.lower() for n in (item.name, *item.aliases) if n]
        found = [n for n in names if n in low]
        if found:
            hits.append((max(found, key=len), item))
    return [
        item for name, item in hits if not any(name != other and name in other for other, _ in hits)
    ]


def _located(catalog: str, sample: Sample) -> Path:
    path = Path(catalog)
    if not path.is_absolute():
        base = sample.expected.get("workspace")
        path = (Path(str(base)) if base else Path.cwd()) / path
    return path


def _resolve(catalog: str, sample: Sample) -> Path:
    path = _located(catalog, sample)
    if not path.is_file():
        raise ValueError(
            f"catalog {catalog!r} not found at {path} (a relative path is read from the "
            "workspace the check runs in)"
        )
    return path


def _negated(sentence: str, start: int) -> bool:
    before = sentence[max(0, start - 30) : start]
    if _NEG_EN.search(before):
        return True
    return bool(_NEG_ZH.search(sentence[max(0, start - 4) : start]))


# --- the check ---------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _parsed(
    facts_json: str, claims_json: str
) -> tuple[list[PolicyFact], dict[str, list[re.Pattern[str]]]]:
    facts = _FACTS.validate_python(json.loads(facts_json))
    claims = {
        k: [re.compile(p) for p in v]
        for k, v in _CLAIMS.validate_python(json.loads(claims_json)).items()
    }
    return facts, claims


@register_check("policy_facts")
def policy_facts(
    sample: Sample,
    completion: str,
    facts: list[dict[str, Any]] | None = None,
    claims: dict[str, list[str]] | None = None,
    catalog: str | None = None,
) -> Verdict:
    """The figures the answer states (days, amounts, hours) are the contract's policy facts,
    and the product properties it claims are those the catalogue lists."""
    fact_list, claim_rx = _parsed(json.dumps(facts or []), json.dumps(claims or {}))
    users = set(_figures(f"{sample.prompt}\n{sample.context or ''}"))
    wrong: list[str] = []
    sentences = [s for s in _SENTENCE.split(completion) if s.strip()]
    for sentence in sentences:
        cued = [f for f in fact_list if _cued(sentence, f)]
        if not cued:
            continue
        for kind, value in _figures(sentence):
            if (kind, value) in users:
                continue
            allowed = [f for f in cued if _allowed(f)[0] == kind]
            if allowed and not any(f.allows(value) for f in allowed):
                wrong.append(
                    f"{'/'.join(f.id for f in allowed)}: states {_show(kind, value)}, the "
                    f"contract says {'; '.join(_expected(f) for f in allowed)}"
                )
    # the store's yes/no facts (the catalogue's fact lines); none without a catalogue file
    where = _located(catalog, sample) if catalog else None
    if where is not None and where.is_file():
        for fact in load_yes_no_facts(where):
            for sentence in sentences:
                words = fact.contradicted_by(sentence)
                if words is not None:
                    truth = "holds" if fact.holds else "does not hold"
                    wrong.append(
                        f"{fact.fact}: {words!r} says the opposite of the catalogue ({fact.fact} {truth})"
                    )
    said = []  # (property, the words, negated) per sentence and claimed property
    for sentence in sentences:
        for prop, patterns in claim_rx.items():
            m = _first_match(patterns, sentence)
            if m is not None:
                said.append((prop, m.group(0), _negated(sentence, m.start())))
    if said and catalog:  # the catalogue is read only when there is a claim to judge
        items = load_catalog(_resolve(catalog, sample))
        named = mentioned_products(completion, items) or mentioned_products(
            f"{sample.prompt}\n{sample.context or ''}", items
        )
        for item in named:
            listed = {p.lower() for p in item.properties}
            for prop, text, negated in said:
                if not negated and prop.lower() not in listed:
                    wrong.append(
                        f"claims {prop!r} ({text!r}) for {item.name}, which the catalogue does not list"
                    )
                elif negated and prop.lower() in listed:
                    wrong.append(
                        f"denies {prop!r} ({text!r}) for {item.name}, which the catalogue lists"
                    )
    if wrong:
        return Verdict(
            check="policy_facts",
            status="fail",
            score=0.0,
            evidence="; ".join(dict.fromkeys(wrong))[:400],
        )
    return Verdict(
        check="policy_facts",
        status="pass",
        score=1.0,
        evidence="no figure or property contradicts the contract or the catalogue",
    )


def _expected(fact: PolicyFact) -> str:
    kind, allowed = _allowed(fact)
    shown = [_show(kind, v) for v in sorted(allowed, key=lambda v: (str(type(v)), v))]
    return (" to " if fact.between else " or ").join(shown)


def _first_match(patterns: list[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for rx in patterns:
        m = rx.search(text)
        if m is not None:
            return m
    return None


def _show(kind: str, value: float | str) -> str:
    if kind == "duration" and isinstance(value, float):
        for unit in ("year", "month", "week", "day", "hour"):
            n = value / _HOURS[unit]
            if n >= 1 and abs(n - round(n)) < 1e-9:
                return f"{round(n)} {unit}{'s' if round(n) != 1 else ''}"
        return f"{value:g} hours"
    if kind == "money" and isinstance(value, float):
        return f"{value:g}"
    return str(value)
