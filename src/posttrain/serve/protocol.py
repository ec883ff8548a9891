"""The OpenAI wire format ``posttrain serve`` speaks, as pydantic models, in one file.

Requests are validated strictly (``extra="forbid"``): a parameter the gateway does not
implement (``tools``, ``logprobs``, ``n`` above 1...) is a 400 naming it, never silently
ignored. Responses are what the official ``openai`` client parses, plus one extension
field, ``posttrain``: the guard's decision for the request (:class:`GuardDecision`).
Every error is :class:`ErrorResponse`, OpenAI's ``{"error": {message, type, param,
code}}``; :class:`APIError` is how the gateway raises one.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "APIError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "Choice",
    "ChunkChoice",
    "Delta",
    "ErrorDetail",
    "ErrorResponse",
    "FeedbackRequest",
    "FeedbackResponse",
    "FinishReason",
    "Grade",
    "GuardDecision",
    "ModelCard",
    "ModelList",
    "RequestMessage",
    "ResponseMessage",
    "StreamOptions",
    "TextPart",
    "Usage",
]

# pass: delivered as generated; retried: a format failure fixed by regenerating;
# fallback: still failing after the retries, the contract's fallback delivered;
# redacted: PII or a secret not from the user's own turns masked in the answer;
# replaced: the canary or a piece of the system prompt leaked, the answer replaced;
# refused: an unsafe answer to a request the input side flagged as an attack, replaced
# with the contract's refusal; flagged: a hard clause failed that the guard has no action
# for (delivered, recorded); unguarded: guard mode `off`; cut: a stream in guard.stream
# `cut` mode stopped part-way because a check failed (the text sent before stays sent).
Grade = Literal[
    "pass",
    "retried",
    "fallback",
    "redacted",
    "replaced",
    "refused",
    "flagged",
    "unguarded",
    "cut",
]
FinishReason = Literal["stop", "length", "content_filter"]


class _Wire(BaseModel):
    # strict: "yes" is not a boolean, "12" not a number (the types OpenAI's API takes)
    model_config = ConfigDict(extra="forbid", strict=True)


# --- requests --------------------------------------------------------------------------


class TextPart(_Wire):
    """One part of a message's content; only text is accepted."""

    type: Literal["text"]
    text: str


class RequestMessage(_Wire):
    """A turn the client sends. ``system``/``developer`` turns are handled by the guard's
    ``client_system`` setting (refused, or passed on as user context)."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = Field(None, max_length=64)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Wire):
    include_usage: bool = False


class ChatCompletionRequest(_Wire):
    """``POST /v1/chat/completions``."""

    model: str = Field(min_length=1, max_length=512)
    messages: list[RequestMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    n: Literal[1] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = Field(None, max_length=256)
    metadata: dict[str, str] | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        stops = [v] if isinstance(v, str) else v or []
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("stop takes at most 4 non-empty strings")
        return v

    def stop_strings(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def requested_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class FeedbackRequest(_Wire):
    """``POST /v1/feedback``: a user's rating of an answer, by the id of its response."""

    request_id: str = Field(min_length=1, max_length=128)
    rating: Literal["up", "down"]
    reason: str | None = Field(None, max_length=2000)


# --- responses -------------------------------------------------------------------------


class GuardDecision(BaseModel):
    """What the runtime guard decided for one request (the ``posttrain`` extension)."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    version: str | None
    model: str
    mode: Literal["enforce", "monitor", "off"]
    grade: Grade
    # Ids of the contract clauses the answer failed (soft ones included).
    failed_checks: list[str] = Field(default_factory=list)
    # Clauses the guard could not judge at runtime (their check needs suite-only data).
    skipped_checks: list[str] = Field(default_factory=list)
    # What the input side took the request for: an attack class, another label, or None.
    input_class: str | None = None
    attempts: int = Field(1, ge=0)
    # Time the guard itself spent (checks, retries' bookkeeping), upstream time excluded.
    guard_ms: float = Field(0.0, ge=0.0)
    upstream_ms: float = Field(0.0, ge=0.0)


class Usage(_Wire):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class ResponseMessage(_Wire):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class Choice(_Wire):
    index: int = 0
    message: ResponseMessage
    finish_reason: FinishReason
    logprobs: None = None


class ChatCompletion(_Wire):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    posttrain: GuardDecision


class Delta(_Wire):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(_Wire):
    index: int = 0
    delta: Delta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(_Wire):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    posttrain: GuardDecision | None = None


class ModelCard(_Wire):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "posttrain"
    # The registry version served (None for --model), and the contract it runs under.
    version: str | None = None
    contract_hash: str | None = None


class ModelList(_Wire):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class FeedbackResponse(_Wire):
    object: Literal["feedback"] = "feedback"
    request_id: str
    rating: Literal["up", "down"]
    # Whether it went to the failure pool (only "down" does, once per request).
    captured: bool


class ErrorDetail(_Wire):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(_Wire):
    error: ErrorDetail


class APIError(Exception):
    """An error the gateway answers in OpenAI's shape with HTTP ``status``.

    ``type`` follows OpenAI's names (``invalid_request_error``, ``authentication_error``,
    ``permission_error``, ``not_found_error``, ``rate_limit_error``, ``server_error``);
    ``headers`` are added to the response (``Retry-After`` for a 429).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(message=message, type=type, param=param, code=code)
        self.headers = headers or {}

    def response_body(self) -> ErrorResponse:
        return ErrorResponse(error=self.detail)
