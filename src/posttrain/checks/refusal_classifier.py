"""The trained half of the refusal judgement: a linear model over (request, answer).

Features (:func:`features`): character 2-4-grams of the answer, character 3-grams of its
opening, its words, binned request-answer overlap (``refusal_rules.request_coverage`` of
the de-looped answer), answer length, overlap by length, and the answer's shape
(``refusal_rules.answer_shape``: binned shares of loops and repeats, of echo of the
request and of stock filler, its own content; unreadable). Weighted by sublinear TF-IDF
and L2-normalised, scored by a logistic regression fitted with scikit-learn on the
``tune`` split (scripts/refusal_judge/train_refusal_judge.py). The model ships as plain
JSON (``resources/judges/refusal/model.json``: vocabulary, idf, coefficients, intercept)
and is rebuilt here in pure Python: loading it runs no code (no pickle), and judging
needs no scikit-learn. ``manifest.json`` beside it records its version, the training
data's sha256, the training command and the training split's metrics.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrain.checks.refusal_rules import answer_shape, request_coverage

__all__ = [
    "RefusalClassifier",
    "features",
    "load_classifier",
    "model_dir",
]

_WS = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[a-z']+|[\u4e00-\u9fff]")
_LIST = re.compile(r"^\s*(?:\d+\s*[.)）、]|[-*•])\s+\S", re.MULTILINE)
_COV_BINS = (0.0, 0.06, 0.15, 0.3, 0.5)
_SHARE_BINS = (0.05, 0.2, 0.4, 0.6, 0.8)
_OWN_BINS = (0, 10, 25, 50, 100)
_NON_WORD = re.compile(r"[\W_]+")
_LEN_BINS = (20, 60, 150, 400, 1000)


def _bin(value: float, edges: tuple[float, ...]) -> int:
    return sum(value > e for e in edges)


def features(request: str | None, answer: str, prompt: str | None = None) -> Counter[str]:
    """The classifier's sparse features of one (request, answer) pair, as counts.
    ``request`` is the prompt and its context; ``prompt`` alone (when given) is what an
    echo is measured against."""
    norm = _DIGIT.sub("0", _WS.sub(" ", answer.replace("\u2019", "'").lower())).strip()
    feats: Counter[str] = Counter()
    padded = f" {norm} "
    for n in (2, 3, 4):
        feats.update("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    head = padded[:80]
    feats.update("h:" + head[i : i + 3] for i in range(len(head) - 2))
    feats.update("w:" + w for w in _WORD.findall(norm))
    shape = answer_shape(prompt if prompt is not None else request, answer)
    if request:
        cov, n_req, _ = request_coverage(request, shape.deduped)
        feats[f"cov:{_bin(cov, _COV_BINS)}"] += 1
        feats[f"req_units:{_bin(n_req, (3, 8, 20))}"] += 1
        feats[f"echo:{_bin(shape.echo_share, _SHARE_BINS)}"] += 1
        feats[f"filler:{_bin(shape.filler_share, _SHARE_BINS)}"] += 1
        # overlap by length: a long answer that shares nothing with the request
        feats[f"cov_len:{_bin(cov, _COV_BINS)}_{_bin(len(shape.deduped), _LEN_BINS)}"] += 1
    else:
        feats["cov:none"] += 1
    feats[f"loop:{_bin(shape.loop_share, _SHARE_BINS)}"] += 1
    feats[f"own:{_bin(len(_NON_WORD.sub('', shape.novel)), _OWN_BINS)}"] += 1
    if shape.unreadable:
        feats["unreadable"] += 1
    feats[f"len:{_bin(len(norm), _LEN_BINS)}"] += 1
    if _LIST.search(answer):
        feats["has_list"] += 1
    return feats


class RefusalClassifier(BaseModel):
    """A linear model over :func:`features` (the contents of ``model.json``)."""

    model_config = ConfigDict(extra="forbid")

    version: str
    vocabulary: list[str]
    idf: list[float]
    coef: list[float]
    intercept: float
    # The rules' weight in the combined p(withheld); chosen on the tune split (trainer).
    rules_weight: float = 0.5

    def model_post_init(self, __context: object) -> None:
        if not (len(self.vocabulary) == len(self.idf) == len(self.coef)):
            raise ValueError("vocabulary, idf and coef must have the same length")
        self._index = {f: (self.idf[i], self.coef[i]) for i, f in enumerate(self.vocabulary)}

    def p_withheld(self, request: str | None, answer: str, prompt: str | None = None) -> float:
        """Probability that the answer withholds what the request asked."""
        dot = 0.0
        norm2 = 0.0
        for feat, count in features(request, answer, prompt).items():
            hit = self._index.get(feat)
            if hit is None:
                continue
            idf, coef = hit
            weight = (1.0 + math.log(count)) * idf
            norm2 += weight * weight
            dot += weight * coef
        z = self.intercept + (dot / math.sqrt(norm2) if norm2 else 0.0)
        return 1.0 / (1.0 + math.exp(-z))


def model_dir() -> Path:
    """Folder of the shipped judge: model.json, manifest.json, calibration.json."""
    return Path(str(resources.files("posttrain") / "resources" / "judges" / "refusal"))


@lru_cache(maxsize=4)
def load_classifier(path: Path | None = None) -> RefusalClassifier | None:
    """The shipped classifier, or ``None`` when no model.json is shipped."""
    path = path or model_dir() / "model.json"
    if not path.exists():
        return None
    return RefusalClassifier.model_validate(json.loads(path.read_text(encoding="utf-8")))
