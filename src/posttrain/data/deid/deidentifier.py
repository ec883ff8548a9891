"""Applying a :class:`~.policy.DeidPolicy` to the text fields of one record.

Per field: the JSON objects and arrays in it (:mod:`.structured`) are decoded; every
value under a personal key (``recipient``, ``address``, ``phone`` ...) is one entity of
that key's type whatever it looks like, every other string value is analysed like free
text (so an ``\\u``-escaped name is seen decoded), and a JSON that changed is written
back valid (a JSON string inside a value is handled the same way, recursively). The
text around the JSON goes through the analyzer; its spans are replaced directly, or by
Presidio's ``AnonymizerEngine`` where that would merge them first (two of one type with
only spaces between: one placeholder), the same text either way (a test checks it).

What replaces an entity is the policy's action for its type, decided once per distinct
value of the record, in reading order across its fields: ``<PERSON_1>`` is the same
person in the prompt, the context and the answer. A given name or a surname alone
(``Emily``, ``王``) is the person whose full name in the record it starts or ends, when
there is exactly one (``Emily Carter``, ``王芳``).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from posttrain.data.deid.engine import Analyzer
from posttrain.data.deid.policy import DeidPolicy, RecordDeid
from posttrain.data.deid.structured import JsonSpan, dump_like, find_json, scalars, set_path
from posttrain.data.deid.summary import summary

__all__ = ["Deidentifier"]

# JSON nested in JSON strings deeper than this is treated as plain text
_MAX_DEPTH = 4
_HAN = re.compile("[\u4e00-\u9fff]")


@dataclass
class _Parsed:
    """One text with what was found in it: spans of free text, and decoded JSON."""

    text: str
    zh: bool
    spans: list[RecognizerResult] = field(default_factory=list)
    # (where, [(path, entity type for a whole value | None, nested parse)])
    jsons: list[tuple[JsonSpan, list[tuple[tuple[Any, ...], str | None, _Parsed | None]]]] = field(
        default_factory=list
    )

    def entities(self) -> list[tuple[str, str]]:
        """(entity type, value) of everything found, in reading order."""
        items: list[tuple[int, list[tuple[str, str]]]] = [
            (r.start, [(r.entity_type, self.text[r.start : r.end])]) for r in self.spans
        ]
        for span, values in self.jsons:
            found: list[tuple[str, str]] = []
            for path, etype, nested in values:
                if etype is not None:
                    found.append((etype, _value_at(span.value, path)))
                elif nested is not None:
                    found.extend(nested.entities())
            items.append((span.start, found))
        items.sort(key=lambda kv: kv[0])
        return [e for _, found in items for e in found]


def _value_at(value: Any, path: tuple[Any, ...]) -> str:
    for step in path:
        value = value[step]
    return str(value)


class Deidentifier:
    """Applies a :class:`DeidPolicy` to the text fields of records."""

    def __init__(self, policy: DeidPolicy, analyzer: Analyzer | None = None) -> None:
        self.policy = policy
        self.analyzer = analyzer or Analyzer()
        self._anonymizer = AnonymizerEngine()
        self._key = policy.hash_key()

    def find(self, text: str) -> list[RecognizerResult]:
        return self.analyzer.analyze(text, self.policy.score_threshold)

    def redact_text(self, text: str) -> str:
        """De-identify a single free-standing string (messages, excerpts, ids)."""
        return self.apply({"text": text}).fields["text"] or ""

    def locate(self, text: str) -> list[tuple[str, int, int]]:
        """(entity type, start, end) of what :meth:`apply` replaces in ``text``.

        Spans of free text are exact; a JSON value is located by its first occurrence
        after the previous one (exact unless the JSON escapes it differently).
        """
        p = self._parse(text, 0)
        _add_known([p])
        out = [(r.entity_type, r.start, r.end) for r in p.spans]
        for span, _ in p.jsons:
            pos = span.start
            sub = _Parsed(text=text, zh=p.zh, jsons=[j for j in p.jsons if j[0] is span])
            for etype, value in sub.entities():
                at = text.find(value, pos, span.end)
                if at < 0:
                    at = text.find(value, span.start, span.end)
                if at >= 0:
                    out.append((etype, at, at + len(value)))
                    pos = at + len(value)
        return sorted(out, key=lambda t: (t[1], t[2]))

    def apply(self, fields: Mapping[str, str | None]) -> RecordDeid:
        """De-identify ``fields`` of one record with placeholders consistent across them."""
        parsed = {k: self._parse(v, 0) for k, v in fields.items() if v}
        _add_known(parsed.values())
        found = [e for p in parsed.values() for e in p.entities()]
        if not found:
            return RecordDeid(fields=dict(fields))
        counts = Counter(etype for etype, _ in found)
        quarantine = sorted(
            {etype for etype, _ in found if self.policy.actions[etype] == "quarantine"}
        )
        if quarantine:
            return RecordDeid(fields={}, entities=dict(counts), dropped_for=quarantine)
        replace = self._replacements(found, parsed)
        out: dict[str, str | None] = {}
        for name, text in fields.items():
            p = parsed.get(name)
            out[name] = text if p is None else self._render(p, replace)
        return RecordDeid(fields=out, entities=dict(counts))

    # --- finding ----------------------------------------------------------------------

    def _parse(self, text: str, depth: int) -> _Parsed:
        zh = not text.isascii() and _HAN.search(text) is not None
        p = _Parsed(text=text, zh=zh)
        spans = find_json(text) if depth < _MAX_DEPTH and ("{" in text or "[" in text) else []
        results = self.find(text)
        if spans:
            results = [r for r in results if not any(_inside(r, s) for s in spans)]
        p.spans = results
        for span in spans:
            values: list[tuple[tuple[Any, ...], str | None, _Parsed | None]] = []
            for path, etype, value in scalars(span.value):
                if etype is not None:
                    values.append((path, etype, None))
                    continue
                # kept even when clean: a value the record marks personal elsewhere may
                # be repeated in it (_add_known)
                values.append((path, None, self._parse(value, depth + 1)))
            if values:
                p.jsons.append((span, values))
        return p

    # --- replacing --------------------------------------------------------------------

    def _replacements(
        self, found: list[tuple[str, str]], parsed: Mapping[str, _Parsed]
    ) -> Callable[[str, str, bool], str]:
        """What replaces (entity type, value) in a text (zh or not), numbered in order."""
        persons = [_canonical("PERSON", v) for t, v in found if t == "PERSON"]
        full = [v for v in persons if len(v.split()) > 1 or (len(v) > 1 and not v.isascii())]
        numbering: dict[tuple[str, str], int] = {}
        per_type: Counter[str] = Counter()
        keys: dict[tuple[str, str], tuple[str, str]] = {}
        for etype, value in found:
            key = (etype, _canonical(etype, value))
            if etype == "PERSON":
                key = ("PERSON", _same_person(key[1], full))
            keys[(etype, value)] = key
            if key not in numbering:
                per_type[etype] += 1
                numbering[key] = per_type[etype]

        def replacement(etype: str, value: str, zh: bool) -> str:
            key = keys.get((etype, value)) or (etype, _canonical(etype, value))
            action = self.policy.actions[etype]
            if action == "hash":
                assert self._key is not None  # checked in __init__
                digest = hmac.new(self._key, key[1].encode(), hashlib.sha256).hexdigest()
                return f"<{etype}:{digest[:12]}>"
            if action == "drop":
                return summary(etype, value, zh)
            return f"<{etype}_{numbering.get(key, 1)}>"

        return replacement

    def _render(self, p: _Parsed, replace: Callable[[str, str, bool], str]) -> str:
        pieces: list[tuple[int, int, str]] = []
        for span, values in p.jsons:
            if not any(etype is not None or _changes(n) for _, etype, n in values):
                continue  # nothing to replace: the JSON stays as it was written
            doc = copy.deepcopy(span.value)
            for path, etype, nested in values:
                if etype is not None:
                    new = replace(etype, _value_at(span.value, path), p.zh)
                else:
                    assert nested is not None
                    new = self._render(nested, replace)
                doc = set_path(doc, path, new)
            pieces.append((span.start, span.end, dump_like(doc, span)))
        if p.spans:
            text = p.text
            operators = {
                etype: OperatorConfig("custom", {"lambda": lambda v, e=etype: replace(e, v, p.zh)})
                for etype in {r.entity_type for r in p.spans}
            }
            if not pieces and _merges(p.spans, text):
                # spans of one type with only spaces between: Presidio's anonymizer
                # merges them into one entity (one placeholder); every other text is
                # rendered below, with the same result and at a fraction of the cost
                return self._anonymizer.anonymize(
                    text=text,
                    analyzer_results=p.spans,  # type: ignore[arg-type]  # same fields
                    operators=operators,
                ).text
            for r in p.spans:
                pieces.append((r.start, r.end, replace(r.entity_type, text[r.start : r.end], p.zh)))
        out, pos = [], 0
        for start, end, new in sorted(pieces):
            out.append(p.text[pos:start])
            out.append(new)
            pos = end
        out.append(p.text[pos:])
        return "".join(out)


def _add_known(parsed: Iterable[_Parsed]) -> None:
    """A value a JSON key marks as personal is personal wherever the record repeats it
    (``paid by Xiao Ming Goh`` in the answer, when the tool result's ``name`` says so;
    a name's words of three letters or more too)."""
    parsed = list(parsed)
    known: dict[str, str] = {}
    for p in parsed:
        for span, values in p.jsons:
            for path, etype, _ in values:
                if etype in ("PERSON", "ADDRESS", "EMAIL"):
                    value = _value_at(span.value, path).strip()
                    if len(value) >= 2:
                        known.setdefault(value, etype)
                    if etype == "PERSON" and value.isascii():
                        for word in value.split():
                            if len(word) >= 3 and word[0].isupper():
                                known.setdefault(word, etype)
    if not known:
        return
    alts = "|".join(re.escape(v) for v in sorted(known, key=len, reverse=True))
    rx = re.compile(rf"(?<![A-Za-z0-9])(?:{alts})(?![A-Za-z0-9])")
    for p in parsed:
        _mark(p, rx, known)


def _mark(p: _Parsed, rx: re.Pattern[str], known: Mapping[str, str]) -> None:
    for m in rx.finditer(p.text):
        if any(m.start() < s.end and s.start < m.end() for s, _ in p.jsons):
            continue
        if any(m.start() < r.end and r.start < m.end() for r in p.spans):
            continue
        p.spans.append(RecognizerResult(known[m.group(0)], m.start(), m.end(), 1.0))
    p.spans.sort(key=lambda r: (r.start, r.end))
    for _, values in p.jsons:
        for _, _, nested in values:
            if nested is not None:
                _mark(nested, rx, known)


def _merges(spans: list[RecognizerResult], text: str) -> bool:
    """Whether Presidio's anonymizer would change ``spans`` (sorted by start) before
    replacing them: two that touch or overlap, or two of one type with only spaces between
    (``merge_entities_with_spaces``)."""
    for a, b in itertools.pairwise(spans):
        if b.start <= a.end:
            return True
        if a.entity_type == b.entity_type and not text[a.end : b.start].strip(" "):
            return True
    return False


def _changes(p: _Parsed | None) -> bool:
    if p is None:
        return False
    return bool(p.spans) or any(
        etype is not None or _changes(n) for _, values in p.jsons for _, etype, n in values
    )


def _inside(r: RecognizerResult, span: JsonSpan) -> bool:
    return r.start < span.end and span.start < r.end


_TITLES = ("mr. ", "mrs. ", "ms. ", "dr. ", "mr ", "mrs ", "ms ", "dr ", "miss ", "prof. ")


def _canonical(etype: str, value: str) -> str:
    """The same phone written 138-0013-8000 and 13800138000 gets the same placeholder."""
    if etype in ("PHONE", "BANK_CARD", "ID_CARD"):
        digits = "".join(ch for ch in value if ch.isdigit() or ch in "+Xx").upper()
        return digits or value.strip().lower()
    if etype == "EMAIL":
        return value.strip().lower()
    if etype == "PERSON":
        v = " ".join(value.split()).lower()
        for t in _TITLES:
            v = v.removeprefix(t)
        return v
    if etype == "ADDRESS":
        return " ".join(value.replace(",", " ").split()).lower()
    return value


def _same_person(name: str, full: list[str]) -> str:
    """A given name or surname alone maps to the one full name it is part of."""
    if name in full:
        return name
    if name.isascii():
        hits = {f for f in full if f.isascii() and name in f.split()}
    else:
        hits = {f for f in full if not f.isascii() and f.startswith(name)}
    return hits.pop() if len(hits) == 1 else name
