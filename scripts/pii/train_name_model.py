"""Fit the Chinese name model (``posttrain.data.deid.name_model``) and write it.

    flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/pii/train_name_model.py

Training data: the tune files of Chinese names in context
(``src/posttrain/resources/pii/tune*_zh_names.txt``) and the Chinese rows of the labelled
PII set's ``tune`` split that are not from those files; never a ``blind*`` file nor a
``heldout`` row. Each line with a name is also copied three times with its full names
swapped for generated ones (Faker ``zh_CN``'s surnames and given names, a compound
surname one time in ten), so that the model learns the contexts more than the names.

A candidate (``name_model.candidates``) is positive where it is exactly a marked PERSON
span. The regularisation and the threshold are chosen by cross-validation grouped by
source file (each tune file, the labelled rows: one group each): the threshold is the
lowest at which the model's own precision over the held-out folds is at least 0.9.
Writes ``model.json`` and ``manifest.json`` to ``src/posttrain/resources/pii/name_model``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from faker import Faker
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from posttrain.data.deid import names as n
from posttrain.data.deid.lexicon import zh_compound_surnames, zh_surnames
from posttrain.data.deid.name_model import candidates, model_dir, span_features
from posttrain.resources.pii.make_labelled import zh_name_rows

PII = Path(n.__file__).resolve().parents[2] / "resources" / "pii"
VERSION = "1.0.0"
SEED = 20261206
COPIES = 3
TARGET_PRECISION = 0.9
Row = tuple[str, list[tuple[int, int]], str]  # text, PERSON spans, group


def tune_files() -> list[Path]:
    return sorted(p for p in PII.glob("tune*_zh_names.txt"))


def load_rows() -> list[Row]:
    rows: list[Row] = []
    for path in tune_files():
        for r in zh_name_rows(path, "tune"):
            spans = [(e["start"], e["end"]) for e in r["entities"] if e["type"] == "PERSON"]  # type: ignore[attr-defined]
            rows.append((str(r["text"]), spans, path.name))
    for line in (PII / "labelled.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["lang"] != "zh" or r["split"] != "tune" or str(r["source"]).startswith("names.zh:"):
            continue
        spans = [(e["start"], e["end"]) for e in r["entities"] if e["type"] == "PERSON"]
        rows.append((r["text"], spans, "labelled.jsonl"))
    return rows


def augment(rows: list[Row], rng: random.Random) -> list[Row]:
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    surnames = zh_surnames()
    compounds = list(zh_compound_surnames())
    given: dict[int, list[str]] = {1: [], 2: []}
    for _ in range(4000):
        g = fake.first_name()
        if len(g) in given:
            given[len(g)].append(g)
    out: list[Row] = []
    for text, spans, group in rows:
        full = [
            (a, b)
            for a, b in spans
            if b - a >= 2
            and (text[a] in surnames or text[a : a + 2] in compounds)
            and re.fullmatch(r"[\u4e00-\u9fff]+", text[a:b])
        ]
        if not full:
            continue
        for _ in range(COPIES):
            new_text, new_spans, pos = "", [], 0
            swap = set(full)
            for a, b in sorted(spans):
                new_text += text[pos:a]
                value = text[a:b]
                if (a, b) in swap:
                    old_sur = 2 if value[:2] in compounds else 1
                    glen = min(2, max(1, len(value) - old_sur))
                    sur = rng.choice(compounds) if rng.random() < 0.1 else fake.last_name()[:1]
                    value = sur + rng.choice(given[glen])
                new_spans.append((len(new_text), len(new_text) + len(value)))
                new_text += value
                pos = b
            new_text += text[pos:]
            out.append((new_text, new_spans, group))
    return out


def examples(rows: list[Row]) -> tuple[list[dict[str, int]], list[int], list[str], list[int]]:
    feats: list[dict[str, int]] = []
    labels: list[int] = []
    groups: list[str] = []
    row_of: list[int] = []
    for i, (text, spans, group) in enumerate(rows):
        gold = set(spans)
        for s, e, sur_len in candidates(text):
            feats.append(dict.fromkeys(span_features(text, s, e, sur_len), 1))
            labels.append(int((s, e) in gold))
            groups.append(group)
            row_of.append(i)
    return feats, labels, groups, row_of


def fit(x: Any, y: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000)
    model.fit(x, y)
    return model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=model_dir())
    args = ap.parse_args()
    rng = random.Random(SEED)
    base = load_rows()
    rows = base + augment(base, rng)
    feats, labels, groups, row_index = examples(rows)
    vec = DictVectorizer()
    x = vec.fit_transform(feats).tocsr()
    x.indices, x.indptr = x.indices.astype(np.int32), x.indptr.astype(np.int32)
    y = np.array(labels)
    g = np.array(groups)
    names = sorted(set(groups))
    print(
        f"{len(base)} lines ({len(rows)} with the swapped copies), {len(y)} candidates, "
        f"{int(y.sum())} positive; groups: {', '.join(names)}"
    )
    # grouped cross-validation: each file out in turn, scored on its original lines only
    is_orig = np.array(row_index) < len(base)
    scores: dict[float, np.ndarray] = {}
    for c in (1.0, 3.0, 10.0):
        p = np.zeros(len(y))
        for name in names:
            test = g == name
            model = fit(x[~test], y[~test], c)
            p[test] = model.predict_proba(x[test])[:, 1]
        scores[c] = p
        for t in (0.5, 0.7, 0.9):
            sel = is_orig & (p >= t)
            tp = int((y[sel] == 1).sum())
            prec = tp / max(1, int(sel.sum()))
            rec = tp / max(1, int((y[is_orig] == 1).sum()))
            print(f"C={c} threshold {t}: candidate precision {prec:.3f}, recall {rec:.3f}")
    best_c = max(scores, key=lambda c: _auc(y[is_orig], scores[c][is_orig]))
    p = scores[best_c][is_orig]
    yo = y[is_orig]
    threshold = 0.95
    for t in np.arange(0.5, 0.951, 0.025):
        sel = p >= t
        if sel.sum() and (yo[sel] == 1).mean() >= TARGET_PRECISION:
            threshold = round(float(t), 3)
            break
    sel = p >= threshold
    cv_precision = float((yo[sel] == 1).mean()) if sel.sum() else 0.0
    cv_recall = float((yo[sel] == 1).sum() / max(1, (yo == 1).sum()))
    print(
        f"chosen C={best_c}, threshold {threshold}: cross-validated candidate precision "
        f"{cv_precision:.3f}, recall {cv_recall:.3f}"
    )
    model = fit(x, y, best_c)
    weights = {
        f: round(float(w), 5)
        for f, w in zip(vec.get_feature_names_out(), model.coef_[0], strict=True)
        if abs(w) >= 1e-4
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.json").write_text(
        json.dumps(
            {"weights": weights, "intercept": round(float(model.intercept_[0]), 5)},
            ensure_ascii=False,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    digest = hashlib.sha256()
    sources = [*tune_files(), PII / "labelled.jsonl"]
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    manifest = {
        "name": "zh-name-span-model",
        "version": VERSION,
        "format": "model.json: feature weights and intercept (JSON; no pickle)",
        "model": f"LogisticRegression(C={best_c}, liblinear) over name_model.span_features",
        "training_data": [p.name for p in sources],
        "training_data_sha256": digest.hexdigest(),
        "training_lines": len(base),
        "swapped_copies": COPIES,
        "candidates": len(y),
        "positives": int(y.sum()),
        "threshold": threshold,
        "threshold_rule": f"lowest with grouped-CV candidate precision >= {TARGET_PRECISION}",
        "cv_by_file": {"precision": round(cv_precision, 4), "recall": round(cv_recall, 4)},
        "training_command": (
            "flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/pii/train_name_model.py"
        ),
        "libraries": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "n_features": len(weights),
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}/model.json ({len(weights)} weights) and manifest.json")
    return 0


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return 0.0
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


if __name__ == "__main__":
    sys.exit(main())
