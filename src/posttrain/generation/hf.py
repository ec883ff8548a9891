"""``hf``: local generation with transformers, batched with left padding.

Prompts are rendered with :func:`posttrain.models.chat.render` (the same function training
uses), sorted by length so each batch pads little, generated under ``torch.inference_mode``
and returned in input order. The token prefix a batch shares (the contract's system prompt)
is run through the model once and its key/value cache reused for every prompt. Decoding is
greedy, or sampled with a seed; it stops at the model's end-of-turn token, at
``max_new_tokens`` or at a stop string.

Decoding is our own loop over the model's forward with a KV cache: a row that finished
leaves the batch (its slice of every cache layer is dropped), so a batch costs its
answers' tokens rather than ``batch × longest answer``. Greedy output is token-identical
to ``model.generate`` (``decode="generate"``, kept for benchmarks side by side). The
cache (:mod:`posttrain.generation.kvcache`) holds the shared prefix once for the batch
and writes each step into room reserved up front, instead of copying every row's prefix
and concatenating the whole cache at every step. The prompts' tails after the shared
prefix are prefilled in chunks of rows, each padded to its own longest tail rather than
the batch's (``_prefill_in_chunks``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from posttrain.errors import BackendError, UsageError
from posttrain.generation.base import (
    DEFAULT_BATCH_SIZE,
    Conversation,
    FinishReason,
    Generation,
    GenerationParams,
    ProgressCallback,
    batches,
    loop_block,
    loop_stop_at,
)
from posttrain.models.chat import render

__all__ = ["KV_CACHE_MODES", "DecodeMode", "HFBackend", "KVCacheMode", "hf_fingerprint"]

# "loop": our decoding loop, finished rows leave the batch. "generate": transformers'
# model.generate on the padded batch until its longest answer (the previous path).
DecodeMode = Literal["loop", "generate"]

# How the decoding loop keeps its key/value cache (generation/kvcache.py). "shared": the
# prompts' shared prefix is held once for the whole batch and attended with one matrix
# product, each row's tail and answer are written in place into room reserved up front
# (sdpa models; others get "preallocated"). "preallocated": the same, with the prefix
# copied into every row. "dynamic": transformers' DynamicCache, which copies the whole
# cache at every step (the loop as first built). The last two are kept for benchmarks.
KVCacheMode = Literal["shared", "preallocated", "dynamic"]
KV_CACHE_MODES: tuple[KVCacheMode, ...] = ("shared", "preallocated", "dynamic")

# Below this many shared tokens, reusing a prefix cache saves less than copying it costs.
MIN_PREFIX_TOKENS = 16


class HFBackend:
    """Generate with a local transformers model (a known name or an HF folder)."""

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_threads: int | None = None,
        dtype: str = "float32",
        loaded: tuple[Any, Any] | None = None,
        prefix_cache: bool = True,
        decode: DecodeMode = "loop",
        kv_cache: KVCacheMode = "shared",
        continuous: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        """``loaded`` takes an already loaded ``(model, tokenizer)`` pair (e.g. a model
        being trained) instead of loading ``model`` from disk. ``dtype`` is ``float32``,
        ``bfloat16``, ``float16`` or ``auto`` (bfloat16 where the CPU computes it natively,
        float32 elsewhere; see :func:`posttrain.models.loading.resolve_dtype`).
        ``prefix_cache`` reads the token prefix a batch shares (the system prompt) once
        instead of once per prompt. ``decode`` picks the decoding loop (``loop``, finished
        rows leave the batch) or transformers' ``generate`` (the previous path, kept so a
        benchmark can run both). ``kv_cache`` picks how the decoding loop keeps its
        key/value cache: ``shared`` (the shared prefix held once, the rest written in place),
        ``preallocated`` (written in place, the prefix copied per row) or ``dynamic``
        (transformers' ``DynamicCache``, copied at every step). ``continuous`` (with the
        loop, an in-place cache and a shared prefix) decodes a whole call as one stream of
        ``batch_size`` slots, refilling a finished row's slot with the next prompt;
        without it (the default) each batch runs down to its longest answer. Off because
        it did not pay on the 2-core AVX2 machine it was measured on: 0.97x the batches'
        speed where answers run to the limit, 0.90x where they end early (BENCHMARKS.md,
        continuous batching). ``timeout_s``
        (``--timeout``) is accepted and ignored: generation runs in this process, with no
        server to wait for, and ends at ``max_new_tokens``.

        Raises :class:`UsageError` for a bad option."""
        import torch

        from posttrain.models import load
        from posttrain.models.loading import resolve_dtype

        if batch_size < 1:
            raise UsageError(f"batch_size must be ≥ 1 (got {batch_size})")
        if num_threads is not None:
            if num_threads < 1:
                raise UsageError(f"num_threads must be ≥ 1 (got {num_threads})")
            torch.set_num_threads(num_threads)
        if decode not in ("loop", "generate"):
            raise UsageError(f"unknown decode mode {decode!r}", hint="use loop or generate")
        if kv_cache not in KV_CACHE_MODES:
            raise UsageError(
                f"unknown kv_cache mode {kv_cache!r}",
                hint=f"use one of {', '.join(KV_CACHE_MODES)}",
            )
        self.model_name = model
        self.batch_size = batch_size
        self.prefix_cache = prefix_cache
        self.decode: DecodeMode = decode
        self.kv_cache: KVCacheMode = kv_cache
        self.continuous = continuous
        self._prefix_key: tuple[int, ...] | None = None
        self._prefix_kv: Any = None
        self.dtype = resolve_dtype(dtype)
        if loaded is None:
            self.model, self.tokenizer = load(model, dtype=self.dtype)
            self._fingerprint: str | None = hf_fingerprint(model, self.dtype)
        else:
            self.model, self.tokenizer = loaded
            self._fingerprint = None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._stop_ids = self._end_of_turn_ids()

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            raise UsageError("an in-memory model has no fingerprint; save it to a folder first")
        return self._fingerprint

    def _end_of_turn_ids(self) -> list[int]:
        ids: set[int] = set()
        eos = self.tokenizer.eos_token_id
        if eos is not None:
            ids.add(int(eos))
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        if isinstance(gen_eos, int):
            ids.add(gen_eos)
        elif isinstance(gen_eos, list):
            ids.update(int(i) for i in gen_eos)
        for token in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
            tid = self.tokenizer.convert_tokens_to_ids(token)
            if isinstance(tid, int) and tid != self.tokenizer.unk_token_id and tid >= 0:
                ids.add(tid)
        return sorted(ids)

    def render(self, conversation: Conversation) -> str:
        return render(self.tokenizer, conversation, add_generation_prompt=True)

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        # The prefix cache lives for one call: a model being trained changes between calls.
        self._prefix_key, self._prefix_kv = None, None
        prompts = [self.render(c) for c in conversations]
        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        # Longest first: similar lengths share a batch, so little compute goes to padding,
        # and an out-of-memory error shows up in the first batch rather than the last.
        order = sorted(range(len(prompts)), key=lambda i: -len(ids[i]))
        results: list[Generation | None] = [None] * len(prompts)
        # The prefix shared by every prompt of the call, so its cache serves all batches.
        k = self._shared_prefix(ids)
        if self.continuous and self.decode == "loop" and self.kv_cache != "dynamic" and k:
            # Continuous batching over the whole call: batch_size slots, refilled as
            # answers finish.
            done = (lambda: on_progress(1)) if on_progress is not None else None
            gens = self._decode_batch(
                [ids[i] for i in order],
                params,
                k,
                seeds=order,
                slots=self.batch_size,
                on_done=done,
            )
            for i, gen in zip(order, gens, strict=True):
                results[i] = gen
            return [r for r in results if r is not None]
        for span in batches(len(order), self.batch_size):
            idx = [order[j] for j in span]
            if self.decode == "generate":
                batch = self._generate_batch(
                    [ids[i] for i in idx], params, k, seed_offset=span.start
                )
            else:
                batch = self._decode_batch([ids[i] for i in idx], params, k, seeds=idx)
            for i, gen in zip(idx, batch, strict=True):
                results[i] = gen
            if on_progress is not None:
                on_progress(len(idx))
        return [r for r in results if r is not None]

    def _shared_prefix(self, batch: list[list[int]]) -> int:
        """Length of the token prefix all prompts share (the system prompt, usually),
        keeping at least one token of each prompt outside it."""
        if not self.prefix_cache or len(batch) == 0:
            return 0
        limit = min(len(ids) for ids in batch) - 1
        first = batch[0]
        k = 0
        while k < limit and all(ids[k] == first[k] for ids in batch):
            k += 1
        return k if k >= MIN_PREFIX_TOKENS else 0

    def _prefix_state(self, prefix: tuple[int, ...]) -> Any:
        """The key/value cache of ``prefix`` (batch of one), computed once and reused."""
        import torch

        if self._prefix_key != prefix:
            with torch.inference_mode():
                out = self.model(input_ids=torch.tensor([prefix]), use_cache=True)
            self._prefix_key, self._prefix_kv = prefix, out.past_key_values
        return self._prefix_kv

    @functools.cached_property
    def _forward_kwargs(self) -> tuple[str, bool]:
        """The forward's name for the KV cache (``cache`` in transformers 5,
        ``past_key_values`` before) and whether it takes ``logits_to_keep``; read once
        from the model's signature (the model is fixed for the backend's life)."""
        import inspect

        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        names = set(inspect.signature(base.forward).parameters)
        return ("cache" if "cache" in names else "past_key_values"), "logits_to_keep" in names

    def _decode_batch(
        self,
        batch: list[list[int]],
        params: GenerationParams,
        k: int,
        *,
        seeds: list[int],
        slots: int | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> list[Generation]:
        """Decode ``batch`` with our own loop; a finished row leaves the batch.

        Inputs mirror ``model.generate`` exactly (padding between the shared prefix and
        each prompt's tail, position ids from the attention mask, float32 logits, argmax),
        so greedy output is token-identical to it. ``seeds[j]`` offsets ``params.seed``
        for row ``j``: each row samples from its own generator, so a sampled answer does
        not depend on which prompts share its batch or when they finish.

        With ``slots`` below ``len(batch)`` this is continuous batching: the first
        ``slots`` prompts start and the others wait, in order; a finished row's slot is
        refilled with the next waiting prompt, its tail prefilled and written
        right-aligned into that slot's cache rows (:func:`~posttrain.generation.kvcache.
        refill_rows`), so the batch stays full while prompts wait instead of shrinking to
        its longest answer. Slots are refilled in groups (an eighth of them, or all the
        prompts left) so that each prefill forward is worth its fixed cost. Needs the
        in-place cache and a shared prefix (the caller checks). ``on_done`` is called as
        each answer finishes.
        """
        import copy

        import torch
        from transformers import DynamicCache

        from posttrain.generation.kvcache import (
            preallocated_cache,
            refill_rows,
            shared_prefix_decoding,
            supports_shared_prefix,
        )

        n_slots = len(batch) if slots is None else max(1, min(slots, len(batch)))
        streaming = n_slots < len(batch)
        lengths = [len(ids) for ids in batch[:n_slots]]
        width = max(lengths) - k  # the longest tail: what the first rows pad to
        # Like generate: no mask at all when nothing is padded (the causal mask suffices);
        # a refilled slot is padded, so continuous batching always has one.
        use_mask = streaming or len(set(lengths)) > 1
        cache_name, keep_logits = self._forward_kwargs
        prefix = self._prefix_state(tuple(batch[0][:k])) if k else None
        shared = (
            self.kv_cache == "shared" and prefix is not None and supports_shared_prefix(self.model)
        )
        in_place = self.kv_cache in ("shared", "preallocated")
        if streaming and not (in_place and prefix is not None):
            raise ValueError("continuous batching needs the in-place cache and a shared prefix")
        if in_place:
            # Room for the prompts' tails and the answers, written in place each step.
            cache = preallocated_cache(
                prefix, n_slots, width + params.max_new_tokens, shared=shared
            )
        elif prefix is not None:
            cache = copy.deepcopy(prefix)
            cache.batch_repeat_interleave(len(batch))
        else:
            cache = DynamicCache()

        def forward(cache: Any, ids: Any, mask: Any, pos: Any) -> Any:
            """The last position's float32 logits of one forward over ``cache``."""
            kwargs: dict[str, Any] = {cache_name: cache, "use_cache": True}
            if keep_logits:
                kwargs["logits_to_keep"] = 1
            context = (
                shared_prefix_decoding(self.model, cache) if shared else contextlib.nullcontext()
            )
            filled = cache.get_seq_length()
            with context:
                out = self.model(
                    input_ids=ids,
                    attention_mask=mask if use_mask else None,
                    position_ids=pos,
                    **kwargs,
                )
            if cache.get_seq_length() != filled + ids.shape[1]:
                # e.g. a training model with gradient checkpointing turns the cache off:
                # feeding one token a step would then decode garbage.
                raise BackendError(
                    "the model did not fill its key/value cache",
                    hint="put the model in eval mode, or use the backend option decode='generate'",
                )
            return out.logits[:, -1, :].to(dtype=torch.float32)

        def prefill(cache: Any, ids: list[list[int]]) -> tuple[Any, Any, Any]:
            """Prefill ``ids`` into ``cache``: their last logits, last positions and mask."""
            r, m, _ = self._pad(ids, k)
            ids_t, mask_t = torch.tensor(r), torch.tensor(m)
            pos = (mask_t.cumsum(-1) - 1).masked_fill(mask_t == 0, 0)
            if prefix is not None and in_place:
                tails = [len(x) - k for x in ids]
                logits = self._prefill_in_chunks(cache, forward, ids_t, mask_t, pos, tails, shared)
            elif k:
                logits = forward(cache, ids_t[:, k:], mask_t, pos[:, k:])
            else:
                logits = forward(cache, ids_t, mask_t, pos)
            return logits, pos[:, -1:], mask_t

        stop_ids = torch.tensor(self._stop_ids, dtype=torch.long)
        generators: list[Any] = []
        if not params.greedy:
            for seed in seeds:
                gen = torch.Generator()
                gen.manual_seed(params.seed + seed)
                generators.append(gen)
            idle = torch.Generator()  # draws for a free slot, thrown away
        # slot (a cache row) -> the prompt it decodes; None: free, waiting to be refilled.
        slot_row: list[int | None] = list(range(n_slots))
        waiting = list(range(n_slots, len(batch)))
        refill_at = max(1, n_slots // 8)
        new_ids: list[list[int]] = [[] for _ in batch]
        finish: list[FinishReason | None] = [None] * len(batch)
        latency = [0.0] * len(batch)
        admitted = [0.0] * len(batch)
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                logits, step_pos, mask = prefill(cache, batch[:n_slots])
                while True:
                    free = [j for j, row in enumerate(slot_row) if row is None]
                    if waiting and free and (len(free) >= refill_at or len(waiting) <= len(free)):
                        take, waiting = waiting[: len(free)], waiting[len(free) :]
                        into = free[: len(take)]
                        part = preallocated_cache(prefix, len(take), 1, shared=shared)
                        part_logits, part_pos, _ = prefill(part, [batch[r] for r in take])
                        tails = [len(batch[r]) - k for r in take]
                        refill_rows(
                            cache, into, part, tails, params.max_new_tokens, 0 if shared else k
                        )
                        index = torch.tensor(into)
                        logits[index] = part_logits
                        step_pos[index] = part_pos
                        width_now = mask.shape[1]
                        for j, t in zip(into, tails, strict=True):
                            mask[j, k:] = 0
                            mask[j, width_now - t :] = 1
                        now = time.perf_counter() - started
                        for j, r in zip(into, take, strict=True):
                            slot_row[j] = r
                            admitted[r] = now
                    if params.greedy:
                        tokens = torch.argmax(logits, dim=-1)
                    else:
                        gens = [idle if r is None else generators[r] for r in slot_row]
                        tokens = _sample(logits, params, gens)
                    hit_stop = torch.isin(tokens, stop_ids).tolist()
                    now = time.perf_counter() - started
                    for j, row in enumerate(slot_row):
                        if row is None:
                            continue
                        ids = new_ids[row]
                        ids.append(int(tokens[j]))
                        if hit_stop[j] or self._hit_stop_string(ids, params):
                            finish[row] = "stop"
                        elif loop_block(ids, params.stop_on_loop) is not None:
                            finish[row] = "loop"
                        elif len(ids) >= params.max_new_tokens:
                            finish[row] = "length"
                        if finish[row] is not None:
                            latency[row] = now - admitted[row]
                            slot_row[j] = None
                            if on_done is not None:
                                on_done()
                    keep = [j for j, row in enumerate(slot_row) if row is not None]
                    if not keep and not waiting:
                        break
                    if not waiting and len(keep) < len(slot_row):
                        # Nothing left to refill with: finished rows leave the batch (their
                        # slice of the mask, the positions and every cache layer is dropped).
                        index = torch.tensor(keep)
                        cache.batch_select_indices(index)
                        tokens, mask, step_pos = tokens[index], mask[index], step_pos[index]
                        slot_row = [slot_row[j] for j in keep]
                    step_pos = step_pos + 1
                    mask = torch.cat([mask, mask.new_ones((len(slot_row), 1))], dim=-1)
                    logits = forward(cache, tokens[:, None], mask, step_pos)
        except RuntimeError as exc:
            raise BackendError(
                f"generation failed: {exc}",
                hint="lower --batch-size or max_new_tokens if memory ran out",
            ) from exc
        return [
            self._to_generation(new_ids[j], finish[j], len(batch[j]), latency[j], params)
            for j in range(len(batch))
        ]

    def _prefill_in_chunks(
        self,
        cache: Any,
        forward: Callable[[Any, Any, Any, Any], Any],
        input_ids: Any,
        mask: Any,
        positions: Any,
        tails: list[int],
        shared: bool,
    ) -> Any:
        """Prefill the prompts' tails (their tokens after the shared prefix: ``tails``
        long) in chunks of rows, each padded to its own longest tail instead of the
        batch's, and return every row's last logits.

        Behind the example's ~620-token system prompt a batch's tails run from a few
        tokens to a few hundred: padded to the longest, most of the prefill's compute
        went to padding. The rows are sorted by length, so contiguous chunks
        (:func:`~posttrain.generation.kvcache.prefill_chunks`) fit them; each chunk's
        forward writes its keys and values right-aligned into the batch's cache through a
        :func:`~posttrain.generation.kvcache.row_window`, after zero slots that the mask
        (the batch's own, unchanged) hides. Decoding then runs on the whole batch as if
        it had been prefilled at once."""
        import torch

        from posttrain.generation.kvcache import prefill_chunks, row_window

        width = max(tails)
        k = mask.shape[1] - width  # the shared prefix's length
        base = 0 if shared else k  # where the tails start in a layer's buffer
        for layer in cache.layers:
            # The room preallocated_cache promised, and at least the tails'.
            layer.reserve(len(tails), base + max(layer.extra, width))
        parts = []
        for chunk in prefill_chunks(tails):
            w = max(tails[r] for r in chunk)
            rows = slice(chunk.start, chunk.stop)
            window = row_window(cache, chunk.start, chunk.stop, base + width - w)
            parts.append(forward(window, input_ids[rows, -w:], mask[rows], positions[rows, -w:]))
        for layer in cache.layers:
            layer.set_length(base + width)
        return torch.cat(parts)

    def _pad(self, batch: list[list[int]], k: int) -> tuple[list[list[int]], list[list[int]], int]:
        """Rows, attention masks and the padded tail width of ``batch``.

        Padding goes between the shared prefix (``k`` tokens) and each prompt's own tail
        (left padding when there is no shared prefix): the masked-out slots get no
        attention and position ids follow the mask, so every prompt sees exactly its own
        text."""
        pad = int(self.tokenizer.pad_token_id)
        width = max(len(ids) for ids in batch) - k
        rows = [ids[:k] + [pad] * (width - (len(ids) - k)) + ids[k:] for ids in batch]
        masks = [[1] * k + [0] * (width - (len(ids) - k)) + [1] * (len(ids) - k) for ids in batch]
        return rows, masks, width

    def _hit_stop_string(self, ids: list[int], params: GenerationParams) -> bool:
        if not params.stop:
            return False
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return any(stop in text for stop in params.stop)

    def _to_generation(
        self,
        ids: list[int],
        finish: FinishReason | None,
        prompt_tokens: int,
        latency: float,
        params: GenerationParams,
    ) -> Generation:
        # The end-of-turn token counts as generated but is not part of the text.
        text_ids = ids[:-1] if ids and ids[-1] in self._stop_ids else ids
        text = self.tokenizer.decode(text_ids, skip_special_tokens=True)
        for stop in params.stop:
            cut = text.find(stop)
            if cut != -1:
                text = text[:cut]
        return Generation(
            text=text.strip(),
            prompt_tokens=prompt_tokens,
            completion_tokens=len(ids),
            latency_s=latency,
            finish_reason=finish or "length",
        )

    def _generate_batch(
        self, batch: list[list[int]], params: GenerationParams, k: int, *, seed_offset: int
    ) -> list[Generation]:
        import copy

        import torch

        rows, masks, _ = self._pad(batch, k)
        pad = int(self.tokenizer.pad_token_id)
        enc = {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(masks)}
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "eos_token_id": self._stop_ids,
            "pad_token_id": pad,
            "do_sample": not params.greedy,
        }
        if k:
            # The shared prefix is read once per backend, not once per prompt: with the
            # contract's ~600-token system prompt this is most of an evaluation's compute.
            past = copy.deepcopy(self._prefix_state(tuple(batch[0][:k])))
            past.batch_repeat_interleave(len(batch))
            kwargs[self._forward_kwargs[0]] = past
        if params.greedy:
            # Unset sampling knobs a checkpoint's generation_config may carry, so greedy
            # decoding does not warn about them.
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=None)
            torch.manual_seed(params.seed + seed_offset)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                out = self.model.generate(**enc, **kwargs)
        except RuntimeError as exc:
            raise BackendError(
                f"generation failed: {exc}",
                hint="lower --batch-size or max_new_tokens if memory ran out",
            ) from exc
        latency = time.perf_counter() - started
        prompt_len = enc["input_ids"].shape[1]
        generations = []
        for row, mask in zip(out, enc["attention_mask"], strict=True):
            new = row[prompt_len:].tolist()
            stop_at = next((j for j, t in enumerate(new) if t in self._stop_ids), None)
            finish: FinishReason
            # Where the loop would have stopped (the same rule, applied afterwards).
            loop_at = loop_stop_at(new[:stop_at], params.stop_on_loop)
            if loop_at is not None:
                completion_ids, finish = new[:loop_at], "loop"
                n_completion = loop_at
            elif stop_at is not None:
                completion_ids, finish = new[:stop_at], "stop"
                n_completion = stop_at + 1
            else:
                completion_ids, finish = new, "length"
                n_completion = len(new)
            text = self.tokenizer.decode(completion_ids, skip_special_tokens=True)
            for stop in params.stop:
                cut = text.find(stop)
                if cut != -1:
                    text, finish = text[:cut], "stop"
            generations.append(
                Generation(
                    text=text.strip(),
                    prompt_tokens=int(mask.sum()),
                    completion_tokens=n_completion,
                    latency_s=latency,
                    finish_reason=finish,
                )
            )
        return generations


def _sample(logits: Any, params: GenerationParams, generators: list[Any]) -> Any:
    """One token per row: temperature, then nucleus (top-p) filtering as transformers'
    ``TopPLogitsWarper`` does it, then a draw from each row's own generator."""
    import torch

    scores = logits / params.temperature
    if params.top_p < 1.0:
        sorted_scores, sorted_idx = torch.sort(scores, descending=False)
        cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
        remove = cumulative <= (1 - params.top_p)
        remove[..., -1:] = False  # always keep the most likely token
        scores = scores.masked_fill(remove.scatter(1, sorted_idx, remove), float("-inf"))
    probs = scores.softmax(dim=-1)
    draws = [torch.multinomial(probs[j], 1, generator=gen) for j, gen in enumerate(generators)]
    return torch.cat(draws)


def hf_fingerprint(model: str, dtype: str) -> str:
    """The cache identity of ``model`` run in ``dtype`` (16 hex digits): the files' hash
    for float32 (so existing caches stay valid), the files' hash mixed with the dtype
    otherwise, since bfloat16 can answer differently from float32."""
    from posttrain.models import fingerprint

    return with_dtype(fingerprint(model), dtype)


def with_dtype(files: str, dtype: str) -> str:
    """The cache identity of model files with fingerprint ``files`` run in ``dtype``."""
    if dtype == "float32":
        return files
    return hashlib.sha256(f"{files}|{dtype}".encode()).hexdigest()[:16]
