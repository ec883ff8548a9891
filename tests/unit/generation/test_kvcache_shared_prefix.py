"""Shared-prefix attention against sdpa over the concatenated keys and values."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from posttrain.generation import kvcache
from posttrain.generation.kvcache import (
    _ACTIVE,
    SharedPrefixLayer,
    preallocated_cache,
    shared_prefix_attention,
)

ROWS, HEADS, KV_HEADS, DIM, PREFIX = 3, 6, 2, 8, 11


@pytest.fixture(params=["fused", "softmax"], autouse=True)
def merge_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both ways of computing the two parts: PyTorch's fused CPU
    kernel and the softmax written out (the fallback for a build without the kernel)."""
    if request.param == "softmax":
        monkeypatch.setattr(kvcache, "_FLASH", None)
    elif kvcache._FLASH is None:
        pytest.skip("this PyTorch build has no fused CPU attention kernel")
    return str(request.param)


def _setup(
    tail: int, q_len: int, dtype: torch.dtype = torch.float32
) -> tuple[object, torch.Tensor, SharedPrefixLayer, object]:
    torch.manual_seed(0)
    prefix = SimpleNamespace(
        layers=[
            SimpleNamespace(
                keys=torch.randn(1, KV_HEADS, PREFIX, DIM, dtype=dtype),
                values=torch.randn(1, KV_HEADS, PREFIX, DIM, dtype=dtype),
            )
        ]
    )
    cache = preallocated_cache(prefix, ROWS, extra=4, shared=True)
    layer = cache.layers[0]
    assert isinstance(layer, SharedPrefixLayer)
    shape = (ROWS, KV_HEADS, tail, DIM)
    layer.update(torch.randn(shape, dtype=dtype), torch.randn(shape, dtype=dtype))
    module = SimpleNamespace(layer_idx=0, num_key_value_groups=HEADS // KV_HEADS, is_causal=True)
    query = torch.randn(ROWS, HEADS, q_len, DIM, dtype=dtype)
    return cache, query, layer, module


def _both(
    cache: object,
    query: torch.Tensor,
    layer: SharedPrefixLayer,
    module: object,
    mask: torch.Tensor | None,
    reference_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    token = _ACTIVE.set(cache)
    try:
        got, _ = shared_prefix_attention(module, query, layer.keys, layer.values, mask)
    finally:
        _ACTIVE.reset(token)
    full_k, full_v = layer.full()
    ref = mask if reference_mask is None else reference_mask
    want, _ = sdpa_attention_forward(module, query, full_k, full_v, ref)
    return got, want


def test_one_query_with_a_padding_mask() -> None:
    cache, query, layer, module = _setup(tail=5, q_len=1)
    mask = torch.ones(ROWS, 1, 1, PREFIX + 5, dtype=torch.bool)
    mask[0, ..., PREFIX : PREFIX + 2] = False  # row 0's tail starts with two pads
    got, want = _both(cache, query, layer, module, mask)
    assert got.shape == want.shape == (ROWS, 1, HEADS, DIM)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padded", [False, True])
def test_a_prompt_tail_is_causal_over_itself(padded: bool) -> None:
    """With no mask (nothing padded) the tail is causal and the prefix fully visible; the
    reference gets that mask spelled out."""
    q_len = 4
    cache, query, layer, module = _setup(tail=q_len, q_len=q_len)
    causal = torch.ones(q_len, q_len, dtype=torch.bool).tril()
    tail = causal[None, None].repeat(ROWS, 1, 1, 1)
    if padded:
        tail[1, ..., 0] = False  # row 1's first tail slot is a pad
    full = torch.cat([torch.ones(ROWS, 1, q_len, PREFIX, dtype=torch.bool), tail], dim=-1)
    got, want = _both(cache, query, layer, module, full if padded else None, full)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_a_query_that_sees_no_tail_key_reads_the_prefix_alone() -> None:
    """A left-padded prompt's pad positions see the prefix and nothing of their own tail:
    their tail part must add nothing (not the kernel's empty-row output)."""
    q_len = 3
    cache, query, layer, module = _setup(tail=q_len, q_len=q_len)
    tail = torch.ones(q_len, q_len, dtype=torch.bool).tril()[None, None].repeat(ROWS, 1, 1, 1)
    tail[0, ..., :2] = False  # row 0: two pads, so its first two queries see no tail key
    full = torch.cat([torch.ones(ROWS, 1, q_len, PREFIX, dtype=torch.bool), tail], dim=-1)
    got, want = _both(cache, query, layer, module, full)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_bf16_agrees_with_sdpa_in_bf16() -> None:
    cache, query, layer, module = _setup(tail=5, q_len=1, dtype=torch.bfloat16)
    mask = torch.ones(1, 1, 1, PREFIX + 5, dtype=torch.bool)
    got, want = _both(cache, query, layer, module, mask)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want.float(), atol=2e-2, rtol=2e-2)


def test_under_autocast_a_bf16_query_reads_a_float32_cache() -> None:
    """Generation inside a bf16-autocast training step (the safety probe): the layers'
    projections give bf16 queries while the cache holds float32; sdpa casts under
    autocast, so the fused path must too (it failed with "expected scalar type Float but
    found BFloat16")."""
    cache, query, layer, module = _setup(tail=5, q_len=1)
    mask = torch.ones(1, 1, 1, PREFIX + 5, dtype=torch.bool)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = _both(cache, query.bfloat16(), layer, module, mask)
    assert got.dtype == want.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want.float(), atol=2e-2, rtol=2e-2)


def test_a_layer_it_does_not_know_goes_to_sdpa() -> None:
    """Outside shared_prefix_decoding (no active cache) it is plain sdpa."""
    _, query, layer, module = _setup(tail=3, q_len=1)
    keys, values = layer.full()
    got, _ = shared_prefix_attention(module, query, keys, values, None)
    want, _ = sdpa_attention_forward(module, query, keys, values, None)
    torch.testing.assert_close(got, want)


def test_finished_rows_leave_the_tail_and_keep_the_prefix() -> None:
    _, _, layer, _ = _setup(tail=3, q_len=1)
    before = layer.keys[2].clone()
    layer.batch_select_indices(torch.tensor([2]))
    assert layer.keys.shape[0] == 1
    assert torch.equal(layer.keys[0], before)
    assert layer.prefix_keys.shape[0] == 1
    assert layer.get_seq_length() == PREFIX + 3
