"""Upstreams: an OpenAI-compatible engine by URL (on httpx's mock transport), the stub."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from posttrain.errors import BackendError, BackendTimeoutError
from posttrain.generation.base import GenerationParams
from posttrain.serve.config import OpenAIUpstreamConfig
from posttrain.serve.upstream import OpenAIUpstream, UpstreamUnavailable

PARAMS = GenerationParams(max_new_tokens=16, stop=("END",))
CONV = [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]


def _run(handler, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
    config = OpenAIUpstreamConfig(
        kind="openai", base_url="http://engine.test/v1", timeout_s=timeout_s
    )

    async def go():  # type: ignore[no-untyped-def]
        up = OpenAIUpstream("served", config, transport=httpx.MockTransport(handler))
        await up.start()
        try:
            return await up.generate(CONV, PARAMS), await up.ready()  # type: ignore[arg-type]
        finally:
            await up.aclose()

    return asyncio.run(go())


def test_a_completion_is_parsed_and_the_request_is_openais() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": []})
        seen.update(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "choices": [{"message": {"content": "hello"}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 16},
            },
        )

    gen, ready = _run(handler)
    assert gen.text == "hello" and gen.finish_reason == "length"
    assert (gen.prompt_tokens, gen.completion_tokens) == (7, 16)
    assert seen["model"] == "served" and seen["max_tokens"] == 16 and seen["stop"] == ["END"]
    assert seen["messages"] == CONV and ready == (True, "")


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(500, json={"error": {"message": "boom"}}), BackendError, "500: boom"),
        (httpx.Response(200, text="<html>"), BackendError, "not JSON"),
        (httpx.Response(200, json={"choices": []}), BackendError, "no choices"),
        (
            httpx.Response(200, json={"choices": [{"message": {"content": 3}}]}),
            BackendError,
            "not a string",
        ),
    ],
)
def test_garbage_from_the_engine_is_a_backend_error(
    response: httpx.Response, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _run(lambda request: response)


def test_an_unreachable_engine_and_a_slow_one_are_told_apart() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamUnavailable, match="cannot be reached"):
        _run(refuse)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    with pytest.raises(BackendTimeoutError, match=r"within 0\.05s"):
        _run(slow, timeout_s=0.05)
