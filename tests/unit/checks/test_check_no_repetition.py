"""``no_repetition``: loops, runaway lists and answers cut at the token limit fail."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from posttrain.checks import Sample, describe_check, run_check
from posttrain.checks.repetition import repetition_stats, text_units

LABELLED = Path(str(resources.files("posttrain") / "resources" / "repetition" / "labelled.jsonl"))


def _sample(**expected: object) -> Sample:
    return Sample(id="s", prompt="where is my order?", expected=dict(expected))


def _verdict(text: str, **args: object):  # type: ignore[no-untyped-def]
    return run_check("no_repetition", _sample(), text, args)


def test_the_issues_chinese_loop_fails() -> None:
    text = "我可以在这里提供一个请求，" * 8
    v = _verdict(text)
    assert v.status == "fail"
    assert "loops" in v.evidence and "character" in v.evidence


def test_an_english_sentence_loop_fails() -> None:
    v = _verdict("I can help with that. " * 12)
    assert v.status == "fail" and "'i can help with' x" in v.evidence


def test_an_emoji_loop_fails() -> None:
    assert _verdict("👩‍🔥👩‍🔥\n\n" * 12).status == "fail"


def test_a_runaway_list_fails_even_when_the_numbers_differ() -> None:
    text = "油皮：\n" + "\n".join(f"{i}. {i}00 yuan" for i in range(1, 13))
    v = _verdict(text)
    assert v.status == "fail" and "runaway list" in v.evidence


def test_legitimately_repetitive_formats_pass() -> None:
    rows = [
        {"name": f"ThermoGo Bottle {ml} ml", "url": f"https://shop.example/p/{ml}", "price": p}
        for ml, p in ((350, 19.9), (500, 24.9), (750, 29.9))
    ]
    assert _verdict(json.dumps(rows)).status == "pass"
    steps = (
        "1. Open My orders.\n2. Tap the order.\n3. Tap Change address.\n"
        "4. Pick a saved address.\n5. Tap Confirm; we e-mail you the new address."
    )
    assert _verdict(steps).status == "pass"
    zh = (
        "退货流程：\n1. 在“我的订单”里点击申请退货。\n2. 选择原因并上传照片。\n"
        "3. 选择寄回方式。\n4. 填写快递单号。\n5. 收货后 5 个工作日内退款。"
    )
    assert _verdict(zh).status == "pass"


def test_a_short_answer_said_twice_is_below_the_minimum_length() -> None:
    assert _verdict("I can help with that. I can help with that.").status == "pass"


def test_an_answer_cut_at_the_token_limit_fails() -> None:
    text = "Here is how returns work: you have 30 days from delivery to send an item"
    cut = run_check("no_repetition", _sample(finish_reason="length"), text)
    assert cut.status == "fail" and "finish_reason: length" in cut.evidence
    done = run_check("no_repetition", _sample(finish_reason="stop"), text)
    assert done.status == "pass" and "unknown" not in done.evidence
    allowed = run_check(
        "no_repetition", _sample(finish_reason="length"), text, {"fail_on_length": False}
    )
    assert allowed.status == "pass"


def test_an_unknown_finish_reason_is_said_not_guessed() -> None:
    v = _verdict("Yes, shipping is free on orders over $49.")
    assert v.status == "pass" and "not judged" in v.evidence


def test_bad_arguments_are_an_error_never_a_pass() -> None:
    assert _verdict("text", max_repeat_share=0.0).status == "error"
    assert _verdict("text", ngram=0).status == "error"


def test_units_are_words_cjk_characters_and_whole_urls() -> None:
    units, n_cjk = text_units("Hi 你好! see https://a.example/x?y=1 now")
    assert units == ["hi", "你", "好", "see", "https://a.example/x?y=1", "now"]
    assert n_cjk == 2
    assert repetition_stats("你好你好你好你好你好你好").cjk


def test_the_check_is_registered_with_its_arguments() -> None:
    info = describe_check("no_repetition")
    names = {a.name for a in info.args}
    assert {"max_repeat_share", "ngram", "cjk_ngram", "fail_on_length"} <= names


def _labelled() -> list[dict[str, object]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]


def test_the_labelled_set_splits_by_source() -> None:
    rows = _labelled()
    tune = {str(r["source"]).split("#")[0] for r in rows if r["split"] == "tune"}
    held = {str(r["source"]).split("#")[0] for r in rows if r["split"] == "heldout"}
    assert tune and held
    # The hand-written formats sit in both splits (different items); every other source
    # (a model's outputs, a data file) is in one split only.
    shared = {s for s in tune & held if not s.startswith("hand-written")}
    assert shared == set()
    for split in ("tune", "heldout"):
        labels = {r["label"] for r in rows if r["split"] == split}
        assert labels == {"ok", "degenerate"}


@pytest.mark.parametrize("split", ["heldout"])
def test_precision_and_recall_on_the_held_out_split(split: str) -> None:
    # Text-only: the token-limit part is exact and tested above; the labels judge loops.
    tp = fp = fn = 0
    for row in _labelled():
        if row["split"] != split:
            continue
        failed = run_check("no_repetition", _sample(), str(row["text"])).status == "fail"
        degenerate = row["label"] == "degenerate"
        tp += failed and degenerate
        fp += failed and not degenerate
        fn += degenerate and not failed
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"{split}: precision {precision:.3f} ({tp}/{tp + fp}), recall {recall:.3f} ({tp}/{tp + fn})"
    )
    assert precision >= 0.9 and recall >= 0.9


def test_the_runner_passes_finish_reason_to_the_checks() -> None:
    from posttrain.contract import load_contract
    from posttrain.evaluate.runner import judge_answer
    from posttrain.workspace import example_dir

    contract = load_contract(example_dir() / "contract.yaml")
    sample = Sample(id="r", prompt="Is shipping free?", tags=["policy_question"])
    text = "Shipping is free on orders over $49; below that it costs $4.99."

    def status(finish: str | None) -> str:
        j = judge_answer(contract, sample, text, "CANARY-X", "regression", finish_reason=finish)
        return next(v.status for v in j.verdicts if v.clause == "no_degenerate_output")

    assert status("length") == "fail"
    assert status("stop") == "pass"
