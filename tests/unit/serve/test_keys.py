"""API keys: printed once, stored hashed, scoped, revocable."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.cli import main
from posttrain.errors import UsageError
from posttrain.serve.keys import KeyStore, grants


def test_a_key_is_stored_as_a_hash_and_authenticates(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    created = store.create("alice", "chat")
    text = store.path.read_text()
    assert created.key not in text and created.key.startswith("pt-")
    assert (store.path.stat().st_mode & 0o777) == 0o600
    found = KeyStore(tmp_path).authenticate(created.key)  # a new process reads the file
    assert found is not None and found.name == "alice" and found.scope == "chat"
    assert store.authenticate(created.key + "x") is None
    assert store.authenticate("sk-not-ours") is None


def test_names_are_unique_and_revoked_keys_stop_working(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.create("alice", "admin").key
    with pytest.raises(UsageError, match="exists"):
        store.create("alice", "chat")
    with pytest.raises(UsageError, match="invalid key name"):
        store.create("has space", "chat")
    store.revoke("alice")
    assert store.authenticate(key) is None
    with pytest.raises(UsageError, match="no active key"):
        store.revoke("alice")
    store.create("alice", "chat")  # the name is free again


def test_admin_includes_chat_but_not_the_other_way_round() -> None:
    assert grants("admin", "chat") and grants("admin", "admin")
    assert grants("chat", "chat") and not grants("chat", "admin")


def test_keys_create_json_prints_the_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert (
        main(["keys", "create", "--name", "ci", "--scope", "admin", "--json", "-w", str(tmp_path)])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"name", "scope", "key"} and out["scope"] == "admin"
    assert main(["keys", "list", "--json", "-w", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert out["key"] not in listed and '"ci"' in listed
    assert main(["keys", "create", "--name", "ci", "-w", str(tmp_path)]) == 2
    assert main(["keys", "create", "--name", "x", "--scope", "root", "-w", str(tmp_path)]) == 2
