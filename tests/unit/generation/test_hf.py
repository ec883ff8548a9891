"""The hf backend on the tiny model: batching, padding, stopping, sampling."""

from __future__ import annotations

import pytest

from posttrain.errors import UsageError
from posttrain.generation import GenerationParams, make_backend
from posttrain.generation.base import Backend, ChatMessage

PROMPTS = [
    [ChatMessage(role="user", content="hi")],
    [ChatMessage(role="user", content="Where is my order SM-2026-0042317? It is late again.")],
    [ChatMessage(role="user", content="推荐三款降噪耳机")],
    [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="ok")],
    [ChatMessage(role="user", content="x" * 40)],
]


def test_backend_satisfies_protocol(tiny_backend) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(tiny_backend, Backend)
    assert len(tiny_backend.fingerprint) == 16


def test_batched_greedy_equals_one_at_a_time(tiny_backend) -> None:  # type: ignore[no-untyped-def]
    """Left padding must not change what the model says."""
    params = GenerationParams(max_new_tokens=12)
    batched = tiny_backend.generate(PROMPTS, params)
    single = [tiny_backend.generate([p], params)[0] for p in PROMPTS]
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in single]


def test_counts_order_and_progress(tiny_backend) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    gens = tiny_backend.generate(
        PROMPTS, GenerationParams(max_new_tokens=5), on_progress=seen.append
    )
    assert len(gens) == len(PROMPTS)
    assert sum(seen) == len(PROMPTS)
    # Order is the input order: prompt token counts follow the prompts' lengths.
    expected = [
        len(tiny_backend.tokenizer(tiny_backend.render(p), add_special_tokens=False)["input_ids"])
        for p in PROMPTS
    ]
    assert [g.prompt_tokens for g in gens] == expected
    for g in gens:
        assert g.completion_tokens <= 5
        assert g.finish_reason in ("stop", "length")
        if g.finish_reason == "length":
            assert g.completion_tokens == 5
        assert g.latency_s > 0


def test_seeded_sampling_is_reproducible(tiny_backend) -> None:  # type: ignore[no-untyped-def]
    params = GenerationParams(max_new_tokens=16, temperature=1.0, seed=7)
    a = tiny_backend.generate(PROMPTS[:2], params)
    b = tiny_backend.generate(PROMPTS[:2], params)
    c = tiny_backend.generate(PROMPTS[:2], params.model_copy(update={"seed": 8}))
    assert [g.text for g in a] == [g.text for g in b]
    assert [g.text for g in a] != [g.text for g in c]


def test_stops_at_end_of_turn(tiny_backend) -> None:  # type: ignore[no-untyped-def]
    """Make the end-of-turn token the most likely one: generation must stop there."""
    import torch

    model = tiny_backend.model
    tokenizer = tiny_backend.tokenizer
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    enc = tokenizer(tiny_backend.render(PROMPTS[0]), return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        # The last hidden state (after the final norm) decides the first new token: point
        # the end-of-turn row of the output layer straight at it.
        last = model(**enc, output_hidden_states=True).hidden_states[-1][0, -1]
        saved = model.lm_head.weight[eos].clone()
        model.lm_head.weight[eos] = 100 * last / last.norm()
    try:
        gen = tiny_backend.generate(PROMPTS[:1], GenerationParams(max_new_tokens=20))[0]
    finally:
        with torch.no_grad():
            model.lm_head.weight[eos] = saved
    assert gen.finish_reason == "stop"
    assert gen.text == ""
    assert gen.completion_tokens == 1


def test_unknown_backend_and_bad_options(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="unknown backend"):
        make_backend("vllm-direct", "tiny-random")
    with pytest.raises(UsageError, match="batch_size"):
        make_backend("hf", "tiny-random", batch_size=0)


def test_prefix_cache_changes_nothing_but_speed(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    """A long shared system prompt is read once; the answers are those of plain padding."""
    from posttrain.generation.hf import HFBackend

    system = ChatMessage(role="system", content="You are ShopMate. Ask for the order number. " * 4)
    convs = [[system, *p[-1:]] for p in PROMPTS]
    cached = HFBackend("tiny-random", batch_size=3)
    plain = HFBackend("tiny-random", batch_size=3, prefix_cache=False)
    assert (
        cached._shared_prefix(
            [
                cached.tokenizer(cached.render(c), add_special_tokens=False)["input_ids"]
                for c in convs
            ]
        )
        > 100
    )
    for params in (
        GenerationParams(max_new_tokens=12),
        GenerationParams(max_new_tokens=12, temperature=1.0, seed=3),
    ):
        a = cached.generate(convs, params)
        b = plain.generate(convs, params)
        assert [g.text for g in a] == [g.text for g in b]
        assert [g.prompt_tokens for g in a] == [g.prompt_tokens for g in b]
        assert [g.completion_tokens for g in a] == [g.completion_tokens for g in b]
