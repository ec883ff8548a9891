"""Preference pairs that are checked: grounded chosen answers, chosen really better than
rejected under the contract's own checks, learnable differences, coverage by share."""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from posttrain.data import DataConfig, QualityConfig, build_dataset

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot"
PLACEHOLDER = ("<product name>", "https://<product page>", '"price": 0}', '"price":0}')


@pytest.fixture(scope="module")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("ex") / "support-bot"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("runs", "reports", ".posttrain"))
    res = build_dataset(DataConfig(workspace=ws), workers=1)
    assert res.status == "built", res.failing_rules
    return ws


def test_no_placeholder_answer_in_the_example_build(example_build: Path) -> None:
    # issue 14: 23 of the 36 format pairs had [{"name":"<product name>",...,"price":0}]
    for name in ("sft.jsonl", "prefs.jsonl"):
        text = (example_build / "data" / name).read_text(encoding="utf-8")
        assert not [p for p in PLACEHOLDER if p in text], name


def test_example_recommendations_come_from_the_catalogue(example_build: Path) -> None:
    catalog = [
        json.loads(line)
        for line in (example_build / "data" / "catalog.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
        if line.strip()
    ]
    known = {(c["name"], c["url"], c["price"]) for c in catalog if "fact" not in c}
    n = 0
    for line in (example_build / "data" / "prefs.jsonl").read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        if pair["tags"][0] != "format":
            continue
        n += 1
        for item in json.loads(pair["chosen"]):
            assert (item["name"], item["url"], item["price"]) in known, item
    assert n >= 30


def _contract_ws(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copy(EXAMPLE / "contract.yaml", ws / "contract.yaml")
    shutil.copy(EXAMPLE / "data" / "catalog.jsonl", ws / "data" / "catalog.jsonl")
    (ws / "data" / "failures.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return ws


def _rec(i: int, label: str, prompt: str, bad: str, ideal: str | None = None) -> dict[str, object]:
    r: dict[str, object] = {
        "id": f"p-{i:03d}",
        "prompt": prompt,
        "bad_answer": bad,
        "label": label,
        "source": "production_log",
        "ts": "2026-08-01T07:20:17+08:00",
    }
    if ideal is not None:
        r["ideal_answer"] = ideal
    return r


def _small(ws: Path) -> DataConfig:
    # two records: the rules about shares of a large set are tested elsewhere
    return DataConfig(
        workspace=ws,
        eval_sets=[],
        quality=QualityConfig(
            length_ratio_high=50.0, max_template_share=1.0, max_out_of_band_pair_fraction=1.0
        ),
        overrides={"class_coverage": "two-record test set, coverage tested elsewhere"},
    )


def test_a_pair_whose_chosen_fails_a_clause_its_rejected_failed_is_quarantined(
    tmp_path: Path,
) -> None:
    rows = [
        # the rejected is rude (polite_tone fails); so is the "ideal" answer: not better
        _rec(
            1,
            "politeness",
            "Where do I find my invoice?",
            "Not my problem, whatever.",
            ideal="Whatever, look under My Orders yourself.",
        ),
        # a proper pair: the chosen passes what the rejected failed
        _rec(
            2,
            "politeness",
            "How do I change my password?",
            "Figure it out yourself.",
            ideal="Sorry for the trouble! Open Account > Security and tap Change password; I can also hand you over to a human agent.",
        ),
    ]
    ws = _contract_ws(tmp_path, rows)
    res = build_dataset(_small(ws), workers=1)
    assert res.status == "built", res.failing_rules
    prefs = [json.loads(x) for x in (ws / "data" / "prefs.jsonl").read_text().splitlines()]
    assert [p["ids"]["failure"] for p in prefs] == ["p-002"]
    assert res.counts.pairs_quarantined == 1
    (item,) = [
        json.loads(x) for x in (ws / "data" / "pairs_quarantine.jsonl").read_text().splitlines()
    ]
    assert item["clauses"] == ["polite_tone"] and item["line"] == 1 and item["id"] == "p-001"
    assert item["chosen_from"] == "ideal_answer" and "ideal_answer" in item["hint"]
    # the record itself is kept (in its bucket), only its pair is held back
    assert "p-001" in (ws / "data" / "buckets" / "politeness" / "failures.jsonl").read_text()
    sheet = (ws / "data" / "DATASHEET.md").read_text(encoding="utf-8")
    assert "quarantined as preference pairs" in sheet and "polite_tone" in sheet


def test_every_written_pair_passes_what_its_rejected_failed(example_build: Path) -> None:
    # re-judged from the files, with evaluation's judge_item: no pair slipped through
    from posttrain.data.labels import clauses_for, load_contract_info
    from posttrain.data.pairs import PairJudge
    from posttrain.data.records import BucketedRecord, PrefPair

    data = example_build / "data"
    judge = PairJudge(example_build / "contract.yaml", example_build)
    info = load_contract_info(example_build / "contract.yaml")
    aliases = DataConfig().label_aliases
    recs = {}
    for bucket in (data / "buckets").glob("*/failures.jsonl"):
        for line in bucket.read_text(encoding="utf-8").splitlines():
            r = BucketedRecord.model_validate_json(line)
            recs[r.id] = r
    n = 0
    for line in (data / "prefs.jsonl").read_text(encoding="utf-8").splitlines():
        pair = PrefPair.model_validate_json(line)
        rec = recs[pair.ids["failure"]]
        verdict = judge.judge(rec, pair, clauses_for(rec.label, info, aliases))
        assert verdict.problems == [], (pair.id, verdict)
        n += 1
    quarantined = (data / "pairs_quarantine.jsonl").read_text(encoding="utf-8").splitlines()
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    assert (
        n == manifest["counts"]["prefs"]
        and len(quarantined) == manifest["counts"]["pairs_quarantined"]
    )


def test_no_example_pair_is_quarantined_for_its_ideal_answer(example_build: Path) -> None:
    # issue 14: 43 of the example's 338 pairs were quarantined because the generator's
    # ideal answers (examples/support-bot/scripts/generate_data.py) were refusals without a
    # reason or a next step; they are fixed at the source, the check is as it was
    lines = (example_build / "data" / "pairs_quarantine.jsonl").read_text(encoding="utf-8")
    held = [json.loads(line) for line in lines.splitlines() if line.strip()]
    assert [q["id"] for q in held if q["chosen_from"] == "ideal_answer"] == []
