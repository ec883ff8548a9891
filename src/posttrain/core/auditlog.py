"""The audit log: an append-only, hash-chained JSONL file of everything that led to a release.

Each line is one :class:`AuditEntry` — ``seq``, ``ts``, ``kind``, ``payload``,
``prev_hash`` and ``hash`` — where ``hash`` is the SHA-256 of the canonical JSON of the
other five fields. Because every entry carries the hash of the one before it, editing,
reordering or deleting any entry breaks the chain from that entry on, and
:func:`verify_log` names the first one that does not hold.

Deleting the *last* entries leaves a valid but shorter chain, so every append also writes a
small head file beside the log (``audit-log.jsonl.head``: the last seq and hash);
:func:`verify_log` checks the log reaches it. Someone who rewrites the log, recomputes every
hash and the head file is not caught by this file alone: anchor the head hash elsewhere
(a commit, a ticket) when that matters.

Other stages record their events with :func:`append_event`::

    from posttrain.core.auditlog import append_event
    append_event(workspace.audit_log, "data_build", {"data_version": ..., "counts": ...})

Appends from several processes are serialised with a file lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.errors import InputError, UsageError

__all__ = [
    "EVENT_KINDS",
    "GENESIS_HASH",
    "AuditEntry",
    "AuditLog",
    "VerifyResult",
    "append_event",
    "entry_hash",
    "read_entries",
    "verify_log",
]

GENESIS_HASH = "0" * 64
SCHEMA_VERSION = 1
# The kinds posttrain itself writes; other kinds are allowed (lower-case identifiers).
EVENT_KINDS = (
    "data_build",
    "training_run",
    "evaluation",
    "gate_verdict",
    "waiver",
    "registration",
    "promotion",
    "rollback",
    "alias",
    "rollout",
)
_KIND_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_LOCK_TIMEOUT_S = 60.0


class AuditEntry(BaseModel):
    """One line of the audit log."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    ts: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyResult(BaseModel):
    """What :func:`verify_log` found: ``ok``, or the first bad entry and why."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    path: str
    ok: bool
    entries: int
    # The first entry that does not hold: its seq as the line claims it (None when the
    # line cannot be read), its line number (1-based) and what is wrong.
    bad_seq: int | None = None
    bad_line: int | None = None
    reason: str | None = None
    head_hash: str | None = None


def entry_hash(seq: int, ts: str, kind: str, payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces) of an entry's fields."""
    body = {"seq": seq, "ts": ts, "kind": kind, "payload": payload, "prev_hash": prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    """An audit log file; appends are locked, reads are not."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock = FileLock(str(self.path.with_name(self.path.name + ".lock")))

    def append(self, kind: str, payload: dict[str, Any]) -> AuditEntry:
        """Append one event and return the entry written.

        Raises :class:`UsageError` for a malformed kind or a payload that is not JSON,
        and :class:`InputError` when the last line of the log cannot be read (the chain
        cannot be continued from a broken tail; run ``posttrain log verify``).
        """
        if not _KIND_RE.match(kind):
            raise UsageError(
                f"audit event kind {kind!r} is not a lower-case identifier",
                hint=f"use one of {', '.join(EVENT_KINDS)} or a similar name",
            )
        try:
            # Round-trip so what is hashed is exactly what a reader will load back.
            clean = json.loads(json.dumps(payload, ensure_ascii=False, default=_default))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"audit payload for {kind!r} is not JSON: {exc}") from None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock.acquire(timeout=_LOCK_TIMEOUT_S):
            seq, prev = self._tail()
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            digest = entry_hash(seq + 1, ts, kind, clean, prev)
            entry = AuditEntry(
                seq=seq + 1, ts=ts, kind=kind, payload=clean, prev_hash=prev, hash=digest
            )
            line = json.dumps(entry.model_dump(), ensure_ascii=False, separators=(",", ":"))
            with self.path.open("a", encoding="utf-8") as sink:
                sink.write(line + "\n")
                sink.flush()
                os.fsync(sink.fileno())
            tmp = self.head_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seq": entry.seq, "hash": digest}) + "\n", "utf-8")
            tmp.replace(self.head_path)
        return entry

    def _tail(self) -> tuple[int, str]:
        if not self.path.is_file():
            return 0, GENESIS_HASH
        last, lineno = "", 0
        with self.path.open(encoding="utf-8") as source:
            for number, line in enumerate(source, start=1):
                if line.strip():
                    last, lineno = line, number
        if not last:
            return 0, GENESIS_HASH
        try:
            data = json.loads(last)
            return int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError):
            raise InputError(
                "the last entry of the audit log cannot be read, so the chain cannot go on",
                path=str(self.path),
                line=lineno,
                hint="run `posttrain log verify` to see what is wrong; restore the log "
                "from a backup",
            ) from None

    def entries(self) -> list[AuditEntry]:
        return read_entries(self.path)

    def verify(self) -> VerifyResult:
        return verify_log(self.path)


def append_event(log_path: Path, kind: str, payload: dict[str, Any]) -> AuditEntry:
    """Append ``kind`` with ``payload`` to the audit log at ``log_path`` (created if new).

    This is the one call other stages use: ``append_event(ws.audit_log, "training_run",
    {"run_id": ..., "manifest_sha256": ...})``.
    """
    return AuditLog(log_path).append(kind, payload)


def read_entries(path: Path) -> list[AuditEntry]:
    """Every entry of a log; raises :class:`InputError` naming the first unreadable line."""
    entries: list[AuditEntry] = []
    if not Path(path).is_file():
        return entries
    for lineno, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(AuditEntry.model_validate_json(line))
        except ValidationError as exc:
            raise InputError(
                f"not an audit entry: {exc.errors()[0]['msg']}",
                path=str(path),
                line=lineno,
                hint="run `posttrain log verify`",
            ) from None
    return entries


def verify_log(path: Path) -> VerifyResult:
    """Walk the chain and report the first entry that is edited, out of order or missing.

    Checks, line by line: the line is a valid entry; its seq is one more than the line
    before (a deleted or moved entry shows up here); its ``prev_hash`` is the hash of the
    line before; its ``hash`` matches its content (an edit shows up here). Finally the log
    must reach the head file (entries cut off the end). A missing log verifies as empty.
    """
    path = Path(path)
    if not path.is_file():
        head = _read_head(path)
        if head is not None:
            reason = f"the log is missing but its head file records seq {head.get('seq')}"
            return _bad(path, 0, 1, None, reason)
        return VerifyResult(path=str(path), ok=True, entries=0)
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    raw = path.read_bytes()
    for lineno, raw_line in enumerate(raw.split(b"\n"), start=1):
        if not raw_line.strip():
            continue
        claimed_seq: int | None = None
        try:
            data = json.loads(raw_line.decode("utf-8"))
            if isinstance(data, dict) and isinstance(data.get("seq"), int):
                claimed_seq = data["seq"]
            entry = AuditEntry.model_validate(data)
        except (UnicodeDecodeError, ValueError, ValidationError) as exc:
            reason = f"line is not a valid audit entry ({type(exc).__name__})"
            return _bad(path, count, claimed_seq, lineno, reason)
        if entry.seq != expected_seq:
            reason = (
                f"seq {entry.seq} where {expected_seq} was expected: an entry was deleted, "
                "inserted or moved here"
            )
            return _bad(path, count, entry.seq, lineno, reason)
        if entry.prev_hash != prev_hash:
            reason = "prev_hash does not match the entry before: the chain is broken here"
            return _bad(path, count, entry.seq, lineno, reason)
        actual = entry_hash(entry.seq, entry.ts, entry.kind, entry.payload, entry.prev_hash)
        if actual != entry.hash:
            reason = "content does not match its hash: this entry was edited"
            return _bad(path, count, entry.seq, lineno, reason)
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    head = _read_head(path)
    if head is not None and (head.get("seq"), head.get("hash")) != (count, prev_hash):
        reason = (
            f"the log ends at seq {count} but its head file records seq {head.get('seq')}: "
            "entries were cut off the end (or the head file was changed)"
        )
        return _bad(path, count, count + 1, None, reason)
    return VerifyResult(path=str(path), ok=True, entries=count, head_hash=prev_hash)


def _bad(path: Path, count: int, seq: int | None, line: int | None, reason: str) -> VerifyResult:
    return VerifyResult(
        path=str(path), ok=False, entries=count, bad_seq=seq, bad_line=line, reason=reason
    )


def _read_head(path: Path) -> dict[str, Any] | None:
    head = path.with_name(path.name + ".head")
    try:
        data = json.loads(head.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
