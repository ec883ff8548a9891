"""The trained half of the Chinese name recognizer: a linear model over candidate spans.

A candidate is a surname (single or compound) and one or two more Chinese characters,
where the first of them is a character given names have at all (:func:`candidates`). Its
features (:func:`span_features`) are what the hand-written rules of :mod:`.names` look
at, left for a model to weigh instead of thresholds set by hand: the surname and its
frequency class, the given characters and how often names have them
(``names._given_weights``), how often jieba's dictionary counts the span, its first two
characters and the words across its two edges, the characters on either side and their
classes, a title after it, a cue before it.

The model is a logistic regression fitted with scikit-learn on the tune files of Chinese
names in context (``resources/pii/tune*_zh_names.txt``, written by helpers who never saw
the recognizer) and the labelled set's ``tune`` split, with the names of each line also
swapped for generated ones (scripts/pii/train_name_model.py). It ships as plain JSON
(``resources/pii/name_model/model.json``: feature weights and the intercept; no pickle)
and is scored here in pure Python; ``manifest.json`` beside it records its version, the
sha256 of its training files, the training command and its cross-validated metrics. A
candidate the model scores at or above the manifest's threshold is a name (the
recognizer adds it beside what its rules found; the held-out split never trained it).
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrain.data.deid import names as n
from posttrain.data.deid.lexicon import zh_common_surnames

__all__ = ["NameModel", "candidates", "load_name_model", "model_dir", "span_features"]


def model_dir() -> Path:
    """Folder of the shipped model: model.json, manifest.json."""
    return Path(str(resources.files("posttrain") / "resources" / "pii" / "name_model"))


def _freq_bin(f: int) -> str:
    if f <= 0:
        return "0"
    if f < 10:
        return "1"
    if f < 100:
        return "2"
    if f < 1000:
        return "3"
    return "4"


def _weight_bin(w: float) -> str:
    return str(max(-3, min(4, math.floor(w))))


def _cls(c: str) -> str:
    """A character's class beside a span: the character itself where it is Chinese, else
    a class (start or end, digit, Latin letter, space, punctuation)."""
    if not c:
        return "^"
    if "\u4e00" <= c <= "\u9fff":
        return c
    if c.isdigit():
        return "D"
    if c.isascii() and c.isalpha():
        return "A"
    if c.isspace():
        return "S"
    return "P" + c if c in "：:，,。、；;！!？?（(）)【】[]\"'“”<>|·" else "P"


def candidates(text: str) -> list[tuple[int, int, int]]:
    """(start, end, surname length) of every span the model scores: a surname and one or
    two Chinese characters after it, the first of them one that given names have (a
    weight above ``names._RARE_IN_NAMES``), where the surname's character does not end a
    word the dictionary counts 100 times or more."""
    out: list[tuple[int, int, int]] = []
    weights = n._given_weights()
    double = n._compound_set()
    freq, _ = n._jieba_dicts()
    for m in n._zh_any_surname().finditer(text):
        s = m.start()
        # the surname's character ends a word the dictionary counts often (小区, 关于)
        if s and freq.get(text[s - 1 : s + 1], 0) >= 100:
            continue
        sur_len = 2 if text[s : s + 2] in double else 1
        g = s + sur_len
        if g >= len(text) or not n._is_han(text[g]):
            continue
        if weights.get(text[g], n._UNSEEN) < n._RARE_IN_NAMES:
            continue
        out.append((s, g + 1, sur_len))
        if g + 1 < len(text) and n._is_han(text[g + 1]):
            out.append((s, g + 2, sur_len))
    return out


def span_features(text: str, s: int, e: int, sur_len: int) -> list[str]:
    """The model's binary features of the candidate ``text[s:e]``."""
    freq, tags = n._jieba_dicts()
    weights = n._given_weights()
    word = text[s:e]
    sur, given = word[:sur_len], word[sur_len:]
    size = f"{sur_len}+{len(given)}"
    kind = "c" if sur_len == 2 else ("m" if sur in zh_common_surnames() else "r")
    ws = [weights.get(c, n._UNSEEN) for c in given]
    wmin = _weight_bin(min(ws))
    rw = _freq_bin(freq.get(text[e - 1 : e + 1], 0) if e < len(text) else 0)
    left1, right1 = text[s - 1 : s] if s else "", text[e : e + 1]
    lc, rc = _cls(left1), _cls(right1)
    f_word = freq.get(word, 0)
    tag = tags.get(word, "-") if f_word else "-"
    feats = [
        "bias",
        "size=" + size,
        "sur=" + sur,
        "kind=" + kind,
        "kind_size=" + kind + size,
        "wmin=" + wmin,
        "wmin_size=" + wmin + size,
        "wf=" + _freq_bin(f_word),
        "wf_tag=" + _freq_bin(f_word) + tag[:2],
        "wf_size=" + _freq_bin(f_word) + size,
        "lc=" + lc,
        "rc=" + rc,
        "lc_size=" + lc + size,
        "rc_size=" + rc + size,
        "lrc="
        + ("H" if len(lc) == 1 and "\u4e00" <= lc <= "\u9fff" else lc)
        + "|"
        + ("H" if len(rc) == 1 and "\u4e00" <= rc <= "\u9fff" else rc),
        "lw=" + _freq_bin(freq.get(text[s - 1 : s + 1], 0) if s else 0),
        "rw=" + rw,
        "rw_size=" + rw + size,
        "l2=" + text[max(0, s - 2) : s],
        "r2=" + text[e : e + 2],
        "ext=" + _freq_bin(freq.get(text[s : e + 1], 0) if e < len(text) else 0),
    ]
    for i, (c, w) in enumerate(zip(given, ws, strict=True)):
        feats.append(f"g{i}=" + c)
        feats.append(f"gw{i}=" + _weight_bin(w))
    if len(given) == 2:
        f2 = freq.get(given, 0)
        feats.append("gf=" + _freq_bin(f2) + tags.get(given, "-")[:1])
        feats.append("pf=" + _freq_bin(freq.get(word[: sur_len + 1], 0)))
    if right1 and right1 in n._BREAK:
        feats.append("rbreak")
    if right1 and right1 in n._AFTER_NAME:
        feats.append("rafter")
    if left1 and left1 in n._BEFORE_NAME:
        feats.append("lbefore")
    if text[max(0, s - 3) : s] in n._BEFORE_NAME_2 or text[max(0, s - 2) : s] in n._BEFORE_NAME_2:
        feats.append("lbefore2")
    if text.startswith(n._ZH_TITLES, e):
        feats.append("rtitle")
        feats.append("rtitle_size=" + size)
    head = text[max(0, s - 6) : s].rstrip("：: ")
    if head.endswith(n._ZH_CUES):
        feats.append("lcue")
        feats.append("lcue_size=" + size)
    return feats


class NameModel(BaseModel):
    """Feature weights, the intercept and the decision threshold of a fitted model."""

    model_config = ConfigDict(frozen=True)

    version: str
    weights: dict[str, float]
    intercept: float
    threshold: float

    def probability(self, feats: list[str]) -> float:
        z = self.intercept + sum(self.weights.get(f, 0.0) for f in feats)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def names(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, probability) of the candidates the model calls names: at each
        start the likelier of its lengths, where it reaches the threshold, left to right
        without overlap."""
        best: dict[int, tuple[int, float]] = {}
        for s, e, sur_len in candidates(text):
            p = self.probability(span_features(text, s, e, sur_len))
            if p >= self.threshold and p > best.get(s, (0, 0.0))[1]:
                best[s] = (e, p)
        out: list[tuple[int, int, float]] = []
        end = 0
        for s in sorted(best):
            e, p = best[s]
            if s >= end:
                out.append((s, e, p))
                end = e
        return out


@functools.cache
def load_name_model(path: Path | None = None) -> NameModel | None:
    """The shipped model (``model.json`` and the threshold of ``manifest.json``), or None
    where it is missing (the rules alone then)."""
    root = path or model_dir()
    try:
        raw = json.loads((root / "model.json").read_text(encoding="utf-8"))
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return NameModel(
        version=str(manifest["version"]),
        weights={str(k): float(v) for k, v in raw["weights"].items()},
        intercept=float(raw["intercept"]),
        threshold=float(manifest["threshold"]),
    )
