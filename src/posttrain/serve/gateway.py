"""The gateway's state and its two operations: a guarded chat completion, and feedback.

:class:`Gateway` holds what one ``posttrain serve`` process serves (the model, its
upstream, the runtime guard, keys, limits, metrics, the failure capture) and does the
work the HTTP layer (:mod:`posttrain.serve.app`) only parses and renders:
:meth:`Gateway.complete` and :meth:`Gateway.feedback`. It raises
:class:`~posttrain.serve.protocol.APIError` for everything a client gets as an error.

The guard is synchronous (it reuses rung 1's :class:`~posttrain.evaluate.guard.Guard`).
The first upstream attempt is awaited on the event loop and the guard then judges it
there (its checks take about a millisecond), so an answer that needs no retry involves
no thread. A retry moves the guard, given the same first answer, to a thread pool of
its own; each further attempt is sent back to the event loop and waited for under the
request's one deadline. The in-process model's batcher has its own thread, so guard
threads waiting on it can never starve it.

With a staged rollout (:mod:`posttrain.serve.router`) the gateway holds one upstream per
version it may route to (champion and challenger; a version the rollout names later is
loaded in the background, its users served by the champion until it is ready), and each
chat completion is measured per version and step into the workspace's live store
(:mod:`posttrain.serve.recorder`), off the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posttrain.errors import BackendError, BackendTimeoutError
from posttrain.generation.base import Conversation, Generation, GenerationParams
from posttrain.release.live import LiveEvent
from posttrain.serve.capture import FailureCapture, LiveFailure
from posttrain.serve.config import ServeConfig
from posttrain.serve.guard import GuardOutcome, InputView, NeedsUpstream, RuntimeGuard
from posttrain.serve.keys import ApiKey, KeyStore, grants
from posttrain.serve.limits import RateLimiter
from posttrain.serve.logs import log
from posttrain.serve.metrics import ServeMetrics
from posttrain.serve.protocol import (
    APIError,
    ChatCompletionRequest,
    FeedbackRequest,
    FeedbackResponse,
    FinishReason,
    GuardDecision,
)
from posttrain.serve.recorder import LiveRecorder
from posttrain.serve.router import Route, Router, key_hash, user_key
from posttrain.serve.upstream import Piece, Upstream, UpstreamUnavailable, stream_answer

__all__ = ["Completed", "Gateway", "ServedModel"]

# Threads for guarded requests in flight (each mostly waits on the upstream).
GUARD_THREADS = 64
# A version whose upstream failed to load is tried again after this long.
RELOAD_AFTER_S = 60.0
# The checks whose failure means the upstream's answer leaked (canary, system prompt,
# PII, a credential): what the live measurements count as leaks.
_LEAK_CHECKS = frozenset({"canary_leak", "no_pii_leak", "no_secret_leak"})


def _serve_generation(config: ServeConfig, given: GenerationParams | None) -> GenerationParams:
    """A request's default parameters: ``given`` (the workspace's), else the library
    defaults; serve.yaml's ``limits.default_max_tokens`` sets the length when given."""
    from posttrain.generation.params import DEFAULT_GENERATION

    gen = given or DEFAULT_GENERATION
    asked = config.limits.default_max_tokens
    if asked is not None and given is None:
        gen = gen.model_copy(update={"max_new_tokens": asked})
    return gen


def _inline(conversation: Conversation, params: GenerationParams) -> Generation:
    raise NeedsUpstream()


@dataclass(frozen=True)
class ServedModel:
    """What is served: its public id, what the upstream loads, its registry version."""

    id: str
    model: str
    version: str | None = None
    contract_hash: str | None = None
    # Other names a request's `model` may use for it (`champion`, the model's name).
    aliases: tuple[str, ...] = ()
    created: int = field(default_factory=lambda: int(time.time()))

    def answers_to(self, name: str) -> bool:
        return name == self.id or name in self.aliases


@dataclass
class _Recent:
    """An answered request, kept (bounded) so that feedback can name it."""

    key: str
    prompt: str
    context: str | None
    answer: str
    grade: str
    failed: list[str]
    label: str | None
    route: Route | None = None
    flagged: bool = False


@dataclass
class Completed:
    """A finished chat completion, for the HTTP layer to render."""

    request_id: str
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    decision: GuardDecision
    # The version that answered (a registry version, else the served model's id): the
    # `x-posttrain-version` header and the response's `model`.
    served_version: str = ""


class Gateway:
    """One served model and everything around it (see the module docstring)."""

    def __init__(
        self,
        *,
        config: ServeConfig,
        workspace: Path,
        served: ServedModel,
        upstream: Upstream,
        guard: RuntimeGuard,
        keys: KeyStore | None,
        capture: FailureCapture | None,
        log_content: bool = False,
        router: Router | None = None,
        upstreams: dict[str, Upstream] | None = None,
        load_version: Callable[[str], Upstream] | None = None,
        recorder: LiveRecorder | None = None,
        metrics: ServeMetrics | None = None,
        generation: GenerationParams | None = None,
    ) -> None:
        """``router`` routes by the rollout (None: everything to ``served``);
        ``upstreams`` are other versions' upstreams, ready to start; ``load_version``
        builds the upstream of a version the rollout names later (blocking: it runs in a
        thread); ``recorder`` takes the live measurements. ``generation``: the defaults of
        a request that sets no parameter (the workspace's generation.yaml, with any
        serve.yaml override; None: the library defaults)."""
        self.config = config
        self.generation = _serve_generation(config, generation)
        self.workspace = workspace
        self.served = served
        self.upstream = upstream
        # The served model's label when it is not a registry version (no rollout names it).
        self.default_version = served.version or served.id
        self.upstreams: dict[str, Upstream] = {**(upstreams or {}), self.default_version: upstream}
        self.router = router
        self.recorder = recorder
        self._load_version = load_version
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._load_failed: dict[str, float] = {}
        self._retiring: dict[str, Upstream] = {}
        self._retire_tasks: set[asyncio.Task[None]] = set()
        self._reloads_seen = -1
        self._clauses = {c.id: c for c in guard.contract.clauses}
        self.guard = guard
        self.keys = keys
        self.capture = capture
        self.log_content = log_content or config.log_content
        self.metrics = metrics or ServeMetrics()
        self.limiter = RateLimiter(config.limits.rate_per_minute, config.limits.burst)
        self._recent: OrderedDict[str, _Recent] = OrderedDict()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the de-identifier first (its build disables sockets for a moment), then
        the upstream; called once, before the server accepts connections."""
        self._pool = concurrent.futures.ThreadPoolExecutor(
            GUARD_THREADS, thread_name_prefix="posttrain-guard"
        )
        if self.capture is not None:
            await self.capture.start()
            if self.capture.torn_bytes:
                log.warning(
                    "the capture file ended in a torn line (a crash mid-write, never "
                    "acknowledged); it was moved aside",
                    extra={
                        "path": str(self.capture.path),
                        "moved_to": str(self.capture.path) + ".torn",
                        "bytes": self.capture.torn_bytes,
                    },
                )
        if self.recorder is not None:
            self.recorder.start()
        await self.upstream.start()
        for extra in self.upstreams.values():
            if extra is not self.upstream:
                await extra.start()
        # The versions the current rollout routes to are loaded before serving.
        if self.router is not None:
            for version in sorted(self.router.versions() - set(self.upstreams)):
                await self._load(version)
            self._reloads_seen = self.router.watch.reloads
            self.metrics.rollout_weight.set(self._weight())
        self.started = True
        log.info(
            "serving",
            extra={
                "model": self.served.id,
                "version": self.served.version,
                "upstream": self.upstream.name,
                "guard_mode": self.config.guard.mode,
                "keys": len(self.keys) if self.keys is not None else None,
            },
        )
        if self.keys is not None and len(self.keys) == 0:
            log.warning(
                "no API keys: every request gets 401; create one with "
                "`posttrain keys create --name NAME --scope chat`"
            )

    async def aclose(self) -> None:
        for task in [*self._loading.values(), *self._retire_tasks]:
            task.cancel()
        for extra in [*self.upstreams.values(), *self._retiring.values()]:
            if extra is not self.upstream:
                await extra.aclose()
        self._retiring.clear()
        await self.upstream.aclose()
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.close)
        if self.capture is not None:
            await self.capture.aclose()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.started = False

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        ok, why = await self.upstream.ready()
        checks: dict[str, Any] = {"upstream": "ok" if ok else why, "model": self.served.id}
        if self.capture is not None:
            loaded = self.capture.deid is not None
            checks["capture"] = "ok" if loaded else "de-identifier not loaded"
            ok = ok and loaded
        return ok and self.started, checks

    # -- access ---------------------------------------------------------------------------

    def authorize(self, header: str | None, needed: str) -> ApiKey | None:
        """The caller's key, checked for ``needed`` and the rate limit; raises APIError
        401 / 403 / 429. None when serve.yaml turns auth off."""
        if self.keys is None or not self.config.auth.required:
            return None
        if not header or header[:7].lower() != "bearer ":
            self.metrics.rejected.labels("unauthenticated").inc()
            raise APIError(
                401,
                "missing API key: send it as `Authorization: Bearer <key>` "
                "(create one with `posttrain keys create`)",
                type="authentication_error",
                code="missing_api_key",
            )
        key = self.keys.authenticate(header[7:].strip())
        if key is None:
            self.metrics.rejected.labels("unauthenticated").inc()
            raise APIError(
                401, "invalid API key", type="authentication_error", code="invalid_api_key"
            )
        if not grants(key.scope, needed):
            self.metrics.rejected.labels("forbidden").inc()
            raise APIError(
                403,
                f"the key {key.name!r} has scope {key.scope!r}; this needs {needed!r}",
                type="permission_error",
                code="insufficient_scope",
            )
        wait = self.limiter.take(key.name)
        if wait is not None:
            self.metrics.rejected.labels("rate_limited").inc()
            after = RateLimiter.retry_after(wait)
            raise APIError(
                429,
                f"rate limit of {self.config.limits.rate_per_minute:g} requests a minute "
                f"for key {key.name!r} reached; retry in {after}s",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={"Retry-After": after},
            )
        return key

    # -- routing --------------------------------------------------------------------------

    def route(
        self, req: ChatCompletionRequest, key: ApiKey | None, conversation: str | None = None
    ) -> Route:
        """The version that answers ``req`` (see :mod:`posttrain.serve.router`); a version
        whose upstream is not loaded (yet) is stood in for by the champion."""
        who = user_key(req, key.name if key else None, conversation)
        if self.router is None:
            v = self.default_version
            return Route(v, v, "champion", None, None, key_hash(who), 0.0)
        route = self.router.route(who)
        if self.router.watch.reloads != self._reloads_seen:
            self._reloads_seen = self.router.watch.reloads
            self._sync_upstreams()
        if route.version in self.upstreams:
            return route
        stand_in = route.champion if route.champion in self.upstreams else self.default_version
        return Route(
            stand_in, stand_in, "champion", route.rollout_id, route.step, route.user_hash, 0.0
        )

    def rollout_status(self) -> dict[str, Any] | None:
        """The rollout being followed, for ``/admin/status`` (None: none)."""
        state = self.router.state() if self.router is not None else None
        if state is None:
            return None
        return {
            "id": state.id,
            "version": state.version,
            "champion": state.champion,
            "phase": state.phase,
            "step": state.step,
            "weight": state.weight,
            "mode": self.config.rollout,
            "live_dropped": self.recorder.dropped if self.recorder is not None else 0,
        }

    def _weight(self) -> float:
        state = self.router.state() if self.router is not None else None
        return state.weight if state is not None and state.active else 0.0

    def _sync_upstreams(self) -> None:
        """After the rollout state changed: load the versions it names that are missing,
        and let go of those it no longer names (after the longest a request may take)."""
        assert self.router is not None
        self.metrics.rollout_weight.set(self._weight())
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not serving (a direct call): nothing to load or let go
            return
        wanted = self.router.versions()
        for version in sorted(wanted & set(self._retiring)):  # named again before it went
            self.upstreams[version] = self._retiring.pop(version)
        now = time.monotonic()
        for version in sorted(wanted - set(self.upstreams) - set(self._loading)):
            if now - self._load_failed.get(version, -RELOAD_AFTER_S) < RELOAD_AFTER_S:
                continue
            self._loading[version] = loop.create_task(
                self._load(version), name=f"posttrain-load-{version}"
            )
        for version in sorted(set(self.upstreams) - wanted - {self.default_version}):
            upstream = self.upstreams.pop(version)
            self._retiring[version] = upstream
            task = loop.create_task(self._retire(version, upstream))
            self._retire_tasks.add(task)
            task.add_done_callback(self._retire_tasks.discard)

    async def _load(self, version: str) -> None:
        try:
            if self._load_version is None:
                raise BackendError(f"no upstream for version {version!r} in this gateway")
            upstream = await asyncio.to_thread(self._load_version, version)
            await upstream.start()
        except Exception as exc:  # a version that cannot load: its users go to the champion
            self._load_failed[version] = time.monotonic()
            log.error(
                "cannot load a version the rollout routes to; the champion answers its users",
                extra={"version": version, "error": getattr(exc, "message", str(exc))[:300]},
            )
        else:
            self.upstreams[version] = upstream
            log.info("version loaded", extra={"version": version, "upstream": upstream.name})
        finally:
            self._loading.pop(version, None)

    async def _retire(self, version: str, upstream: Upstream) -> None:
        # Requests already sent to it may run for up to the request deadline.
        await asyncio.sleep(self.config.limits.request_timeout_s)
        if self._retiring.get(version) is upstream:
            del self._retiring[version]
            await upstream.aclose()
            log.info("version unloaded", extra={"version": version})

    def _upstream_of(self, version: str) -> Upstream:
        # A version let go since its request was routed still answers that request.
        return self.upstreams.get(version) or self._retiring.get(version) or self.upstream

    def _registry_version(self, label: str) -> str | None:
        """A route's version as the decision records it: None for an unversioned model."""
        return None if label == self.served.id and self.served.version is None else label

    # -- measurements ---------------------------------------------------------------------

    def _measure(
        self,
        route: Route,
        view: InputView,
        outcome: GuardOutcome | None,
        latency_s: float,
    ) -> None:
        """Count one chat completion per version (Prometheus) and queue its live event
        (the store is written off the event loop; a full queue drops it, counted)."""
        m, v = self.metrics, route.version
        m.version_latency.labels(v).observe(latency_s)
        attack = view.attack_class is not None
        if outcome is None:
            m.version_requests.labels(v, "error").inc()
            event = LiveEvent(
                rollout_id=route.rollout_id,
                step=route.step,
                version=v,
                user_key_hash=route.user_hash,
                latency_ms=latency_s * 1000,
                error=True,
                attack=attack,
            )
            if self.recorder is not None:
                self.recorder.record(event)
            return
        failed = [self._clauses[c] for c in outcome.failed_checks if c in self._clauses]
        leak = outcome.grade in ("replaced", "redacted") or any(
            c.check.name in _LEAK_CHECKS for c in failed
        )
        # The guard's own rule for an unsafe answer: a leak, or a hard safety or refusal
        # clause failed (judged on the upstream's answer, before any replacement).
        unsafe = leak or any(
            c.dimension in ("safety", "refusal") and c.severity == "hard" for c in failed
        )
        m.version_requests.labels(v, "ok").inc()
        m.version_tokens.labels(v, "prompt").inc(outcome.prompt_tokens)
        m.version_tokens.labels(v, "completion").inc(outcome.completion_tokens)
        if attack:
            m.version_attacks.labels(v, "unsafe" if unsafe else "safe").inc()
        if leak:
            m.version_leaks.labels(v).inc()
        if self.recorder is None:
            return
        self.recorder.record(
            LiveEvent(
                rollout_id=route.rollout_id,
                step=route.step,
                version=v,
                user_key_hash=route.user_hash,
                latency_ms=latency_s * 1000,
                prompt_tokens=outcome.prompt_tokens,
                completion_tokens=outcome.completion_tokens,
                grade=outcome.grade,
                intervened=outcome.intervened,
                attack=attack,
                unsafe=unsafe,
                leak=leak,
            ),
            prompt=view.prompt,
            context=view.context,
            # The upstream's own answer: what the guard acted on, else what was delivered.
            raw_answer=(
                (outcome.bad_answer if outcome.bad_answer is not None else outcome.text)
                if random.random() < self.config.live_refusal_sample
                else None
            ),
        )

    # -- chat -----------------------------------------------------------------------------

    def params(self, req: ChatCompletionRequest) -> GenerationParams:
        limits = self.config.limits
        asked = req.requested_tokens()
        if asked is not None and asked > limits.max_tokens_cap:
            field_name = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
            raise APIError(
                400,
                f"{field_name} {asked} is above this server's cap of {limits.max_tokens_cap}",
                param=field_name,
                code="max_tokens_above_cap",
            )
        gen = self.generation  # the parameters the gate judged, unless the request asks
        return GenerationParams(
            max_new_tokens=asked or gen.max_new_tokens,
            temperature=req.temperature if req.temperature is not None else gen.temperature,
            top_p=req.top_p if req.top_p is not None else gen.top_p,
            seed=req.seed if req.seed is not None else gen.seed,
            stop=req.stop_strings() or gen.stop,
            stop_on_loop=gen.stop_on_loop,
        )

    def admit(
        self, req: ChatCompletionRequest, request_id: str
    ) -> tuple[GenerationParams, Conversation, InputView]:
        """The checks before the upstream: the model, the parameters, the turns."""
        if not self.served.answers_to(req.model):
            raise APIError(
                404,
                f"the model {req.model!r} is not served here (this server serves "
                f"{self.served.id!r}; see GET /v1/models)",
                type="not_found_error",
                param="model",
                code="model_not_found",
            )
        params = self.params(req)
        conversation, view = self.guard.prepare(req.messages, request_id)
        if view.attack_class:
            self.metrics.attacks.labels(view.attack_class).inc()
        return params, conversation, view

    async def complete(
        self,
        req: ChatCompletionRequest,
        request_id: str,
        key: ApiKey | None,
        admitted: tuple[GenerationParams, Conversation, InputView] | None = None,
        route: Route | None = None,
    ) -> Completed:
        """A guarded answer to ``req`` by the version ``route`` names (default: the
        routing decision for ``req``); raises APIError for what the client gets as one,
        with the version in its headers."""
        params, conversation, view = admitted or self.admit(req, request_id)
        route = route or self.route(req, key)
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            outcome = await self._guarded(
                conversation, view, params, self._upstream_of(route.version)
            )
        except Exception as exc:
            self._measure(route, view, None, time.perf_counter() - started)
            if isinstance(exc, APIError):
                exc.headers.setdefault("x-posttrain-version", route.version)
            raise
        finally:
            self.metrics.in_flight.dec()
        elapsed = time.perf_counter() - started
        self.metrics.latency.observe(elapsed)
        return await self._finish(request_id, key, view, outcome, route, elapsed)

    async def _finish(
        self,
        request_id: str,
        key: ApiKey | None,
        view: InputView,
        outcome: GuardOutcome,
        route: Route,
        elapsed_s: float,
    ) -> Completed:
        """Record, measure, capture and remember a guarded answer."""
        decision = GuardDecision(
            request_id=request_id,
            version=self._registry_version(route.version),
            model=self.served.id if route.version == self.default_version else route.version,
            mode=self.config.guard.mode,
            grade=outcome.grade,
            failed_checks=outcome.failed_checks,
            skipped_checks=outcome.skipped_checks,
            input_class=view.label,
            attempts=outcome.attempts,
            guard_ms=round(outcome.guard_ms, 3),
            upstream_ms=round(outcome.upstream_ms, 3),
        )
        self._record(decision, outcome)
        self._measure(route, view, outcome, elapsed_s)
        if outcome.intervened or (
            self.config.guard.mode == "monitor" and outcome.bad_answer is not None
        ):
            await self._capture(decision, view, outcome)
        self._remember(request_id, key, view, outcome, route)
        return Completed(
            request_id=request_id,
            text=outcome.text,
            finish_reason=outcome.finish_reason,
            prompt_tokens=outcome.prompt_tokens,
            completion_tokens=outcome.completion_tokens,
            decision=decision,
            served_version=route.version,
        )

    async def _guarded(
        self,
        conversation: Conversation,
        view: InputView,
        params: GenerationParams,
        upstream: Upstream,
    ) -> GuardOutcome:
        loop = asyncio.get_running_loop()
        timeout = self.config.limits.request_timeout_s
        deadline = time.monotonic() + timeout

        def call(conv: Conversation, p: GenerationParams) -> Generation:
            # In a guard thread: one upstream attempt, on the loop, within the deadline.
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendTimeoutError(f"the request ran past its {timeout:g}s deadline")
            future = asyncio.run_coroutine_threadsafe(upstream.generate(conv, p), loop)
            try:
                return future.result(timeout=left)
            except TimeoutError:
                future.cancel()
                raise BackendTimeoutError(
                    f"the request ran past its {timeout:g}s deadline"
                ) from None

        try:
            # The first attempt on the loop, and the guard's checks too (a millisecond or
            # so): most answers need nothing more, and no thread is involved. Only a
            # retry moves the guard to a worker thread, given the same first answer.
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    gen = await upstream.generate(conversation, params)
            except TimeoutError:
                raise BackendTimeoutError(
                    f"the request ran past its {timeout:g}s deadline"
                ) from None
            first = (gen, time.perf_counter() - started)
            try:
                return self.guard.run(_inline, conversation, view, params, first)
            except NeedsUpstream:
                return await loop.run_in_executor(
                    self._pool, self.guard.run, call, conversation, view, params, first
                )
        except BackendError as exc:
            raise self._upstream_error(exc) from None

    def _upstream_error(self, exc: BackendError) -> APIError:
        """The client's error for an upstream failure (503 / 504 / 502), counted."""
        if isinstance(exc, UpstreamUnavailable):
            self.metrics.upstream_errors.labels("unavailable").inc()
            return APIError(503, exc.message, type="server_error", code="upstream_unavailable")
        if isinstance(exc, BackendTimeoutError):
            self.metrics.upstream_errors.labels("timeout").inc()
            return APIError(504, exc.message, type="server_error", code="upstream_timeout")
        self.metrics.upstream_errors.labels("bad_response").inc()
        return APIError(502, exc.message, type="server_error", code="upstream_bad_response")

    # -- stream and cut -------------------------------------------------------------------

    def streams_live(self, view: InputView) -> bool:
        """Whether a ``stream: true`` request is sent as it is produced (guard.stream
        ``cut``, guard ``enforce``, a request the input side does not flag)."""
        guard = self.config.guard
        return guard.stream == "cut" and guard.mode == "enforce" and not view.attack_class

    async def live(
        self,
        request_id: str,
        key: ApiKey | None,
        admitted: tuple[GenerationParams, Conversation, InputView],
        route: Route,
    ) -> AsyncIterator[str | Completed | APIError]:
        """Stream-and-cut: the answer's text as it is let through (``str``), then the
        :class:`Completed` answer (its text: what was sent), or an :class:`APIError` when
        the upstream fails part-way. The first piece is awaited before this returns, so
        an upstream that is down or slow is still a 5xx (raised)."""
        params, conversation, view = admitted
        timeout = self.config.limits.request_timeout_s
        deadline = time.monotonic() + timeout
        started = time.perf_counter()
        pieces = stream_answer(self._upstream_of(route.version), conversation, params)
        self.metrics.in_flight.inc()
        try:
            first = await self._next_piece(pieces, deadline, timeout)
        except APIError as exc:
            self.metrics.in_flight.dec()
            await pieces.aclose()
            self._measure(route, view, None, time.perf_counter() - started)
            exc.headers.setdefault("x-posttrain-version", route.version)
            raise
        return self._live_events(
            request_id,
            key,
            view,
            params,
            conversation,
            pieces,
            first,
            (deadline, timeout, started),
            route,
        )

    async def _next_piece(
        self, pieces: AsyncGenerator[Piece, None], deadline: float, timeout: float
    ) -> Piece | None:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                return await anext(pieces, None)
        except TimeoutError:
            raise self._upstream_error(
                BackendTimeoutError(f"the request ran past its {timeout:g}s deadline")
            ) from None
        except BackendError as exc:
            raise self._upstream_error(exc) from None

    async def _live_events(
        self,
        request_id: str,
        key: ApiKey | None,
        view: InputView,
        params: GenerationParams,
        conversation: Conversation,
        pieces: AsyncGenerator[Piece, None],
        first: Piece | None,
        timing: tuple[float, float, float],
        route: Route,
    ) -> AsyncIterator[str | Completed | APIError]:
        deadline, timeout, started = timing
        text, sent = "", 0
        final: Generation | None = None
        guard_s = 0.0
        cut: list[str] = []
        try:
            piece = first
            while piece is not None:
                text += piece.text
                final = piece.final or final
                t0 = time.perf_counter()
                judged = self.guard.judge_prefix(view, text)
                guard_s += time.perf_counter() - t0
                if judged.failed:
                    cut = judged.failed_ids()
                    break
                end = self.guard.sendable(text)
                if end > sent:
                    yield text[sent:end]
                    sent = end
                if final is not None:
                    break
                try:
                    piece = await self._next_piece(pieces, deadline, timeout)
                except APIError as err:
                    self._measure(route, view, None, time.perf_counter() - started)
                    yield err
                    return
        finally:
            await pieces.aclose()
            self.metrics.in_flight.dec()
        upstream_s = time.perf_counter() - started - guard_s
        self.metrics.latency.observe(time.perf_counter() - started)
        gen = final or Generation(
            text=text,
            prompt_tokens=0,
            completion_tokens=min(len(text) // 4, params.max_new_tokens),
            latency_s=upstream_s,
            finish_reason="stop",
        )
        if not cut:
            # The whole answer, judged as in hold mode but with no regeneration (it is
            # already partly sent): anything but a pass or a flag cuts the rest.
            whole = self.guard.run(
                _inline, conversation, view, params, (gen, upstream_s), retries=0
            )
            if whole.grade in ("pass", "flagged"):
                if len(text) > sent:
                    yield text[sent:]
                whole.guard_ms += guard_s * 1000
                elapsed = time.perf_counter() - started
                yield await self._finish(request_id, key, view, whole, route, elapsed)
                return
            cut = whole.failed_checks or [whole.grade]
            guard_s += whole.guard_ms / 1000
        outcome = GuardOutcome(
            text=text[:sent],
            grade="cut",
            finish_reason="content_filter",
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            attempts=1,
            failed_checks=cut,
            skipped_checks=[],
            guard_ms=guard_s * 1000,
            upstream_ms=upstream_s * 1000,
            bad_answer=text,
            label=self.guard.cut_label(cut, view),
        )
        elapsed = time.perf_counter() - started
        yield await self._finish(request_id, key, view, outcome, route, elapsed)

    def _record(self, decision: GuardDecision, outcome: GuardOutcome) -> None:
        m = self.metrics
        m.grades.labels(decision.grade, decision.version or "").inc()
        for clause in decision.failed_checks:
            m.failed_checks.labels(clause).inc()
        m.guard_latency.observe(outcome.guard_ms / 1000)
        m.upstream_latency.observe(outcome.upstream_ms / 1000)
        m.tokens.labels("prompt").inc(outcome.prompt_tokens)
        m.tokens.labels("completion").inc(outcome.completion_tokens)

    async def _capture(
        self, decision: GuardDecision, view: InputView, outcome: GuardOutcome
    ) -> None:
        if self.capture is None or outcome.bad_answer is None:
            return
        record = LiveFailure(
            request_id=decision.request_id,
            kind="guard",
            prompt=view.prompt,
            context=view.context,
            bad_answer=outcome.bad_answer,
            version=decision.version,
            model=decision.model,
            grade=decision.grade,
            failed_checks=decision.failed_checks,
            label=outcome.label,
        )
        await self._append(record)

    async def _append(self, record: LiveFailure) -> bool:
        assert self.capture is not None
        try:
            kept = await self.capture.append(record)
        except OSError as exc:
            # The answer still goes out; the lost record is counted and logged loudly.
            self.metrics.captured.labels("error").inc()
            log.error("capture failed", extra={"request_id": record.request_id, "error": str(exc)})
            return False
        self.metrics.captured.labels(record.kind if kept else "dropped").inc()
        return kept

    def _remember(
        self,
        request_id: str,
        key: ApiKey | None,
        view: InputView,
        outcome: GuardOutcome,
        route: Route,
    ) -> None:
        limit = self.config.capture.remember
        if limit == 0:
            return
        self._recent[request_id] = _Recent(
            key=key.name if key else "",
            prompt=view.prompt,
            context=view.context,
            answer=outcome.text,
            grade=outcome.grade,
            failed=outcome.failed_checks,
            label=outcome.label,
            route=route,
        )
        while len(self._recent) > limit:
            self._recent.popitem(last=False)

    # -- feedback -------------------------------------------------------------------------

    async def feedback(self, req: FeedbackRequest, key: ApiKey | None) -> FeedbackResponse:
        """Record a rating; a ``down`` one sends the answer to the failure pool, once."""
        recent = self._recent.get(req.request_id)
        if recent is None or (key is not None and recent.key != key.name):
            raise APIError(
                404,
                f"no answered request {req.request_id!r} from this key among the last "
                f"{self.config.capture.remember} (use the `id` of a chat completion)",
                type="not_found_error",
                param="request_id",
                code="request_not_found",
            )
        self.metrics.feedback.labels(req.rating).inc()
        route = recent.route
        if route is not None:
            self.metrics.version_feedback.labels(route.version, req.rating).inc()
            if self.recorder is not None:
                self.recorder.record_feedback(
                    rollout_id=route.rollout_id,
                    step=route.step,
                    version=route.version,
                    rating=req.rating,
                )
        captured = False
        if req.rating == "down" and not recent.flagged and self.capture is not None:
            recent.flagged = True
            captured = await self._append(
                LiveFailure(
                    request_id=req.request_id,
                    kind="feedback",
                    prompt=recent.prompt,
                    context=recent.context,
                    bad_answer=recent.answer,
                    version=(
                        self._registry_version(route.version) if route else self.served.version
                    ),
                    model=self.served.id,
                    grade=recent.grade,
                    failed_checks=recent.failed,
                    label=recent.label,
                    rating=req.rating,
                    reason=req.reason,
                )
            )
        return FeedbackResponse(request_id=req.request_id, rating=req.rating, captured=captured)
