"""The refusal judgement is measured on a held-out split, which users rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.checks.calibrate import calibrate, load_labelled, write_calibration
from posttrain.cli import main
from posttrain.errors import InputError

FAMILIES = ("refusal_alternatives", "lecture", "non_sequitur")


def test_labelled_set_shape() -> None:
    items = load_labelled()
    assert len(items) >= 1500
    assert len({i.id for i in items}) == len(items)
    assert {i.lang for i in items} == {"en", "zh"}
    assert sum(i.lang == "zh" for i in items) / len(items) >= 0.35
    families = {i.family for i in items}
    assert {
        *FAMILIES,
        "refusal",
        "partial",
        "comply_after_disclaimer",
        "refuse_then_comply",
        "long_answer",
        "short_chat",
    } <= families
    assert len({i.source for i in items}) >= 2
    # what a safety reviewer wants: giving the content after refusing is compliance
    assert all(i.label == "complied" for i in items if i.family == "refuse_then_comply")
    assert all(i.label == "partial" for i in items if i.family == "partial")
    # answer-only items (no request) never measure the request-aware judge
    assert all(i.split == "tune" for i in items if i.request is None)


def test_split_is_by_source_and_template_never_by_item() -> None:
    items = load_labelled()
    sides: dict[tuple[str, str], set[str]] = {}
    scen: dict[tuple[str, str], set[str]] = {}
    for i in items:
        sides.setdefault((i.source, i.template), set()).add(i.split)
        if i.scenario:
            scen.setdefault((i.source, i.scenario), set()).add(i.split)
    assert all(len(s) == 1 for s in sides.values()), "a template on both sides"
    assert all(len(s) == 1 for s in scen.values()), "a scenario on both sides"
    tune = {i.answer for i in items if i.split == "tune"}
    assert not tune & {i.answer for i in items if i.split == "heldout"}
    held = [i for i in items if i.split == "heldout"]
    assert {i.lang for i in held} == {"en", "zh"}
    assert len(held) >= 300


def test_each_family_of_the_issue_has_heldout_cases_that_pass() -> None:
    report = calibrate("heldout")
    combined = report.judges["combined"]
    for family in FAMILIES:
        for lang in ("en", "zh"):
            c = combined.by_family[f"{family}/{lang}"]
            assert c.tp > 0, (family, lang)


def test_report_counts_add_up() -> None:
    report = calibrate("heldout")
    assert set(report.judges) == {"rules", "classifier", "combined"}
    held = [i for i in load_labelled() if i.split == "heldout"]
    for judge in report.judges.values():
        o = judge.overall
        assert o.n == len(held) == o.tp + o.fp + o.fn + o.tn
        assert sum(c.n for c in judge.by_lang.values()) == o.n
        lo, hi = o.recall_ci or (0.0, 1.0)
        assert lo <= o.recall <= hi
    c = report.judges["combined"].overall
    assert len(report.misclassified) == c.fp + c.fn
    assert report.judges["rules"].overall.uncertain == 0


def test_write_calibration_schema(tmp_path: Path) -> None:
    report = calibrate("heldout")
    path = write_calibration(report, tmp_path / "calibration.json")
    doc = json.loads(path.read_text())
    assert doc["check"] == "refusal" and doc["judge"] == "combined"
    assert doc["split"] == "heldout" and doc["labelled_set_sha256"] == report.labelled_set_sha256
    o = report.judges["combined"].overall
    assert (doc["n"], doc["uncertain"]) == (o.n, o.uncertain)
    assert doc["precision"] == round(o.precision, 4) and doc["recall"] == round(o.recall, 4)
    assert len(doc["precision_ci"]) == 2 and len(doc["recall_ci"]) == 2
    assert {"family", "lang", "n", "precision", "recall"} <= set(doc["by"][0])
    with pytest.raises(ValueError):
        write_calibration(calibrate("tune"), tmp_path / "x.json")


def test_shipped_calibration_matches_the_shipped_set() -> None:
    from posttrain.checks.calibrate import calibration_path

    doc = json.loads(calibration_path().read_text())
    assert doc["labelled_set_sha256"] == calibrate("heldout").labelled_set_sha256


def test_bad_labelled_line_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text('{"id": "a", "request": "q", "answer": "x", "label": "refusal"}\n')
    with pytest.raises(InputError) as exc:
        load_labelled(bad)
    assert exc.value.line == 1 and exc.value.field


def test_calibrate_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "calibrate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "heldout"
    combined = out["judges"]["combined"]
    overall = combined["overall"]
    assert overall["tp"] + overall["fp"] + overall["fn"] + overall["tn"] == overall["n"]
    assert set(combined["by_lang"]) == {"en", "zh"}
    assert "non_sequitur/en" in combined["by_family"]


def test_calibrate_cli_table_and_require(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "calibrate", "--show", "0"]) == 0
    assert "combined on the heldout split" in capsys.readouterr().out
    # --require 1.0 fails unless the judge is perfect; --require 0.0 always passes
    report = calibrate("heldout").judges["combined"].overall
    perfect = report.fp == 0 and report.fn == 0
    assert main(["checks", "calibrate", "--require", "1.0", "--show", "0"]) == (0 if perfect else 1)
    assert main(["checks", "calibrate", "--split", "tune", "--write"]) == 2


def test_checks_list_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert [a["name"] for a in rows["max_chars"]["args"]] == ["limit"]


def test_heldout_has_a_source_written_outside_the_judges_hands_and_reports_by_source(
    tmp_path: Path,
) -> None:
    """The held-out split carries the hand-written source from a session that never saw
    the judge (sources/handwritten_v1.md), all of it held out, and every judge's numbers
    are reported per source and language, in the report and in calibration.json."""
    items = load_labelled()
    hand = [i for i in items if i.source == "handwritten-v1"]
    assert len(hand) >= 500 and all(i.split == "heldout" for i in hand)
    assert {i.lang for i in hand} == {"en", "zh"}
    report = calibrate("heldout")
    for judge in report.judges.values():
        assert {"handwritten-v1/en", "handwritten-v1/zh"} <= set(judge.by_source)
        assert sum(c.n for c in judge.by_source.values()) == judge.overall.n
        assert judge.by_source["handwritten-v1/en"].n == sum(i.lang == "en" for i in hand)
    doc = json.loads(write_calibration(report, tmp_path / "c.json").read_text())
    rows = {(r["source"], r["lang"]): r for r in doc["by_source"]}
    combined = report.judges["combined"].by_source["handwritten-v1/zh"]
    assert rows[("handwritten-v1", "zh")]["n"] == combined.n
    assert rows[("handwritten-v1", "zh")]["uncertain"] == combined.uncertain
