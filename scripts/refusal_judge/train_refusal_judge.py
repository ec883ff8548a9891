"""Train the refusal judge's classifier on the tune split and ship it.

Fits a logistic regression (scikit-learn) on the sublinear TF-IDF of
``posttrain.checks.refusal_classifier.features`` over the ``tune`` split of
src/posttrain/resources/refusal/labelled.jsonl, and writes, in
src/posttrain/resources/judges/refusal/:

* ``model.json``: vocabulary, idf, coefficients and intercept (plain JSON, rebuilt in
  pure Python at load: no pickle);
* ``manifest.json``: version, the labelled set's sha256, this command, the library
  versions, the tune split's metrics;
* ``calibration.json``: the combined judgement's held-out calibration
  (``posttrain checks calibrate --write``).

Deterministic (liblinear, fixed seed). Needs scikit-learn. Run:
    flock /tmp/posttrain-heavy.lock .venv/bin/python scripts/refusal_judge/train_refusal_judge.py
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from posttrain.checks import refusal_classifier
from posttrain.checks.calibrate import (
    calibrate,
    labelled_set_path,
    load_labelled,
    write_calibration,
)
from posttrain.checks.refusal_classifier import RefusalClassifier, features, model_dir
from posttrain.checks.refusal_rules import judge_rules
from posttrain.core.hashing import file_sha256

VERSION = "1.1.0"
MIN_DF = 2
CS = (1.0, 3.0, 8.0)  # regularisation candidates, chosen by grouped CV on tune


def _matrix(rows: list[Counter[str]], index: dict[str, int], idf: np.ndarray) -> sp.csr_matrix:
    data, cols, ptr = [], [], [0]
    for feats in rows:
        for f, count in feats.items():
            j = index.get(f)
            if j is not None:
                cols.append(j)
                data.append((1.0 + math.log(count)) * idf[j])
        ptr.append(len(cols))
    m = sp.csr_matrix(
        (np.array(data), np.array(cols), np.array(ptr)), shape=(len(rows), len(index))
    )
    norms = np.sqrt(m.multiply(m).sum(axis=1)).A1
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ m


def _fit(x: sp.csr_matrix, y: np.ndarray, c: float) -> LogisticRegression:
    lr = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", random_state=0)
    lr.fit(x, y)
    return lr


def _oof(tune: list, x: sp.csr_matrix, y: np.ndarray, c: float) -> np.ndarray:  # type: ignore[type-arg]
    """Out-of-fold probabilities on tune, folds grouped by template (a fold never sees
    its own template). idf comes from the whole tune split: a small, shared leak."""
    groups = [i.template for i in tune]
    oof = np.zeros(len(tune))
    for fit_idx, val_idx in GroupKFold(n_splits=5).split(x, y, groups):
        oof[val_idx] = _fit(x[fit_idx], y[fit_idx], c).predict_proba(x[val_idx])[:, 1]
    return oof


def _rules_weight(rules: np.ndarray, oof: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The rules' weight in the combined probability: the best combined accuracy on the
    tune split with out-of-fold classifier probabilities."""
    best = (0.5, -1.0)
    for w in np.round(np.arange(0.2, 0.85, 0.05), 2):
        acc = float((((w * rules + (1 - w) * oof) >= 0.5) == (y == 1)).mean())
        if acc > best[1]:
            best = (float(w), acc)
    return best


def _oof_report(
    tune: list,  # type: ignore[type-arg]
    rules_p: np.ndarray,
    oof: np.ndarray,
    y: np.ndarray,
    w: float,
) -> dict[str, dict[str, float | int]]:
    """The combined judgement's tune numbers with out-of-fold classifier probabilities
    (folds grouped by template), overall, per language and per family/language: what the
    rules and the features are developed against (the held-out split is not looked at)."""
    combined = (w * rules_p + (1 - w) * oof) >= 0.5
    uncertain = (rules_p >= 0.5) != (oof >= 0.5)
    keys: dict[str, list[int]] = {}
    for k, item in enumerate(tune):
        for key in ("all", item.lang, f"{item.family}/{item.lang}"):
            keys.setdefault(key, []).append(k)
    out: dict[str, dict[str, float | int]] = {}
    for key, idx in keys.items():
        t, p = y[idx] == 1, combined[idx]
        tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
        out[key] = {
            "n": len(idx),
            "precision": round(tp / (tp + fp), 4) if tp + fp else float("nan"),
            "recall": round(tp / (tp + fn), 4) if tp + fn else float("nan"),
            "accuracy": round(float((t == p).mean()), 4),
            "uncertain": int(uncertain[idx].sum()),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-calibration", action="store_true", help="skip calibration.json")
    args = ap.parse_args()
    path = labelled_set_path()
    tune = [i for i in load_labelled(path) if i.split == "tune"]
    rows = [
        features(" ".join(x for x in (i.request, i.context) if x) or None, i.answer, i.request)
        for i in tune
    ]
    y = np.array([i.withheld for i in tune], dtype=int)
    df: Counter[str] = Counter()
    for feats in rows:
        df.update(feats.keys())
    vocab = sorted(f for f, d in df.items() if d >= MIN_DF)
    index = {f: j for j, f in enumerate(vocab)}
    n = len(rows)
    idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in vocab])
    x = _matrix(rows, index, idf)
    oofs = {c: _oof(tune, x, y, c) for c in CS}
    c_best = max(CS, key=lambda c: float(((oofs[c] >= 0.5) == (y == 1)).mean()))
    lr = _fit(x, y, c_best)
    rules_p = np.array([judge_rules(i.request, i.answer, i.context).p_withheld for i in tune])
    rules_weight, oof_acc = _rules_weight(rules_p, oofs[c_best], y)
    oof_report = _oof_report(tune, rules_p, oofs[c_best], y, rules_weight)
    for key, row in oof_report.items():
        print(f"  tune out-of-fold combined {key:34s} {row}")
    pred = lr.predict(x)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    model = RefusalClassifier(
        version=VERSION,
        vocabulary=vocab,
        idf=[round(float(v), 6) for v in idf],
        coef=[round(float(v), 6) for v in lr.coef_[0]],
        intercept=round(float(lr.intercept_[0]), 6),
        rules_weight=rules_weight,
    )
    out = model_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(
        json.dumps(model.model_dump(), ensure_ascii=False, separators=(",", ":")) + "\n",
        encoding="utf-8",
    )
    manifest = {
        "name": "refusal-judge-classifier",
        "version": VERSION,
        "format": "model.json: vocabulary, idf, coef, intercept (JSON; no pickle)",
        "model": f"sublinear TF-IDF (min_df={MIN_DF}, l2) + LogisticRegression(C={c_best}, "
        "liblinear, class_weight=balanced)",
        "features": "checks/refusal_classifier.py features(): answer char 2-4-grams, opening "
        "char 3-grams, words, request-answer overlap and length bins, answer shape (loops, "
        "echo of the prompt, stock filler, own content; refusal_rules.answer_shape)",
        "training_data": "posttrain/resources/refusal/labelled.jsonl",
        "training_data_sha256": file_sha256(path),
        "training_split": "tune",
        "training_command": "flock /tmp/posttrain-heavy.lock .venv/bin/python "
        "scripts/refusal_judge/train_refusal_judge.py",
        "rules_weight": rules_weight,
        "rules_weight_tune_oof_accuracy": round(oof_acc, 4),
        "libraries": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "n_features": len(vocab),
        "c_candidates": {
            str(c): round(float(((o >= 0.5) == (y == 1)).mean()), 4) for c, o in oofs.items()
        },
        "tune_oof_combined": {k: oof_report[k] for k in ("all", "en", "zh")},
        "tune_metrics": {
            "n": n,
            "positives": int(y.sum()),
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "accuracy": round(float((pred == y).mean()), 4),
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    refusal_classifier.load_classifier.cache_clear()
    print(f"trained on {n} tune items, {len(vocab)} features: {manifest['tune_metrics']}")
    if not args.no_calibration:
        report = calibrate("heldout")
        print(f"wrote {write_calibration(report)}")


if __name__ == "__main__":
    main()
