"""Helpers of the gateway tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from posttrain.serve.upstream import StubUpstream
from posttrain.workspace import Workspace

__all__ = [
    "LEAKY",
    "STUB_RULES",
    "ClientFactory",
    "auth",
    "chat",
    "make_stub",
    "write_rollout",
]

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


def write_rollout(workspace: Path, **fields: Any) -> Path:
    """Write ``.posttrain/rollout/state.json`` (v2 over champion v1 at step 0, 5%, unless
    ``fields`` say otherwise), as ``Rollout`` does: a new file replacing the old."""
    from posttrain.release.rollout import RolloutConfig, RolloutState

    state = RolloutState.model_validate(
        {
            "id": "rollout-test",
            "version": "v2",
            "champion": "v1",
            "config": RolloutConfig(),
            "phase": "Progressing",
            "step": 0,
            "weight": 5.0,
            "started_at": "2026-12-01T00:00:00+00:00",
            "updated_at": "2026-12-01T00:00:00+00:00",
            **fields,
        }
    )
    path = Workspace(workspace).rollout / "state.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(), encoding="utf-8")
    tmp.replace(path)
    return path


def write_registry(workspace: Path, folders: dict[str, Path]) -> Path:
    """A registry of the model ``folders`` (version -> folder), v1 the champion and v2 the
    challenger; returns the registry's folder."""
    from posttrain.models import fingerprint_files
    from posttrain.release.registry import STATE_FILE, ModelVersion, RegistryState

    versions = [
        ModelVersion(
            version=name,
            model=str(folder),
            fingerprint=fingerprint_files(folder),
            model_path=str(folder),
            created_at="2026-12-01T00:00:00+00:00",
            created_by="test",
        )
        for name, folder in folders.items()
    ]
    root = Workspace(workspace).registry
    root.mkdir(parents=True, exist_ok=True)
    state = RegistryState(versions=versions, aliases={"champion": "v1", "challenger": "v2"})
    (root / STATE_FILE).write_text(state.model_dump_json(), encoding="utf-8")
    return root
