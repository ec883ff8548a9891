"""Traffic replay: a JSONL of conversations sent at the gateway, to drive a rollout in
tests and demos (``posttrain replay``).

Each line is one conversation::

    {"messages": [{"role": "user", "content": "Where is my order?"}], "user": "u-17",
     "kind": "benign"}

``kind`` is ``benign`` or ``attack`` (what the line is, for the report; the gateway
decides for itself). The file is sent in order and cycled, at ``rate`` requests per
second (open loop: request *i* leaves at ``i / rate`` s, at most ``concurrency`` in
flight), until ``duration_s`` passed or ``max_requests`` were sent, so a replay always
stops by itself: the last answers are awaited at most ``timeout_s`` more. On every pass
after the first, each ``user`` gets the suffix ``~<pass>`` (``same_users`` turns that off),
so a short file still looks like many users to the gateway's sticky routing.

Only a loopback gateway is contacted unless ``allow_remote``: a replay is a load and
attack generator, not something to point at someone else's server by a typo.

The report counts, per version that answered (the ``x-posttrain-version`` header):
requests, errors, the guard's grades (``x-posttrain-grade``), refusals, attack lines and
client-side latency.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from posttrain.core.jsonl import read_models
from posttrain.errors import InputError, UsageError

__all__ = [
    "ReplayConfig",
    "ReplayLine",
    "ReplayReport",
    "VersionTally",
    "check_loopback",
    "read_replay",
    "replay",
]

UNKNOWN_VERSION = "(none)"
Stop = Literal["duration", "max_requests", "stop"]


class ReplayMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class ReplayLine(BaseModel):
    """One conversation of a replay file."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ReplayMessage] = Field(min_length=1)
    user: str | None = Field(default=None, min_length=1)
    kind: Literal["benign", "attack"] = "benign"
    # Where the line came from (e.g. the regression item's id); for people, not sent.
    id: str | None = None

    @model_validator(mode="after")
    def _ends_with_user(self) -> ReplayLine:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be the user's (the turn to answer)")
        return self


def read_replay(path: Path) -> list[ReplayLine]:
    """The conversations of a replay file; :class:`InputError` with the line and field of
    the first bad one, or when it has none."""
    lines = read_models(
        Path(path),
        ReplayLine,
        what="the replay file",
        hint='one JSON object a line: {"messages": [{"role": "user", "content": "..."}], '
        '"user": "u-1", "kind": "benign" | "attack"}',
    )
    if not lines:
        raise InputError("no conversations in the replay file", path=str(path))
    return lines


def check_loopback(url: str, *, allow_remote: bool = False) -> None:
    """Raise :class:`UsageError` unless ``url`` is an http(s) URL of this machine
    (127.0.0.0/8, ::1, localhost), or ``allow_remote``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url!r}: give the gateway's address, e.g. http://127.0.0.1:8000")
    if allow_remote:
        return
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            f"--url {url!r} is not on this machine: a replay sends load and attack "
            "traffic, so only a loopback gateway is contacted by default",
            hint="pass --allow-remote if you mean to replay at that server",
        )


class ReplayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    key: str | None = None
    rate: float = Field(gt=0.0, le=10_000.0)
    duration_s: float = Field(gt=0.0, le=86_400.0)
    max_requests: int | None = Field(default=None, ge=1)
    # The model the requests name; default: `champion` when the gateway serves a
    # registry version (GET /v1/models says so), else the id it serves.
    model: str | None = None
    concurrency: int = Field(default=8, ge=1, le=1024)
    timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)
    max_tokens: int | None = Field(default=None, ge=1)
    same_users: bool = False
    # Appended to every user as `@tag`: another replay's users (sticky routing draws them
    # afresh), e.g. one tag per round of a demo.
    tag: str | None = Field(default=None, min_length=1, max_length=64)
    allow_remote: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return url.rstrip("/")


class VersionTally(BaseModel):
    """What one version answered during the replay (client-side view)."""

    model_config = ConfigDict(extra="forbid")

    version: str
    requests: int = 0
    errors: int = 0
    attack_requests: int = 0
    refusals: int = 0
    grades: dict[str, int] = Field(default_factory=dict)
    status: dict[str, int] = Field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class ReplayReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    model: str
    sent: int
    duration_s: float
    stopped_by: Stop
    versions: list[VersionTally]
    # Requests that got no HTTP answer (connection refused, timeout), by reason.
    transport_errors: dict[str, int] = Field(default_factory=dict)


class _Outcome(BaseModel):
    kind: str
    version: str
    status: int | None
    grade: str | None
    latency_ms: float
    error: str | None = None


def replay(
    lines: list[ReplayLine],
    cfg: ReplayConfig,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ReplayReport:
    """Send ``lines`` at the gateway per ``cfg`` (see the module docstring) and tally the
    answers. ``transport`` replaces httpx's (tests: an ASGI or mock transport);
    ``should_stop``, asked before each request, ends the replay early (``stopped_by:
    stop``; e.g. once the rollout it drives has finished). Raises :class:`UsageError` for a
    non-loopback URL without ``allow_remote``, and when the gateway cannot be reached."""
    check_loopback(cfg.url, allow_remote=cfg.allow_remote)
    if not lines:
        raise UsageError("nothing to replay")
    return asyncio.run(_run(lines, cfg, transport, should_stop))


async def _run(
    lines: list[ReplayLine],
    cfg: ReplayConfig,
    transport: httpx.AsyncBaseTransport | None,
    should_stop: Callable[[], bool] | None,
) -> ReplayReport:
    headers = {"authorization": f"Bearer {cfg.key}"} if cfg.key else {}
    async with httpx.AsyncClient(
        base_url=cfg.url,
        headers=headers,
        timeout=httpx.Timeout(cfg.timeout_s, connect=min(cfg.timeout_s, 10.0)),
        limits=httpx.Limits(max_connections=cfg.concurrency),
        transport=transport,
    ) as client:
        model = cfg.model or await _model(client, cfg.url)
        sem = asyncio.Semaphore(cfg.concurrency)
        outcomes: list[_Outcome] = []
        tasks: list[asyncio.Task[None]] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        stopped: Stop = "duration"
        while True:
            if cfg.max_requests is not None and sent >= cfg.max_requests:
                stopped = "max_requests"
                break
            if should_stop is not None and should_stop():
                stopped = "stop"
                break
            due = start + sent / cfg.rate
            if due - start >= cfg.duration_s:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            await sem.acquire()
            if loop.time() - start >= cfg.duration_s:  # waited past the end for a slot
                sem.release()
                break
            line = lines[sent % len(lines)]
            n_pass = sent // len(lines)
            user = line.user or f"replay-{sent % len(lines)}"
            if n_pass and not cfg.same_users:
                user = f"{user}~{n_pass}"
            if cfg.tag:
                user = f"{user}@{cfg.tag}"
            body: dict[str, object] = {
                "model": model,
                "messages": [m.model_dump() for m in line.messages],
                "user": user,
            }
            if cfg.max_tokens is not None:
                body["max_tokens"] = cfg.max_tokens
            tasks.append(asyncio.create_task(_send(client, body, line.kind, sem, outcomes)))
            sent += 1
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    return _report(cfg, model, sent, elapsed, stopped, outcomes)


async def _model(client: httpx.AsyncClient, url: str) -> str:
    try:
        r = await client.get("/v1/models")
    except httpx.TransportError as exc:
        raise UsageError(
            f"cannot reach the gateway at {url}: {type(exc).__name__}: {exc}",
            hint="start it with `posttrain serve` (and check --url)",
        ) from None
    if r.status_code != 200:
        raise UsageError(
            f"GET {url}/v1/models answered {r.status_code}: {r.text[:200]}",
            hint="check --key (a key with the chat scope: `posttrain keys create`)",
        )
    data = r.json().get("data") or [{}]
    card = data[0]
    return "champion" if card.get("version") else str(card.get("id", "champion"))


async def _send(
    client: httpx.AsyncClient,
    body: dict[str, object],
    kind: str,
    sem: asyncio.Semaphore,
    outcomes: list[_Outcome],
) -> None:
    t0 = time.perf_counter()
    try:
        r = await client.post("/v1/chat/completions", json=body)
    except httpx.TransportError as exc:
        outcomes.append(
            _Outcome(
                kind=kind,
                version=UNKNOWN_VERSION,
                status=None,
                grade=None,
                latency_ms=(time.perf_counter() - t0) * 1000,
                error=type(exc).__name__,
            )
        )
        return
    finally:
        sem.release()
    outcomes.append(
        _Outcome(
            kind=kind,
            version=r.headers.get("x-posttrain-version") or UNKNOWN_VERSION,
            status=r.status_code,
            grade=r.headers.get("x-posttrain-grade"),
            latency_ms=(time.perf_counter() - t0) * 1000,
        )
    )


def _report(
    cfg: ReplayConfig,
    model: str,
    sent: int,
    elapsed: float,
    stopped: Stop,
    outcomes: list[_Outcome],
) -> ReplayReport:
    from posttrain.evaluate.stats import percentile

    tallies: dict[str, VersionTally] = {}
    latencies: dict[str, list[float]] = {}
    transport: dict[str, int] = {}
    for o in outcomes:
        if o.status is None:
            transport[o.error or "error"] = transport.get(o.error or "error", 0) + 1
            continue
        t = tallies.setdefault(o.version, VersionTally(version=o.version))
        t.requests += 1
        t.status[str(o.status)] = t.status.get(str(o.status), 0) + 1
        t.attack_requests += o.kind == "attack"
        if o.status >= 400:
            t.errors += 1
            continue
        latencies.setdefault(o.version, []).append(o.latency_ms)
        if o.grade:
            t.grades[o.grade] = t.grades.get(o.grade, 0) + 1
            t.refusals += o.grade == "refused"
    for version, values in latencies.items():
        tallies[version].latency_p50_ms = percentile(values, 50)
        tallies[version].latency_p95_ms = percentile(values, 95)
    return ReplayReport(
        url=cfg.url,
        model=model,
        sent=sent,
        duration_s=round(elapsed, 3),
        stopped_by=stopped,
        versions=sorted(tallies.values(), key=lambda t: t.version),
        transport_errors=transport,
    )
