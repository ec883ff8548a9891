"""The HTTP layer: one FastAPI router over a :class:`~posttrain.serve.gateway.Gateway`.

Endpoints::

    POST /v1/chat/completions   chat scope; OpenAI's chat completions, `stream: true` as SSE
    GET  /v1/models             chat scope; the served model
    POST /v1/feedback           chat scope; rate an answer by its id (`down` -> failure pool)
    GET  /admin/status          admin scope; what is served, keys, capture counts
    POST /admin/reload          admin scope; re-read the keys file
    GET  /healthz               the process is up
    GET  /readyz                the model is loaded and the upstream answers (else 503)
    GET  /metrics               Prometheus text

Each request is checked in this order: body size (413), key (401 / 403), rate limit
(429), JSON and fields (400), model (404), then answered; upstream failures are 502 /
503 / 504. Every error body is OpenAI's ``{"error": {message, type, param, code}}``.
Responses carry ``x-request-id``; chat completions also ``x-posttrain-grade``,
``x-posttrain-version`` (the version that answered: champion or challenger, see
:mod:`posttrain.serve.router`; on JSON, SSE and upstream errors alike) and
``x-posttrain-failed``. A client may send ``x-posttrain-conversation`` to keep the
conversations of one API key apart for routing when it sends no ``user``.

Streaming holds the text back until the guard has judged it (serve.yaml ``guard.stream:
hold``, the default): the whole answer is generated and graded first, then sent as
chunks, so a client never sees text the guard then withdraws, at the price of a first
byte no earlier than the full answer. ``guard.stream: cut`` sends the text as the
upstream produces it (a little behind, see :meth:`RuntimeGuard.sendable`) and, when a
check fails part-way, stops: a last chunk with ``finish_reason: content_filter`` and the
guard's decision (grade ``cut``, the failed clauses), then ``[DONE]``. Its headers carry
``x-posttrain-stream: cut`` instead of the grade (not known when they are sent). An
upstream failing after the first byte ends the stream with an ``{"error": ...}`` event.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from posttrain.serve.gateway import Completed, Gateway
from posttrain.serve.limits import BodyLimit
from posttrain.serve.logs import log
from posttrain.serve.metrics import CONTENT_TYPE
from posttrain.serve.protocol import (
    APIError,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    ErrorDetail,
    ErrorResponse,
    FeedbackRequest,
    FinishReason,
    ModelCard,
    ModelList,
    ResponseMessage,
    Usage,
)
from posttrain.serve.router import CONVERSATION_HEADER

__all__ = ["create_app"]

M = TypeVar("M", bound=BaseModel)
_CHUNK_WORDS = 4
_PIECES = re.compile(r"\S+\s*|\s+")


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=model.model_dump_json(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error(status: int, detail: ErrorDetail, headers: dict[str, str] | None = None) -> Response:
    return _json(ErrorResponse(error=detail), status, headers)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_error(exc: ValidationError | RequestValidationError) -> APIError:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(p for p in first.get("loc", ()) if p != "body")
    where = _where(loc)
    kind = first.get("type", "")
    if kind == "json_invalid":
        message = f"the body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}"
        where = ""
    elif kind == "extra_forbidden":
        message = f"unsupported parameter {where!r}"
    elif kind == "missing":
        message = f"{where}: is required"
    else:
        got = first.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
        message = f"{where + ': ' if where else ''}{first['msg']}{shown}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return APIError(400, message, param=where or None, code=kind or None)


async def _parse(request: Request, model: type[M]) -> M:
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def _headers(done: Completed) -> dict[str, str]:
    d = done.decision
    headers: dict[str, str] = {"x-posttrain-grade": d.grade}
    version = done.served_version or d.version
    if version:
        headers["x-posttrain-version"] = version
    if d.failed_checks:
        headers["x-posttrain-failed"] = ",".join(d.failed_checks)
    return headers


# The response models are built with ``model_construct``: their values come from the
# gateway itself (already typed), so validating them again on the way out is pure cost.
def _usage(done: Completed) -> Usage:
    return Usage.model_construct(
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
        total_tokens=done.prompt_tokens + done.completion_tokens,
    )


def _completion(done: Completed, model: str) -> ChatCompletion:
    return ChatCompletion.model_construct(
        id=done.request_id,
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[
            Choice.model_construct(
                index=0,
                message=ResponseMessage.model_construct(
                    role="assistant", content=done.text, refusal=None
                ),
                finish_reason=done.finish_reason,
                logprobs=None,
            )
        ],
        usage=_usage(done),
        system_fingerprint=None,
        posttrain=done.decision,
    )


async def _events(done: Completed, model: str, include_usage: bool) -> AsyncIterator[str]:
    """The judged answer as SSE chunks: the role, the text a few words at a time, the
    finish reason with the guard's decision, usage if asked, then ``[DONE]``."""
    created = int(time.time())

    def chunk(delta: Delta, finish: FinishReason | None = None, **extra: Any) -> str:
        body = ChatCompletionChunk(
            id=done.request_id,
            created=created,
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
            **extra,
        )
        return f"data: {body.model_dump_json(exclude_none=True)}\n\n"

    yield chunk(Delta(role="assistant", content=""))
    pieces = _PIECES.findall(done.text)
    for i in range(0, len(pieces), _CHUNK_WORDS):
        yield chunk(Delta(content="".join(pieces[i : i + _CHUNK_WORDS])))
    yield chunk(Delta(), done.finish_reason, posttrain=done.decision)
    if include_usage:
        usage = ChatCompletionChunk(
            id=done.request_id, created=created, model=model, choices=[], usage=_usage(done)
        )
        yield f"data: {usage.model_dump_json(exclude_none=True)}\n\n"
    yield "data: [DONE]\n\n"


async def _live_events(
    live: AsyncIterator[str | Completed | APIError],
    request_id: str,
    model: str,
    include_usage: bool,
    request: Request,
) -> AsyncIterator[str]:
    """Stream-and-cut as SSE: the text as the gateway lets it through, then the finish
    chunk with the guard's decision (``content_filter`` when cut), usage if asked, and
    ``[DONE]``; an upstream failure part-way is an ``error`` event."""
    created = int(time.time())

    def chunk(delta: Delta, finish: FinishReason | None = None, **extra: Any) -> str:
        body = ChatCompletionChunk(
            id=request_id,
            created=created,
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
            **extra,
        )
        return f"data: {body.model_dump_json(exclude_none=True)}\n\n"

    yield chunk(Delta(role="assistant", content=""))
    async for event in live:
        if isinstance(event, str):
            yield chunk(Delta(content=event))
        elif isinstance(event, APIError):
            yield f"data: {ErrorResponse(error=event.detail).model_dump_json()}\n\n"
            return
        else:
            request.state.grade = event.decision.grade
            yield chunk(Delta(), event.finish_reason, posttrain=event.decision)
            if include_usage:
                usage = ChatCompletionChunk(
                    id=request_id, created=created, model=model, choices=[], usage=_usage(event)
                )
                yield f"data: {usage.model_dump_json(exclude_none=True)}\n\n"
    yield "data: [DONE]\n\n"


def _router(gw: Gateway) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response:
        key = gw.authorize(request.headers.get("authorization"), "chat")
        request.state.key = key.name if key else None
        req = await _parse(request, ChatCompletionRequest)
        request_id = "chatcmpl-" + request.state.request_hex
        request.state.request_id = request_id
        admitted = gw.admit(req, request_id)
        route = gw.route(req, key, request.headers.get(CONVERSATION_HEADER))
        if req.stream and gw.streams_live(admitted[2]):
            include = bool(req.stream_options and req.stream_options.include_usage)
            live = await gw.live(request_id, key, admitted, route)
            model = gw.served.id if route.version == gw.default_version else route.version
            return StreamingResponse(
                _live_events(live, request_id, model, include, request),
                media_type="text/event-stream",
                headers={
                    "x-posttrain-stream": "cut",
                    "x-posttrain-version": route.version,
                    "cache-control": "no-cache",
                },
            )
        done = await gw.complete(req, request_id, key, admitted, route)
        request.state.grade = done.decision.grade
        if gw.log_content:
            request.state.content = {"prompt": req.messages[-1].text(), "answer": done.text}
        headers = _headers(done)
        if req.stream:
            include = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(
                _events(done, done.decision.model, include),
                media_type="text/event-stream",
                headers={**headers, "cache-control": "no-cache"},
            )
        return _json(_completion(done, done.decision.model), headers=headers)

    @router.get("/v1/models", response_model=None)
    async def models(request: Request) -> Response:
        key = gw.authorize(request.headers.get("authorization"), "chat")
        request.state.key = key.name if key else None
        s = gw.served
        card = ModelCard(
            id=s.id, created=s.created, version=s.version, contract_hash=gw.guard.contract_hash
        )
        return _json(ModelList(data=[card]))

    @router.post("/v1/feedback", response_model=None)
    async def feedback(request: Request) -> Response:
        key = gw.authorize(request.headers.get("authorization"), "chat")
        request.state.key = key.name if key else None
        req = await _parse(request, FeedbackRequest)
        return _json(await gw.feedback(req, key))

    @router.get("/admin/status", response_model=None)
    async def admin_status(request: Request) -> Response:
        key = gw.authorize(request.headers.get("authorization"), "admin")
        request.state.key = key.name if key else None
        ready, checks = await gw.readiness()
        body = {
            "model": gw.served.id,
            "version": gw.served.version,
            "upstream": gw.upstream.name,
            "guard_mode": gw.config.guard.mode,
            "contract_hash": gw.guard.contract_hash,
            "ready": ready,
            "checks": checks,
            "keys": len(gw.keys) if gw.keys is not None else None,
            "captured": gw.capture.written if gw.capture is not None else None,
            "versions": sorted(gw.upstreams),
            "rollout": gw.rollout_status(),
        }
        return Response(json.dumps(body), media_type="application/json")

    @router.post("/admin/reload", response_model=None)
    async def admin_reload(request: Request) -> Response:
        key = gw.authorize(request.headers.get("authorization"), "admin")
        request.state.key = key.name if key else None
        count = gw.keys.reload() if gw.keys is not None else 0
        return Response(json.dumps({"keys": count}), media_type="application/json")

    @router.get("/healthz", response_model=None)
    async def healthz() -> Response:
        return Response('{"status": "ok"}', media_type="application/json")

    @router.get("/readyz", response_model=None)
    async def readyz() -> Response:
        ready, checks = await gw.readiness()
        if not ready:
            problems = "; ".join(
                f"{k}: {v}" for k, v in checks.items() if v != "ok" and k != "model"
            )
            return _error(
                503,
                ErrorDetail(
                    message=f"not ready: {problems or 'starting'}",
                    type="server_error",
                    code="not_ready",
                ),
            )
        return Response(json.dumps({"status": "ready", **checks}), media_type="application/json")

    @router.get("/metrics", response_model=None)
    async def metrics() -> Response:
        return Response(gw.metrics.render(), media_type=CONTENT_TYPE)

    return router


class _RequestLog:
    """ASGI middleware: a request id for every request, one JSON log line, the counters."""

    def __init__(self, app: Any, gw: Gateway) -> None:
        self.app = app
        self.gw = gw

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        hex_id = uuid.uuid4().hex[:24]
        state = scope.setdefault("state", {})
        state["request_hex"] = hex_id
        state["request_id"] = "req-" + hex_id
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", state["request_id"].encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            route = path if path in _ROUTES else "other"
            self.gw.metrics.requests.labels(route, str(status)).inc()
            extra: dict[str, Any] = {
                "request_id": state["request_id"],
                "method": scope.get("method"),
                "path": path[:200],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "key": state.get("key"),
                "grade": state.get("grade"),
            }
            if "content" in state:
                extra.update(state["content"])
            if route not in ("/healthz", "/readyz", "/metrics"):
                log.info("request", extra=extra)


_ROUTES = frozenset(
    {
        "/v1/chat/completions",
        "/v1/models",
        "/v1/feedback",
        "/admin/status",
        "/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)


def create_app(gw: Gateway) -> FastAPI:
    """The ASGI app over ``gw``; starting it (lifespan) starts the gateway."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gw.start()
        try:
            yield
        finally:
            await gw.aclose()

    app = FastAPI(
        title="posttrain serve",
        description="OpenAI-compatible gateway with the behaviour contract's runtime guard.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(_router(gw))

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> Response:
        return _error(exc.status, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        err = _validation_error(exc)
        return _error(err.status, err.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return _error(exc.status_code, ErrorDetail(message=str(exc.detail), type=kind))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error(
            "internal error",
            exc_info=exc,
            extra={"request_id": getattr(request.state, "request_id", None)},
        )
        return _error(
            500,
            ErrorDetail(message="internal server error (see the server log)", type="server_error"),
        )

    app.add_middleware(
        BodyLimit,
        max_bytes=gw.config.limits.max_body_bytes,
        on_reject=lambda: gw.metrics.rejected.labels("too_large").inc(),
    )
    app.add_middleware(_RequestLog, gw=gw)
    return app
