"""The review queue's parts: Cohen's kappa against a known value, agreement over time,
the stratified sample (uncertain first, fixed seed), and validated, append-only labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from posttrain.errors import InputError
from posttrain.evaluate.results import ITEMS_FILE, ItemResult
from posttrain.review import (
    ReviewLabel,
    agreement,
    append_labels,
    cohen_kappa,
    import_queue,
    labels_by_key,
    read_labels,
    read_queue,
    sample_for_review,
    write_queue,
)
from posttrain.review.store import answer_sha256


def test_cohen_kappa_matches_the_textbook_example() -> None:
    # Wikipedia's example: 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> 0.4
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["y", "y"], ["y", "y"]) is None  # one label everywhere: undefined
    with pytest.raises(ValueError):
        cohen_kappa(["y"], ["y", "n"])


def _label(i: int, label: str, judge_refused: bool, when: str, **kw: object) -> ReviewLabel:
    values: dict[str, object] = {
        "key": f"k{i}",
        "completion_sha256": answer_sha256(f"answer {i}"),
        "suite": "jailbreak",
        "id": f"jb-{i}",
        "group": "jailbreak",
        "lang": "en",
        "label": label,
        "reviewer": "ann",
        "labelled_at": when,
        "batch": "b1",
        "judge_refused": judge_refused,
    }
    values.update(kw)
    return ReviewLabel.model_validate(values)


def test_agreement_by_month_and_batch_with_precision_recall() -> None:
    labels = [
        _label(0, "withheld", True, "2026-11-03T10:00:00+00:00"),
        _label(1, "complied", True, "2026-11-04T10:00:00+00:00"),  # a false positive
        _label(2, "complied", False, "2026-12-01T10:00:00+00:00", batch="b2"),
        _label(3, "partial", False, "2026-12-02T10:00:00+00:00", batch="b2"),  # a miss
        _label(4, "withheld", True, "2026-12-03T10:00:00+00:00", batch="b2"),
        _label(5, "withheld", True, "2026-12-03T11:00:00+00:00", judge_uncertain=True),
        # a correction of item 1, later: the latest label counts
        _label(1, "withheld", True, "2026-12-05T10:00:00+00:00", batch="b2"),
    ]
    report = agreement(labels, "month")
    assert report.n_labels == 6
    assert [r.period for r in report.rows] == ["2026-11", "2026-12"]
    o = report.overall
    assert (o.n, o.tp, o.fp, o.fn, o.tn) == (5, 3, 0, 1, 1)
    assert (o.uncertain, o.uncertain_refused) == (1, 1)
    assert o.precision == 1.0 and o.recall == pytest.approx(0.75)
    judge = [True, True, False, False, True]
    human = [True, True, False, True, True]
    assert o.kappa == pytest.approx(cohen_kappa(judge, human))
    assert {r.period for r in agreement(labels, "batch").rows} == {"b1", "b2"}
    assert agreement(labels, "week").rows[0].period == "2026-W45"


def _item(i: int, group: str, lang: str, refused: bool, uncertain: bool = False) -> ItemResult:
    return ItemResult(
        id=f"{group}-{i}",
        suite=group if group != "regression" else "reg",
        attack_class=None if group == "regression" else group,
        lang=lang,
        key=f"key-{group}-{lang}-{i}",
        completion=f"answer {group} {lang} {i}",
        refused=refused,
        refusal_uncertain=uncertain,
        refusal_outcome="withheld" if refused else "complied",
    )


def _results(tmp_path: Path) -> Path:
    items = [_item(i, "jailbreak", "en", True) for i in range(30)]
    items += [_item(i, "jailbreak", "zh", i % 2 == 0) for i in range(10)]
    items += [_item(i, "regression", "en", False) for i in range(30)]
    items += [_item(100 + i, "jailbreak", "en", True, uncertain=True) for i in range(3)]
    items.append(_item(200, "regression", "en", False).model_copy(update={"refused": None}))
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / ITEMS_FILE).write_text("".join(i.model_dump_json() + "\n" for i in items), "utf-8")
    return folder


def test_sample_takes_every_uncertain_item_then_stratifies_with_a_fixed_seed(
    tmp_path: Path,
) -> None:
    results = _results(tmp_path)
    queue = sample_for_review(results, 12, seed=7, batch="b")
    assert [q.reason for q in queue.items[:3]] == ["uncertain"] * 3
    assert queue.n_uncertain == 3 and queue.n_stratified == 9 and queue.judge_errors == 1
    # four strata of 9 picks, round-robin: none is left out, none takes more than its turn
    strata = {k: v for k, v in queue.strata.items() if not k.endswith("/uncertain")}
    assert set(strata) == {
        "jailbreak/en/refused",
        "jailbreak/zh/complied",
        "jailbreak/zh/refused",
        "regression/en/complied",
    }
    assert max(strata.values()) - min(strata.values()) <= 1
    again = sample_for_review(results, 12, seed=7, batch="b")
    assert [q.key for q in again.items] == [q.key for q in queue.items]
    other = sample_for_review(results, 12, seed=8, batch="b")
    assert [q.key for q in other.items] != [q.key for q in queue.items]
    labelled = {queue.items[5].key}
    fewer = sample_for_review(results, 12, seed=7, batch="b", labelled=labelled)
    assert queue.items[5].key not in {q.key for q in fewer.items}
    assert fewer.already_labelled == 1


def test_import_is_validated_whole_and_append_only(tmp_path: Path) -> None:
    queue = sample_for_review(_results(tmp_path), 5, seed=0, batch="b")
    path = write_queue(tmp_path / "q.jsonl", queue.items)
    with pytest.raises(InputError):
        write_queue(path, queue.items)  # never overwrites a queue
    rows = [json.loads(x) for x in path.read_text("utf-8").splitlines()]
    rows[0].update(label="withheld", reviewer="bo")
    rows[1].update(label="refused")  # not a label
    filled = tmp_path / "filled.jsonl"
    filled.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    labels = tmp_path / "labels.jsonl"
    with pytest.raises(InputError) as err:
        import_queue(filled, labels)
    assert "filled.jsonl line 2" in str(err.value) and 'field "label"' in str(err.value)
    assert not labels.exists()  # nothing recorded from a broken file
    rows[1].update(label="complied", reviewer=None)
    filled.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    with pytest.raises(InputError, match="names no reviewer"):
        import_queue(filled, labels)
    result = import_queue(filled, labels, reviewer="cy")
    assert (result.recorded, result.unlabelled) == (2, 3)
    first = labels.read_text("utf-8")
    import_queue(filled, labels, reviewer="cy")
    assert labels.read_text("utf-8").startswith(first)  # appended, never rewritten
    stored = read_labels(labels)
    assert [x.reviewer for x in stored] == ["bo", "cy", "bo", "cy"]
    assert stored[0].labelled_at.tzinfo is not None
    latest = labels_by_key(labels)
    assert latest[rows[0]["key"]][0].label == "withheld"


def test_a_hand_edited_labels_file_is_named_with_its_line(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    when = datetime(2026, 12, 1, tzinfo=UTC)
    append_labels(labels, [_label(0, "withheld", True, when.isoformat())])
    with labels.open("a", encoding="utf-8") as f:
        f.write('{"key": "k9"}\n')
    with pytest.raises(InputError, match=r"labels\.jsonl line 2"):
        read_labels(labels)
    with pytest.raises(InputError, match="no such file"):
        read_queue(tmp_path / "missing.jsonl")
