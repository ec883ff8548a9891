"""The trained span model of Chinese names (issue 14, sixth pass): shipped as JSON with
the hash of what it was trained on, never trained on a blind file, scored beside the
rules, and the recognizer still works without it."""

from __future__ import annotations

import hashlib
import json

import pytest

from posttrain.data.deid import Analyzer, name_model
from posttrain.data.deid.name_model import NameModel, candidates, load_name_model, model_dir


def _people(analyzer: Analyzer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in analyzer.analyze(text) if r.entity_type == "PERSON"]


def test_the_shipped_model_is_the_one_its_training_files_give() -> None:
    manifest = json.loads((model_dir() / "manifest.json").read_text(encoding="utf-8"))
    pii = model_dir().parent
    digest = hashlib.sha256()
    for name in manifest["training_data"]:
        digest.update(name.encode() + b"\0" + (pii / name).read_bytes())
    assert digest.hexdigest() == manifest["training_data_sha256"], (
        "a training file changed since the model was fitted: "
        "run scripts/pii/train_name_model.py again"
    )
    # the tune files and the labelled set (whose heldout rows the script skips), no blind one
    assert not [n for n in manifest["training_data"] if n.startswith("blind")]
    assert sorted(p.name for p in pii.glob("tune*_zh_names.txt")) == sorted(
        n for n in manifest["training_data"] if n.startswith("tune")
    )
    model = load_name_model()
    assert model is not None and model.threshold == manifest["threshold"]
    assert 0.5 <= model.threshold < 1.0


def test_candidates_are_a_surname_and_one_or_two_given_characters() -> None:
    text = "请联系欧阳明月或者张伟，关于小区门口"
    spans = {text[s:e] for s, e, _ in candidates(text)}
    assert {"欧阳明", "欧阳明月", "张伟"} <= spans
    assert "区门" not in spans  # 区 ends 小区, a word counted often


def test_names_are_the_likelier_length_without_overlap() -> None:
    # a toy model: the two-character given name of a span scores, nothing else does
    model = NameModel(version="t", weights={"size=1+2": 6.0}, intercept=-3.0, threshold=0.5)
    got = model.names("客户王建国，李秀英")
    assert [(s, e) for s, e, _ in got] == [(2, 5), (6, 9)]
    assert all(p > 0.9 for _, _, p in got)


def test_the_model_finds_a_name_no_rule_does(
    analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a full name mid-sentence with no title, cue or list around it, after a verb (联系)
    # and before a verb the rules do not list (无人接听); a rare surname (佘) the rules
    # only take where a name surely starts and ends (a sentence of no training file)
    text = "电话联系佘志强无人接听，明天再派。"
    assert "佘志强" in _people(analyzer, text)
    monkeypatch.setattr(name_model, "load_name_model", lambda path=None: None)
    assert "佘志强" not in _people(Analyzer(), text)


def test_without_the_model_the_rules_still_run(
    analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(name_model, "load_name_model", lambda path=None: None)
    assert "王建国" in _people(Analyzer(), "收货人：王建国，电话见备注")
