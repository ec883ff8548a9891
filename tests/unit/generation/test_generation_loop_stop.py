"""Decoding that stops an answer once it loops (``stop_on_loop``), and batch sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posttrain.checks import run_check
from posttrain.checks.base import Sample
from posttrain.generation import GenerationParams
from posttrain.generation.base import ChatMessage, batches, loop_block, loop_stop_at
from posttrain.generation.hf import HFBackend


def test_a_block_repeated_over_the_span_is_a_loop() -> None:
    answer = [7, 8, 9] + [1, 2, 3, 4] * 8  # 32 tokens of a 4-token block
    assert loop_block(answer, 32) == 4
    assert loop_block(answer, 33) is None  # the loop is shorter than the span asked
    assert loop_block(answer[:-1], 32) is None  # ends mid-block, one token short
    assert loop_block(answer, 0) is None  # 0: off


def test_a_long_block_needs_three_copies_and_a_short_one_the_whole_span() -> None:
    block = list(range(100, 120))  # 20 tokens
    assert loop_block([5] + block * 3, 32) == 20
    assert loop_block([5] + block * 2, 32) is None  # 40 tokens, but only 2 copies
    # A table rule "|---|---|---|" is a short block a few times: far from 32 tokens.
    assert loop_block([9, 4, 1, 2, 1, 2, 1, 2, 1, 2], 32) is None


def test_text_that_does_not_repeat_is_never_stopped() -> None:
    assert loop_stop_at(list(range(500)), 8) is None


def test_the_stop_is_the_first_point_the_rule_holds() -> None:
    answer = [3, 1] + [5, 6] * 20
    at = loop_stop_at(answer, 8)
    assert at == 2 + 8  # the first 8 tokens of the loop
    assert loop_block(answer[:at], 8) == 2
    assert all(loop_block(answer[:t], 8) is None for t in range(at))


@pytest.mark.parametrize(
    ("n", "size", "sizes"),
    [
        (193, 64, [64, 64, 65]),  # the audit's 1-row remainder joins the last batch
        (200, 64, [64, 64, 72]),  # 8 = 64 // 8 still joins
        (201, 64, [64, 64, 64, 9]),  # 9 is a batch of its own
        (10, 64, [10]),
        (0, 64, []),
        (5, 1, [1, 1, 1, 1, 1]),
    ],
)
def test_batches(n: int, size: int, sizes: list[int]) -> None:
    got = batches(n, size)
    assert [len(r) for r in got] == sizes
    assert [i for r in got for i in r] == list(range(n))


def test_a_loop_stopped_answer_fails_no_repetition() -> None:
    sample = Sample(id="s", prompt="hi", expected={"finish_reason": "loop"})
    verdict = run_check("no_repetition", sample, "Hello there, how can I help?", {})
    assert verdict.status == "fail" and "finish_reason: loop" in verdict.evidence
    ended = sample.model_copy(update={"expected": {"finish_reason": "stop"}})
    assert run_check("no_repetition", ended, "Hello there, how can I help?", {}).status == "pass"


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> tuple[Any, Any]:
    from posttrain.models.loading import load

    return load("tiny-random")


PROMPTS = [
    [
        ChatMessage(role="system", content="You are ShopMate. " * 8),
        ChatMessage(role="user", content=u),
    ]
    for u in ["hi", "Where is my order?", "推荐三款降噪耳机", "ok", "x" * 40]
]


def _greedy_ids(backend: HFBackend, conv: list[ChatMessage], n: int) -> list[int]:
    """The answer's tokens from model.generate, one prompt at a time, never stopped."""
    import torch

    ids = backend.tokenizer(backend.render(conv), return_tensors="pt", add_special_tokens=False)[
        "input_ids"
    ]
    with torch.inference_mode():
        out = backend.model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False
        )
    return [int(t) for t in out[0, ids.shape[1] :]]


@pytest.mark.parametrize("decode", ["loop", "generate"])
def test_the_backend_stops_a_looping_answer_where_the_rule_says(
    tiny: tuple[Any, Any], decode: str
) -> None:
    # The stored tiny model repeats one token: every answer loops at once.
    backend = HFBackend("tiny", batch_size=2, loaded=tiny, decode=decode)  # type: ignore[arg-type]
    free = backend.generate(PROMPTS, GenerationParams(max_new_tokens=40))
    stopped = backend.generate(PROMPTS, GenerationParams(max_new_tokens=40, stop_on_loop=12))
    assert all(g.finish_reason == "length" for g in free)
    for conv, f, s in zip(PROMPTS, free, stopped, strict=True):
        ids = _greedy_ids(backend, conv, 40)
        assert s.finish_reason == "loop"
        assert s.completion_tokens == loop_stop_at(ids, 12) < f.completion_tokens
        assert f.text.startswith(s.text)
