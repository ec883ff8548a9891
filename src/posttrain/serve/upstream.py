"""Upstreams: what answers behind the gateway, behind one small async interface.

An :class:`Upstream` takes one conversation (system prompt included) and
:class:`~posttrain.generation.base.GenerationParams` and returns one
:class:`~posttrain.generation.base.Generation`:

* :class:`HFUpstream` — the model in this process through the ``hf`` backend
  (``posttrain.generation.make_backend``). ``generate`` never blocks the event loop: a
  single batcher task collects the requests that arrive within ``batch_wait_ms``, up to
  ``batch_size``, and runs them as one backend call in a worker thread (requests with
  different generation parameters go in separate calls). One call at a time, so the
  model is never used by two threads at once.
* :class:`OpenAIUpstream` — any OpenAI-compatible engine by URL, through ``httpx``'s
  async client, each call under one total deadline.
* :class:`StubUpstream` — scripted answers at once (tests, demos, the gateway benchmark).

Streaming (guard.stream ``cut``) goes through :func:`stream_answer`: the stub and an
engine by URL (``stream: true``, server-sent events) yield text as it comes; the
in-process model generates a whole batch at once, so it yields its answer in one piece.

Failures are :class:`~posttrain.errors.BackendError` (the gateway answers 502),
:class:`UpstreamUnavailable` (503: the engine cannot be reached) or
:class:`~posttrain.errors.BackendTimeoutError` (504).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import os
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from posttrain.errors import BackendError, BackendTimeoutError, UpstreamUnavailable
from posttrain.generation.base import Conversation, Generation, GenerationParams
from posttrain.serve.config import (
    HFUpstreamConfig,
    OpenAIUpstreamConfig,
    StubUpstreamConfig,
)

__all__ = [
    "HFUpstream",
    "OpenAIUpstream",
    "Piece",
    "StubUpstream",
    "Upstream",
    "UpstreamUnavailable",
    "make_upstream",
    "stream_answer",
]


@runtime_checkable
class Upstream(Protocol):
    """One served model. ``name`` is the kind (hf, openai, stub)."""

    name: str

    async def start(self) -> None:
        """Load the model or open connections; called once before serving."""
        ...

    async def aclose(self) -> None: ...

    async def ready(self) -> tuple[bool, str]:
        """(ready, why not): the model is loaded / the engine answers."""
        ...

    async def generate(self, conversation: Conversation, params: GenerationParams) -> Generation:
        """One answer; raises BackendError, UpstreamUnavailable or BackendTimeoutError."""
        ...


@dataclass(frozen=True)
class Piece:
    """A part of a streamed answer: new ``text``; the last piece also carries ``final``,
    the whole answer with its token counts."""

    text: str
    final: Generation | None = None


async def stream_answer(
    upstream: Upstream, conversation: Conversation, params: GenerationParams
) -> AsyncGenerator[Piece, None]:
    """The answer as it is produced: the upstream's own ``stream`` when it has one, else
    its whole answer as one piece. Raises what ``generate`` raises."""
    streamer = getattr(upstream, "stream", None)
    if streamer is None:
        gen = await upstream.generate(conversation, params)
        yield Piece(gen.text, gen)
        return
    async for piece in streamer(conversation, params):
        yield piece


def make_upstream(config: Any, model: str) -> Upstream:
    """The upstream ``config`` (one of serve.yaml's ``upstream`` kinds) describes, serving
    ``model`` (a name or folder for hf, the engine's model name for openai)."""
    if isinstance(config, HFUpstreamConfig):
        return HFUpstream(model, config)
    if isinstance(config, OpenAIUpstreamConfig):
        return OpenAIUpstream(config.served_model or model, config)
    if isinstance(config, StubUpstreamConfig):
        return StubUpstream.from_config(config)
    raise TypeError(f"not an upstream config: {type(config).__name__}")


# --- the stub ---------------------------------------------------------------------------


def _last_user(conversation: Conversation) -> str:
    return next((m["content"] for m in reversed(conversation) if m["role"] == "user"), "")


@dataclass
class StubUpstream:
    """Answers from ``rules`` (regex on the last user turn -> reply, first match wins),
    else ``default``; or from ``reply_fn(conversation)`` when given. ``calls`` keeps every
    conversation it was sent (tests read it)."""

    rules: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    default: str = "Happy to help. Could you send me your order number?"
    delay_ms: float = 0.0
    word_delay_ms: float = 0.0
    reply_fn: Callable[[Conversation], str] | None = None
    calls: list[Conversation] = field(default_factory=list)
    name: str = "stub"

    @classmethod
    def from_config(cls, config: StubUpstreamConfig) -> StubUpstream:
        rules = [(re.compile(r.match), r.reply) for r in config.replies]
        return cls(
            rules=rules,
            default=config.default,
            delay_ms=config.delay_ms,
            word_delay_ms=config.word_delay_ms,
        )

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def ready(self) -> tuple[bool, str]:
        return True, ""

    def reply(self, conversation: Conversation) -> str:
        if self.reply_fn is not None:
            return self.reply_fn(conversation)
        user = _last_user(conversation)
        return next((text for rx, text in self.rules if rx.search(user)), self.default)

    async def generate(self, conversation: Conversation, params: GenerationParams) -> Generation:
        started = time.perf_counter()
        # Bounded: a test's conversation list must not grow without end under a benchmark.
        if len(self.calls) < 10_000:
            self.calls.append(list(conversation))
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        text = self.reply(conversation)
        return self._generation(conversation, text, params, started)

    def _generation(
        self, conversation: Conversation, text: str, params: GenerationParams, started: float
    ) -> Generation:
        return Generation(
            text=text,
            prompt_tokens=sum(len(m["content"].split()) for m in conversation),
            completion_tokens=min(len(text.split()), params.max_new_tokens),
            latency_s=time.perf_counter() - started,
            finish_reason="stop",
        )

    async def stream(
        self, conversation: Conversation, params: GenerationParams
    ) -> AsyncIterator[Piece]:
        """The reply a word at a time, ``word_delay_ms`` apart (``delay_ms`` first)."""
        started = time.perf_counter()
        if len(self.calls) < 10_000:
            self.calls.append(list(conversation))
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        text = self.reply(conversation)
        words = re.findall(r"\s*\S+", text) or [text]
        for i, word in enumerate(words):
            if i and self.word_delay_ms:
                await asyncio.sleep(self.word_delay_ms / 1000)
            last = i == len(words) - 1
            final = self._generation(conversation, text, params, started) if last else None
            yield Piece(word + (text[len(text.rstrip()) :] if last else ""), final)


# --- in process -----------------------------------------------------------------------


@dataclass
class _Pending:
    conversation: Conversation
    params: GenerationParams
    future: asyncio.Future[Generation]


class HFUpstream:
    """The ``hf`` backend in this process, with dynamic batching (see module doc)."""

    name = "hf"

    def __init__(self, model: str, config: HFUpstreamConfig) -> None:
        self.model = model
        self.config = config
        self.backend: Any = None
        self.batches = 0  # backend calls made (tests and the metrics read it)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: str = "loading"
        # The model's own thread: guard threads waiting on it can never take it.
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="posttrain-hf")

    async def start(self) -> None:
        from posttrain.generation import make_backend

        options: dict[str, Any] = {"batch_size": self.config.batch_size}
        options["dtype"] = self.config.dtype or "float32"
        if self.config.num_threads is not None:
            options["num_threads"] = self.config.num_threads
        loop = asyncio.get_running_loop()
        self.backend = await loop.run_in_executor(
            self._thread, functools.partial(make_backend, "hf", self.model, **options)
        )
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._batcher(), name="posttrain-hf-batcher")
        self._error = ""

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def ready(self) -> tuple[bool, str]:
        if self._task is None or self._task.done():
            return False, self._error or "the batcher stopped"
        return True, ""

    async def generate(self, conversation: Conversation, params: GenerationParams) -> Generation:
        if self._queue is None:
            raise UpstreamUnavailable("the in-process model is not loaded yet")
        future: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(conversation, params, future))
        return await future

    async def _collect(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        batch = [await queue.get()]
        deadline = time.monotonic() + self.config.batch_wait_ms / 1000
        while len(batch) < self.config.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), left))
            except TimeoutError:
                break
        return batch

    async def _batcher(self) -> None:
        assert self._queue is not None  # set in start()
        while True:
            batch = [p for p in await self._collect(self._queue) if not p.future.done()]
            groups: dict[GenerationParams, list[_Pending]] = {}
            for p in batch:
                groups.setdefault(p.params, []).append(p)
            for params, group in groups.items():
                convs = [p.conversation for p in group]
                self.batches += 1
                try:
                    gens = await asyncio.get_running_loop().run_in_executor(
                        self._thread, self.backend.generate, convs, params
                    )
                except Exception as exc:  # every waiting request learns of it
                    error = exc if isinstance(exc, BackendError) else BackendError(str(exc))
                    for p in group:
                        if not p.future.done():
                            p.future.set_exception(error)
                    continue
                for p, gen in zip(group, gens, strict=True):
                    if not p.future.done():
                        p.future.set_result(gen)


# --- by URL -------------------------------------------------------------------------------


class OpenAIUpstream:
    """An OpenAI-compatible ``/chat/completions`` endpoint (no retries: the gateway's
    client decides; each call has one deadline, ``timeout_s``)."""

    name = "openai"

    def __init__(
        self,
        model: str,
        config: OpenAIUpstreamConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._ready_at = 0.0
        self._ready: tuple[bool, str] = (False, "not checked yet")

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.config.api_key_env) if self.config.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def start(self) -> None:
        limits = httpx.Limits(
            max_connections=self.config.max_connections,
            max_keepalive_connections=self.config.max_connections,
        )
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s)),
            limits=limits,
            headers=self._headers(),
            transport=self._transport,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _client_or_fail(self) -> httpx.AsyncClient:
        if self._client is None:
            raise UpstreamUnavailable("the upstream client is not started")
        return self._client

    async def ready(self) -> tuple[bool, str]:
        # Checked at most once a second: /readyz may be polled hard.
        if time.monotonic() - self._ready_at < 1.0:
            return self._ready
        try:
            async with asyncio.timeout(min(2.0, self.config.timeout_s)):
                resp = await self._client_or_fail().get("/models")
            ok = resp.status_code == 200
            self._ready = (ok, "" if ok else f"{self.base_url}/models answered {resp.status_code}")
        except (httpx.HTTPError, TimeoutError, UpstreamUnavailable) as exc:
            self._ready = (False, f"{self.base_url} unreachable: {type(exc).__name__}")
        self._ready_at = time.monotonic()
        return self._ready

    def _body(self, conversation: Conversation, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(conversation),
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stream": False,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def _timed_out(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"the upstream {self.base_url} did not answer within {self.config.timeout_s:g}s"
        )

    def _unreachable(self, exc: Exception) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            f"the upstream {self.base_url} cannot be reached ({type(exc).__name__})"
        )

    async def generate(self, conversation: Conversation, params: GenerationParams) -> Generation:
        body = self._body(conversation, params)
        client = self._client_or_fail()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.timeout_s):
                resp = await client.post("/chat/completions", json=body)
        except (TimeoutError, httpx.TimeoutException):
            raise self._timed_out() from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.NetworkError) as exc:
            raise self._unreachable(exc) from None
        latency = time.perf_counter() - started
        if resp.status_code != 200:
            raise BackendError(f"the upstream answered {resp.status_code}: {_error_text(resp)}")
        return _parse_completion(resp, latency, params)

    async def stream(
        self, conversation: Conversation, params: GenerationParams
    ) -> AsyncIterator[Piece]:
        """``stream: true``: the engine's server-sent events, a piece per content delta,
        all under the one deadline ``timeout_s``."""
        body = {
            **self._body(conversation, params),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        client = self._client_or_fail()
        started = time.perf_counter()
        text: list[str] = []
        usage: dict[str, Any] = {}
        reason: Any = None
        try:
            async with (
                asyncio.timeout(self.config.timeout_s),
                client.stream("POST", "/chat/completions", json=body) as resp,
            ):
                if resp.status_code != 200:
                    await resp.aread()
                    raise BackendError(
                        f"the upstream answered {resp.status_code}: {_error_text(resp)}"
                    )
                async for line in resp.aiter_lines():
                    delta, done = _sse_delta(line)
                    if done:
                        break
                    if delta is None:
                        continue
                    content, finish, got_usage = delta
                    reason = finish or reason
                    usage = got_usage or usage
                    if content:
                        text.append(content)
                        yield Piece(content)
        except (TimeoutError, httpx.TimeoutException):
            raise self._timed_out() from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.NetworkError) as exc:
            raise self._unreachable(exc) from None
        whole = "".join(text)
        # Without usage in the stream (llama.cpp's server sends none), one content event
        # is one token in the engines that stream token by token.
        completion, prompt = usage.get("completion_tokens", len(text)), usage.get("prompt_tokens")
        yield Piece(
            "",
            Generation(
                text=whole,
                prompt_tokens=prompt if isinstance(prompt, int) and prompt >= 0 else 0,
                completion_tokens=(
                    completion
                    if isinstance(completion, int) and completion >= 0
                    else min(len(whole) // 4, params.max_new_tokens)
                ),
                latency_s=time.perf_counter() - started,
                finish_reason="length"
                if reason in ("length", "max_tokens", "model_length")
                else "stop",
            ),
        )


def _sse_delta(line: str) -> tuple[tuple[str, Any, dict[str, Any]] | None, bool]:
    """One SSE line of a streamed chat completion -> ((content, finish_reason, usage) or
    None for a line without one, whether it is ``[DONE]``). A data line that is not a
    chunk is a :class:`BackendError`."""
    if not line.startswith("data:"):
        return None, False
    data = line[5:].strip()
    if data == "[DONE]":
        return None, True
    try:
        chunk = json.loads(data)
    except ValueError:
        raise BackendError("the upstream streamed an event that is not JSON") from None
    if not isinstance(chunk, dict):
        raise BackendError("the upstream streamed an event that is not a chunk object")
    if "error" in chunk:
        err = chunk["error"]
        message = err.get("message") if isinstance(err, dict) else err
        raise BackendError(f"the upstream streamed an error: {str(message)[:200]}")
    raw_usage = chunk.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices:
        return ("", None, usage), False
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        raise BackendError("the upstream streamed a chunk without choices[0].delta")
    content = delta.get("content")
    if content is not None and not isinstance(content, str):
        raise BackendError("the upstream streamed a delta whose content is not a string")
    return (content or "", choice.get("finish_reason"), usage), False


def _error_text(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
    except ValueError:
        message = None
    return str(message or resp.text[:200] or resp.reason_phrase)


def _parse_completion(resp: httpx.Response, latency: float, params: GenerationParams) -> Generation:
    """The first choice of an OpenAI chat completion; a reply in any other shape is a
    BackendError naming what is wrong (the gateway answers 502)."""
    try:
        data = resp.json()
    except ValueError:
        raise BackendError("the upstream answered with a body that is not JSON") from None
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendError("the upstream's answer has no choices[0].message.content") from None
    if not isinstance(text, str):
        raise BackendError("the upstream's choices[0].message.content is not a string")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    reason = choice.get("finish_reason")
    finish = "length" if reason in ("length", "max_tokens", "model_length") else "stop"
    completion = usage.get("completion_tokens")
    prompt = usage.get("prompt_tokens")
    return Generation(
        text=text,
        prompt_tokens=prompt if isinstance(prompt, int) and prompt >= 0 else 0,
        completion_tokens=(
            completion
            if isinstance(completion, int) and completion >= 0
            else min(len(text) // 4, params.max_new_tokens)
        ),
        latency_s=latency,
        finish_reason=finish,
    )
