"""Live failure capture: what the guard intervened on and what users flagged, to the pool.

Each :class:`LiveFailure` is de-identified with the data stage's de-identifier
(:class:`~posttrain.data.deid.Deidentifier` under the serve.yaml ``capture.policy``)
before it is written, so no raw PII reaches the disk, and appended to
``<workspace>/data/live/failures.jsonl`` as one JSON line in the fields the data stage's
ingest reads (``id``, ``prompt``, ``bad_answer``, ``source: live``, ``ts``, ``label``
where a failed clause names one) plus what the gateway knows (``version``, ``model``,
``grade``, ``failed_checks``, ``kind``, ``rating``, ``reason``, ``request_id``).

Appends are group commits: one writer task takes every record waiting, de-identifies and
writes them in a worker thread, then ``flush`` + ``fsync``, and only then answers each
:meth:`FailureCapture.append` call. A request whose record was accepted has it on disk,
so a ``kill -9`` of the server loses none of them. A record the policy drops (an entity
type whose action is ``drop``) is counted, not written.

A crash in the middle of a write can leave a torn last line (no newline after it); it
was never acknowledged. :meth:`FailureCapture.start` moves such a tail to
``<file>.torn`` (appended, for inspection) and truncates the file after its last newline,
so the next record starts on a line of its own instead of gluing onto the fragment.
``posttrain data build`` skips a torn last line of a live file too, with a note (for a
file a crashed server left that no server has started on since).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from posttrain.data.deid import DeidPolicy

if TYPE_CHECKING:
    from posttrain.data.deid import Deidentifier

__all__ = ["FailureCapture", "LiveFailure", "repair_torn_tail"]

# The texts of a record that are de-identified (all of them together, so one value gets
# one placeholder across fields).
_TEXT_FIELDS = ("prompt", "bad_answer", "context", "reason")
_EMPTY = "(empty answer)"


@dataclass
class LiveFailure:
    """One captured failure, before de-identification (it only ever lives in memory)."""

    request_id: str
    kind: Literal["guard", "feedback"]
    prompt: str
    bad_answer: str
    version: str | None
    model: str
    grade: str
    failed_checks: list[str] = field(default_factory=list)
    label: str | None = None
    context: str | None = None
    rating: str | None = None
    reason: str | None = None
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def id(self) -> str:
        # Unique in the pool: the data build quarantines a repeated id.
        return f"live-{'fb-' if self.kind == 'feedback' else ''}{self.request_id}"


@dataclass
class _Job:
    record: LiveFailure
    done: asyncio.Future[bool]


class FailureCapture:
    """Appends :class:`LiveFailure` records durably (see the module docstring)."""

    def __init__(
        self, path: Path, policy: DeidPolicy, *, deidentifier: Deidentifier | None = None
    ) -> None:
        self.path = Path(path)
        self.policy = policy
        self.deid = deidentifier
        self.written = 0
        self.dropped = 0
        self.torn_bytes = 0  # a torn tail found (and set aside) at start
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None

    def load(self) -> None:
        """Build the de-identifier (blocking; seconds: it imports Presidio). Its analyzer
        is built with sockets disabled process-wide, so call this before serving."""
        if self.deid is None:
            from posttrain.data.deid import Deidentifier

            self.deid = Deidentifier(self.policy)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    async def start(self) -> None:
        if self.deid is None:
            await asyncio.to_thread(self.load)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.torn_bytes = await asyncio.to_thread(repair_torn_tail, self.path)
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._writer(), name="posttrain-capture")

    async def aclose(self) -> None:
        if self._task is None:
            return
        # Records accepted before shutdown are written before the task stops (bounded:
        # a shutdown never hangs on a stuck disk).
        assert self._queue is not None
        for _ in range(500):
            if self._queue.empty():
                break
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def append(self, record: LiveFailure) -> bool:
        """Return once ``record`` is on disk (True) or was dropped by the policy (False).
        Raises ``OSError`` when it could not be written."""
        if self._queue is None:
            raise RuntimeError("the failure capture is not started")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(record, done))
        return await done

    async def _writer(self) -> None:
        assert self._queue is not None
        while True:
            jobs = [await self._queue.get()]
            while not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                kept = await asyncio.to_thread(self._write, [j.record for j in jobs])
            except Exception as exc:  # every waiting request learns of it
                for j in jobs:
                    if not j.done.done():
                        j.done.set_exception(exc)
                continue
            for j, ok in zip(jobs, kept, strict=True):
                if not j.done.done():
                    j.done.set_result(ok)

    def _write(self, records: list[LiveFailure]) -> list[bool]:
        lines: list[str] = []
        kept: list[bool] = []
        for record in records:
            row = self.deidentify(record)
            kept.append(row is not None)
            if row is None:
                self.dropped += 1
                continue
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        if lines:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write("".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
            self.written += len(lines)
        return kept

    def deidentify(self, record: LiveFailure) -> dict[str, Any] | None:
        """The JSON line of ``record`` with its texts de-identified; None when the policy
        drops it."""
        assert self.deid is not None, "load() first"
        texts = {name: getattr(record, name) for name in _TEXT_FIELDS}
        texts["bad_answer"] = texts["bad_answer"] or _EMPTY
        result = self.deid.apply(texts)
        if result.dropped_for:
            return None
        clean = result.fields
        row: dict[str, Any] = {
            "id": record.id,
            "prompt": clean["prompt"] or "(empty)",
            "bad_answer": clean["bad_answer"] or _EMPTY,
            "source": "live",
            "ts": record.ts,
        }
        if record.label:
            row["label"] = record.label
        if clean.get("context"):
            row["context"] = clean["context"]
        row |= {
            "kind": record.kind,
            "request_id": record.request_id,
            "version": record.version,
            "model": record.model,
            "grade": record.grade,
            "failed_checks": record.failed_checks,
        }
        if record.rating is not None:
            row["rating"] = record.rating
        if clean.get("reason"):
            row["reason"] = clean["reason"]
        row["pii_replaced"] = result.entities
        return row


def repair_torn_tail(path: Path) -> int:
    """Set aside a torn last line of the append-only ``path`` (bytes after its last
    newline: a crash mid-write) into ``<path>.torn`` and truncate ``path`` after that
    newline, durably. Returns the bytes moved (0: the file was whole, or is absent)."""
    try:
        fh = path.open("r+b")
    except FileNotFoundError:
        return 0
    with fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        # Read back from the end in blocks to the last newline.
        end = size
        cut = 0
        while end > 0:
            start = max(0, end - 65536)
            fh.seek(start)
            block = fh.read(end - start)
            if end == size and block.endswith(b"\n"):
                return 0
            i = block.rfind(b"\n")
            if i >= 0:
                cut = start + i + 1
                break
            end = start
        fh.seek(cut)
        fragment = fh.read()
        with path.with_name(path.name + ".torn").open("ab") as side:
            side.write(fragment + b"\n")
            side.flush()
            os.fsync(side.fileno())
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    return len(fragment)
