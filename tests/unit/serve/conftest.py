"""Fixtures of the gateway tests: a workspace from the example, one de-identifier for the
session (building it imports Presidio: seconds), and a TestClient on a stub upstream."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import ClientFactory, make_stub, write_registry

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


# -- canary: a registry with champion v1 and a challenger v2, and a rollout between them --


@pytest.fixture
def registry_v1_v2(workspace: Path) -> Path:
    """A registry of two versions on small model folders, v1 the champion."""
    import json

    folders = {}
    for i, name in enumerate(("v1", "v2")):
        folder = workspace / "models" / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"model_type": "llama", "n": i}))
        (folder / "model.safetensors").write_bytes(bytes([i]) * 512)
        folders[name] = folder
    return write_registry(workspace, folders)


@pytest.fixture
def canary_for(
    workspace: Path, registry_v1_v2: Path, deidentifier: Any
) -> Iterator[Callable[..., TestClient]]:
    """``canary_for(config=None, **build_gateway_kwargs)`` -> a started TestClient serving
    the champion v1 (a stub answering "v1 here") that follows the workspace's rollout to
    v2 (a stub answering "v2 here"); the stubs are ``client.stubs``."""
    from posttrain.serve.app import create_app
    from posttrain.serve.server import build_gateway

    opened: list[TestClient] = []

    def make(config: ServeConfig | None = None, **kwargs: Any) -> TestClient:
        config = config or ServeConfig()
        # Many users behind one key: no rate limit in the way.
        limits = config.limits.model_copy(update={"burst": 1_000_000})
        config = config.model_copy(update={"limits": limits})
        capture = FailureCapture(
            workspace / config.capture.path, config.capture.policy, deidentifier=deidentifier
        )
        stubs = {
            v: make_stub(default=f"{v} here. Could you send me your order number?")
            for v in ("v1", "v2")
        }
        stubs.update(kwargs.pop("stubs", {}))
        gw = build_gateway(
            workspace,
            config,
            upstream=stubs["v1"],
            upstreams={"v2": stubs["v2"]},
            capture=capture,
            **kwargs,
        )
        client = TestClient(create_app(gw), raise_server_exceptions=False)
        client.__enter__()
        client.gateway = gw  # type: ignore[attr-defined]
        client.stubs = stubs  # type: ignore[attr-defined]
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
