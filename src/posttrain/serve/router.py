"""Canary routing: which served version answers a request, by the staged rollout.

The rollout's state (``.posttrain/rollout/state.json``, written by
:class:`~posttrain.release.rollout.Rollout`) is re-read whenever the file changes (one
``stat`` a request), so a step, an abort or a completion by another process (``posttrain
release step|abort|auto``) takes effect from the next request.

* no rollout, or one that was aborted: every request goes to the champion (the rollout's
  ``champion``, else what the gateway was started on);
* an active rollout (Progressing or Paused) at weight ``w`` %: a request goes to the
  challenger when its user's *share*, a number in [0, 1) from a stable hash, is below
  ``w / 100``; so a user stays on one version within a step, and since the weights only
  grow, a user on the challenger at 5% is still on it at 25%;
* a completed rollout: everything to its version, the new champion.

The user is OpenAI's ``user`` field when the client sends one; else the API key's name
plus a conversation id: the ``x-posttrain-conversation`` header, else a hash of the
conversation's first user message (a new conversation may land on the other version, a
continuing one stays). The share is ``sha256(rollout id, user)`` (never Python's
``hash()``, which changes between processes), so every rollout draws its own canary
users while a user's place within one rollout is fixed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from posttrain.release.rollout import RolloutState
from posttrain.serve.logs import log
from posttrain.serve.protocol import ChatCompletionRequest

__all__ = [
    "CONVERSATION_HEADER",
    "RolloutWatch",
    "Route",
    "Router",
    "share",
    "user_key",
]

CONVERSATION_HEADER = "x-posttrain-conversation"
_SCALE = float(2**64)


def user_key(req: ChatCompletionRequest, key_name: str | None, conversation: str | None) -> str:
    """Who is asking, for stickiness (see the module docstring); never the API key itself."""
    if req.user:
        return "user:" + req.user
    if not conversation:
        first = next((m.text() for m in req.messages if m.role == "user"), "")
        conversation = "h:" + hashlib.sha256(first.encode("utf-8")).hexdigest()[:32]
    return f"key:{key_name or ''}\x00conv:{conversation}"


def share(key: str, salt: str = "") -> float:
    """``key``'s place in [0, 1), uniform and stable across processes and machines."""
    digest = hashlib.sha256(f"{salt}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def key_hash(key: str) -> str:
    """What the live store keeps of a user: a short hash, not the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


class RolloutWatch:
    """The rollout state file, re-read when it changes (inode, size or mtime)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._state: RolloutState | None = None
        self.reloads = 0

    def current(self) -> RolloutState | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._state = None, None
            return None
        except OSError:
            return self._state
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._stamp:
            try:
                state = RolloutState.model_validate_json(self.path.read_bytes())
            except (OSError, ValidationError) as exc:
                # The writer replaces the file atomically, so this is a broken file, not a
                # torn write: keep routing by the last good state, and say so.
                log.error(
                    "unreadable rollout state; routing by the last one read",
                    extra={"path": str(self.path), "error": str(exc)[:300]},
                )
                self._stamp = stamp
                return self._state
            self._stamp, self._state = stamp, state
            self.reloads += 1
        return self._state


@dataclass(frozen=True)
class Route:
    """Where one request goes, and what its measurement is keyed by."""

    version: str
    champion: str
    arm: Literal["champion", "challenger"]
    rollout_id: str | None  # None: no active rollout (measurements keyed by no step)
    step: int | None
    user_hash: str
    weight: float  # the challenger's share of traffic, percent


class Router:
    """Champion or challenger for each request (see the module docstring).

    ``default`` is the version the gateway was started on (the registry's champion, or the
    served model's id when it is not a registry version); ``follow`` False serves only it
    (``--model`` given: no rollout applies).
    """

    def __init__(self, state_path: Path, default: str, *, follow: bool = True) -> None:
        self.watch = RolloutWatch(state_path)
        self.default = default
        self.follow = follow

    def state(self) -> RolloutState | None:
        return self.watch.current() if self.follow else None

    def versions(self, state: RolloutState | None = None) -> set[str]:
        """The versions the current state may send traffic to."""
        state = state if state is not None else self.state()
        out = {self.default}
        if state is not None:
            out.add(state.champion or self.default)
            if state.active or state.phase == "Completed":
                out.add(state.version)
        return out

    def route(self, key: str) -> Route:
        state = self.state()
        if state is None:
            return Route(self.default, self.default, "champion", None, None, key_hash(key), 0.0)
        champion = state.champion or self.default
        if state.phase == "Completed":
            return Route(state.version, state.version, "champion", None, None, key_hash(key), 0.0)
        if not state.active:
            return Route(champion, champion, "champion", None, None, key_hash(key), 0.0)
        to_challenger = share(key, state.id) < state.weight / 100.0
        return Route(
            state.version if to_challenger else champion,
            champion,
            "challenger" if to_challenger else "champion",
            state.id,
            state.step,
            key_hash(key),
            state.weight,
        )
