"""``openai``: any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp
server, OpenAI itself).

Requests go out on a thread pool of ``concurrency`` workers sharing one ``httpx.Client``;
results come back in input order. A request that fails with 429, 5xx or a transport error
(refused connection, reset, timeout) is retried up to ``max_retries`` times with capped
exponential backoff and jitter; a ``Retry-After`` header wins over the computed delay. Any
other 4xx is the caller's mistake and is raised at once with the server's own message.

Each request has one deadline, ``timeout_s``, for all its attempts and the waits between
them together: every attempt's httpx timeouts are what is left of it (a connection gets at
most ``CONNECT_TIMEOUT_S`` of that, so a dead address leaves time to retry), and a retry
whose wait would end past the deadline is not made. The clock starts when a worker sends
the request's first attempt, so requests queued behind others lose nothing by waiting.

The API key is read from the environment variable named by ``api_key_env`` and only ever
put in the ``Authorization`` header: it is never logged, printed or part of ``repr``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from posttrain.errors import BackendError, BackendTimeoutError, UsageError
from posttrain.generation.base import (
    Conversation,
    FinishReason,
    Generation,
    GenerationParams,
    ProgressCallback,
)

__all__ = ["CONNECT_TIMEOUT_S", "DEFAULT_BASE_URL", "TIMEOUT_OPTION", "OpenAIBackend"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
# Statuses worth another try: rate limiting, and the server (or a proxy) failing.
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# finish_reason values seen in the wild that mean "the token budget ran out".
_LENGTH_REASONS = frozenset({"length", "max_tokens", "model_length"})
# Rough characters per token, only used when a server sends no `usage` block.
_CHARS_PER_TOKEN = 4
# The longest one attempt waits to connect; the rest of the deadline is for the answer.
CONNECT_TIMEOUT_S = 10.0
# The command-line option that sets ``timeout_s`` (chat, eval and audit all have it).
TIMEOUT_OPTION = "--timeout"


class OpenAIBackend:
    """Generate through an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        """``model`` is the model name as the server knows it. ``base_url`` defaults to
        ``$OPENAI_BASE_URL``, else ``http://127.0.0.1:8000/v1``. The key in
        ``$<api_key_env>`` is optional (local servers rarely want one). ``timeout_s`` is
        the deadline of one request: all its attempts and the waits between them.

        Raises :class:`UsageError` for an out-of-range option.
        """
        if not model:
            raise UsageError("the openai backend needs a model name (the name the server uses)")
        _check_range("concurrency", concurrency, 1, 256)
        _check_range("timeout_s", timeout_s, 0.001, 3600)
        _check_range("max_retries", max_retries, 0, 100)
        _check_range("backoff_base_s", backoff_base_s, 0.0, 600)
        _check_range("backoff_max_s", backoff_max_s, 0.0, 3600)
        url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise UsageError(
                f"base_url must start with http:// or https:// (got {url!r})",
                hint="e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama",
            )
        self.model_name = model
        self.base_url = url
        self.endpoint = f"{url}/chat/completions"
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout_s = float(timeout_s)
        self.max_retries = max_retries
        self.backoff_base_s = float(backoff_base_s)
        self.backoff_max_s = float(backoff_max_s)
        self._api_key = os.environ.get(api_key_env) or None
        self._fingerprint: str | None = None
        self._warned_no_usage = False
        self._rng = random.Random()

    def __repr__(self) -> str:  # the key stays out on purpose
        return (
            f"OpenAIBackend(model={self.model_name!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.api_key_env!r}, concurrency={self.concurrency})"
        )

    # -- identity ---------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """sha256 of base URL, model name and, when the server lists it, the model id (or
        vLLM's ``root``, the weights behind an alias) from ``GET /models``; 16 hex digits.

        Probed once and remembered, so it is the same before and after :meth:`generate`.
        """
        if self._fingerprint is None:
            served = self._served_model_id()
            digest = hashlib.sha256()
            for part in (self.base_url, self.model_name, served or ""):
                digest.update(part.encode())
                digest.update(b"\0")
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def _served_model_id(self) -> str | None:
        # Best effort: a server without /models (or down) just gives the shorter hash.
        try:
            resp = httpx.get(
                f"{self.base_url}/models",
                headers=self._headers(),
                timeout=min(self.timeout_s, 5.0),
            )
            entries = resp.json().get("data", []) if resp.status_code == 200 else []
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        for entry in entries:
            if isinstance(entry, dict) and entry.get("id") == self.model_name:
                root = entry.get("root")
                return str(root) if root else str(entry["id"])
        return None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    # -- generation -------------------------------------------------------------------

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        """One :class:`Generation` per conversation, in input order.

        Raises :class:`BackendTimeoutError` when a request has no answer by its deadline
        (``timeout_s``, all attempts together), :class:`BackendError` for any other
        failure. The first failure stops the batch: queued requests are cancelled.
        """
        if not conversations:
            return []
        payloads = [self._payload(conv, params) for conv in conversations]
        results: list[Generation | None] = [None] * len(payloads)
        stop = threading.Event()  # set on the first failure: workers stop retrying
        workers = min(self.concurrency, len(payloads))
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        with (
            httpx.Client(limits=limits, headers=self._headers()) as client,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai") as pool,
        ):
            pending: dict[Future[Generation], int] = {
                pool.submit(self._complete, client, payload, stop): i
                for i, payload in enumerate(payloads)
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    error = future.exception()
                    if error is not None:
                        stop.set()
                        for other in pending:
                            other.cancel()
                        raise error
                    results[index] = future.result()
                    if on_progress is not None:
                        on_progress(1)
        return [r for r in results if r is not None]

    def _payload(self, conversation: Conversation, params: GenerationParams) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model_name,
            "messages": [{"role": m["role"], "content": m["content"]} for m in conversation],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stream": False,
        }
        if params.stop:
            payload["stop"] = list(params.stop)
        return payload

    def _complete(
        self, client: httpx.Client, payload: dict[str, Any], stop: threading.Event
    ) -> Generation:
        """POST one request, retrying what is worth retrying until its deadline; runs on a
        worker thread."""
        attempts = self.max_retries + 1
        started = time.monotonic()
        deadline = started + self.timeout_s
        for attempt in range(attempts):
            if stop.is_set():
                raise BackendError("cancelled after another request failed")
            last = attempt == attempts - 1
            left = deadline - time.monotonic()
            if left <= 0:  # a wait ended late
                raise self._timeout_error(attempt, time.monotonic() - started)
            timeout = httpx.Timeout(left, connect=min(left, CONNECT_TIMEOUT_S))
            sent = time.perf_counter()
            try:
                resp = client.post(self.endpoint, json=payload, timeout=timeout)
            except httpx.TimeoutException as exc:
                reason = f"{type(exc).__name__} after {time.perf_counter() - sent:.1f}s"
                if last or not self._wait_before_retry(attempt, None, reason, stop, deadline):
                    raise self._timeout_error(attempt + 1, time.monotonic() - started) from exc
                continue
            except httpx.TransportError as exc:
                if last or not self._wait_before_retry(
                    attempt, None, type(exc).__name__, stop, deadline
                ):
                    raise BackendError(
                        f"cannot reach {self.endpoint} after {attempt + 1} attempt(s) in "
                        f"{time.monotonic() - started:.1f}s: {type(exc).__name__}: {exc}",
                        hint="is the server running? Pass its address with --base-url (or "
                        "set $OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1",
                    ) from exc
                continue
            latency = time.perf_counter() - sent
            if resp.status_code == 200:
                return self._parse(resp, payload, latency)
            out_of_time = False
            if resp.status_code in _RETRY_STATUSES and not last:
                reason = f"HTTP {resp.status_code}"
                retry_after = resp.headers.get("retry-after")
                if self._wait_before_retry(attempt, retry_after, reason, stop, deadline):
                    continue
                out_of_time = True
            raise self._status_error(resp, attempts=attempt + 1, out_of_time=out_of_time)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _wait_before_retry(
        self,
        attempt: int,
        retry_after: str | None,
        reason: str,
        stop: threading.Event,
        deadline: float,
    ) -> bool:
        """Wait before the next attempt; False (without waiting) when the wait would end
        past ``deadline``, since that attempt could not be made in time."""
        delay = retry_delay(
            attempt,
            retry_after,
            base_s=self.backoff_base_s,
            max_s=self.backoff_max_s,
            rng=self._rng,
        )
        if time.monotonic() + delay >= deadline:
            return False
        log.warning(
            "%s from %s; retrying in %.2fs (attempt %d of %d)",
            reason,
            self.endpoint,
            delay,
            attempt + 2,
            self.max_retries + 1,
        )
        stop.wait(delay)
        return True

    def _timeout_error(self, attempts: int, waited_s: float) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"{self.endpoint} did not answer: gave up after waiting {waited_s:.1f}s over "
            f"{attempts} attempt(s), at the deadline of {self.timeout_s:g}s per request",
            hint=f"a slow server or a long generation needs more time: pass a longer "
            f"{TIMEOUT_OPTION} SECONDS (timeout_s in the library; it bounds all attempts of "
            "a request together), lower --max-new-tokens, or check that the server is not "
            "stuck",
        )

    def _status_error(
        self, resp: httpx.Response, *, attempts: int, out_of_time: bool = False
    ) -> BackendError:
        status = resp.status_code
        message = _server_message(resp)
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        if out_of_time:
            tried += f" (no time left for another in the {self.timeout_s:g}s deadline)"
        hint: str | None
        if status in (401, 403):
            hint = f"the server refused the key: put a valid key in ${self.api_key_env}" + (
                "" if self._api_key else f" (${self.api_key_env} is not set)"
            )
        elif status == 404:
            hint = (
                f"check base_url ({self.base_url}) and the model name {self.model_name!r}; "
                f"GET {self.base_url}/models lists what the server serves"
            )
        elif status in _RETRY_STATUSES:
            hint = "the server kept failing: check its logs" + (
                f", or give it more time with a longer {TIMEOUT_OPTION} SECONDS"
                if out_of_time
                else ""
            )
        elif 400 <= status < 500:
            hint = "the server rejected the request; check the generation parameters"
        else:
            hint = None
        return BackendError(f"{self.endpoint} answered HTTP {status}{tried}: {message}", hint=hint)

    def _parse(self, resp: httpx.Response, payload: dict[str, Any], latency: float) -> Generation:
        try:
            body = resp.json()
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BackendError(
                f"{self.endpoint} sent a response that is not a chat completion: "
                f"{resp.text[:300]!r}",
                hint="is base_url the OpenAI-compatible API root (usually ending in /v1)?",
            ) from exc
        usage = body.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        if prompt_tokens is None or completion_tokens is None:
            # No `usage` block (some proxies strip it): estimate at ~4 characters a token
            # so throughput numbers stay meaningful, and say so once.
            if not self._warned_no_usage:
                self._warned_no_usage = True
                log.warning(
                    "%s sends no token usage; token counts are estimated (~%d chars/token)",
                    self.endpoint,
                    _CHARS_PER_TOKEN,
                )
            chars = sum(len(m["content"]) for m in payload["messages"])
            prompt_tokens = prompt_tokens if prompt_tokens is not None else _estimate(chars)
            if completion_tokens is None:
                completion_tokens = _estimate(len(text))
        return Generation(
            text=text,
            prompt_tokens=int(prompt_tokens),
            completion_tokens=int(completion_tokens),
            latency_s=latency,
            finish_reason=map_finish_reason(choice.get("finish_reason")),
        )


def retry_delay(
    attempt: int,
    retry_after: str | None,
    *,
    base_s: float,
    max_s: float,
    rng: random.Random,
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0).

    A parseable ``Retry-After`` (seconds or an HTTP date) is honoured as given; otherwise
    ``base_s * 2**attempt`` with "equal jitter" (between half and all of it), so that
    workers retrying together spread out. Both are capped at ``max_s``.
    """
    server = _parse_retry_after(retry_after)
    if server is not None:
        return min(max(server, 0.0), max_s)
    exp = min(base_s * (2**attempt), max_s)
    return exp / 2 + rng.uniform(0.0, exp / 2)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def map_finish_reason(reason: object) -> FinishReason:
    """``length`` when the token budget ran out, ``stop`` for everything else (end of
    turn, a stop string, a tool call, a content filter, or a server that sends none)."""
    return "length" if reason in _LENGTH_REASONS else "stop"


def _server_message(resp: httpx.Response) -> str:
    """The human part of an error body: OpenAI's ``error.message``, FastAPI's ``detail``,
    a bare ``error`` string, else the raw text (truncated)."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        detail = body.get("detail") or body.get("message")
        if detail:
            return detail if isinstance(detail, str) else json.dumps(detail)
    text = resp.text.strip()
    return text[:500] if text else resp.reason_phrase or "(empty body)"


def _estimate(chars: int) -> int:
    return max(1, -(-chars // _CHARS_PER_TOKEN)) if chars else 0


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(
            f"openai backend option {name} must be in [{low:g}, {high:g}] (got {value!r})"
        )
