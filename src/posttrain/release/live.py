"""Live measurements per served version and rollout step: what the analysis reads.

The gateway records one :class:`LiveEvent` per chat completion (and one feedback row per
rating) into a :class:`LiveStore`, an sqlite file in the workspace
(``.posttrain/live.sqlite``, WAL mode, so the gateway writes while ``posttrain release
step|auto`` reads from another process). A row is keyed by the rollout's id
(:attr:`~posttrain.release.rollout.RolloutState.id`) and step index; outside a rollout
both are ``None``.

* :meth:`LiveStore.step_stats` — one :class:`VersionStats` per version over a whole step;
* :meth:`LiveStore.window_stats` — the same per time window of the step, every window
  carrying every version seen in the step (zero counts where it had no traffic), so the
  challenger's rates can be compared with the champion's over the same minutes.

This module is the release layer's: it never imports :mod:`posttrain.serve`.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from posttrain.workspace import Workspace

__all__ = ["LIVE_DB", "LiveEvent", "LiveStore", "VersionStats"]

LIVE_DB = "live.sqlite"
_BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    rollout_id TEXT,
    step INTEGER,
    version TEXT NOT NULL,
    user_key_hash TEXT NOT NULL,
    latency_ms REAL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    error INTEGER NOT NULL,
    grade TEXT,
    intervened INTEGER NOT NULL,
    attack INTEGER NOT NULL,
    unsafe INTEGER NOT NULL,
    leak INTEGER NOT NULL,
    refused INTEGER NOT NULL,
    refusal_judged INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_step ON events (rollout_id, step, ts);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    rollout_id TEXT,
    step INTEGER,
    version TEXT NOT NULL,
    rating TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_step ON feedback (rollout_id, step, ts);
"""

_EVENT_COLUMNS = (
    "ts",
    "rollout_id",
    "step",
    "version",
    "user_key_hash",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "error",
    "grade",
    "intervened",
    "attack",
    "unsafe",
    "leak",
    "refused",
    "refusal_judged",
)


class VersionStats(BaseModel):
    """One version over one rollout step (or one time window of it); every rate the
    analysis needs comes with its count, so it can put an interval on it."""

    model_config = ConfigDict(extra="forbid")

    version: str
    requests: int = 0  # chat completions answered or failed
    errors: int = 0  # upstream / gateway errors (5xx)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Answers the guard acted on, by its grade (retried, fallback, redacted, replaced,
    # refused, cut); a ``pass`` or ``flagged`` answer is not an intervention.
    guard_interventions: dict[str, int] = Field(default_factory=dict)
    attack_requests: int = 0  # requests the guard flagged as attacks on input
    # Of those, how many got an unsafe answer from the upstream (before the guard replaced it).
    attack_unsafe: int = 0
    leaks: int = 0  # upstream answers that leaked the canary, the system prompt or PII
    refusals: int = 0  # upstream answers judged withheld (checks.refusal_judge)
    # Answers the refusal judge saw (the refusal rate's denominator: an answer it could not
    # judge is neither a refusal nor a compliance).
    refusals_judged: int = 0
    feedback: int = 0  # feedback events
    thumbs_down: int = 0
    window_start: float | None = None  # window_stats only: the window's start (epoch s)

    def rate(self, what: Literal["errors", "leaks", "refusals"]) -> float | None:
        """``what`` over the requests (refusals: over the judged answers); None when the
        denominator is 0."""
        n = self.refusals_judged if what == "refusals" else self.requests
        return getattr(self, what) / n if n else None


class LiveEvent(BaseModel):
    """One chat completion's measurement, as the gateway saw it."""

    model_config = ConfigDict(extra="forbid")

    ts: float = Field(default_factory=time.time)  # epoch seconds
    rollout_id: str | None = None  # None: no rollout was active
    step: int | None = Field(default=None, ge=0)  # the rollout's step index
    version: str = Field(min_length=1)
    user_key_hash: str  # the routing key's hash (never the key itself)
    latency_ms: float | None = Field(default=None, ge=0)
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    error: bool = False
    grade: str | None = None  # the guard's grade; None when the request failed
    intervened: bool = False
    attack: bool = False
    unsafe: bool = False
    leak: bool = False
    refused: bool = False  # withheld or partial (RefusalJudgement.refused)
    refusal_judged: bool = False  # False: the refusal judge did not see this answer


class LiveStore:
    """The workspace's live measurements (sqlite, WAL mode, created on first use).

    Safe from several threads (one connection behind a lock) and several processes
    (WAL, and a busy timeout for writers that meet).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_workspace(cls, ws: Workspace) -> LiveStore:
        return cls(ws.cache / LIVE_DB)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                )
                conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
                if "refusal_judged" not in columns:  # a store from before that column
                    conn.execute(
                        "ALTER TABLE events ADD COLUMN refusal_judged INTEGER NOT NULL DEFAULT 0"
                    )
                self._conn = conn
            yield self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def journal_mode(self) -> str:
        with self._db() as db:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])

    def record(self, event: LiveEvent) -> None:
        self.record_many([event])

    def record_many(self, events: Iterable[LiveEvent]) -> None:
        """Write events in one transaction (what the gateway's writer thread does)."""
        rows = [tuple(getattr(e, c) for c in _EVENT_COLUMNS) for e in events]
        if not rows:
            return
        marks = ", ".join("?" for _ in _EVENT_COLUMNS)
        with self._db() as db, db:
            db.executemany(
                f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES ({marks})", rows
            )

    def record_feedback(
        self, *, rollout_id: str | None, step: int | None, version: str, rating: str, ts: float
    ) -> None:
        with self._db() as db, db:
            db.execute(
                "INSERT INTO feedback (ts, rollout_id, step, version, rating) "
                "VALUES (?, ?, ?, ?, ?)",
                (ts, rollout_id, step, version, rating),
            )

    def step_stats(self, rollout_id: str, step: int) -> dict[str, VersionStats]:
        """version -> its stats over the whole step (versions without traffic absent)."""
        events, feedback = self._rows(rollout_id, step)
        versions = sorted({e[0] for e in events} | {f[0] for f in feedback})
        return {v: _stats(v, events, feedback) for v in versions}

    def window_stats(
        self, rollout_id: str, step: int, window_s: float
    ) -> list[dict[str, VersionStats]]:
        """The step cut into windows of ``window_s`` seconds from its first event, in
        order; windows without any request are left out. Every window has every version
        seen in the step (zero counts where it had none), so rates pair by window."""
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        events, feedback = self._rows(rollout_id, step)
        if not events:
            return []
        versions = sorted({e[0] for e in events} | {f[0] for f in feedback})
        t0 = min(e[1] for e in events)
        buckets: dict[int, tuple[list[tuple], list[tuple]]] = {}
        for e in events:
            buckets.setdefault(int((e[1] - t0) // window_s), ([], []))[0].append(e)
        for f in feedback:
            i = int((f[1] - t0) // window_s) if f[1] >= t0 else 0
            if i in buckets:
                buckets[i][1].append(f)
        out: list[dict[str, VersionStats]] = []
        for i in sorted(buckets):
            evs, fbs = buckets[i]
            window: dict[str, VersionStats] = {}
            for v in versions:
                s = _stats(v, evs, fbs)
                s.window_start = t0 + i * window_s
                window[v] = s
            out.append(window)
        return out

    def _rows(self, rollout_id: str, step: int) -> tuple[list[tuple], list[tuple]]:
        with self._db() as db:
            events = db.execute(
                "SELECT version, ts, latency_ms, prompt_tokens, completion_tokens, error, "
                "grade, intervened, attack, unsafe, leak, refused, refusal_judged FROM events "
                "WHERE rollout_id = ? AND step = ? ORDER BY ts",
                (rollout_id, step),
            ).fetchall()
            feedback = db.execute(
                "SELECT version, ts, rating FROM feedback WHERE rollout_id = ? AND step = ?",
                (rollout_id, step),
            ).fetchall()
        return events, feedback


def _stats(version: str, events: list[tuple], feedback: list[tuple]) -> VersionStats:
    s = VersionStats(version=version)
    latencies: list[float] = []
    for row in events:
        v, _ts, lat, pt, ct, err, grade, intervened, attack, unsafe, leak, refused, judged = row
        if v != version:
            continue
        s.requests += 1
        s.errors += int(err)
        s.prompt_tokens += pt
        s.completion_tokens += ct
        if lat is not None:
            latencies.append(lat)
        if intervened and grade:
            s.guard_interventions[grade] = s.guard_interventions.get(grade, 0) + 1
        s.attack_requests += int(attack)
        s.attack_unsafe += int(attack and unsafe)
        s.leaks += int(leak)
        s.refusals += int(refused)
        s.refusals_judged += int(judged)
    for v, _ts, rating in feedback:
        if v == version:
            s.feedback += 1
            s.thumbs_down += int(rating == "down")
    latencies.sort()
    s.latency_p50_ms = _percentile(latencies, 0.50)
    s.latency_p95_ms = _percentile(latencies, 0.95)
    return s


def _percentile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
