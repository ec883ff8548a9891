"""Live measurements off the event loop, and the gateway's own rollout controller.

:class:`LiveRecorder` takes one :class:`~posttrain.release.live.LiveEvent` per chat
completion (and each feedback rating) into a bounded queue and writes them to the
workspace's :class:`~posttrain.release.live.LiveStore` from a thread of its own, in
batches. A request never waits for the store: when the queue is full the event is
dropped and counted (``posttrain_serve_live_dropped{reason="queue_full"}``), and a store
that fails counts its batch as ``store_error``. The refusal judgement of the upstream's
raw answer (:func:`~posttrain.checks.refusal_judge.judge_refusal`) costs about 3 ms of
pure-Python CPU an answer, several times the gateway's own work per request: done in a
thread it would hold the GIL against the event loop, so a batch is judged in one worker
*process* (:class:`ProcessJudge`). An answer it could not judge (the worker died) is
recorded with ``refusal_judged`` false, never as a compliance. Closing flushes what is
queued.

:class:`RolloutController` is ``serve.yaml: rollout: auto``: after a batch is written, at
most every ``rollout_tick_s``, it asks the release layer's
``Rollout.auto_tick(store)`` to advance a step that passed with enough traffic or abort
one that failed. The router sees the new state from the next request (it re-reads the
file when it changes).
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from posttrain.errors import PosttrainError
from posttrain.release.live import LiveEvent, LiveStore
from posttrain.release.rollout import RolloutState
from posttrain.serve.logs import log
from posttrain.serve.metrics import ServeMetrics

__all__ = ["Judge", "LiveRecorder", "ProcessJudge", "RolloutController", "shared_judge"]

_BATCH = 256
# (prompt, the upstream's answer, a pasted document) -> refused, or None: not judged.
Judge = Callable[[Sequence[tuple[str, str, str | None]]], list[bool | None]]


@dataclass(frozen=True)
class _Answer:
    """An event, and what its refusal judgement needs (None: nothing to judge)."""

    event: LiveEvent
    prompt: str | None = None
    context: str | None = None
    raw_answer: str | None = None


@dataclass(frozen=True)
class _Rating:
    rollout_id: str | None
    step: int | None
    version: str
    rating: str
    ts: float


_STOP = object()
_Item = _Answer | _Rating


class RolloutController:
    """Calls ``Rollout.auto_tick(store)`` at most every ``tick_s`` seconds (see the
    module docstring); ``tick`` is the call, replaceable in tests."""

    def __init__(
        self,
        workspace: Path,
        store: LiveStore,
        tick_s: float,
        *,
        tick: Callable[[LiveStore], RolloutState | None] | None = None,
    ) -> None:
        self.workspace = Path(workspace)
        self.store = store
        self.tick_s = tick_s
        self._tick = tick
        self._last = -float("inf")
        self.ticks = 0
        self.decisions: list[RolloutState] = []

    def _call(self) -> RolloutState | None:
        if self._tick is not None:
            return self._tick(self.store)
        from posttrain.release.rollout import Rollout

        return Rollout.for_workspace(self.workspace).auto_tick(self.store)

    def maybe_tick(self, now: float | None = None) -> RolloutState | None:
        now = time.monotonic() if now is None else now
        if now - self._last < self.tick_s:
            return None
        self._last = now
        self.ticks += 1
        try:
            state = self._call()
        except PosttrainError as exc:
            log.error("rollout analysis failed", extra={"error": exc.message})
            return None
        except Exception as exc:  # the recorder thread must outlive a controller bug
            log.error("rollout controller crashed", exc_info=exc)
            return None
        if state is not None:
            self.decisions.append(state)
            log.info(
                "rollout step analysed",
                extra={
                    "rollout": state.id,
                    "version": state.version,
                    "phase": state.phase,
                    "step": state.step,
                    "weight": state.weight,
                },
            )
        return state


class LiveRecorder:
    """A bounded queue of measurements and the thread that writes them (see the module
    docstring). ``judge`` is the refusal judgement (replaceable in tests)."""

    def __init__(
        self,
        store: LiveStore,
        metrics: ServeMetrics,
        *,
        max_queue: int = 10_000,
        controller: RolloutController | None = None,
        judge: Judge | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.controller = controller
        self._own_judge = shared_judge() if judge is None else None
        self._judge: Judge = judge or self._own_judge  # type: ignore[assignment]
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0

    def judge_ready(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the refusal judge's process to be warm."""
        return self._own_judge.wait_ready(timeout) if self._own_judge is not None else True

    def start(self) -> None:
        if self._own_judge is not None:
            self._own_judge.start()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="posttrain-live-recorder", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread (waits at most ``timeout``)."""
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.error("live recorder: queue still full at shutdown; events lost")
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error(
                "live recorder: not flushed within the shutdown timeout",
                extra={"queued": self._queue.qsize()},
            )
        self._thread = None

    def record(
        self,
        event: LiveEvent,
        *,
        prompt: str | None = None,
        context: str | None = None,
        raw_answer: str | None = None,
    ) -> bool:
        """Queue ``event`` (judging ``raw_answer`` for a refusal on the way); never
        blocks. False: dropped, the queue is full."""
        return self._put(_Answer(event, prompt, context, raw_answer))

    def record_feedback(
        self, *, rollout_id: str | None, step: int | None, version: str, rating: str
    ) -> bool:
        return self._put(_Rating(rollout_id, step, version, rating, time.time()))

    def _put(self, item: _Item) -> bool:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            self.metrics.live_dropped.labels("queue_full").inc()
            return False
        return True

    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            while len(items) < _BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in items:
                stop = True
                items = [i for i in items if i is not _STOP]
                # Whatever else is queued goes out too.
                while True:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is not _STOP:
                        items.append(more)
            self._write([i for i in items if isinstance(i, _Answer | _Rating)])
            if self.controller is not None and not stop:
                self.controller.maybe_tick()

    def _write(self, items: list[_Item]) -> None:
        answers = [i for i in items if isinstance(i, _Answer)]
        ratings = [i for i in items if isinstance(i, _Rating)]
        asked = [a for a in answers if a.raw_answer is not None and a.prompt is not None]
        verdicts: dict[int, bool | None] = {}
        if asked:
            try:
                got = self._judge([(a.prompt or "", a.raw_answer or "", a.context) for a in asked])
            except Exception as exc:  # a judge bug must not stop the recorder
                log.error("refusal judgement failed", extra={"error": str(exc)[:300]})
                got = [None] * len(asked)
            verdicts = {id(a): v for a, v in zip(asked, got, strict=True)}
        events: list[LiveEvent] = []
        for a in answers:
            event = a.event
            verdict = verdicts.get(id(a))
            if verdict is not None:
                event = event.model_copy(update={"refused": verdict, "refusal_judged": True})
                if verdict:
                    self.metrics.version_refusals.labels(event.version).inc()
            elif id(a) in verdicts:
                self.metrics.refusals_not_judged.inc()
            events.append(event)
        try:
            self.store.record_many(events)
            for r in ratings:
                self.store.record_feedback(
                    rollout_id=r.rollout_id,
                    step=r.step,
                    version=r.version,
                    rating=r.rating,
                    ts=r.ts,
                )
        except Exception as exc:  # sqlite3.Error, OSError: counted, the gateway goes on
            lost = len(events) + len(ratings)
            self.dropped += lost
            self.metrics.live_dropped.labels("store_error").inc(lost)
            log.error(
                "live store write failed",
                extra={"path": str(self.store.path), "lost": lost, "error": str(exc)[:300]},
            )
            return
        self.written += len(events) + len(ratings)


# The judge's worker: a plain interpreter running this (never a fork of the gateway, and
# no re-import of the program that started it, as multiprocessing's spawn would do). It
# says "ready" once the judge is imported, then answers one JSON line per batch; at the
# end of its stdin (the gateway gone, even by kill -9) it ends.
_WORKER = """
import json, sys
from posttrain.checks.refusal_judge import judge_refusal
sys.stdout.write('"ready"\\n'); sys.stdout.flush()
for line in sys.stdin:
    batch = json.loads(line)
    out = [judge_refusal(p, a, c).refused for p, a, c in batch["items"]]
    sys.stdout.write(json.dumps({"id": batch["id"], "refused": out}) + "\\n"); sys.stdout.flush()
"""


class ProcessJudge:
    """The refusal judge in a worker process of its own, started with the recorder (its
    imports take a few seconds). The measurements never wait on it for long: until it is
    ready, while it is still busy with an earlier batch, and past ``budget_ms`` an
    answer, answers come back not judged (None). A worker that ends is started again, at
    most once a minute."""

    def __init__(self, budget_ms: float = 20.0) -> None:
        self.budget_ms = budget_ms
        self._proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[object] = queue.Queue()
        self._ready = threading.Event()
        self._busy: int | None = None  # the id of the batch it is judging
        self._next = 0
        self._started_at = -float("inf")
        self._lock = threading.Lock()
        self.not_judged = 0

    def start(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            if time.monotonic() - self._started_at < 60.0:
                return
            self._started_at = time.monotonic()
            self._ready.clear()
            self._busy = None
            self._replies = queue.Queue()
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _WORKER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    bufsize=1,
                )
            except OSError as exc:
                log.error("cannot start the refusal judge's process", extra={"error": str(exc)})
                self._proc = None
                return
            threading.Thread(
                target=self._read,
                args=(self._proc, self._replies),
                name="posttrain-judge-reader",
                daemon=True,
            ).start()

    def _read(self, proc: subprocess.Popen[str], replies: queue.Queue[object]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            reply = json.loads(line)
            if reply == "ready":
                self._ready.set()
            else:
                replies.put(reply)
        replies.put(None)  # the worker ended

    def wait_ready(self, timeout: float) -> bool:
        """Block until the worker has imported the judge (tests, benchmarks)."""
        self.start()
        return self._ready.wait(timeout)

    def __call__(self, items: Sequence[tuple[str, str, str | None]]) -> list[bool | None]:
        self.start()
        out: list[bool | None] = [None] * len(items)
        proc = self._proc
        if proc is None or proc.stdin is None or not self._ready.is_set():
            self.not_judged += len(items)
            return out
        deadline = time.monotonic() + max(0.5, self.budget_ms * len(items) / 1000)
        sent: int | None = None
        if self._busy is None:
            self._next += 1
            try:
                proc.stdin.write(json.dumps({"id": self._next, "items": list(items)}) + "\n")
                proc.stdin.flush()
                sent = self._busy = self._next
            except OSError:
                pass
        while self._busy is not None:
            try:
                reply = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break  # still judging: what it has not answered goes unjudged
            if not isinstance(reply, dict):
                log.error("the refusal judge's process ended; answers go unjudged")
                self._busy = None
                break
            self._busy = None
            if reply["id"] == sent:
                out = [bool(v) for v in reply["refused"]]
        self.not_judged += sum(v is None for v in out)
        return out

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            self._proc = None


_shared: ProcessJudge | None = None
_shared_lock = threading.Lock()


def shared_judge() -> ProcessJudge:
    """The process's one :class:`ProcessJudge` (one worker for every gateway in it; it
    ends with the interpreter)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ProcessJudge()
        return _shared
