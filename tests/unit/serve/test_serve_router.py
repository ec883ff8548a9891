"""Canary routing: sticky shares by a stable hash, the rollout's weight, the version header
on JSON and SSE, and a state changed by another process taking effect at once."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import auth, write_registry, write_rollout
from serve_helpers import chat as _stub_chat

from posttrain.serve.protocol import ChatCompletionRequest
from posttrain.serve.router import Router, share, user_key
from posttrain.workspace import Workspace

USERS = [f"user-{i}" for i in range(2000)]


def chat(content: str, **extra: object) -> dict[str, object]:
    """A chat request for the registry's champion (what a canary gateway serves)."""
    return {**_stub_chat(content, **extra), "model": "champion"}


def _req(content: str = "hello", **extra: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "champion", "messages": [{"role": "user", "content": content}], **extra}
    )


def _on_challenger(router: Router) -> set[str]:
    return {u for u in USERS if router.route("user:" + u).arm == "challenger"}


def test_share_is_stable_across_processes() -> None:
    here = [share("user:alice", "rollout-1"), share("user:bob", "rollout-1")]
    code = (
        "from posttrain.serve.router import share;"
        "print([share('user:alice', 'rollout-1'), share('user:bob', 'rollout-1')])"
    )
    # A fresh interpreter has another PYTHONHASHSEED: Python's hash() would differ.
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert json.loads(out.stdout) == here
    assert all(0 <= s < 1 for s in here) and here[0] != here[1]


def test_user_key_prefers_user_then_key_and_conversation() -> None:
    assert user_key(_req(user="u1"), "alice", "c1") == user_key(
        _req("other", user="u1"), "bob", None
    )
    # Without `user`: the key and the conversation header...
    assert user_key(_req(), "alice", "c1") != user_key(_req(), "bob", "c1")
    assert user_key(_req(), "alice", "c1") != user_key(_req(), "alice", "c2")
    # ...else the first user message: a conversation that goes on keeps its key.
    first = _req("my order is late")
    later = ChatCompletionRequest.model_validate(
        {
            "model": "champion",
            "messages": [
                {"role": "user", "content": "my order is late"},
                {"role": "assistant", "content": "Sorry! Your order number?"},
                {"role": "user", "content": "A-123"},
            ],
        }
    )
    assert user_key(first, "alice", None) == user_key(later, "alice", None)
    assert user_key(first, "alice", None) != user_key(_req("new question"), "alice", None)


def _binomial_ok(k: int, n: int, p: float) -> bool:
    # Within 4 standard deviations: a correct router fails this about once in 16,000 runs
    # (never, here: the hash is fixed), a wrong share (e.g. 10% for 5%) always does.
    return abs(k - n * p) <= 4 * math.sqrt(n * p * (1 - p))


def test_weights_share_users_and_keep_canary_users_on_as_weight_grows(workspace: Path) -> None:
    state = write_rollout(workspace, weight=0.0)
    router = Router(state, "v1")
    assert _on_challenger(router) == set()
    write_rollout(workspace, weight=5.0)
    at5 = _on_challenger(router)
    assert _binomial_ok(len(at5), len(USERS), 0.05), len(at5)
    write_rollout(workspace, weight=25.0, step=2)
    at25 = _on_challenger(router)
    assert _binomial_ok(len(at25), len(USERS), 0.25), len(at25)
    assert at5 <= at25  # sticky: nobody on the challenger at 5% leaves it at 25%
    # Within a step, one user always gets the same version.
    assert all(router.route("user:" + u).arm == "challenger" for u in sorted(at25)[:50])
    write_rollout(workspace, weight=100.0, step=3)
    assert len(_on_challenger(router)) == len(USERS)
    r = router.route("user:x")
    assert (r.version, r.rollout_id, r.step) == ("v2", "rollout-test", 3)


def test_no_rollout_aborted_and_completed(workspace: Path) -> None:
    path = Workspace(workspace).rollout / "state.json"
    router = Router(path, "v1")
    r = router.route("user:a")
    assert (r.version, r.arm, r.rollout_id, r.step) == ("v1", "champion", None, None)
    write_rollout(workspace, phase="Aborted", weight=0.0)
    assert _on_challenger(router) == set()
    assert router.route("user:a").rollout_id is None  # not measured as a step any more
    write_rollout(workspace, phase="Completed", weight=100.0, step=3)
    assert {router.route("user:" + u).version for u in USERS[:100]} == {"v2"}
    # `--model` given: no rollout applies.
    assert Router(path, "v1", follow=False).route("user:a").version == "v1"


def test_a_broken_state_file_keeps_the_last_good_one(workspace: Path) -> None:
    path = write_rollout(workspace, weight=100.0)
    router = Router(path, "v1")
    assert router.route("user:a").version == "v2"
    path.write_text("{not json", encoding="utf-8")
    assert router.route("user:a").version == "v2"


# -- through the gateway ----------------------------------------------------------------


def _users_on(client: TestClient, key: str, users: list[str]) -> dict[str, str]:
    out = {}
    for u in users:
        r = client.post("/v1/chat/completions", json=chat("hi there", user=u), headers=auth(key))
        assert r.status_code == 200, r.text
        out[u] = r.headers["x-posttrain-version"]
        assert r.json()["choices"][0]["message"]["content"].startswith(out[u] + " here")
    return out


def test_gateway_routes_by_weight_with_the_version_header(
    workspace: Path, keys: dict[str, str], canary_for: Callable[..., TestClient]
) -> None:
    write_rollout(workspace, weight=50.0)
    client = canary_for()
    users = [f"u{i}" for i in range(40)]
    first = _users_on(client, keys["chat"], users)
    assert set(first.values()) == {"v1", "v2"}
    assert _users_on(client, keys["chat"], users) == first  # sticky
    on_v2 = next(u for u, v in first.items() if v == "v2")
    # The response names the version that answered.
    r = client.post("/v1/chat/completions", json=chat("hi", user=on_v2), headers=auth(keys["chat"]))
    assert r.json()["model"] == "v2" and r.json()["posttrain"]["version"] == "v2"
    # SSE carries the header too (held stream, and stream-and-cut).
    with client.stream(
        "POST",
        "/v1/chat/completions",
        json=chat("hi there", user=on_v2, stream=True),
        headers=auth(keys["chat"]),
    ) as resp:
        assert resp.headers["x-posttrain-version"] == "v2"
        body = "".join(resp.iter_text())
    assert "v2 here" in body and body.rstrip().endswith("data: [DONE]")


def test_stream_and_cut_carries_the_version_header(
    workspace: Path, keys: dict[str, str], canary_for: Callable[..., TestClient]
) -> None:
    from posttrain.serve.config import GuardConfig, ServeConfig

    write_rollout(workspace, weight=100.0)
    client = canary_for(ServeConfig(guard=GuardConfig(stream="cut")))
    with client.stream(
        "POST", "/v1/chat/completions", json=chat("hello", stream=True), headers=auth(keys["chat"])
    ) as resp:
        assert resp.headers["x-posttrain-stream"] == "cut"
        assert resp.headers["x-posttrain-version"] == "v2"
        assert "v2 here" in "".join(resp.iter_text())


def test_no_rollout_sends_everything_to_the_champion(
    keys: dict[str, str], canary_for: Callable[..., TestClient]
) -> None:
    client = canary_for()
    got = _users_on(client, keys["chat"], [f"u{i}" for i in range(20)])
    assert set(got.values()) == {"v1"}
    assert client.stubs["v2"].calls == []  # type: ignore[attr-defined]


def test_an_abort_by_another_process_takes_effect_on_the_next_request(
    workspace: Path, keys: dict[str, str], canary_for: Callable[..., TestClient]
) -> None:
    write_rollout(workspace, weight=100.0)
    client = canary_for()
    assert _users_on(client, keys["chat"], ["a", "b"]) == {"a": "v2", "b": "v2"}
    write_rollout(workspace, phase="Aborted", weight=0.0)  # `posttrain release abort`
    assert _users_on(client, keys["chat"], ["a", "b"]) == {"a": "v1", "b": "v1"}
    status = client.get("/admin/status", headers=auth(keys["admin"])).json()
    assert status["rollout"]["phase"] == "Aborted"


def test_a_version_planned_later_is_loaded_and_its_users_wait_on_the_champion(
    workspace: Path, keys: dict[str, str], canary_for: Callable[..., TestClient]
) -> None:
    """v3 is not loaded when the gateway starts; the first request after the plan loads
    it in the background (its users get the champion meanwhile), then v3 answers."""
    import shutil
    import time

    from posttrain.models import fingerprint_files
    from posttrain.release.registry import STATE_FILE, ModelVersion, RegistryState
    from posttrain.serve.config import ServeConfig, StubUpstreamConfig, VersionConfig

    reg = Workspace(workspace).registry / STATE_FILE
    state = RegistryState.model_validate_json(reg.read_text())
    folder = workspace / "models" / "v3"
    shutil.copytree(workspace / "models" / "v2", folder)
    state.versions.append(
        ModelVersion(
            version="v3",
            model=str(folder),
            fingerprint=fingerprint_files(folder),
            model_path=str(folder),
            created_at="2026-12-01T00:00:00+00:00",
            created_by="test",
        )
    )
    reg.write_text(state.model_dump_json())
    v3 = VersionConfig(upstream=StubUpstreamConfig(kind="stub", default="v3 here, hello."))
    client = canary_for(ServeConfig(versions={"v3": v3}))
    assert _users_on(client, keys["chat"], ["a"]) == {"a": "v1"}
    write_rollout(workspace, id="rollout-2", version="v3", weight=100.0)
    assert _users_on(client, keys["chat"], ["a"]) == {"a": "v1"}  # v3 still loading
    deadline = time.monotonic() + 10
    while "v3" not in client.gateway.upstreams and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    assert _users_on(client, keys["chat"], ["a"]) == {"a": "v3"}
    # v2 is named by no rollout any more: let go (after the longest a request may take).
    assert sorted(client.gateway.upstreams) == ["v1", "v3"]  # type: ignore[attr-defined]
    assert "v2" in client.gateway._retiring  # type: ignore[attr-defined]


def test_an_upstream_error_still_names_the_version(
    workspace: Path, keys: dict[str, str], canary_for: Callable[..., TestClient]
) -> None:
    from posttrain.serve.upstream import StubUpstream, UpstreamUnavailable

    def down(_: object) -> str:
        raise UpstreamUnavailable("the engine is down")

    write_rollout(workspace, weight=100.0)
    client = canary_for(stubs={"v2": StubUpstream(reply_fn=down)})
    r = client.post("/v1/chat/completions", json=chat("hi"), headers=auth(keys["chat"]))
    assert r.status_code == 503 and r.headers["x-posttrain-version"] == "v2"


def _tiny_registry(workspace: Path, tiny_model_dir: Path) -> None:
    import shutil

    folders = {}
    for name in ("v1", "v2"):
        folders[name] = workspace / "tiny" / name
        shutil.copytree(tiny_model_dir, folders[name])
    write_registry(workspace, folders)


def test_in_process_the_gateway_loads_champion_and_challenger_from_the_registry(
    workspace: Path, keys: dict[str, str], tiny_model_dir: Path, deidentifier: object
) -> None:
    """hf upstream: both versions' folders are loaded in this process; a challenger whose
    files changed since registration is not loaded, and the champion answers its users."""
    from posttrain.serve.app import create_app
    from posttrain.serve.capture import FailureCapture
    from posttrain.serve.config import HFUpstreamConfig, ServeConfig
    from posttrain.serve.server import build_gateway
    from posttrain.serve.upstream import HFUpstream

    _tiny_registry(workspace, tiny_model_dir)
    write_rollout(workspace, weight=100.0)
    config = ServeConfig(upstream=HFUpstreamConfig(batch_wait_ms=0), guard={"mode": "monitor"})  # type: ignore[arg-type]
    capture = FailureCapture(
        workspace / "live.jsonl", config.capture.policy, deidentifier=deidentifier
    )

    def ask(client: TestClient) -> str:
        body = {**chat("hello", max_tokens=3)}
        r = client.post("/v1/chat/completions", json=body, headers=auth(keys["chat"]))
        assert r.status_code == 200, r.text
        return r.headers["x-posttrain-version"]

    gw = build_gateway(workspace, config, capture=capture)
    with TestClient(create_app(gw)) as client:
        assert sorted(gw.upstreams) == ["v1", "v2"]
        assert all(isinstance(u, HFUpstream) for u in gw.upstreams.values())
        assert ask(client) == "v2"
    weights = next((workspace / "tiny" / "v2").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    gw = build_gateway(workspace, config, capture=capture)
    with TestClient(create_app(gw)) as client:
        assert sorted(gw.upstreams) == ["v1"]
        assert ask(client) == "v1"


def test_serve_yaml_versions_and_rollout_are_checked_with_their_line() -> None:
    from posttrain.errors import ConfigError
    from posttrain.serve.config import OpenAIUpstreamConfig, parse_serve_config

    cfg = parse_serve_config(
        "rollout: auto\nrollout_tick_s: 2\nversions:\n"
        "  v2: {upstream: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}}\n"
    )
    assert cfg.rollout == "auto" and cfg.rollout_tick_s == 2
    assert isinstance(cfg.versions["v2"].upstream, OpenAIUpstreamConfig)
    with pytest.raises(ConfigError, match=r"line 1: rollout: .*'manual' or 'auto'"):
        parse_serve_config("rollout: sometimes\n")
    with pytest.raises(ConfigError, match=r"line 4: versions\.v2\.upstream\.base_url"):
        parse_serve_config(
            "versions:\n  v2:\n    upstream:\n      base_url: ftp://x\n      kind: openai\n"
        )
