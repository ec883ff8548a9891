"""``hf``: local generation with transformers, batched with left padding.

Prompts are rendered with :func:`posttrain.models.chat.render` (the same function training
uses), sorted by length so each batch pads little, generated under ``torch.inference_mode``
and returned in input order. The token prefix a batch shares (the contract's system prompt)
is run through the model once and its key/value cache reused for every prompt. Decoding is
greedy, or sampled with a seed; it stops at the model's end-of-turn token, at
``max_new_tokens`` or at a stop string.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from posttrain.errors import BackendError, UsageError
from posttrain.generation.base import (
    Conversation,
    FinishReason,
    Generation,
    GenerationParams,
    ProgressCallback,
)
from posttrain.models.chat import render

__all__ = ["HFBackend"]

# Below this many shared tokens, reusing a prefix cache saves less than copying it costs.
MIN_PREFIX_TOKENS = 16


class HFBackend:
    """Generate with a local transformers model (a known name or an HF folder)."""

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        num_threads: int | None = None,
        dtype: str = "float32",
        loaded: tuple[Any, Any] | None = None,
        prefix_cache: bool = True,
        timeout_s: float | None = None,
    ) -> None:
        """``loaded`` takes an already loaded ``(model, tokenizer)`` pair (e.g. a model
        being trained) instead of loading ``model`` from disk. ``prefix_cache`` reads the
        token prefix a batch shares (the system prompt) once instead of once per prompt.
        ``timeout_s`` (``--timeout``) is accepted and ignored: generation runs in this
        process, with no server to wait for, and ends at ``max_new_tokens``."""
        import torch

        from posttrain.models import fingerprint, load

        if batch_size < 1:
            raise UsageError(f"batch_size must be ≥ 1 (got {batch_size})")
        if num_threads is not None:
            if num_threads < 1:
                raise UsageError(f"num_threads must be ≥ 1 (got {num_threads})")
            torch.set_num_threads(num_threads)
        self.model_name = model
        self.batch_size = batch_size
        self.prefix_cache = prefix_cache
        self._prefix_key: tuple[int, ...] | None = None
        self._prefix_kv: Any = None
        if loaded is None:
            self.model, self.tokenizer = load(model, dtype=dtype)
            self._fingerprint: str | None = fingerprint(model)
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
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = self._generate_batch([ids[i] for i in idx], params, k, seed_offset=start)
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

    def _generate_batch(
        self, batch: list[list[int]], params: GenerationParams, k: int, *, seed_offset: int
    ) -> list[Generation]:
        import copy

        import torch

        pad = int(self.tokenizer.pad_token_id)
        width = max(len(ids) for ids in batch) - k
        # Padding goes between the shared prefix and each prompt's own tail (left padding
        # when there is no shared prefix): the masked-out slots get no attention and
        # position ids follow the mask, so every prompt sees exactly its own text.
        rows = [ids[:k] + [pad] * (width - (len(ids) - k)) + ids[k:] for ids in batch]
        masks = [[1] * k + [0] * (width - (len(ids) - k)) + [1] * (len(ids) - k) for ids in batch]
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
            kwargs["past_key_values"] = past
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
            if stop_at is not None:
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
