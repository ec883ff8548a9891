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

import contextlib
import re
import socket
from collections.abc import Iterator
from typing import Any

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from posttrain.data.deid.recognizers import TRIGGERS, ScoredPatternRecognizer, default_recognizers
from posttrain.errors import PosttrainError

__all__ = ["LANGUAGES", "Analyzer", "NetworkAccessError", "build_analyzer", "no_network"]

LANGUAGES = ("en", "zh")

# Full-width digits and plus sign map one-to-one onto ASCII, so spans found in the
# translated text are spans of the original (１３８００１３８０００ is still a phone number).
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"＋": "+"})


class NetworkAccessError(PosttrainError):
    """Something tried to reach the network while de-identification must run offline."""

    exit_code = 3


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Make every socket connection and DNS lookup raise :class:`NetworkAccessError`."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkAccessError(
            f"network access attempted during offline de-identification ({args[:2]!r})",
            hint="a recognizer or NLP engine tried to download something; "
            "de-identification must run offline",
        )

    saved = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    )
    setattr(socket.socket, "connect", refuse)  # noqa: B010 - patching a C type's method
    setattr(socket.socket, "connect_ex", refuse)  # noqa: B010
    setattr(socket, "create_connection", refuse)  # noqa: B010
    setattr(socket, "getaddrinfo", refuse)  # noqa: B010
    try:
        yield
    finally:
        for owner, name, fn in zip(
            (socket.socket, socket.socket, socket, socket),
            ("connect", "connect_ex", "create_connection", "getaddrinfo"),
            saved,
            strict=True,
        ):
            setattr(owner, name, fn)


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


class Analyzer:
    """Finds PII and credentials in text; the hot path of the data build.

    ``analyze(text, threshold)`` returns non-overlapping :class:`RecognizerResult` spans.
    """

    def __init__(self, engine: AnalyzerEngine | None = None) -> None:
        self.engine = engine or build_analyzer()
        recs = [
            r
            for r in self.engine.registry.recognizers
            if isinstance(r, ScoredPatternRecognizer) and r.supported_language == LANGUAGES[0]
        ]
        self.recognizers: list[ScoredPatternRecognizer] = recs
        self._triggers = [(k, re.compile(v)) for k, v in TRIGGERS.items()]
        self._by_group: dict[str, list[ScoredPatternRecognizer]] = {k: [] for k in TRIGGERS}
        for r in recs:
            for g in r.TRIGGER_GROUPS:
                self._by_group[g].append(r)

    def candidates(self, text: str) -> list[ScoredPatternRecognizer]:
        """The recognizers whose trigger fires on ``text`` (empty for most texts)."""
        lower = text.lower()
        fired = {
            name for name, rx in self._triggers if rx.search(lower if name == "keyword" else text)
        }
        if not fired:
            return []
        return [r for r in self.recognizers if fired.intersection(r.TRIGGER_GROUPS)]

    def analyze(self, text: str, threshold: float = 0.5) -> list[RecognizerResult]:
        if not text:
            return []
        probe = text if text.isascii() else text.translate(_FULLWIDTH)
        recs = self.candidates(probe)
        if not recs:
            return []
        raw: list[RecognizerResult] = []
        for r in recs:
            raw.extend(r.analyze(probe))
        return resolve_overlaps(raw, threshold)

    def analyze_with_engine(self, text: str, threshold: float = 0.5) -> list[RecognizerResult]:
        """The same analysis through ``AnalyzerEngine.analyze`` (slow; for checks and bench)."""
        probe = text.translate(_FULLWIDTH)
        raw = self.engine.analyze(probe, language=LANGUAGES[0], score_threshold=0.0)
        return resolve_overlaps(raw, threshold)
