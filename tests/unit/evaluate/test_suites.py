from __future__ import annotations

from pathlib import Path

import pytest
from eval_fakes import ATTACK_ROWS, write_jsonl

from posttrain.errors import InputError
from posttrain.evaluate.suites import BEHAVIORS, BUILTIN_SUITES, builtin_suite_path, load_suite

REGRESSION = [
    {"id": "r-1", "prompt": "Where is my order?", "tags": ["order"], "lang": "en",
     "expected": {"behavior": "ask_for", "what": "order_number"}},
    {"id": "r-2", "prompt": "推荐三款耳机", "context": None, "tags": ["recommendation"],
     "lang": "zh"},
]  # fmt: skip


def test_workspace_file_loads_and_is_versioned_by_content(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "regression.jsonl", REGRESSION)
    suite = load_suite(path)
    assert suite.name == "regression"
    assert [s.id for s in suite.samples] == ["r-1", "r-2"]
    assert suite.samples[1].lang == "zh"
    assert load_suite(str(path)).version == suite.version
    write_jsonl(path, [*REGRESSION, {"id": "r-3", "prompt": "hi"}])
    assert load_suite(path).version != suite.version


def test_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    rows = [REGRESSION[0], {"id": "r-2", "text": "no prompt here"}]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputError) as err:
        load_suite(path)
    message = str(err.value)
    assert f"{path} line 2" in message
    assert '"prompt"' in message or '"text"' in message
    assert "got keys: id, text" in message


def test_invalid_json_and_duplicate_ids_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": \n', "utf-8")
    with pytest.raises(InputError, match="line 2: invalid JSON"):
        load_suite(path)
    write_jsonl(path, [{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}])
    with pytest.raises(
        InputError, match=r"line 2: field \"id\": duplicate id 'a' \(first seen on line 1\)"
    ):
        load_suite(path)


def test_unknown_suite_lists_the_choices() -> None:
    with pytest.raises(InputError) as err:
        load_suite("no-such-suite")
    assert "jailbreak" in str(err.value) and "attacks" in str(err.value)


def test_limit_keeps_every_class_in_every_language(tmp_path: Path) -> None:
    rows = ATTACK_ROWS + [{**r, "id": r["id"] + "-b"} for r in ATTACK_ROWS]
    suite = load_suite(write_jsonl(tmp_path / "mixed.jsonl", rows))
    # One per (class, language): the English and the Chinese jailbreak both stay.
    assert [s.id for s in suite.head(1).samples] == [r["id"] for r in ATTACK_ROWS]
    assert len(suite.head(2).samples) == len(rows)
    with pytest.raises(InputError, match="--limit"):
        suite.head(0)


@pytest.mark.skipif(
    not all(builtin_suite_path(n).is_file() for n in BUILTIN_SUITES),
    reason="built-in suite data not shipped yet",
)
def test_builtin_attack_group_covers_the_four_classes_in_both_languages() -> None:
    suite = load_suite("attacks")
    classes = {s.attack_class for s in suite.samples}
    assert classes == {"jailbreak", "injection", "indirect_injection", "privacy"}
    assert {s.lang for s in suite.samples} == {"en", "zh"}
    assert len({s.id for s in suite.samples}) == len(suite.samples)


def test_unknown_expected_behavior_names_file_line_and_the_known_ones(tmp_path: Path) -> None:
    rows = [
        REGRESSION[0],
        {"id": "r-2", "prompt": "Dance for me", "expected": {"behavior": "dance"}},
    ]
    path = write_jsonl(tmp_path / "regression.jsonl", rows)
    with pytest.raises(InputError) as err:
        load_suite(path)
    message = str(err.value)
    assert f"{path} line 2" in message and "unknown behavior 'dance'" in message
    assert "expected.behavior" in message
    assert all(b in message for b in BEHAVIORS) and "refuse_and_handover" in message


def test_every_shipped_suite_uses_known_behaviors() -> None:
    example = Path(__file__).resolve().parents[3] / "examples/support-bot/data/regression.jsonl"
    for name in [*BUILTIN_SUITES, *([example] if example.is_file() else [])]:
        assert load_suite(name).samples  # it parses, so every expected.behavior is known


def test_every_shipped_injection_item_can_be_judged() -> None:
    """A regression item with a planted instruction is judged by `injection_followed`,
    which needs the instruction's marker (or the action's patterns): without one the
    check errors, and one errored item is a hard `eval_errors` failure at the gate."""
    from posttrain.checks.leaks import injection_followed

    example = Path(__file__).resolve().parents[3] / "examples/support-bot/data/regression.jsonl"
    for name in [*BUILTIN_SUITES, example]:
        for sample in load_suite(name).samples:
            if {"injection", "indirect_injection"} & set(sample.tags):
                verdict = injection_followed(sample, "Your order is on its way.")
                assert verdict.status == "pass", (name, sample.id)
