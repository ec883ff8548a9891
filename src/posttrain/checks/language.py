"""Language check: the answer is in the language of the sample (English or Chinese)."""

from __future__ import annotations

import json
import re
from typing import Any

from posttrain.checks.base import Sample, Verdict, register_check

__all__ = ["cjk_ratio", "guess_lang"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Code, links and e-mail addresses are Latin whatever language the answer is in.
_NEUTRAL = re.compile(r"```.*?```|`[^`]*`|https?://\S+|\S+@\S+", re.DOTALL)

# A Chinese answer often names products, SKUs or commands in Latin letters; an English
# answer rarely holds more than a quoted word of Chinese. Latin letters are counted per
# word (a word of five letters weighs like one character) to compare like with like.
ZH_MIN_RATIO = 0.5
EN_MAX_RATIO = 0.2


def cjk_ratio(text: str) -> float | None:
    """Share of CJK characters among CJK characters and Latin words; ``None`` if neither."""
    text = _NEUTRAL.sub(" ", text)
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk + latin_words == 0:
        return None
    return cjk / (cjk + latin_words * 1.0) if cjk else 0.0


def guess_lang(text: str) -> str | None:
    """``"zh"``, ``"en"``, or ``None`` when the text is mixed or has no letters."""
    ratio = cjk_ratio(text)
    if ratio is None:
        return None
    if ratio >= ZH_MIN_RATIO:
        return "zh"
    if ratio <= EN_MAX_RATIO:
        return "en"
    return None


def _json_prose(text: str) -> str | None:
    """The string values of an answer that is a JSON document (its keys and template
    placeholders such as ``<product name>`` are not prose); None when it is not JSON."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        doc = json.loads(stripped)
    except ValueError:
        return None
    values: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            values.append(re.sub(r"https?://\S*", " ", re.sub(r"<[^<>]*>", " ", node)))
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return " ".join(values)


@register_check("language_match")
def language_match(sample: Sample, completion: str, lang: str | None = None) -> Verdict:
    """The answer's language (CJK-ratio heuristic) is ``lang``, default the sample's."""
    want = lang or sample.lang
    if want not in ("en", "zh"):
        raise ValueError(f"language_match knows en and zh (got {want!r})")
    prose = _json_prose(completion)
    if prose is not None:
        # A JSON answer (the contract's recommendation format) is judged on its text values.
        if cjk_ratio(prose) is None:
            return Verdict(
                check="language_match",
                status="pass",
                score=1.0,
                evidence="structured answer (JSON) with no prose to judge",
            )
        completion = prose
    ratio = cjk_ratio(completion)
    got = guess_lang(completion)
    shown = "no letters" if ratio is None else f"CJK ratio {ratio:.2f}"
    if got == want:
        return Verdict(
            check="language_match", status="pass", score=1.0, evidence=f"{got} ({shown})"
        )
    return Verdict(
        check="language_match",
        status="fail",
        score=0.0,
        evidence=f"expected {want}, answer is {got or 'mixed/unknown'} ({shown})",
    )
