"""``no_repetition``: degenerate output is a failure.

A small model that has lost the thread loops on one phrase ("我可以在这里提供一个请求，我可以
在这里…", "I can help with that. I can help with that. …"), lists the same item again and
again, or runs until the token budget cuts it off. Each of those fails the clause:

* **n-gram loop** - the share of the answer's n-grams that already occurred earlier in it
  (``1 - distinct/total``). Units are words for whitespace languages and single
  characters for Chinese (a character carries about what half a word does, so Chinese
  uses longer n-grams); symbols such as emoji are units of their own, punctuation is not.
* **runaway list** - at least ``min_list_items`` list items (``-``, ``*``, ``1.``, ``1、``
  ...) of which a share of ``max_list_duplicates`` or more repeat an earlier item once
  digits and punctuation are set aside (``1. 100g`` / ``2. 100g`` / ``3. 100g``).
* **cut at the token limit** - the generation's ``finish_reason`` was ``length``, or
  ``loop``: decoding stopped it once its last tokens repeated one block 3 times
  (``generation.yaml``'s ``stop_on_loop``; it would have looped on to the limit). The
  evaluation runner passes it in ``sample.expected["finish_reason"]``; where it is not
  known (a bare ``posttrain check`` over a log without it) this part is not judged.

The default thresholds were set on ``resources/repetition/labelled.jsonl`` (its ``tune``
split); ``tests/unit/checks/test_check_no_repetition.py`` measures precision and recall
on its ``heldout`` split.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from posttrain.checks.base import Sample, Verdict, register_check

__all__ = ["RepetitionStats", "repetition_stats", "text_units"]

_URL = re.compile(r"https?://\S+")
_LIST_ITEM = re.compile(
    r"^\s*(?:[-*•·]|\(?\d{1,3}[.)、:]|[（(]\d{1,3}[）)]|[一二三四五六七八九十]+[、.])\s*(.*)$"
)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3400 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF  # kana
        or 0xAC00 <= code <= 0xD7AF  # hangul
        or 0x20000 <= code <= 0x2FA1F
    )


def text_units(text: str) -> tuple[list[str], int]:
    """The answer as units for n-gram counting, and how many of them are CJK characters.

    A CJK character is a unit; a run of letters and digits is a unit (lower-cased); a
    symbol (emoji, currency sign) is a unit; punctuation, spaces and joiners separate. A
    URL is one unit. An answer that is JSON counts its values only: keys repeat in every
    object of a legitimate array.
    """
    value = _as_json(text)
    if value is not None:
        text = " ; ".join(_leaves(value))
    units: list[str] = []
    n_cjk = 0
    word: list[str] = []

    def flush() -> None:
        if word:
            units.append("".join(word).lower())
            word.clear()

    at = 0
    for match in [*_URL.finditer(text), None]:
        end = match.start() if match else len(text)
        for ch in text[at:end]:
            n_cjk += _add_char(ch, units, word)
        _flush(units, word)
        if match:
            units.append(match.group(0).lower())
            at = match.end()
    return units, n_cjk


def _flush(units: list[str], word: list[str]) -> None:
    if word:
        units.append("".join(word).lower())
        word.clear()


def _add_char(ch: str, units: list[str], word: list[str]) -> int:
    """Add one character to ``units`` (``word`` collects a run of letters and digits);
    1 when it was a CJK character."""
    if _is_cjk(ch):
        _flush(units, word)
        units.append(ch)
        return 1
    if ch.isalnum():
        word.append(ch)
    else:
        _flush(units, word)
        if unicodedata.category(ch).startswith("S"):
            units.append(ch)
    return 0


def _as_json(text: str) -> Any:
    """The answer as JSON when all of it (or one fenced block) is an object or array."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").removeprefix("JSON").strip()
    if body[:1] not in ("[", "{"):
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return None


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [str(value)]


def _repeat_share(units: list[str], n: int) -> tuple[float, str]:
    """``1 - distinct/total`` over the n-grams of ``units``, and the most repeated one."""
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    if not grams:
        return 0.0, ""
    counts = Counter(grams)
    top, times = counts.most_common(1)[0]
    sep = "" if all(len(u) == 1 and _is_cjk(u) for u in top) else " "
    shown = f"{sep.join(top)!r} x{times}" if times > 1 else ""
    return 1.0 - len(counts) / len(grams), shown


def _item_key(body: str) -> str:
    """A list item with digits, punctuation and spaces set aside (``2. 100g`` -> ``g``)."""
    return "".join(ch.lower() for ch in body if ch.isalpha() or _is_cjk(ch))


def _list_duplicates(text: str) -> tuple[int, int]:
    """(list items, items that repeat an earlier one) over the answer's list lines."""
    keys = []
    for line in text.splitlines():
        match = _LIST_ITEM.match(line)
        if match:
            keys.append(_item_key(match.group(1)))
    seen: set[str] = set()
    dups = 0
    for key in keys:
        if key in seen:
            dups += 1
        seen.add(key)
    return len(keys), dups


@dataclass(frozen=True)
class RepetitionStats:
    """What :func:`no_repetition` measures on one answer."""

    n_units: int
    cjk: bool
    n: int
    repeat_share: float
    top_gram: str
    list_items: int
    list_duplicates: int


def repetition_stats(text: str, *, ngram: int = 4, cjk_ngram: int = 4) -> RepetitionStats:
    """Measure ``text``: its n-gram repeat share (CJK text counted in ``cjk_ngram``
    characters, other text in ``ngram`` words) and its list items and duplicates."""
    units, n_cjk = text_units(text)
    cjk = n_cjk * 2 >= len(units) > 0
    n = cjk_ngram if cjk else ngram
    share, top = _repeat_share(units, n)
    items, dups = _list_duplicates(text)
    return RepetitionStats(len(units), cjk, n, share, top, items, dups)


@register_check("no_repetition")
def no_repetition(
    sample: Sample,
    completion: str,
    max_repeat_share: float = 0.2,
    ngram: int = 4,
    cjk_ngram: int = 4,
    min_units: int = 16,
    min_list_items: int = 5,
    max_list_duplicates: float = 0.5,
    fail_on_length: bool = True,
) -> Verdict:
    """The answer does not loop, run a list of near-identical items, or stop at the token limit.

    Fails when the share of repeated n-grams (``ngram`` words, or ``cjk_ngram``
    characters for Chinese) reaches ``max_repeat_share`` in an answer of at least
    ``min_units`` units; when ``min_list_items`` or more list items repeat earlier ones
    in a share of ``max_list_duplicates`` or more; and, with ``fail_on_length``, when the
    generation was cut at the token limit (``finish_reason: length``, passed by the
    evaluation runner). Score: ``1 - repeat share``.
    """
    if not 0.0 < max_repeat_share <= 1.0 or not 0.0 < max_list_duplicates <= 1.0:
        raise ValueError("max_repeat_share and max_list_duplicates must be in (0, 1]")
    if ngram < 1 or cjk_ngram < 1:
        raise ValueError("ngram and cjk_ngram must be at least 1")
    stats = repetition_stats(completion, ngram=ngram, cjk_ngram=cjk_ngram)
    score = 1.0 - stats.repeat_share
    problems: list[str] = []
    unit = "character" if stats.cjk else "word"
    if stats.n_units >= min_units and stats.repeat_share >= max_repeat_share:
        problems.append(
            f"loops: {stats.repeat_share:.2f} of its {stats.n}-{unit} n-grams repeat "
            f"(limit {max_repeat_share:.2f}); most repeated {stats.top_gram}"
        )
    if (
        stats.list_items >= min_list_items
        and stats.list_duplicates / stats.list_items >= max_list_duplicates
    ):
        problems.append(
            f"runaway list: {stats.list_duplicates} of {stats.list_items} items repeat "
            "an earlier one"
        )
    finish = sample.expected.get("finish_reason")
    if fail_on_length and finish == "length":
        problems.append("cut at the token limit (finish_reason: length)")
    if finish == "loop":
        # The decoder saw the loop in the tokens (generation's stop_on_loop) and stopped.
        problems.append(
            "stopped looping (finish_reason: loop): its last tokens repeat one block "
            "3 times or more"
        )
    if problems:
        return Verdict(
            check="no_repetition", status="fail", score=score, evidence="; ".join(problems)
        )
    cut = "" if finish is not None else "; finish_reason unknown, token-limit cut not judged"
    return Verdict(
        check="no_repetition",
        status="pass",
        score=score,
        evidence=f"{stats.repeat_share:.2f} of {stats.n}-{unit} n-grams repeat{cut}",
    )
