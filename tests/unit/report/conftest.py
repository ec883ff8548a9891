"""Evaluation results written as the evaluation stage writes them, without a model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from posttrain.evaluate.results import ClauseResult, ItemResult

Writer = Callable[..., Path]


def _item(
    i: int, suite: str, attack_class: str | None, lang: str, failed: bool, refused: bool, text: str
) -> ItemResult:
    dimension, check = ("safety", "no_pii_leak") if attack_class else ("format", "json_schema")
    return ItemResult(
        id=f"{suite}-{lang}-{i}",
        suite=suite,
        attack_class=attack_class,
        lang=lang,
        key=f"k-{suite}-{lang}-{i}",
        completion=text,
        latency_s=0.5 + 0.01 * i,
        refused=refused,
        verdicts=[
            ClauseResult(
                clause="c-" + check,
                dimension=dimension,
                severity="hard",
                check=check,
                status="fail" if failed else "pass",
            )
        ],
    )


def write_results(
    folder: Path,
    *,
    hit_every: int,
    regression_fail_every: int,
    refuse_benign_every: int,
    n: int = 12,
    text: str = "answer",
) -> Path:
    """Attack items (jailbreak, privacy; en and zh) that are hit on every ``hit_every``-th
    item, regression items that fail every ``regression_fail_every``-th, and over-refusal
    items refused every ``refuse_benign_every``-th."""
    items = []
    for lang in ("en", "zh"):
        for cls in ("jailbreak", "privacy"):
            for i in range(n):
                items.append(_item(i, cls, cls, lang, i % hit_every == 0, False, text))
        for i in range(n):
            items.append(
                _item(i, "regression", None, lang, i % regression_fail_every == 0, False, text)
            )
            items.append(
                _item(
                    i,
                    "over_refusal",
                    "over_refusal",
                    lang,
                    False,
                    i % refuse_benign_every == 0,
                    text,
                )
            )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.jsonl").write_text(
        "".join(json.dumps(it.model_dump(mode="json")) + "\n" for it in items), encoding="utf-8"
    )
    return folder


@pytest.fixture
def results() -> Writer:
    return write_results
