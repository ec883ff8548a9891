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
]


Conversation = list[ChatMessage]
# Conversations an evaluation hands a backend per call (and the hf backend decodes as one
# batch). 64 since the hf backend holds the shared system prompt once per batch: a row
# then costs only its own tail and answer, and a step's cost is mostly reading the
# weights, so 64 rows run at ~2.4x the tokens/s of 16 (BENCHMARKS.md, audit generation).
DEFAULT_BATCH_SIZE = 64
FinishReason = Literal["stop", "length"]
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

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


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
