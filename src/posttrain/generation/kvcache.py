"""A key/value cache that is written in place instead of grown by concatenation.

transformers' ``DynamicLayer`` appends each step's keys and values with ``torch.cat``, so
every decoding step copies the whole cache of every layer: at 16 rows behind the example
contract's ~620-token system prompt that is ~480 MB of memory traffic a step, for a
135M-parameter model whose weights are ~540 MB. :class:`PreallocatedLayer` reserves room
for the answer up front and writes each step's slice into it; the model sees views of the
filled part, so attention and every other consumer behave as with ``DynamicLayer``
(greedy output stays token-identical, a test checks it).

:class:`SharedPrefixLayer` goes one step further for a batch whose prompts share a prefix
(the contract's system prompt): the prefix's keys and values are kept once, not once per
row, and :func:`shared_prefix_attention` attends every row's queries to that one copy (one
fused attention call with all rows' queries as one batch), then to the row's own tail and
answer, and merges the two parts by their log-sum-exps: one softmax over both. At 16 rows
behind a ~620-token prefix, attention reads ~1/10 of the memory it read before. The
function is registered with transformers as the attention implementation
``posttrain_prefix`` and used only inside :func:`shared_prefix_decoding`; a layer it does
not handle falls back to ``sdpa`` on the full keys and values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from functools import cache, partial
from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

__all__ = [
    "ATTENTION_NAME",
    "PreallocatedLayer",
    "SharedPrefixLayer",
    "preallocated_cache",
    "prefill_chunks",
    "refill_rows",
    "row_window",
    "shared_prefix_attention",
    "shared_prefix_decoding",
]

# The attention implementation's name in transformers' registries.
ATTENTION_NAME = "posttrain_prefix"
# What one more prefill forward is taken to cost, in positions computed (its weight
# reads, thinner matrix products). A round guess, not tuned: with it the example's
# regression batches prefill in ~9 forwards at ~1.6x their real tokens (BENCHMARKS.md).
PREFILL_OVERHEAD_TOKENS = 64
# The cache the model is decoding with, so the attention function finds a layer's prefix.
_ACTIVE: ContextVar[Any] = ContextVar("posttrain_prefix_cache", default=None)


class PreallocatedLayer(DynamicLayer):
    """One layer's cache in a buffer of ``capacity`` positions, grown (doubled) only if an
    update would overflow it. ``keys``/``values`` are views of the filled part."""

    def __init__(self, extra: int) -> None:
        super().__init__()
        self.extra = max(int(extra), 1)
        self._length = 0
        self._k: torch.Tensor | None = None
        self._v: torch.Tensor | None = None
        # A window's buffers are views of another layer's: growing would cut the link.
        self._fixed = False

    def fill(self, keys: torch.Tensor, values: torch.Tensor, rows: int) -> None:
        """Start from ``keys``/``values`` (batch of one) repeated to ``rows`` rows."""
        self._allocate(keys, rows, keys.shape[-2] + self.extra)
        assert self._k is not None and self._v is not None
        n = keys.shape[-2]
        self._k[:, :, :n] = keys
        self._v[:, :, :n] = values
        self.set_length(n)

    def _allocate(self, like: torch.Tensor, rows: int, capacity: int) -> None:
        # Zeros, not uninitialised memory: a slot a prefill in row chunks never writes (the
        # gap left of a short chunk's tails) is masked, and a masked slot must still hold
        # finite numbers (its weight is an exact 0, and 0 * NaN is NaN).
        shape = (rows, like.shape[1], capacity, like.shape[3])
        self._k = like.new_zeros(shape)
        self._v = like.new_zeros(shape)
        self.device = like.device
        self.is_initialized = True

    def _grow(self, capacity: int) -> None:
        """Move the filled part into a buffer of ``capacity`` positions."""
        assert self._k is not None and self._v is not None
        old_k, old_v = self._k[:, :, : self._length], self._v[:, :, : self._length]
        self._allocate(old_k, old_k.shape[0], capacity)
        self._k[:, :, : self._length] = old_k
        self._v[:, :, : self._length] = old_v
        self.set_length(self._length)

    def reserve(self, rows: int, capacity: int) -> None:
        """Make room for ``rows`` rows of at least ``capacity`` positions (zeros past what
        the layer holds), for :func:`row_window` to fill in parts."""
        if self._k is None:
            like = self._like()
            self._allocate(like, rows, capacity)
            self.set_length(0)
        elif self._k.shape[-2] < capacity:
            self._grow(capacity)

    def _blank(self) -> PreallocatedLayer:
        return PreallocatedLayer(self.extra)

    def _like(self) -> torch.Tensor:
        """A tensor with this layer's head count, head size and dtype, to size it by."""
        raise RuntimeError("an empty layer without a prefix has nothing to size its room by")

    def window(self, begin: int, end: int, length: int) -> PreallocatedLayer:
        """A layer over rows ``begin:end`` of this one's buffers, filled to ``length``:
        what a forward writes into it lands in this layer, in place."""
        if self._k is None or self._v is None:
            raise RuntimeError("the layer holds no buffer yet (reserve it first)")
        if length > self._k.shape[-2]:
            raise ValueError(f"a window of {length} positions past the buffer's room")
        view = self._blank()
        view._k, view._v = self._k[begin:end], self._v[begin:end]
        view.device, view.is_initialized, view._fixed = self.device, True, True
        view.set_length(length)
        return view

    def set_length(self, n: int) -> None:
        """Mark the first ``n`` positions filled (``keys``/``values`` become views of
        them): after an update, or after windows wrote them."""
        assert self._k is not None and self._v is not None
        self._length = n
        self.keys = self._k[:, :, :n]
        self.values = self._v[:, :, :n]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = key_states.shape[-2]
        end = self._length + n
        if self._k is None or self._v is None:
            self._allocate(key_states, key_states.shape[0], n + self.extra)
        elif end > self._k.shape[-2]:
            if self._fixed:
                raise RuntimeError("a row window ran past its layer's reserved room")
            self._grow(max(end, 2 * self._k.shape[-2]))
        assert self._k is not None and self._v is not None
        self._k[:, :, self._length : end] = key_states
        self._v[:, :, self._length : end] = value_states
        self.set_length(end)
        return self._k[:, :, :end], self._v[:, :, :end]

    def get_seq_length(self) -> int:
        return self._length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self._k is None or self._v is None:
            return
        self._k = self._k.index_select(0, indices)
        self._v = self._v.index_select(0, indices)
        self.set_length(self._length)

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self._k is None or self._v is None:
            return
        self._k = self._k.repeat_interleave(repeats, dim=0)
        self._v = self._v.repeat_interleave(repeats, dim=0)
        self.set_length(self._length)

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.batch_select_indices(beam_idx)

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError("crop takes a negative number of tokens to remove")
        self.set_length(max(self._length + tokens_to_remove, 0))

    def reset(self) -> None:
        self._k = self._v = None
        self._length = 0
        super().reset()


class SharedPrefixLayer(PreallocatedLayer):
    """A layer whose first ``P`` positions (the shared prefix) are held once, as a batch
    of one, and whose tail (each row's prompt tail and answer) is preallocated per row.

    ``keys``/``values`` are the tail only; the sequence length counts the prefix, so
    positions and masks come out as for a full cache. Only :func:`shared_prefix_attention`
    knows to put the two together."""

    def __init__(self, prefix_keys: torch.Tensor, prefix_values: torch.Tensor, extra: int):
        super().__init__(extra)
        self.prefix_keys = prefix_keys
        self.prefix_values = prefix_values
        self.device = prefix_keys.device

    def _blank(self) -> PreallocatedLayer:
        return SharedPrefixLayer(self.prefix_keys, self.prefix_values, self.extra)

    def _like(self) -> torch.Tensor:
        return self.prefix_keys

    @property
    def prefix_length(self) -> int:
        return int(self.prefix_keys.shape[-2])

    def get_seq_length(self) -> int:
        return self.prefix_length + self._length

    def full(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Prefix and tail as one tensor per row (the fallback path's input)."""
        if self._k is None or self._v is None:
            raise RuntimeError("the layer holds no tail yet")
        tail_k, tail_v = self._k[:, :, : self._length], self._v[:, :, : self._length]
        shape = (tail_k.shape[0], -1, -1, -1)
        keys = torch.cat([self.prefix_keys.expand(shape), tail_k], dim=-2)
        values = torch.cat([self.prefix_values.expand(shape), tail_v], dim=-2)
        return keys, values

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("a shared-prefix cache cannot be cropped")


def preallocated_cache(
    prefix: Any | None, rows: int, extra: int, *, shared: bool = False
) -> DynamicCache:
    """A cache with room for ``extra`` more positions per row, written in place.

    ``prefix`` is a batch-of-one cache of the prompts' shared prefix (or None). With
    ``shared`` its keys and values are kept once (:class:`SharedPrefixLayer`: decode under
    :func:`shared_prefix_decoding`); otherwise they are copied into every row
    (:class:`PreallocatedLayer`). Without a prefix the layers are sized on their first
    update."""
    cache = DynamicCache()
    cache.layer_class_to_replicate = partial(PreallocatedLayer, extra)  # type: ignore[assignment]
    if prefix is not None:
        layers: list[PreallocatedLayer] = []
        for layer in prefix.layers:
            if shared:
                layers.append(SharedPrefixLayer(layer.keys, layer.values, extra))
                continue
            new = PreallocatedLayer(extra)
            new.fill(layer.keys, layer.values, rows)
            layers.append(new)
        cache.layers = layers  # type: ignore[assignment]
    return cache


def row_window(cache: DynamicCache, begin: int, end: int, length: int) -> DynamicCache:
    """A cache over rows ``begin:end`` of ``cache`` (whose layers are reserved), each
    layer filled to ``length`` tail positions (a :class:`SharedPrefixLayer` counts its
    prefix on top): a forward over it writes its keys and values into ``cache`` in place.

    This is how a batch's prompt tails are prefilled in chunks of rows, each chunk padded
    to its own width rather than the batch's: the chunk's tails are written right-aligned,
    after a gap of ``length`` zero slots that its attention mask hides."""
    layers: list[PreallocatedLayer] = []
    for layer in cache.layers:
        if not isinstance(layer, PreallocatedLayer):
            raise TypeError(f"a row window needs preallocated layers, not {type(layer).__name__}")
        layers.append(layer.window(begin, end, length))
    window = DynamicCache()
    window.layers = layers  # type: ignore[assignment]
    return window


def refill_rows(
    cache: DynamicCache,
    rows: Sequence[int],
    part: DynamicCache,
    tails: Sequence[int],
    extra: int,
    prefix: int = 0,
) -> None:
    """Give rows ``rows`` of ``cache`` to new prompts (continuous batching).

    ``part`` is a cache of ``len(rows)`` rows with the same shared prefix, prefilled with
    the new prompts' tails (``tails[i]`` tokens each, right-aligned to its filled length).
    Each tail is written right-aligned to ``cache``'s filled length, after zeros over what
    the row's previous prompt left (the caller's attention mask hides them); the first
    ``prefix`` positions of each row (the shared prefix, when it is copied per row rather
    than held once) are kept. Every layer gets room for ``extra`` more positions. A tail
    must fit in what ``cache`` holds past the prefix (the backend starts with its longest
    prompts, so later ones do)."""
    for main, new in zip(cache.layers, part.layers, strict=True):
        if not isinstance(main, PreallocatedLayer) or not isinstance(new, PreallocatedLayer):
            raise TypeError("refilling rows needs preallocated layers")
        assert main._k is not None and main._v is not None
        assert new._k is not None and new._v is not None
        end = main._length
        if max(tails) > end - prefix:
            raise ValueError(f"a tail of {max(tails)} tokens does not fit in {end - prefix}")
        if main._k.shape[-2] < end + extra:
            main._grow(max(end + extra, 2 * main._k.shape[-2]))
        for i, (row, tail) in enumerate(zip(rows, tails, strict=True)):
            src = slice(new._length - tail, new._length)
            main._k[row, :, prefix : end - tail] = 0
            main._v[row, :, prefix : end - tail] = 0
            main._k[row, :, end - tail : end] = new._k[i, :, src]
            main._v[row, :, end - tail : end] = new._v[i, :, src]


def prefill_chunks(tails: Sequence[int], overhead: int = PREFILL_OVERHEAD_TOKENS) -> list[range]:
    """Split a batch's rows, in order, into contiguous chunks for the prefill, each padded
    to its longest tail: the split that minimises the padded positions computed plus
    ``overhead`` per forward (what one more, smaller forward costs in positions: its
    weight reads and thinner matrix products). Rows sorted by length (the backend sorts
    them) make contiguous chunks the right shape. One chunk when padding is cheap."""
    n = len(tails)
    best = [0.0] + [float("inf")] * n  # best[i]: cost of rows :i
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        width = 0
        for begin in range(end - 1, -1, -1):
            width = max(width, tails[begin])
            cost = best[begin] + (end - begin) * width + overhead
            if cost < best[end]:
                best[end], cut[end] = cost, begin
    chunks: list[range] = []
    end = n
    while end > 0:
        chunks.append(range(cut[end], end))
        end = cut[end]
    return chunks[::-1]


def shared_prefix_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention over a shared prefix held once and each row's own tail.

    ``query`` is ``[rows, heads, q, d]``; ``key``/``value`` are the tail
    ``[rows, kv_heads, S, d]`` returned by a :class:`SharedPrefixLayer`; the mask (sdpa's
    boolean form, True = attend, or None) covers prefix and tail. Scores against the
    prefix are one matrix product per key/value head for all rows' queries; both parts
    share one softmax (their log-sum-exps merged), so the result equals attention over
    the concatenated keys up to float rounding. PyTorch's fused CPU kernel computes each
    part where it exists (:func:`_flash_merge`), else the softmax is written out."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    cache = _ACTIVE.get()
    layer = cache.layers[module.layer_idx] if cache is not None else None
    if not isinstance(layer, SharedPrefixLayer):
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs
        )
    plain_mask = attention_mask is None or attention_mask.dtype == torch.bool
    special = kwargs.get("softcap") is not None or kwargs.get("sliding_window")
    if dropout or special or not plain_mask:
        full_k, full_v = layer.full()
        return sdpa_attention_forward(
            module, query, full_k, full_v, attention_mask, dropout, scaling, is_causal, **kwargs
        )
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    if _FLASH is not None:
        return _flash_merge(query, key, value, layer, attention_mask, scale), None
    return _softmax_merge(query, key, value, layer, attention_mask, scale), None


# PyTorch's fused CPU attention (the kernel sdpa itself runs on CPU): it returns each
# query's log-sum-exp beside the output, which is what merging two parts needs. Private
# to aten, so looked up once and the hand-written softmax kept for a build without it.
_FLASH = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def _tail_visibility(
    attention_mask: torch.Tensor | None, plen: int, q_len: int, tail: int
) -> torch.Tensor | None:
    """Which tail keys each query sees, ``[rows|1, 1, q, S]`` (True = attend), or None
    when every query sees every tail key."""
    if attention_mask is not None:
        return attention_mask[..., plen:]
    if q_len > 1:  # no mask: plain causal over the tail
        return torch.ones(q_len, tail, dtype=torch.bool).tril(tail - q_len)[None, None]
    return None


def _flash_merge(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layer: SharedPrefixLayer,
    attention_mask: torch.Tensor | None,
    scale: float,
) -> torch.Tensor:
    """Two fused attentions, all rows' queries against the one prefix copy (a batch of
    one) and each row against its tail, merged by their log-sum-exps: the same sum as one
    softmax over both parts, without materialising any score matrix."""
    assert _FLASH is not None
    # The kernel takes one dtype and, an aten op, is not cast by autocast: under autocast
    # (generation inside a bf16 training step, where the queries are bf16 and the cache
    # float32) every input goes to autocast's dtype, as sdpa's would.
    dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else query.dtype
    query, key, value = query.to(dtype), key.to(dtype), value.to(dtype)
    prefix_k, prefix_v = layer.prefix_keys.to(dtype), layer.prefix_values.to(dtype)
    rows, heads, q_len, dim = query.shape
    kv_heads, tail = key.shape[1], key.shape[2]
    rep = heads // kv_heads
    plen = layer.prefix_length
    # Query heads g*rep .. g*rep+rep-1 read key/value head g.
    q = query.reshape(rows, kv_heads, rep * q_len, dim)
    qp = q.transpose(0, 1).reshape(1, kv_heads, rows * rep * q_len, dim)
    out_p, lse_p = _FLASH(qp, prefix_k, prefix_v, 0.0, False, scale=scale)
    out_p = out_p.reshape(kv_heads, rows, rep * q_len, dim).transpose(0, 1)
    lse_p = lse_p.reshape(kv_heads, rows, rep * q_len).transpose(0, 1)
    visible = _tail_visibility(attention_mask, plen, q_len, tail)
    mask = None
    if visible is not None:
        visible = visible.expand(-1, -1, q_len, -1)[:, :, None].expand(-1, -1, rep, -1, -1)
        visible = visible.reshape(visible.shape[0], 1, rep * q_len, tail)
        mask = torch.zeros(visible.shape, dtype=query.dtype).masked_fill_(~visible, -torch.inf)
    out_t, lse_t = _FLASH(q, key, value, 0.0, False, attn_mask=mask, scale=scale)
    if visible is not None:  # a query that sees no tail key: the kernel gives it lse 0
        blind = ~visible.any(-1)
        lse_t = lse_t.masked_fill(blind, -torch.inf)
        out_t = out_t.masked_fill(blind[..., None], 0.0)
    top = torch.maximum(lse_p, lse_t)
    w_p, w_t = (lse_p - top).exp()[..., None], (lse_t - top).exp()[..., None]
    out = (out_p.float() * w_p + out_t.float() * w_t) / (w_p + w_t)
    out = out.to(query.dtype).reshape(rows, heads, q_len, dim)
    return out.transpose(1, 2).contiguous()


def _softmax_merge(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layer: SharedPrefixLayer,
    attention_mask: torch.Tensor | None,
    scale: float,
) -> torch.Tensor:
    """The same attention with the softmax written out: scores against the prefix are one
    matrix product per key/value head for all rows' queries, and both parts share one
    softmax (their maxima and sums merged)."""
    rows, heads, q_len, dim = query.shape
    kv_heads, tail = key.shape[1], key.shape[2]
    rep = heads // kv_heads
    prefix_k, prefix_v = layer.prefix_keys[0], layer.prefix_values[0]  # [kv_heads, P, d]
    plen = prefix_k.shape[-2]
    q = query.reshape(rows, kv_heads, rep * q_len, dim)
    qp = q.transpose(0, 1).reshape(kv_heads, rows * rep * q_len, dim)
    s_prefix = (torch.matmul(qp, prefix_k.transpose(-1, -2)).float() * scale).view(
        kv_heads, rows, rep * q_len, plen
    )
    s_tail = torch.matmul(q, key.transpose(-1, -2)).float() * scale  # [rows, kvh, rep*q, S]
    s_tail = s_tail.view(rows, kv_heads, rep, q_len, tail)
    visible = _tail_visibility(attention_mask, plen, q_len, tail)
    if visible is not None:
        s_tail = s_tail.masked_fill(~visible[:, :, None], float("-inf"))
    s_tail = s_tail.view(rows, kv_heads, rep * q_len, tail)
    top = torch.maximum(s_prefix.amax(-1).transpose(0, 1), s_tail.amax(-1))[..., None]
    e_prefix = (s_prefix - top.transpose(0, 1)).exp()
    e_tail = (s_tail - top).exp()
    total = e_prefix.sum(-1).transpose(0, 1)[..., None] + e_tail.sum(-1, keepdim=True)
    out_prefix = torch.matmul(
        e_prefix.to(prefix_v.dtype).reshape(kv_heads, rows * rep * q_len, plen), prefix_v
    ).view(kv_heads, rows, rep * q_len, dim)
    out = out_prefix.transpose(0, 1).float() + torch.matmul(e_tail.to(value.dtype), value).float()
    out = (out / total).to(query.dtype).reshape(rows, heads, q_len, dim)
    return out.transpose(1, 2).contiguous()


@cache
def _register() -> None:
    """Register the attention and its mask with transformers, once per process."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, shared_prefix_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, sdpa_mask)


def supports_shared_prefix(model: Any) -> bool:
    """Whether ``model`` runs sdpa attention, which :func:`shared_prefix_attention`
    stands in for (other implementations keep the per-row copy of the prefix)."""
    return getattr(model.config, "_attn_implementation", None) == "sdpa"


@contextlib.contextmanager
def shared_prefix_decoding(model: Any, cache: DynamicCache) -> Iterator[None]:
    """Run ``model`` with :func:`shared_prefix_attention` over ``cache`` inside the
    block, and put its attention implementation back after."""
    _register()
    config = model.config
    before = config._attn_implementation
    token = _ACTIVE.set(cache)
    config._attn_implementation = ATTENTION_NAME
    try:
        yield
    finally:
        config._attn_implementation = before
        _ACTIVE.reset(token)
