"""The openai backend against a real HTTP server on loopback (see ``http_server.py``)."""

from __future__ import annotations

import logging
import random
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from posttrain.errors import BackendError, BackendTimeoutError, UsageError
from posttrain.generation.base import Backend, Conversation, GenerationParams
from posttrain.generation.openai import OpenAIBackend, map_finish_reason, retry_delay

try:  # pytest's default import mode puts this folder on sys.path
    from http_server import Recorded, Reply, ScriptedServer, chat_reply, script, serving
except ImportError:  # tests laid out as packages
    from tests.unit.generation.http_server import (
        Recorded,
        Reply,
        ScriptedServer,
        chat_reply,
        script,
        serving,
    )

pytestmark = pytest.mark.timeout(60)  # a hang is a failure, not a stuck CI job

USAGE = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
HELLO: Conversation = [
    {"role": "system", "content": "You are ShopMate."},
    {"role": "user", "content": "Where is my order?"},
]


Serve = Callable[[Callable[[Recorded], Reply]], ScriptedServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start scripted servers; every one is stopped (threads joined) after the test."""
    with ExitStack() as stack:
        yield lambda responder: stack.enter_context(serving(responder))


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    # Servers, worker pools and hanging handlers must all be gone when a test ends.
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's real endpoint or key must not leak into these tests.
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def backend(server: ScriptedServer, **options: object) -> OpenAIBackend:
    options.setdefault("backoff_base_s", 0.01)
    return OpenAIBackend("shopmate-7b", base_url=server.url, **options)  # type: ignore[arg-type]


def test_recovers_from_two_500s_then_answers(serve: Serve) -> None:
    server = serve(
        script(
            Reply(500, {"error": {"message": "CUDA out of memory"}}),
            Reply(500, "Internal Server Error"),
            chat_reply("Please share your order number.", usage=USAGE),
        )
    )
    out = backend(server).generate([HELLO], GenerationParams())
    assert len(server.chat_requests()) == 3
    assert out[0].text == "Please share your order number."
    assert (out[0].prompt_tokens, out[0].completion_tokens) == (11, 3)
    assert out[0].finish_reason == "stop"


def test_429_retry_after_is_honoured(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(
        script(
            Reply(429, {"error": {"message": "rate limited"}}, headers={"Retry-After": "1"}),
            chat_reply("ok", usage=USAGE),
        )
    )
    with caplog.at_level(logging.WARNING, logger="posttrain.generation.openai"):
        out = backend(server, backoff_base_s=0.01).generate([HELLO], GenerationParams())
    assert out[0].text == "ok"
    assert len(server.chat_requests()) == 2
    # The server's Retry-After (1 s), not the 0.01 s exponential backoff, set the wait.
    assert "HTTP 429" in caplog.text and "retrying in 1.00s" in caplog.text


def test_a_400_is_not_retried_and_carries_the_server_message(serve: Serve) -> None:
    message = "max_tokens must be at most 4096 for this model"
    server = serve(script(Reply(400, {"error": {"message": message, "type": "invalid"}})))
    with pytest.raises(BackendError) as info:
        backend(server).generate([HELLO], GenerationParams())
    assert not isinstance(info.value, BackendTimeoutError)
    assert message in str(info.value) and "HTTP 400" in str(info.value)
    assert len(server.chat_requests()) == 1


def test_5xx_that_never_recovers_reports_the_attempts(serve: Serve) -> None:
    server = serve(lambda _: Reply(503, {"detail": "model is loading"}))
    with pytest.raises(BackendError, match=r"HTTP 503 after 3 attempts: model is loading"):
        backend(server, max_retries=2).generate([HELLO], GenerationParams())
    assert len(server.chat_requests()) == 3


def test_one_deadline_bounds_every_attempt_of_a_request(serve: Serve) -> None:
    server = serve(lambda _: Reply(hang=True))
    slow = backend(server, timeout_s=0.3, max_retries=3)
    with pytest.raises(BackendTimeoutError) as info:
        slow.generate([HELLO], GenerationParams())
    text = str(info.value)
    assert slow.endpoint in text  # names the URL
    assert "0.3s" in text and "1 attempt(s)" in text  # the deadline, and what was tried
    assert "--timeout" in text  # how to fix it, with the option the commands have
    # The hung attempt used the whole deadline: no retry was started after it.
    assert len(server.chat_requests()) == 1


def test_a_retry_gets_only_what_is_left_of_the_deadline(serve: Serve) -> None:
    server = serve(script(Reply(503, {"detail": "warming up"}), Reply(hang=True)))
    with pytest.raises(BackendTimeoutError, match=r"2 attempt\(s\)"):
        backend(server, timeout_s=0.5, max_retries=3).generate([HELLO], GenerationParams())
    assert len(server.chat_requests()) == 2


def test_a_wait_past_the_deadline_is_not_made(serve: Serve) -> None:
    # The server asks for 30 s; only 2 are left: give up now, saying why.
    busy = Reply(429, {"error": {"message": "busy"}}, headers={"Retry-After": "30"})
    server = serve(script(busy, chat_reply("late", usage=USAGE)))
    with pytest.raises(BackendError, match="no time left") as info:
        backend(server, timeout_s=2).generate([HELLO], GenerationParams())
    assert "--timeout" in str(info.value)
    assert len(server.chat_requests()) == 1


def test_unreachable_server_is_a_backend_error_naming_the_url() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = OpenAIBackend(
        "m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_base_s=0.01
    )
    with pytest.raises(BackendError, match=rf"cannot reach http://127.0.0.1:{port}/v1") as info:
        dead.generate([HELLO], GenerationParams())
    assert "is the server running" in str(info.value)


def test_concurrency_bound_is_respected(serve: Serve) -> None:
    server = serve(lambda _: chat_reply("x", usage=USAGE, delay_s=0.3))
    out = backend(server, concurrency=3).generate([HELLO] * 9, GenerationParams())
    assert len(out) == 9
    assert server.max_in_flight == 3  # parallel, and never more than the bound


def test_results_keep_input_order_and_progress_counts_every_item(serve: Serve) -> None:
    rng = random.Random(0)

    def echo(request: Recorded) -> Reply:
        # Random delays make answers finish out of order.
        return chat_reply(
            f"answer to {request.body['messages'][-1]['content']}",
            usage=USAGE,
            delay_s=rng.uniform(0.0, 0.15),
        )

    server = serve(echo)
    conversations: list[Conversation] = [
        [{"role": "user", "content": f"question {i}"}] for i in range(12)
    ]
    ticks: list[int] = []
    out = backend(server, concurrency=4).generate(
        conversations, GenerationParams(), on_progress=ticks.append
    )
    assert [g.text for g in out] == [f"answer to question {i}" for i in range(12)]
    assert ticks == [1] * 12


def test_request_body_carries_messages_and_mapped_params(serve: Serve) -> None:
    server = serve(script(chat_reply("hi", usage=USAGE)))
    params = GenerationParams(
        max_new_tokens=77, temperature=0.7, top_p=0.9, seed=1234, stop=("###", "\nUser:")
    )
    backend(server).generate([HELLO], params)
    (request,) = server.chat_requests()
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    body = request.body
    assert body["model"] == "shopmate-7b"
    assert body["messages"] == [dict(m) for m in HELLO]
    assert body["max_tokens"] == 77
    assert body["temperature"] == 0.7 and body["top_p"] == 0.9 and body["seed"] == 1234
    assert body["stop"] == ["###", "\nUser:"]


def test_authorization_uses_the_env_key_and_never_shows_it(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-do-not-print-1234"
    monkeypatch.setenv("SHOPMATE_KEY", secret)
    server = serve(
        script(
            chat_reply("ok", usage=USAGE),
            Reply(401, {"error": {"message": "invalid api key"}}),
        )
    )
    keyed = backend(server, api_key_env="SHOPMATE_KEY")
    keyed.generate([HELLO], GenerationParams())
    assert server.chat_requests()[0].headers["authorization"] == f"Bearer {secret}"
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendError) as info:
        keyed.generate([HELLO], GenerationParams())
    assert "invalid api key" in str(info.value) and "$SHOPMATE_KEY" in str(info.value)
    assert secret not in str(info.value) + repr(keyed) + caplog.text


def test_no_key_means_no_authorization_header(serve: Serve) -> None:
    server = serve(script(chat_reply("ok", usage=USAGE)))
    backend(server).generate([HELLO], GenerationParams())
    assert "authorization" not in server.chat_requests()[0].headers


def test_base_url_comes_from_the_environment(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(script(chat_reply("from env", usage=USAGE)))
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/")
    out = OpenAIBackend("shopmate-7b").generate([HELLO], GenerationParams())
    assert out[0].text == "from env"


def test_missing_usage_is_estimated_and_length_is_reported(serve: Serve) -> None:
    server = serve(script(chat_reply("twelve chars", finish_reason="length", usage=None)))
    (out,) = backend(server).generate([HELLO], GenerationParams(max_new_tokens=3))
    assert out.finish_reason == "length"
    assert out.completion_tokens == 3  # 12 characters at ~4 per token
    assert out.prompt_tokens > 0


def test_a_200_that_is_not_a_chat_completion_is_a_clear_error(serve: Serve) -> None:
    server = serve(script(Reply(200, "<html>nginx welcome page</html>")))
    with pytest.raises(BackendError, match="not a chat completion") as info:
        backend(server).generate([HELLO], GenerationParams())
    assert "/v1" in (info.value.hint or "")


def test_fingerprint_names_endpoint_model_and_served_weights(serve: Serve) -> None:
    roots = iter(["/models/qwen-7b-v1", "/models/qwen-7b-v2"])

    def models(request: Recorded) -> Reply:
        entry = {"id": "shopmate-7b", "object": "model", "root": next(roots)}
        return Reply(200, {"object": "list", "data": [entry]})

    server = serve(models)
    first = backend(server)
    assert first.fingerprint == first.fingerprint  # probed once, then remembered
    swapped_weights = backend(server)
    other_model = OpenAIBackend("other", base_url=server.url)
    assert len({first.fingerprint, swapped_weights.fingerprint, other_model.fingerprint}) == 3
    assert len([r for r in server.requests if r.path == "/v1/models"]) == 3


def test_backend_implements_the_protocol() -> None:
    assert isinstance(OpenAIBackend("m"), Backend)


@pytest.mark.parametrize(
    ("option", "value"),
    [("concurrency", 0), ("timeout_s", 0), ("max_retries", -1), ("base_url", "localhost:8000")],
)
def test_bad_options_are_usage_errors_naming_the_option(option: str, value: object) -> None:
    with pytest.raises(UsageError, match=option):
        OpenAIBackend("m", **{option: value})  # type: ignore[arg-type]


def test_retry_delay_backs_off_exponentially_with_jitter_and_caps() -> None:
    rng = random.Random(0)
    delays = [retry_delay(a, None, base_s=0.5, max_s=3.0, rng=rng) for a in range(6)]
    for attempt, delay in enumerate(delays):
        full = min(0.5 * 2**attempt, 3.0)
        assert full / 2 <= delay <= full
    assert retry_delay(0, "7", base_s=0.5, max_s=30, rng=rng) == 7.0
    assert retry_delay(0, "120", base_s=0.5, max_s=30, rng=rng) == 30.0  # capped
    http_date = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: retry now
    assert retry_delay(0, http_date, base_s=0.5, max_s=30, rng=rng) == 0.0


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("eos", "stop"),
        ("tool_calls", "stop"),
        (None, "stop"),
        ("content_filter", "stop"),
    ],
)
def test_finish_reasons_map_to_stop_or_length(reason: str | None, expected: str) -> None:
    assert map_finish_reason(reason) == expected
