"""Fixtures of the gateway tests: a workspace from the example, one de-identifier for the
session (building it imports Presidio: seconds), and a TestClient on a stub upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import ClientFactory, make_stub

from posttrain.serve.capture import FailureCapture
from posttrain.serve.config import ServeConfig
from posttrain.serve.gateway import Gateway
from posttrain.serve.keys import KeyStore
from posttrain.workspace import Workspace, init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return init_workspace(tmp_path / "ws").root


@pytest.fixture(scope="session")
def deidentifier() -> Any:
    from posttrain.data.deid import Deidentifier, DeidPolicy

    return Deidentifier(DeidPolicy())


@pytest.fixture
def keys(workspace: Path) -> dict[str, str]:
    store = KeyStore(Workspace(workspace).cache)
    return {
        "chat": store.create("alice", "chat").key,
        "chat2": store.create("bob", "chat").key,
        "admin": store.create("ops", "admin").key,
    }


@pytest.fixture
def client_for(workspace: Path, keys: dict[str, str], deidentifier: Any) -> Iterator[ClientFactory]:
    """``client_for(config=None, upstream="stub", model="stub-model")`` -> a started
    TestClient (the gateway is on ``client.gateway``); ``upstream=None`` is serve.yaml's."""
    from posttrain.serve.app import create_app
    from posttrain.serve.server import build_gateway

    opened: list[TestClient] = []

    def make(
        config: ServeConfig | None = None,
        upstream: Any = "stub",
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
            upstream=make_stub() if upstream == "stub" else upstream,
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
