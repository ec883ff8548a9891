"""A version's configuration bundle: the workspace files it serves with, by content hash.

A model version is more than its weights: the contract it answers under, the gate policy
it was judged by, and the serve config (with its guard settings) it runs with. On
``posttrain registry register`` the registry records a :class:`Bundle` of those files —
each by sha256, its bytes stored once in a content-addressed :class:`BlobStore`
(``.posttrain/registry/blobs/<sha256>``) — and ``posttrain rollback`` puts the previous
version's whole bundle back (:func:`plan_restore`, :func:`apply_restore`).

What a bundle holds (paths relative to the workspace):

* ``contract``: ``contract.yaml`` (its ``gate:`` section, when it has one, with it);
* ``gate_policy``: ``gate.yaml``;
* ``serve_config``: ``serve.yaml``;
* ``guard``: the ``guard:`` section of ``serve.yaml`` as canonical JSON (listed on its own
  so ``registry show`` says whether the guard changed; restored with ``serve.yaml``).

A file that is absent is recorded as absent (``sha256: null``): restoring that bundle
removes the file (its bytes are kept as a blob first, so nothing is lost).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from posttrain.errors import InputError, UsageError

__all__ = [
    "BUNDLE_FILES",
    "BlobStore",
    "Bundle",
    "BundleEntry",
    "FileChange",
    "apply_restore",
    "capture_bundle",
    "plan_restore",
]

Role = Literal["contract", "gate_policy", "serve_config", "guard"]
# The files of a bundle, by role, relative to the workspace (restored in this order).
BUNDLE_FILES: dict[Role, str] = {
    "contract": "contract.yaml",
    "gate_policy": "gate.yaml",
    "serve_config": "serve.yaml",
}
GUARD_PATH = "serve.yaml#guard"


class BundleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    path: str
    # None: the file was absent when the version was registered.
    sha256: str | None


class Bundle(BaseModel):
    """The configuration a version was registered with."""

    model_config = ConfigDict(extra="forbid")

    entries: list[BundleEntry]

    def files(self) -> list[BundleEntry]:
        """The entries that are files of the workspace (what a restore writes)."""
        return [e for e in self.entries if e.role != "guard"]

    def get(self, role: Role) -> BundleEntry | None:
        return next((e for e in self.entries if e.role == role), None)


class FileChange(BaseModel):
    """One file a restore changes: its hash before and after (None: absent)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    before: str | None
    after: str | None
    # The current bytes were in no bundle (a local edit), kept as blob `before` (--force).
    local_edit: bool = False


class BlobStore:
    """Content-addressed copies: ``<root>/<sha256>``, written once, checked on read."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store ``data`` (atomically; a no-op when already there); returns its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / sha
        if path.is_file():
            return sha
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{sha}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        return sha

    def get(self, sha: str) -> bytes:
        """The bytes stored under ``sha``; :class:`InputError` when missing or altered."""
        path = self.root / sha
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"the registry's copy of a bundle file is missing: {exc.strerror}",
                path=str(path),
                hint="restore .posttrain/registry/blobs from a backup; the registry records "
                "every bundle file by hash and needs its bytes to roll back",
            ) from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise InputError(
                "the registry's copy of a bundle file was altered (its sha256 differs)",
                path=str(path),
                hint="restore .posttrain/registry/blobs from a backup",
            )
        return data


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None


def _guard_json(serve_yaml: bytes | None) -> bytes:
    """The ``guard:`` section of serve.yaml as canonical JSON (``{}``: the defaults; also
    for a serve.yaml that does not parse, whose own entry records its bytes)."""
    import yaml

    section: object = {}
    if serve_yaml is not None:
        try:
            data = yaml.safe_load(serve_yaml.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("guard"), dict):
            section = data["guard"]
    return json.dumps(section, sort_keys=True, ensure_ascii=False, default=str).encode()


def capture_bundle(workspace: Path, store: BlobStore) -> Bundle:
    """Hash and store the workspace's bundle files as they are now."""
    workspace = Path(workspace)
    entries: list[BundleEntry] = []
    contents: dict[Role, bytes | None] = {}
    for role, rel in BUNDLE_FILES.items():
        data = _read(workspace / rel)
        contents[role] = data
        entries.append(
            BundleEntry(role=role, path=rel, sha256=store.put(data) if data is not None else None)
        )
    guard = store.put(_guard_json(contents["serve_config"]))
    entries.append(BundleEntry(role="guard", path=GUARD_PATH, sha256=guard))
    return Bundle(entries=entries)


def _current_sha(path: Path) -> str | None:
    data = _read(path)
    return hashlib.sha256(data).hexdigest() if data is not None else None


def plan_restore(
    workspace: Path, target: Bundle, known: Iterable[Bundle], *, force: bool = False
) -> list[FileChange]:
    """What restoring ``target`` changes in ``workspace``.

    A file whose current bytes are in none of the ``known`` bundles (every registered
    version's) was edited locally: :class:`UsageError` naming it, unless ``force`` (then
    it is marked ``local_edit`` and kept as a blob by :func:`apply_restore`).
    """
    workspace = Path(workspace)
    seen: dict[str, set[str | None]] = {}
    for bundle in [target, *known]:
        for e in bundle.files():
            seen.setdefault(e.path, set()).add(e.sha256)
    changes: list[FileChange] = []
    edited: list[str] = []
    for entry in target.files():
        now = _current_sha(workspace / entry.path)
        if now == entry.sha256:
            continue
        local = now not in seen.get(entry.path, set())
        if local:
            edited.append(f"{entry.path} (sha256 {now[:12] if now else 'absent'})")
        changes.append(
            FileChange(path=entry.path, before=now, after=entry.sha256, local_edit=local)
        )
    if edited and not force:
        raise UsageError(
            "local edits that no registered version's bundle holds would be overwritten: "
            + ", ".join(edited),
            hint="register them with a version, undo them, or pass --force (the edited "
            "bytes are kept in .posttrain/registry/blobs and named in the audit event)",
        )
    return changes


def apply_restore(workspace: Path, store: BlobStore, changes: Iterable[FileChange]) -> None:
    """Write the changes: every new file is staged (written and fsynced beside its target)
    before the first one replaces its target, so a missing or altered blob changes
    nothing; each replacement is an atomic rename. The current bytes of every changed
    file are stored as a blob first (a local edit is never lost)."""
    workspace = Path(workspace)
    changes = list(changes)
    staged: list[tuple[Path, Path | None]] = []
    try:
        for change in changes:
            target = workspace / change.path
            current = _read(target)
            if current is not None:
                store.put(current)
            if change.after is None:
                staged.append((target, None))
                continue
            data = store.get(change.after)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.restore")
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            staged.append((target, tmp))
    except BaseException:
        for _, written in staged:
            if written is not None:
                written.unlink(missing_ok=True)
        raise
    for target, written in staged:
        if written is None:
            target.unlink(missing_ok=True)
        else:
            written.replace(target)
