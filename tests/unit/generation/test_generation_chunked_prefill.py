"""The hf backend prefills a batch's prompt tails in row chunks, each padded to its own
width, written into the batch's cache in place (generation/kvcache.py: prefill_chunks,
row_window)."""

from __future__ import annotations

import copy
import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from posttrain.generation import GenerationParams
from posttrain.generation.base import ChatMessage, Conversation
from posttrain.generation.hf import HFBackend, KVCacheMode
from posttrain.generation.kvcache import (
    PreallocatedLayer,
    SharedPrefixLayer,
    prefill_chunks,
    row_window,
)

try:  # pytest's default import mode puts this folder on sys.path
    from forward_log import forward_shapes
except ImportError:  # tests laid out as packages
    from tests.unit.generation.forward_log import forward_shapes

SYSTEM = ChatMessage(role="system", content="You are ShopMate. Ask for the order number. " * 4)
# Tails from a couple of tokens to ~150: padded to the longest, most of a one-forward
# prefill would be padding.
USERS = [
    "Order SM-2026-0042317 again: " + "it is late, " * 40,
    "hi",
    "ok",
    "推荐三款降噪耳机",
    "Can I change the shipping address after paying?",
    "Where is my order? " * 12,
]


@pytest.fixture(scope="module")
def lively(tiny_model_dir: Path) -> tuple[Any, Any]:
    """Larger random weights than the stored tiny model, so answers vary by prompt."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from posttrain.models.loading import load_tokenizer

    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.3
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    return model, load_tokenizer("tiny-random")


def _cost(tails: list[int], chunks: list[range], overhead: int) -> int:
    return sum(len(c) * max(tails[r] for r in c) + overhead for c in chunks)


def test_prefill_chunks_is_the_cheapest_contiguous_split() -> None:
    rng = random.Random(3)
    for _ in range(60):
        n = rng.randint(1, 7)
        tails = sorted((rng.randint(1, 300) for _ in range(n)), reverse=True)
        got = prefill_chunks(tails, overhead=64)
        assert [r for c in got for r in c] == list(range(n))  # every row once, in order
        best = min(
            _cost(tails, [range(a, b) for a, b in itertools.pairwise((0, *cuts, n))], 64)
            for k in range(n)
            for cuts in itertools.combinations(range(1, n), k)
        )
        assert _cost(tails, got, 64) == best


def test_prefill_chunks_keeps_one_chunk_when_padding_is_cheap() -> None:
    assert prefill_chunks([40, 39, 38, 38], overhead=64) == [range(0, 4)]
    # A long tail and many short ones: the long one is prefilled on its own.
    assert prefill_chunks([200, 12, 10, 9, 8, 7], overhead=64) == [range(0, 1), range(1, 6)]


def test_a_row_window_writes_into_its_layer() -> None:
    import torch

    prefix = torch.randn(1, 2, 5, 4)
    layer = SharedPrefixLayer(prefix, prefix.clone(), extra=8)
    layer.reserve(rows=3, capacity=8)
    keys = torch.randn(2, 2, 3, 4)
    window = layer.window(1, 3, length=5)  # rows 1-2, after a gap of 5 slots
    window.update(keys, keys + 1)
    layer.set_length(8)
    assert torch.equal(layer.keys[1:, :, 5:], keys)
    assert torch.equal(layer.values[1:, :, 5:], keys + 1)
    # What no window wrote is zeros (masked slots must hold finite numbers).
    assert not layer.keys[0].any() and not layer.keys[1:, :, :5].any()
    assert layer.get_seq_length() == 5 + 8
    with pytest.raises(RuntimeError, match="reserved room"):
        window.update(keys, keys)  # 8 + 3 > the 8 positions reserved
    with pytest.raises(RuntimeError, match="nothing to size"):
        PreallocatedLayer(extra=4).reserve(rows=2, capacity=4)


def test_row_window_needs_preallocated_layers() -> None:
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    cache.update(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 4), 0)
    with pytest.raises(TypeError, match="preallocated"):
        row_window(cache, 0, 1, 0)


def _convs() -> list[Conversation]:
    return [[SYSTEM, ChatMessage(role="user", content=u)] for u in USERS]


@pytest.mark.parametrize("kv_cache", ["shared", "preallocated"])
def test_prefill_pads_each_chunk_to_its_own_width(
    lively: tuple[Any, Any], kv_cache: KVCacheMode
) -> None:
    """The tails are prefilled in more than one forward, each narrower than the batch's
    longest tail, with fewer positions in all than one padded forward; the answers are
    token-identical to the one-forward prefill (``dynamic``) and to ``model.generate``."""
    convs = _convs()
    backend = HFBackend("lively", batch_size=len(convs), loaded=lively, kv_cache=kv_cache)
    prompts = [backend.tokenizer(backend.render(c))["input_ids"] for c in convs]
    k = backend._shared_prefix(prompts)
    tails = [len(p) - k for p in prompts]
    params = GenerationParams(max_new_tokens=12)
    with forward_shapes(backend.model) as shapes:
        got = backend.generate(convs, params)
    # the tail prefills: not a decoding step (1 token), not the shared prefix (k tokens)
    widths = [(rows, width) for rows, width in shapes if width > 1 and width != k]
    assert len(widths) > 1
    assert sum(rows for rows, _ in widths) == len(convs)
    assert all(width < max(tails) for _, width in widths[1:])
    assert sum(rows * width for rows, width in widths) < len(convs) * max(tails)
    for other in (
        HFBackend("lively", batch_size=len(convs), loaded=lively, kv_cache="dynamic"),
        HFBackend("lively", batch_size=len(convs), loaded=lively, decode="generate"),
    ):
        want = other.generate(convs, params)
        assert [g.text for g in got] == [g.text for g in want]
        assert [g.completion_tokens for g in got] == [g.completion_tokens for g in want]
        assert [g.prompt_tokens for g in got] == [g.prompt_tokens for g in want]


@pytest.mark.parametrize("kv_cache", ["shared", "preallocated", "dynamic"])
def test_a_model_that_does_not_fill_its_cache_is_an_error(
    lively: tuple[Any, Any], kv_cache: KVCacheMode
) -> None:
    """A forward that leaves the cache as it was (a training model with gradient
    checkpointing turns it off) would decode garbage from one token a step: every cache
    mode says so instead (before, only a cache that started empty noticed)."""
    from posttrain.errors import BackendError

    model, tokenizer = lively
    backend = HFBackend(
        "lively", batch_size=len(USERS), loaded=(model, tokenizer), kv_cache=kv_cache
    )
    real = model.forward
    assert backend._forward_kwargs  # read from the real forward's signature, before the wrap

    def no_cache(*args: Any, **kwargs: Any) -> Any:
        # The forward runs on a copy of the cache: right logits, the real cache untouched.
        for name in ("cache", "past_key_values"):
            if kwargs.get(name) is not None:
                kwargs[name] = copy.deepcopy(kwargs[name])
        return real(*args, **kwargs)

    model.forward = no_cache
    try:
        with pytest.raises(BackendError, match="did not fill its key/value cache"):
            backend.generate(_convs(), GenerationParams(max_new_tokens=4))
    finally:
        del model.forward  # back to the class's method
