"""The independent residual scan: a second detector over every file the build writes.

The de-identifier (:mod:`posttrain.data.deid`) replaces what its recognizers find; the
``residual_pii`` quality rule runs those same recognizers again, so it is blind to what
they miss. This scan is a detector of a different kind, tuned for recall rather than
precision, and it reads the files as they will be written (every JSON string of every
line, every Markdown line), not the records they came from:

* shapes: any e-mail address; a phone-like digit run (8 to 15 digits with spaces, dots,
  dashes or brackets, not part of a longer token such as an order number, not a date);
  a card-like number (13 to 19 digits passing Luhn); the shape of a mainland ID number
  (17 digits + check character, region and birth date plausible); a capitalised given
  name followed by a family name from the name lists (``resources/names``, from Faker's
  person providers) or a title and a capitalised name (``Mr Carter``); a Chinese name
  with 先生/女士/小姐 or after 收件人/联系人/姓名; an address shape (a house number and a
  street word, a unit such as ``#15-01`` or ``Apt 3``, a UK postcode, or 省/市/区/路/号
  parts);
* Presidio's predefined pattern recognizers (e-mail, credit card, IBAN, IP, US SSN,
  crypto wallet; not its phone recognizer, ~5 ms a text), where Presidio is importable
  (the build's worker processes), each only on the texts its cheap trigger matches.

Placeholders (``<PERSON_1>``) never match. What the contract itself states (its support
e-mail, its hotline: every e-mail and phone-like run in the contract file) and the
strings of ``DataConfig.residual_allow`` are the company's own and are not flagged:
:func:`allowlist` derives that list, nothing is built in. A hit names file, line, field
and kind, never the value.
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["ResidualHit", "ResidualScanner", "allowlist", "normalize_value"]


class ResidualHit(BaseModel):
    """One finding: where it is and what it looks like (never the value itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str  # relative to the data folder
    line: int
    field: str  # JSON path of the string (``trl.chosen[0].content``) or the Markdown heading
    kind: str  # email | phone | card | cn_id | name | address | <Presidio entity type>
    detector: str  # shape | presidio:<recognizer>

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.field} ({self.kind})"


# --- shapes ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*(?:[:_][0-9A-Za-z]+)?>")
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# digits with separators, not glued to a word or to a dash-joined token (SM-2026-1234567)
_DIGITS = re.compile(r"(?<![\w\-/.:#])\+?\(?\d[\d\s().\-]{5,24}\d(?![\w\-/]|\.\d)")
_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_CN_ID = re.compile(
    r"(?<![\dA-Za-z])[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
)
_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?\b")
# given + family, or given + middle + family, at every capitalised word (overlapping:
# "Ask Emily Carter" is checked at "Ask" and at "Emily")
_CAP_PAIRS = (
    re.compile(r"(?=\b([A-Z][a-z]+)\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b)"),
    re.compile(r"(?=\b([A-Z][a-z]+)\s+[A-Z][a-z]+\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b)"),
)
_STREET = (
    r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Terrace|Boulevard|Blvd|Way|Court|Ct|"
    r"Place|Pl|Crescent|Close|Highway|Hwy|Parkway|Square|Sq|Walk|Row|Gardens"
)
_EN_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][a-z]+\.?\s+){{1,3}}(?:{_STREET})\b\.?"
    r"|(?<![\w-])#\d{1,3}-\d{1,4}\b"
    r"|\b(?:Apt|Apartment|Unit|Suite|Flat|Room)\.?\s*#?\d+[A-Za-z]?(?:-\d+)?\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"
)
_ZH = r"[\u4e00-\u9fff]"
_ZH_ADDRESS = re.compile(
    rf"{_ZH}{{2,}}(?:路|街|大道|巷|弄|胡同)\s*\d+\s*号"
    rf"|{_ZH}{{2,6}}(?:省|自治区){_ZH}{{2,6}}(?:市|州|盟)"
    rf"|{_ZH}{{2,6}}市{_ZH}{{1,6}}(?:区|县)"
    rf"|\d+\s*(?:号楼|栋|幢|单元)\s*\d*\s*(?:室|号)?"
    r"|\d+\s*室"
)
_ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_ZH_NAME = re.compile(
    rf"[{_ZH_SURNAMES}]{_ZH}{{0,2}}(?:先生|女士|小姐)"
    rf"|(?:收件人|收货人|联系人|姓名|寄件人|持卡人)\s*[:：]?\s*[{_ZH_SURNAMES}]{_ZH}{{1,3}}"
)
# cheap guards: most texts have no two capitalised words in a row, or no Chinese at all
_CAPS = re.compile(r"[A-Z][a-z]+\.?\s+[A-Z]")
_HAS_ZH = re.compile(_ZH)
_DIGIT = re.compile(r"\d")
# a key like "bad_answer" or "trl" cannot hold a shape; others (digits, @) are scanned
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_:.-]*")
# Whole values no shape above and no Presidio trigger below can match, written once per
# record line (half the distinct strings of a build): a record id of dash-joined words and
# a short number (f-000123, pref-f-000123: digits after a dash are never a phone-like run)
# and an ISO time stamp (ts). Checked before the memo: each is new, and the memo would
# only fill up with them. tests/unit/data/test_data_residual_scan.py checks that the
# full scan finds nothing in them.
_INERT = re.compile(
    r"[A-Za-z]+(?:-[A-Za-z]+)*-\d{1,7}"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def normalize_value(value: str) -> str:
    """The form the allow-list compares: e-mails lower-cased, numbers as their digits."""
    v = value.strip()
    if "@" in v:
        return v.lower()
    digits = re.sub(r"\D", "", v)
    return digits if len(digits) >= 6 else v.lower()


@cache
def _names() -> tuple[frozenset[str], frozenset[str]]:
    base = resources.files("posttrain.resources").joinpath("names")

    def read(name: str) -> frozenset[str]:
        path = base.joinpath(name)
        if not path.is_file():
            return frozenset()
        return frozenset(
            x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()
        )

    return read("given.txt"), read("family.txt")


def allowlist(contract_text: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """Normalised values the scan does not flag: every e-mail and phone-like run the
    contract states (the company's own support address and hotline) and ``extra``
    (``DataConfig.residual_allow``)."""
    found: set[str] = {normalize_value(x) for x in extra if x.strip()}
    if contract_text:
        found |= {normalize_value(m.group(0)) for m in _EMAIL.finditer(contract_text)}
        found |= {normalize_value(m.group(0)) for m in _DIGITS.finditer(contract_text)}
    return frozenset(found)


@dataclass
class _Presidio:
    # (recognizer, trigger, how many digits the trigger needs at least): a recognizer runs
    # only on texts its cheap trigger matches, and the trigger is searched only in texts
    # with enough digits for it (counted once per text; most texts have a few)
    recognizers: list[tuple[Any, re.Pattern[str], int]]
    threshold: float


def _offline_email_recognizer(base: type) -> Any:
    """Presidio's e-mail recognizer, validating domains against tldextract's bundled
    suffix-list snapshot. Its default ``tldextract.extract`` fetches the list from
    publicsuffix.org on first use, which fails (or hangs) on a machine with no internet."""
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(base):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(extractor(pattern_text).fqdn)

    return OfflineEmailRecognizer()


def _presidio(threshold: float) -> _Presidio | None:
    try:  # only where Presidio is importable in this process (the build's workers)
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            CryptoRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            UsSsnRecognizer,
        )
    except ImportError:
        return None
    # Not PhoneRecognizer: python-phonenumbers' matcher costs ~5 ms a text (hours over a
    # 100k-record build); the phone-like shape above is the wider net for phones anyway.
    recs = [
        (_offline_email_recognizer(EmailRecognizer), re.compile("@"), 0),
        (CreditCardRecognizer(), re.compile(r"\d(?:[\s-]?\d){12}"), 13),
        (IbanRecognizer(), re.compile(r"[A-Z]{2}\d{2}\s?[A-Z0-9]{4}"), 2),
        (
            IpRecognizer(),
            # every IPv6 form has a "::" or seven colons: a clock time ("07:20:17+08:00",
            # in every record's ts) is not one, and Presidio's IPv6 patterns cost ~0.4 ms
            re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|::|(?:[0-9a-fA-F]{1,4}:){3}"),
            0,  # "::" needs none
        ),
        (UsSsnRecognizer(), re.compile(r"\d{3}[-. ]?\d{2}[-. ]?\d{4}"), 9),
        (CryptoRecognizer(), re.compile(r"\b(?:bc1|[13])[a-km-zA-HJ-NP-Z1-9]{25,39}\b"), 1),
    ]
    return _Presidio(recs, threshold)


class ResidualScanner:
    """Finds PII shapes in text; see the module docstring.

    ``presidio``: also run Presidio's predefined recognizers (``None``: when importable).
    """

    def __init__(
        self,
        allow: frozenset[str] = frozenset(),
        *,
        presidio: bool | None = None,
        presidio_threshold: float = 0.5,
    ) -> None:
        self.allow = allow
        self._presidio = _presidio(presidio_threshold) if presidio is not False else None
        if presidio and self._presidio is None:
            raise RuntimeError("presidio_analyzer is not importable")
        self._given, self._family = _names()
        self._memo: dict[str, list[tuple[str, str]]] = {}
        self._plain_keys: set[str] = set()

    @property
    def uses_presidio(self) -> bool:
        return self._presidio is not None

    # -- texts --------------------------------------------------------------------------

    def scan_text(self, text: str) -> list[tuple[str, str]]:
        """(kind, detector) of every finding in ``text`` (memoised: texts repeat)."""
        got = self._memo.get(text)
        if got is None:
            if _INERT.fullmatch(text):
                return []
            got = self._scan(text)
            if len(self._memo) > 200_000:
                self._memo.clear()
            self._memo[text] = got
        return got

    def _allowed(self, value: str) -> bool:
        return normalize_value(value) in self.allow

    def _scan(self, raw: str) -> list[tuple[str, str]]:
        text = _PLACEHOLDER.sub(" ", raw) if "<" in raw else raw
        out: list[tuple[str, str]] = []
        if "@" in text:
            out += [
                ("email", "shape") for m in _EMAIL.finditer(text) if not self._allowed(m.group(0))
            ]
        has_digits = _DIGIT.search(text) is not None
        if has_digits:
            for m in _DIGITS.finditer(text):
                value = m.group(0)
                digits = re.sub(r"\D", "", value)
                if not 8 <= len(digits) <= 19 or self._allowed(value) or _DATE.match(value.strip()):
                    continue
                if len(digits) >= 13 and _luhn(digits):
                    out.append(("card", "shape"))
                elif len(digits) <= 15:
                    out.append(("phone", "shape"))
                elif not _CN_ID.search(value):
                    out.append(("digit_run", "shape"))
            out += [("cn_id", "shape") for _ in _CN_ID.finditer(text)]
            out += [("address", "shape") for _ in _EN_ADDRESS.finditer(text)]
            if _ZH_ADDRESS.search(text):
                out.append(("address", "shape"))
        zh = _HAS_ZH.search(text) is not None
        if zh:
            if _ZH_NAME.search(text):
                out.append(("name", "shape"))
            if not has_digits and _ZH_ADDRESS.search(text):
                out.append(("address", "shape"))
        if _CAPS.search(text):
            if _TITLE.search(text):
                out.append(("name", "shape"))
            if any(
                m.group(1) in self._given and m.group(2).split("-")[0] in self._family
                for rx in _CAP_PAIRS
                for m in rx.finditer(text)
            ):
                out.append(("name", "shape"))
        # every trigger needs a digit, an "@" or a ":" (IPv6's "::")
        if self._presidio is not None and (has_digits or "@" in text or ":" in text):
            n_digits = len(_DIGIT.findall(text)) if has_digits else 0
            for rec, trigger, min_digits in self._presidio.recognizers:
                if n_digits < min_digits or not trigger.search(text):
                    continue
                for r in rec.analyze(text, entities=rec.supported_entities, nlp_artifacts=None):
                    if r.score >= self._presidio.threshold and not self._allowed(
                        text[r.start : r.end]
                    ):
                        out.append((r.entity_type, f"presidio:{type(rec).__name__}"))
        return out

    # -- files --------------------------------------------------------------------------

    def scan_json_value(self, value: Any, path: str = "") -> list[tuple[str, str, str]]:
        """(field, kind, detector) for every finding in the strings of a JSON value (keys
        too, unless they are plain identifiers: a key can carry data)."""
        out: list[tuple[str, str, str]] = []
        # Most lines hold no finding: look for one first without building field paths
        # (half the walk's cost), and walk again with paths only where there is one.
        if self._any_finding(value):
            self._walk(value, path, out)
        return out

    def _any_finding(self, value: Any) -> bool:
        """Whether any string of ``value`` (or a key :meth:`_walk` would scan) has a
        finding: the same strings as :meth:`_walk`, no paths."""
        scan, plain = self.scan_text, self._plain_keys
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, str):
                if scan(v):
                    return True
            elif isinstance(v, dict):
                for k, x in v.items():
                    if k not in plain:
                        if _PLAIN_KEY.fullmatch(str(k)):
                            plain.add(k)
                        elif scan(str(k)):
                            return True
                    if isinstance(x, str):
                        if scan(x):
                            return True
                    elif isinstance(x, (dict, list)):
                        stack.append(x)
            elif isinstance(v, list):
                stack.extend(x for x in v if isinstance(x, (str, dict, list)))
        return False

    def _walk(self, value: Any, path: str, out: list[tuple[str, str, str]]) -> None:
        # the field path is built only for a hit or a container (it runs once per string
        # of every line written: no generator, no string per value)
        scan = self.scan_text
        if isinstance(value, str):
            for kind, det in scan(value):
                out.append((path or "$", kind, det))
        elif isinstance(value, dict):
            plain = self._plain_keys
            for k, v in value.items():
                if k not in plain:
                    if _PLAIN_KEY.fullmatch(str(k)):
                        plain.add(k)
                    else:
                        for kind, det in scan(str(k)):
                            out.append((f"{path}.{k}(key)" if path else f"{k}(key)", kind, det))
                if isinstance(v, str):
                    found = scan(v)
                    if found:
                        sub = f"{path}.{k}" if path else str(k)
                        out += [(sub, kind, det) for kind, det in found]
                elif isinstance(v, (dict, list)):
                    self._walk(v, f"{path}.{k}" if path else str(k), out)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, (str, dict, list)):
                    self._walk(v, f"{path}[{i}]", out)

    def scan_jsonl_line(self, line: str) -> list[tuple[str, str, str]]:
        try:
            obj = json.loads(line)
        except ValueError:
            return [("$(unparsed)", k, d) for k, d in self.scan_text(line)]
        return self.scan_json_value(obj)

    def scan_document(self, name: str, text: str) -> list[ResidualHit]:
        """Every finding in the file ``name`` (relative to the data folder) whose content
        is ``text``: JSONL line by line, JSON as one value (the line found from the
        value), anything else line by line with the Markdown heading as the field."""
        hits: list[ResidualHit] = []
        if name.endswith(".jsonl"):
            for i, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    hits += [
                        ResidualHit(file=name, line=i, field=f, kind=k, detector=d)
                        for f, k, d in self.scan_jsonl_line(line)
                    ]
            return hits
        if name.endswith(".json"):
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if obj is not None:
                lines = text.splitlines()
                for f, k, d in self.scan_json_value(obj):
                    hits.append(
                        ResidualHit(
                            file=name, line=_line_of(lines, obj, f), field=f, kind=k, detector=d
                        )
                    )
                return hits
        heading = "(top)"
        for i, line in enumerate(text.splitlines(), 1):
            if line.startswith("#"):
                heading = line.lstrip("#").strip() or heading
            hits += [
                ResidualHit(file=name, line=i, field=heading, kind=k, detector=d)
                for k, d in self.scan_text(line)
            ]
        return hits


def _line_of(lines: list[str], obj: Any, field: str) -> int:
    """The line of a pretty-printed JSON file that holds the string at ``field``."""
    value: Any = obj
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field.removesuffix("(key)")):
        try:
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        except (KeyError, IndexError, TypeError, ValueError):
            value = None
            break
    needle = (
        json.dumps(value, ensure_ascii=False)[1:-1]
        if isinstance(value, str)
        else field.rsplit(".", 1)[-1]
    )
    for i, line in enumerate(lines, 1):
        if needle and needle in line:
            return i
    return 1


def read_text_or_none(path: Path | None) -> str | None:
    try:
        return path.read_text(encoding="utf-8") if path is not None else None
    except OSError:
        return None
