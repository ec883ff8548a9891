"""A real HTTP server on loopback with scripted answers, for testing HTTP backends.

``ScriptedServer`` runs a ``ThreadingHTTPServer`` on ``127.0.0.1`` (port 0, so the OS picks a
free one) in a background thread. Each request is recorded and answered by a *responder*:
a function of the recorded request to a :class:`Reply` (or :func:`script`, which plays a
list of replies in order). The server counts requests in flight, so tests can check a
concurrency bound, and :meth:`ScriptedServer.stop` releases handlers told to hang and joins
every thread, so no test leaves a thread behind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Recorded", "Reply", "ScriptedServer", "chat_reply", "script", "serving"]


@dataclass
class Reply:
    """What the server answers: a status, a JSON (or text) body and headers. ``delay_s``
    waits before answering; ``hang`` never answers (until the server stops)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


Responder = Callable[[Recorded], Reply]


def chat_reply(
    text: str,
    *,
    finish_reason: str | None = "stop",
    usage: dict[str, int] | None = None,
    model: str = "served-model",
    delay_s: float = 0.0,
) -> Reply:
    """A 200 answer shaped like OpenAI's chat completion."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return Reply(200, body, delay_s=delay_s)


def script(*replies: Reply) -> Responder:
    """Play ``replies`` in order; a request beyond the script gets a 599 the test will see."""
    queue = list(replies)
    lock = threading.Lock()

    def respond(_: Recorded) -> Reply:
        with lock:
            if queue:
                return queue.pop(0)
        return Reply(599, {"error": {"message": "test script exhausted: unexpected request"}})

    return respond


class ScriptedServer:
    """The server; use it through :func:`serving` so it always stops."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._release = threading.Event()  # set at stop: hanging handlers return
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # Join handler threads at close, so a test never leaks one.
        self._httpd.daemon_threads = False
        self._httpd.block_on_close = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the OpenAI-style API root, e.g. ``http://127.0.0.1:PORT/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads (block_on_close)
        self._thread.join(timeout=10)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        recorded = Recorded(
            handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body
        )
        with self._lock:
            self.requests.append(recorded)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.responder(recorded)
            if reply.hang:
                self._release.wait(30)
                handler.close_connection = True
                return  # close without an answer
            if reply.delay_s:
                time.sleep(reply.delay_s)
            payload = (
                reply.body.encode()
                if isinstance(reply.body, str)
                else json.dumps(reply.body if reply.body is not None else {}).encode()
            )
            handler.send_response(reply.status)
            content_type = "text/plain" if isinstance(reply.body, str) else "application/json"
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout); nothing to answer
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            timeout = 5  # an idle keep-alive connection cannot hold up stop() for long

            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


@contextmanager
def serving(responder: Responder) -> Iterator[ScriptedServer]:
    """Run a :class:`ScriptedServer` for the duration of the block."""
    server = ScriptedServer(responder).start()
    try:
        yield server
    finally:
        server.stop()
