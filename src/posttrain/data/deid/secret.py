"""The workspace secret that keys the ``hash`` retention action (HMAC-SHA256).

Where it lives: ``<workspace>/.posttrain/deid.key`` (32 random bytes, hex), outside
``data/`` so no dataset, manifest or datasheet ever carries it, and git-ignored with the
rest of ``.posttrain/`` (the workspace's ``.gitignore``). It is created, mode 0600, the
first time a build hashes something, and read on every later build: the same phone
number gets the same token in every build of the workspace. ``$POSTTRAIN_DEID_KEY``,
when set, is used instead (one key shared by several workspaces, or kept in a vault).

Losing the file only means later builds hash to other tokens; copying it to another
workspace links its tokens with this one's. Anyone holding it can test guesses (is this
token 138-0013-8000?), so it is treated like a password: never committed, never logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from posttrain.errors import ConfigError

__all__ = ["KEY_ENV", "KEY_FILE", "load_key"]

KEY_ENV = "POSTTRAIN_DEID_KEY"
KEY_FILE = Path(".posttrain") / "deid.key"


def load_key(workspace: Path | None, env: str = KEY_ENV) -> bytes:
    """The HMAC key: ``$env`` if set, else the workspace's key file (created if missing).

    Raises :class:`ConfigError` when neither is available (no workspace to keep a key in)
    or the key file cannot be read or created.
    """
    value = os.environ.get(env, "")
    if value:
        return value.encode()
    if workspace is None:
        raise ConfigError(
            f"the de-identification policy hashes some entities but ${env} is not set "
            "and no workspace holds a key",
            hint=f"run the data build in a workspace (its {KEY_FILE} is created on first "
            f"use), export {env}=<a long random secret>, or use the action 'placeholder'",
        )
    path = workspace / KEY_FILE
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another build created it just now: read that one
            else:
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(secrets.token_hex(32) + "\n")
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read or create the de-identification key {path}: {exc}",
            hint=f"make {path.parent} writable, or export {env}=<a long random secret>",
        ) from None
    if len(key) < 32:
        raise ConfigError(
            f"the de-identification key {path} is too short ({len(key)} characters)",
            hint="delete it to have a new one created (earlier hashes will not match), "
            f"or export {env}=<a long random secret>",
        )
    return key.encode()
