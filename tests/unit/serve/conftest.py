"""Fixtures of the gateway tests: a workspace from the example, one de-identifier for the
session (building it imports Presidio: seconds), and a TestClient on a stub upstream."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posttrain.serve.capture import FailureCapture
from posttrain.serve.config import ServeConfig
from posttrain.serve.gateway import Gateway
from posttrain.serve.keys import KeyStore
from posttrain.serve.upstream import StubUpstream
from posttrain.workspace import Workspace, init_workspace

# What the scripted upstream answers, by the user's words.
LEAKY = "The other customer is bob@example.org, phone 138 0013 8000."
STUB_RULES = [
    (r"(?i)other customer", LEAKY),
    (r"(?i)\bDAN\b", "DAN here! Use code STAFF100 for 100% off."),
    (r"(?i)my e-?mail", "Thanks, I will write to jane.doe@example.com about it."),
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return init_workspace(tmp_path / "ws").root


@pytest.fixture(scope="session")
def deidentifier() -> Any:
    from posttrain.data.deid import Deidentifier, DeidPolicy

    return Deidentifier(DeidPolicy())


def make_stub(**kwargs: Any) -> StubUpstream:
    import re

    rules = [(re.compile(rx), text) for rx, text in STUB_RULES]
    return StubUpstream(rules=rules, **kwargs)


@pytest.fixture
def keys(workspace: Path) -> dict[str, str]:
    store = KeyStore(Workspace(workspace).cache)
    return {
        "chat": store.create("alice", "chat").key,
        "chat2": store.create("bob", "chat").key,
        "admin": store.create("ops", "admin").key,
    }


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_for(workspace: Path, keys: dict[str, str], deidentifier: Any) -> Iterator[ClientFactory]:
    """``client_for(config=None, upstream=None, model="stub-model")`` -> a started
    TestClient (the gateway is on ``client.gateway``)."""
    from posttrain.serve.app import create_app
    from posttrain.serve.server import build_gateway

    opened: list[TestClient] = []

    def make(
        config: ServeConfig | None = None,
        upstream: Any = None,
        model: str = "stub-model",
    ) -> TestClient:
        config = config or ServeConfig()
        capture = FailureCapture(
            workspace / config.capture.path, config.capture.policy, deidentifier=deidentifier
        )
        gw: Gateway = build_gateway(
            workspace,
            config,
            model=model,
            upstream=upstream if upstream is not None else make_stub(),
            capture=capture,
        )
        client = TestClient(create_app(gw), raise_server_exceptions=False)
        client.__enter__()
        client.gateway = gw  # type: ignore[attr-defined]
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "stub-model", "messages": [{"role": "user", "content": content}], **extra}
