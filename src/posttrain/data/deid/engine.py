"""The offline analyzer: Presidio's ``AnalyzerEngine`` with pattern recognizers only.

:func:`build_analyzer` wires our recognizers (:mod:`.recognizers`) into a Presidio
``RecognizerRegistry`` and an ``AnalyzerEngine`` whose NLP engine is Presidio's
``NoOpNlpEngine``: it loads no spaCy model, so nothing is downloaded. It is built inside
:func:`no_network`, which makes any socket connection raise :class:`NetworkAccessError`
(a loud failure rather than a silent download).

:class:`Analyzer` is what the data build uses. ``Analyzer.analyze`` gives the same results
as ``AnalyzerEngine.analyze`` followed by overlap resolution (a test checks it on the
labelled PII set), but runs one combined trigger regex first and calls only the
recognizers whose trigger fired: the engine's per-call overhead (NLP artifacts, context
enhancement, explanations) is ~75 us a text, which alone would spend the 60 s budget of a
100k-record build. ``bench/bench_data.py`` measures both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from posttrain.data.deid.offline import no_network
from posttrain.data.deid.recognizers import TRIGGERS, ScoredPatternRecognizer, default_recognizers
from posttrain.errors import NetworkAccessError

__all__ = ["LANGUAGES", "Analyzer", "NetworkAccessError", "build_analyzer", "no_network"]

LANGUAGES = ("en", "zh")

# Full-width digits and plus sign map one-to-one onto ASCII, so spans found in the
# translated text are spans of the original (１３８００１３８０００ is still a phone number).
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"＋": "+"})


def build_analyzer() -> AnalyzerEngine:
    """Presidio ``AnalyzerEngine`` with our recognizers and no NLP model, built offline."""
    with no_network():
        nlp = NoOpNlpEngine(
            models=[{"lang_code": lang, "model_name": "none"} for lang in LANGUAGES]
        )
        nlp.load()
        registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
        for lang in LANGUAGES:
            for rec in default_recognizers(lang):
                registry.add_recognizer(rec)
        return AnalyzerEngine(
            nlp_engine=nlp, registry=registry, supported_languages=list(LANGUAGES)
        )


def resolve_overlaps(results: list[RecognizerResult], threshold: float) -> list[RecognizerResult]:
    """Keep results scoring ``>= threshold``; of overlapping ones keep the best.

    Best = highest score, then longest span (a whole PEM block beats its header line).
    The kept results are returned sorted by start offset.
    """
    cands = sorted(
        (r for r in results if r.score >= threshold),
        key=lambda r: (-r.score, -(r.end - r.start), r.start, r.entity_type),
    )
    kept: list[RecognizerResult] = []
    for r in cands:
        if all(r.end <= k.start or r.start >= k.end for k in kept):
            kept.append(r)
    kept.sort(key=lambda r: (r.start, r.end))
    return kept


_HAS_FULLWIDTH = re.compile("[\uff10-\uff19\uff0b]")

# How many texts found clean an Analyzer remembers (repeated texts, e.g. a record's
# `source` or a reused answer, are looked at once); cleared when full.
_CLEAN_MEMO = 200_000
_FOUND_MEMO = 50_000


class Analyzer:
    """Finds PII and credentials in text; the hot path of the data build.

    ``analyze(text, threshold)`` returns non-overlapping :class:`RecognizerResult` spans;
    ``scan(texts, threshold)`` the entity types found in each of many texts.
    """

    def __init__(self, engine: AnalyzerEngine | None = None) -> None:
        self.engine = engine or build_analyzer()
        recs = [
            r
            for r in self.engine.registry.recognizers
            if isinstance(r, ScoredPatternRecognizer) and r.supported_language == LANGUAGES[0]
        ]
        self.recognizers: list[ScoredPatternRecognizer] = recs
        self._triggers = [
            (name, [(lit, re.compile(rx) if rx else None) for lit, rx in alts])
            for name, alts in TRIGGERS.items()
        ]
        self._clean: dict[float, set[str]] = {}  # threshold -> texts with no result
        # threshold -> text -> results, for texts with results (repeated answers, tool
        # results and templates are analysed once); cleared when full
        self._found: dict[float, dict[str, list[RecognizerResult]]] = {}

    def _fired(self, text: str) -> set[str]:
        lower = text.lower()
        fired = set()
        for name, alts in self._triggers:
            probe = lower if name == "keyword" else text
            for lit, rx in alts:
                if (lit is None or lit in probe) and (rx is None or rx.search(probe)):
                    fired.add(name)
                    break
        return fired

    def candidates(self, text: str) -> list[ScoredPatternRecognizer]:
        """The recognizers whose trigger fires on ``text`` (empty for most texts)."""
        fired = self._fired(text)
        if not fired:
            return []
        return [r for r in self.recognizers if fired.intersection(r.TRIGGER_GROUPS)]

    def analyze(self, text: str, threshold: float = 0.5) -> list[RecognizerResult]:
        if not text:
            return []
        clean = self._clean.get(threshold)
        if clean is not None and text in clean:
            return []
        found = self._found.get(threshold)
        if found is not None and text in found:
            return list(found[text])
        probe = text
        if not text.isascii() and _HAS_FULLWIDTH.search(text):
            probe = text.translate(_FULLWIDTH)
        out: list[RecognizerResult] = []
        recs = self.candidates(probe)
        if recs:
            raw: list[RecognizerResult] = []
            for r in recs:
                raw.extend(r.analyze(probe))
            out = resolve_overlaps(raw, threshold)
        if not out:
            if clean is None or len(clean) >= _CLEAN_MEMO:
                clean = self._clean[threshold] = set()
            clean.add(text)
        else:
            if found is None or len(found) >= _FOUND_MEMO:
                found = self._found[threshold] = {}
            found[text] = list(out)
        return out

    def scan(self, texts: Sequence[str], threshold: float = 0.5) -> list[list[str]]:
        """The entity types found in each text (one list per text, in span order)."""
        return [[r.entity_type for r in self.analyze(t, threshold)] for t in texts]

    def analyze_with_engine(self, text: str, threshold: float = 0.5) -> list[RecognizerResult]:
        """The same analysis through ``AnalyzerEngine.analyze`` (slow; for checks and bench)."""
        probe = text.translate(_FULLWIDTH)
        raw = self.engine.analyze(probe, language=LANGUAGES[0], score_threshold=0.0)
        return resolve_overlaps(raw, threshold)
