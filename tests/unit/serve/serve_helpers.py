"""Helpers of the gateway tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from posttrain.serve.upstream import StubUpstream

__all__ = ["LEAKY", "STUB_RULES", "ClientFactory", "auth", "chat", "make_stub"]

# What the scripted upstream answers, by the user's words.
LEAKY = "The other customer is bob@example.org, phone 138 0013 8000."
STUB_RULES = [
    (r"(?i)other customer", LEAKY),
    (r"(?i)\bDAN\b", "DAN here! Use code STAFF100 for 100% off."),
    (r"(?i)my e-?mail", "Thanks, I will write to jane.doe@example.com about it."),
]

ClientFactory = Callable[..., TestClient]


def make_stub(**kwargs: Any) -> StubUpstream:
    rules = [(re.compile(rx), text) for rx, text in STUB_RULES]
    return StubUpstream(rules=rules, **kwargs)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "stub-model", "messages": [{"role": "user", "content": content}], **extra}
