"""API keys of the gateway: created once, stored hashed, checked on every request.

``<workspace>/.posttrain/keys.json`` holds, per key, its name, scope, the SHA-256 of the
key and its first characters (to tell keys apart in a listing); never the key itself.
A key is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 is as hard to
reverse as the key is to guess: no slow password hash is needed. Scopes: ``chat`` (the
OpenAI endpoints and feedback) and ``admin`` (everything, the admin endpoints too).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.errors import InputError, UsageError

__all__ = ["KEY_PREFIX", "ApiKey", "CreatedKey", "KeyFile", "KeyStore", "Scope", "grants"]

Scope = Literal["chat", "admin"]
KEY_PREFIX = "pt-"
KEYS_FILE = "keys.json"
# What each scope may do: admin includes chat.
_GRANTS: dict[str, frozenset[str]] = {
    "chat": frozenset({"chat"}),
    "admin": frozenset({"chat", "admin"}),
}


def grants(scope: str, needed: str) -> bool:
    """Whether a key of ``scope`` may do what needs ``needed``."""
    return needed in _GRANTS.get(scope, frozenset())


class ApiKey(BaseModel):
    """One stored key (its hash, never the key)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    scope: Scope
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    prefix: str
    created_at: str
    revoked: bool = False


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    keys: list[ApiKey] = Field(default_factory=list)


class CreatedKey(BaseModel):
    """What ``keys create`` prints, once."""

    model_config = ConfigDict(extra="forbid")

    name: str
    scope: Scope
    key: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The keys file of a workspace (``.posttrain/keys.json``)."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = Path(cache_dir) / KEYS_FILE
        self._lock = FileLock(str(self.path) + ".lock")
        self._by_hash: dict[str, ApiKey] = {}
        self.reload()

    def read(self) -> KeyFile:
        if not self.path.is_file():
            return KeyFile()
        try:
            return KeyFile.model_validate_json(self.path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as exc:
            raise InputError(
                f"the keys file does not validate: {str(exc).splitlines()[0]}",
                path=str(self.path),
                hint="it was edited by hand; restore it, or delete it and create keys again",
            ) from None

    def reload(self) -> int:
        """Read the file again (after `keys create` elsewhere); returns the active keys."""
        self._by_hash = {k.sha256: k for k in self.read().keys if not k.revoked}
        return len(self._by_hash)

    def __len__(self) -> int:
        return len(self._by_hash)

    def create(self, name: str, scope: Scope) -> CreatedKey:
        """A new key named ``name``; raises :class:`UsageError` when the name is taken."""
        if scope not in _GRANTS:
            raise UsageError(f"unknown scope {scope!r}", hint="use chat or admin")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            entry = ApiKey(
                name=name,
                scope=scope,
                sha256=_digest(key),
                prefix=key[:8],
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        except ValidationError:
            raise UsageError(
                f"invalid key name {name!r}",
                hint="use 1-64 letters, digits, or . _ @ -",
            ) from None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            current = self.read()
            if any(k.name == name and not k.revoked for k in current.keys):
                raise UsageError(
                    f"a key named {name!r} exists",
                    hint=f"choose another name, or `posttrain keys revoke {name}` first",
                )
            current.keys.append(entry)
            self._write(current)
        self.reload()
        return CreatedKey(name=name, scope=scope, key=key)

    def revoke(self, name: str) -> ApiKey:
        """Mark the key ``name`` revoked; raises :class:`UsageError` when there is none."""
        with self._lock:
            current = self.read()
            for k in current.keys:
                if k.name == name and not k.revoked:
                    k.revoked = True
                    self._write(current)
                    self.reload()
                    return k
        raise UsageError(f"no active key named {name!r}", hint="see `posttrain keys list`")

    def _write(self, data: KeyFile) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data.model_dump_json(indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def authenticate(self, key: str) -> ApiKey | None:
        """The active key ``key`` is, or None."""
        if not key.startswith(KEY_PREFIX):
            return None
        digest = _digest(key)
        found = self._by_hash.get(digest)
        # The dict lookup already matched; compare_digest keeps the final check constant-time.
        if found is not None and hmac.compare_digest(found.sha256, digest):
            return found
        return None
