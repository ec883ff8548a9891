"""The wire format: what a request may hold, and the error shape."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from posttrain.serve.protocol import APIError, ChatCompletionRequest


def _req(**fields: object) -> ChatCompletionRequest:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    return ChatCompletionRequest.model_validate(body)


def test_text_content_parts_are_joined() -> None:
    req = _req(
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            }
        ]
    )
    assert req.messages[0].text() == "ab"


@pytest.mark.parametrize(
    "fields",
    [
        {"n": 2},
        {"tools": []},
        {"logprobs": True},
        {"messages": []},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"max_tokens": 0},
        {"temperature": 3},
    ],
)
def test_what_the_gateway_does_not_implement_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _req(**fields)


def test_max_completion_tokens_wins_and_stop_is_a_tuple() -> None:
    req = _req(max_tokens=10, max_completion_tokens=20, stop="END")
    assert req.requested_tokens() == 20 and req.stop_strings() == ("END",)


def test_an_api_error_renders_in_openais_shape() -> None:
    err = APIError(429, "slow down", type="rate_limit_error", code="rate_limit_exceeded")
    assert err.response_body().model_dump() == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
