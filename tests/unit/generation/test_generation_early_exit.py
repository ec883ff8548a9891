"""The hf backend's decoding loop (finished rows leave the batch) against model.generate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posttrain.generation import GenerationParams
from posttrain.generation.base import ChatMessage, Conversation
from posttrain.generation.hf import HFBackend, KVCacheMode, hf_fingerprint

try:  # pytest's default import mode puts this folder on sys.path
    from forward_log import forward_shapes
except ImportError:  # tests laid out as packages
    from tests.unit.generation.forward_log import forward_shapes

SYSTEM = ChatMessage(role="system", content="You are ShopMate. Ask for the order number. " * 4)
USERS = [
    "hi",
    "Where is my order SM-2026-0042317? It is late again.",
    "推荐三款降噪耳机",
    "ok",
    "x" * 40,
    "Can I change the shipping address after paying?",
]


@pytest.fixture(scope="module")
def lively(tiny_model_dir: Path) -> tuple[Any, Any]:
    """The tiny model's architecture with larger random weights: its greedy answers vary
    from token to token and prompt to prompt (the stored tiny model repeats one token,
    which would hide a decoding bug)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from posttrain.models.loading import load_tokenizer

    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.3
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    return model, load_tokenizer("tiny-random")


def _convs(shared_prefix: bool) -> list[Conversation]:
    if shared_prefix:
        return [[SYSTEM, ChatMessage(role="user", content=u)] for u in USERS]
    return [[ChatMessage(role="user", content=u)] for u in USERS]


def _common_token(backend: HFBackend, convs: list[Conversation], n: int) -> int:
    """A token the model emits part-way through several answers: made an end-of-turn
    token, it ends rows at different steps, so rows leave the batch one by one."""
    import torch

    answers = []
    for conv in convs:
        ids = backend.tokenizer(
            backend.render(conv), return_tensors="pt", add_special_tokens=False
        )["input_ids"]
        with torch.inference_mode():
            out = backend.model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False
            )
        answers.append(out[0, ids.shape[1] :].tolist())
    candidates = {t for a in answers for t in a} - set(backend._stop_ids)

    def spread(token: int) -> int:  # how many different steps the answers would end at
        return len({a.index(token) if token in a else n for a in answers})

    return max(sorted(candidates), key=spread)


@pytest.mark.parametrize("continuous", [False, True], ids=["batches", "continuous"])
@pytest.mark.parametrize("kv_cache", ["shared", "preallocated", "dynamic"])
@pytest.mark.parametrize("shared_prefix", [True, False])
def test_loop_is_token_identical_to_generate(
    lively: tuple[Any, Any], shared_prefix: bool, kv_cache: KVCacheMode, continuous: bool
) -> None:
    # 6 prompts, 4 slots: continuous batching (in-place cache and a shared prefix only;
    # the other cases decode batch by batch whatever the option) refills 2 of them.
    convs = _convs(shared_prefix)
    loop = HFBackend(
        "lively", batch_size=4, loaded=lively, kv_cache=kv_cache, continuous=continuous
    )
    old = HFBackend("lively", batch_size=4, loaded=lively, decode="generate")
    stop = _common_token(loop, convs, 24)
    for backend in (loop, old):
        backend._stop_ids = sorted({*backend._stop_ids, stop})
    params = GenerationParams(max_new_tokens=24)
    a = loop.generate(convs, params)
    b = old.generate(convs, params)
    assert [g.text for g in a] == [g.text for g in b]
    assert [g.completion_tokens for g in a] == [g.completion_tokens for g in b]
    assert [g.finish_reason for g in a] == [g.finish_reason for g in b]
    assert [g.prompt_tokens for g in a] == [g.prompt_tokens for g in b]
    # The case under test happened: rows of one batch ended at different steps.
    assert len({g.completion_tokens for g in a}) > 1
    assert "stop" in {g.finish_reason for g in a}


@pytest.mark.parametrize("kv_cache", ["shared", "preallocated"])
def test_preallocated_cache_grows_past_its_room(
    lively: tuple[Any, Any], kv_cache: KVCacheMode
) -> None:
    """A layer whose reserved room runs out (here: one position) doubles its buffer and
    keeps what it held, so decoding stays token-identical to the concatenating cache."""
    from unittest import mock

    from posttrain.generation import kvcache

    convs = _convs(shared_prefix=True)
    params = GenerationParams(max_new_tokens=12)
    want = HFBackend("lively", batch_size=3, loaded=lively, kv_cache="dynamic").generate(
        convs, params
    )
    real = kvcache.preallocated_cache
    with mock.patch.object(
        kvcache,
        "preallocated_cache",
        lambda prefix, rows, extra, **kw: real(prefix, rows, 1, **kw),
    ):
        backend = HFBackend("lively", batch_size=3, loaded=lively, kv_cache=kv_cache)
        got = backend.generate(convs, params)
    assert [g.text for g in got] == [g.text for g in want]


def test_unknown_kv_cache_mode_is_a_usage_error(lively: tuple[Any, Any]) -> None:
    from posttrain.errors import UsageError

    with pytest.raises(UsageError, match="kv_cache"):
        HFBackend("lively", loaded=lively, kv_cache="static")  # type: ignore[arg-type]


def test_finished_rows_leave_the_batch(lively: tuple[Any, Any]) -> None:
    """The forward's batch shrinks as rows end; a row that ended early reports its own
    (shorter) latency."""
    convs = _convs(True)
    backend = HFBackend("lively", batch_size=6, loaded=lively)
    stop = _common_token(backend, convs, 24)
    backend._stop_ids = sorted({*backend._stop_ids, stop})
    with forward_shapes(backend.model) as shapes:
        gens = backend.generate(convs, GenerationParams(max_new_tokens=24))
    sizes = [rows for rows, tokens in shapes if tokens == 1]  # decoding steps, not prefills
    assert sizes[0] == len(convs)
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0]
    # One forward per step of the longest answer after the first token (which comes from
    # the prefill); the row count per step is exactly the number of answers still running.
    longest = max(g.completion_tokens for g in gens)
    assert len(sizes) == longest - 1
    for step, size in enumerate(sizes, start=1):
        assert size == sum(g.completion_tokens > step for g in gens)
    short = min(gens, key=lambda g: g.completion_tokens)
    assert short.latency_s < max(g.latency_s for g in gens)


def test_stop_string_ends_a_row(lively: tuple[Any, Any]) -> None:
    convs = _convs(False)
    backend = HFBackend("lively", batch_size=4, loaded=lively)
    free = backend.generate(convs, GenerationParams(max_new_tokens=16))
    text = next(g.text for g in free if len(g.text) > 6)
    stop = text[3:5]
    gens = backend.generate(convs, GenerationParams(max_new_tokens=16, stop=(stop,)))
    for g in gens:
        assert stop not in g.text
    hit = [g for g, f in zip(gens, free, strict=True) if stop in f.text]
    assert hit and all(g.finish_reason == "stop" and g.completion_tokens < 16 for g in hit)


def test_sampling_does_not_depend_on_batching(lively: tuple[Any, Any]) -> None:
    """Each row samples from its own seeded generator: batch size and neighbours that
    finish early do not change a sampled answer; another seed does."""
    convs = _convs(True)
    params = GenerationParams(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=5)
    batched = HFBackend("lively", batch_size=6, loaded=lively).generate(convs, params)
    single = HFBackend("lively", batch_size=1, loaded=lively).generate(convs, params)
    assert [g.text for g in batched] == [g.text for g in single]
    other = HFBackend("lively", batch_size=6, loaded=lively).generate(
        convs, params.model_copy(update={"seed": 6})
    )
    assert [g.text for g in batched] != [g.text for g in other]


def test_dtype_auto_and_fingerprint(tiny_model_dir: Path, tmp_path: Path) -> None:
    from posttrain.errors import UsageError
    from posttrain.models.loading import native_bf16, resolve_dtype

    flags = tmp_path / "cpuinfo"
    flags.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert not native_bf16(flags)
    flags.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert native_bf16(flags)
    assert resolve_dtype("auto") == ("bfloat16" if native_bf16() else "float32")
    assert resolve_dtype("float16") == "float16"
    with pytest.raises(UsageError, match="unknown dtype"):
        resolve_dtype("fp8")
    # A bfloat16 model answers under its own cache identity; float32 keeps the files' hash.
    fp32 = hf_fingerprint("tiny-random", "float32")
    bf16 = HFBackend("tiny-random", dtype="bfloat16")
    assert bf16.dtype == "bfloat16"
    assert bf16.fingerprint != fp32 and len(bf16.fingerprint) == 16
    assert HFBackend("tiny-random").fingerprint == fp32
    assert bf16.generate(_convs(True)[:2], GenerationParams(max_new_tokens=4))
    with pytest.raises(UsageError, match="decode"):
        HFBackend("tiny-random", decode="fast")  # type: ignore[arg-type]


def test_cli_dtype_reaches_the_cache_identity(tiny_model_dir: Path) -> None:
    """`posttrain eval --dtype`: a bad value is a usage error before any work, and a
    bfloat16 evaluation never reads float32 answers from the cache (nor the reverse)."""
    from posttrain.cli.evaluate import _backend
    from posttrain.errors import UsageError

    with pytest.raises(UsageError, match="unknown dtype 'bf16'"):
        _backend("hf", "tiny-random", None, 4, None, "bf16")
    fp32 = _backend("hf", "tiny-random", None, 4, None, "float32")
    bf16 = _backend("hf", "tiny-random", None, 4, None, "bfloat16")
    assert fp32.fingerprint == hf_fingerprint("tiny-random", "float32")
    assert bf16.fingerprint == hf_fingerprint("tiny-random", "bfloat16") != fp32.fingerprint
    assert not bf16.loaded  # the identity needs no weights
    assert bf16.backend.fingerprint == bf16.fingerprint


def test_finished_slots_are_refilled_while_prompts_wait(lively: tuple[Any, Any]) -> None:
    """Continuous batching: with 2 slots for 6 prompts, a row that ends hands its slot to
    the next prompt (prefilled on its own), so every decoding step before the last
    prompt starts runs 2 rows; the answers are the ones the per-batch loop gives."""
    convs = _convs(True)
    backend = HFBackend("lively", batch_size=2, loaded=lively, continuous=True)
    stop = _common_token(backend, convs, 24)
    backend._stop_ids = sorted({*backend._stop_ids, stop})
    params = GenerationParams(max_new_tokens=24)
    with forward_shapes(backend.model) as forwards:
        gens = backend.generate(convs, params)
    per_batch = HFBackend("lively", batch_size=6, loaded=lively)
    per_batch._stop_ids = backend._stop_ids
    assert [g.text for g in gens] == [g.text for g in per_batch.generate(convs, params)]
    prefills = [i for i, (_, tokens) in enumerate(forwards) if tokens > 1]
    assert len(prefills) > 1  # slots were refilled
    steps_before_last_refill = [f for f in forwards[: prefills[-1]] if f[1] == 1]
    assert steps_before_last_refill and all(rows == 2 for rows, _ in steps_before_last_refill)
