"""The generation protocol: conversations and parameters in, one :class:`Generation` per
conversation out. Every backend (``hf``, ``openai``, ``llamacpp``) implements it, and every
stage that needs a model's answers (chat, evaluation, the guard, the safety probe) talks
to this protocol only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

# Defined beside the one chat renderer (models sit below generation); re-exported here.
from posttrain.models.chat import ChatMessage

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Backend",
    "ChatMessage",
    "Conversation",
    "FinishReason",
    "Generation",
    "GenerationParams",
    "ProgressCallback",
    "batches",
    "loop_block",
    "loop_stop_at",
]


Conversation = list[ChatMessage]
# Conversations an evaluation hands a backend per call (and the hf backend decodes as one
# batch). 64 since the hf backend holds the shared system prompt once per batch: a row
# then costs only its own tail and answer, and a step's cost is mostly reading the
# weights, so 64 rows run at ~2.4x the tokens/s of 16 (BENCHMARKS.md, audit generation).
DEFAULT_BATCH_SIZE = 64
# "stop": the answer ended (end-of-turn token or a stop string); "length": cut at
# max_new_tokens; "loop": cut because it had started to repeat itself (stop_on_loop).
FinishReason = Literal["stop", "length", "loop"]
# A loop is a block of LOOP_MIN_BLOCK..LOOP_MAX_BLOCK tokens repeated LOOP_COPIES times
# or more at the end of the answer (see loop_block).
LOOP_MIN_BLOCK, LOOP_MAX_BLOCK, LOOP_COPIES = 2, 40, 3


# A last batch this small or smaller (an eighth of the batch size) joins the one before
# it: decoding it alone costs nearly what a full batch costs (a step's cost is mostly
# reading the weights), e.g. 193 audit prompts ran as 64+64+64+1, the last row alone for
# ~11 s; now 64+64+65.
def batches(n: int, size: int) -> list[range]:
    """Index ranges of ``n`` items in batches of ``size``; a remainder of at most
    ``size // 8`` items goes into the last full batch (so a batch holds up to
    ``size + size // 8`` items)."""
    size = max(1, size)
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] <= size // 8:
        starts.pop()
    ends = [*starts[1:], n]
    return [range(s, e) for s, e in zip(starts, ends, strict=True)] if starts else []


# Called with the number of conversations just finished; lets the CLI drive a progress bar.
ProgressCallback = Callable[[int], None]


class GenerationParams(BaseModel):
    """How to generate. ``temperature == 0`` means greedy decoding; otherwise sampling
    seeded with ``seed`` so that a run can be repeated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_new_tokens: int = Field(default=256, ge=1, le=32768)
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int = 0
    stop: tuple[str, ...] = ()
    # Stop an answer once its last ``stop_on_loop`` tokens (or more) are one block of 2 to
    # 40 tokens repeated at least 3 times: it has started to loop, and greedy decoding
    # that has repeated a block that often keeps repeating it to the limit. The answer
    # ends with finish_reason "loop", which ``no_repetition`` fails as it fails one cut at
    # the limit. 0: never (decode to max_new_tokens). Applied by the hf backend, which
    # sees the tokens; the others decode to their own end.
    stop_on_loop: int = Field(default=0, ge=0, le=32768)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def loop_block(ids: Sequence[int], min_span: int) -> int | None:
    """The length of the block ``ids`` ends by repeating, or None.

    ``ids`` ends in a loop when, for a block length ``b`` from 2 to 40, its last
    ``max(min_span, 3 * b)`` tokens repeat with period ``b`` (each token equals the one
    ``b`` before it). The shortest such block is returned. Cheap enough to call after
    every decoded token: one slice comparison per block length."""
    n = len(ids)
    if min_span <= 0 or n < 2 * LOOP_COPIES:
        return None
    tail = list(ids[-max(min_span, LOOP_COPIES * LOOP_MAX_BLOCK) :])
    for b in range(LOOP_MIN_BLOCK, LOOP_MAX_BLOCK + 1):
        span = max(min_span, LOOP_COPIES * b)
        if span > n:
            break
        window = tail[len(tail) - span :]
        if window[b:] == window[:-b]:
            return b
    return None


def loop_stop_at(ids: Sequence[int], min_span: int) -> int | None:
    """The number of tokens after which decoding with ``stop_on_loop=min_span`` stops
    ``ids`` (the first length whose prefix ends in a loop), or None if it never does."""
    if min_span <= 0:
        return None
    for t in range(2 * LOOP_COPIES, len(ids) + 1):
        if loop_block(ids[:t], min_span) is not None:
            return t
    return None


class Generation(BaseModel):
    """What a backend returns for one conversation."""

    model_config = ConfigDict(extra="forbid")

    text: str
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    latency_s: float = Field(ge=0.0)
    finish_reason: FinishReason


@runtime_checkable
class Backend(Protocol):
    """A source of completions.

    ``name`` is the backend kind (``hf``, ``openai``...). ``fingerprint`` identifies the
    exact model behind it (weights hash, or endpoint + model name) so results can be
    cached and compared safely.
    """

    name: str

    @property
    def fingerprint(self) -> str: ...

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        """Return one :class:`Generation` per conversation, in order.

        Raises :class:`posttrain.errors.BackendError` (or its subclass
        :class:`~posttrain.errors.BackendTimeoutError`) when the model cannot answer.
        """
        ...
