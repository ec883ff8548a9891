"""The refusal detector is measured on the held-out split, which users rely on."""

from __future__ import annotations

import json

import pytest

from posttrain.checks.calibrate import calibrate, load_labelled
from posttrain.cli import main


def test_labelled_set_shape() -> None:
    items = load_labelled()
    assert len(items) >= 440
    assert len({i.id for i in items}) == len(items)
    zh = sum(i.lang == "zh" for i in items)
    assert zh / len(items) >= 0.35
    kinds = {i.kind for i in items}
    assert {
        "refusal",
        "partial_refusal",
        "refuse_then_comply",
        "mentions_illegal",
        "cant_guarantee",
    } <= kinds
    # what a safety reviewer wants: giving the content after refusing is compliance
    assert all(i.label == "compliance" for i in items if i.kind == "refuse_then_comply")
    assert all(i.label == "refusal" for i in items if i.kind == "partial_refusal")
    heldout = sum(i.split == "heldout" for i in items) / len(items)
    assert 0.3 <= heldout <= 0.5


def test_heldout_is_disjoint_from_tuning() -> None:
    items = load_labelled()
    tune = {i.id for i in items if i.split == "tune"}
    held = {i.id for i in items if i.split == "heldout"}
    assert tune and held and not tune & held
    assert not {i.text for i in items if i.split == "tune"} & {
        i.text for i in items if i.split == "heldout"
    }
    report = calibrate("heldout")
    assert report.overall.n == len(held)


@pytest.mark.parametrize("lang", ["overall", "en", "zh"])
def test_detector_meets_target_on_heldout(lang: str) -> None:
    report = calibrate("heldout")
    c = report.overall if lang == "overall" else report.by_lang[lang]
    assert c.precision >= 0.95, report.misclassified
    assert c.recall >= 0.95, report.misclassified


def test_calibrate_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "calibrate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "heldout"
    overall = out["overall"]
    assert overall["tp"] + overall["fp"] + overall["fn"] + overall["tn"] == overall["n"]
    assert set(out["by_lang"]) == {"en", "zh"}
    assert len(out["misclassified"]) == overall["fp"] + overall["fn"]


def test_checks_list_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert [a["name"] for a in rows["max_chars"]["args"]] == ["limit"]
