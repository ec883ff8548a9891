"""The audit log: an append-only, hash-chained JSONL file of everything that led to a release.

Each line is one :class:`AuditEntry` — ``seq``, ``ts``, ``kind``, ``payload``,
``prev_hash`` and ``hash`` — where ``hash`` is the SHA-256 of the canonical JSON of the
other five fields. Because every entry carries the hash of the one before it, editing,
reordering or deleting any entry breaks the chain from that entry on, and
:func:`verify_log` names the first one that does not hold.

Deleting the *last* entries leaves a valid but shorter chain. Three things catch that:

* **the head file** beside the log (``audit-log.jsonl.head``: the last seq and hash),
  rewritten by every append; deleting it with the lines defeats it;
* **anchors**: what other records say of the log. The registry and every verdict record
  the head they were written after (an :class:`AuditHead`), and may name the event they
  expect in the log (an :class:`EventRef`: a ``registration`` of ``v2``). The caller
  gathers them (:func:`posttrain.release.integrity.workspace_anchors`; this module knows
  no stage) and :func:`verify_log` checks the log still holds each one: a log cut short,
  deleted, or replaced with an older copy is reported with the seqs that are missing and
  the anchor that names them;
* **signed checkpoints** (optional): a ``checkpoint`` entry carries a signature over a
  head (:func:`checkpoint_bytes`), made with a key outside the log. A log rewritten
  whole, consistently, with its head file and anchors rewritten too, verifies everywhere
  except there. The signing is the caller's (:mod:`posttrain.release.integrity` uses the
  waiver key); :func:`verify_log` takes a :data:`CheckpointVerifier`.

``docs/THREAT_MODEL.md`` says what each of them detects and what needs the key.

Other stages record their events with :func:`append_event`::

    from posttrain.core.auditlog import append_event
    append_event(workspace.audit_log, "data_build", {"data_version": ..., "counts": ...})

Appends from several processes are serialised with a file lock. The format and
:func:`verify_log` live in :mod:`posttrain.core.auditchain`; import either from here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, ValidationError

from posttrain.core.auditchain import (
    CHECKPOINT_KIND,
    GENESIS_HASH,
    Anchor,
    AuditEntry,
    AuditHead,
    CheckpointStatus,
    CheckpointSummary,
    CheckpointVerifier,
    EventRef,
    LogProblem,
    VerifyResult,
    checkpoint_bytes,
    entry_hash,
    head_file,
    verify_log,
)
from posttrain.errors import InputError, UsageError

__all__ = [
    "CHECKPOINT_KIND",
    "EVENT_KINDS",
    "GENESIS_HASH",
    "Anchor",
    "AuditEntry",
    "AuditHead",
    "AuditLog",
    "CheckpointStatus",
    "CheckpointSummary",
    "CheckpointVerifier",
    "EventRef",
    "LogProblem",
    "VerifyResult",
    "append_checkpoint",
    "append_event",
    "checkpoint_bytes",
    "entry_hash",
    "read_entries",
    "read_head",
    "verify_log",
]

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
    CHECKPOINT_KIND,
)
_KIND_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_LOCK_TIMEOUT_S = 60.0


class AuditLog:
    """An audit log file; appends are locked, reads are not."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = head_file(self.path)
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

    def head(self) -> AuditHead:
        """The log's head now (seq 0 when it is empty or missing), read from its last line
        under the lock, not from the head file. Raises :class:`InputError` when that line
        cannot be read."""
        if not self.path.is_file():
            return AuditHead(seq=0, hash=GENESIS_HASH)
        with self._lock.acquire(timeout=_LOCK_TIMEOUT_S):
            seq, digest = self._tail()
        return AuditHead(seq=seq, hash=digest)

    def _tail(self) -> tuple[int, str]:
        if not self.path.is_file():
            return 0, GENESIS_HASH
        # Read from the end: an append must not cost a pass over the whole log.
        last = _last_line(self.path)
        if not last:
            return 0, GENESIS_HASH
        try:
            data = json.loads(last)
            return int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError):
            raise InputError(
                "the last entry of the audit log cannot be read, so the chain cannot go on",
                path=str(self.path),
                line=_last_line_number(self.path),
                hint="run `posttrain log verify` to see what is wrong; restore the log "
                "from a backup",
            ) from None

    def entries(self) -> list[AuditEntry]:
        return read_entries(self.path)

    def verify(self, anchors: Sequence[Anchor] = ()) -> VerifyResult:
        return verify_log(self.path, anchors)


def append_event(log_path: Path, kind: str, payload: dict[str, Any]) -> AuditEntry:
    """Append ``kind`` with ``payload`` to the audit log at ``log_path`` (created if new).

    This is the one call other stages use: ``append_event(ws.audit_log, "training_run",
    {"run_id": ..., "manifest_sha256": ...})``.
    """
    return AuditLog(log_path).append(kind, payload)


def read_head(log_path: Path) -> AuditHead:
    """The head of the log at ``log_path`` now: what a record written after it anchors
    (:class:`Anchor`). Raises :class:`InputError` when its last line cannot be read."""
    return AuditLog(log_path).head()


def append_checkpoint(log_path: Path, head: AuditHead, signature: dict[str, Any]) -> AuditEntry:
    """Append a ``checkpoint`` entry: ``signature`` over :func:`checkpoint_bytes` of
    ``head`` (a head of this log, already verified by the caller). Raises
    :class:`UsageError` for an empty head (there is nothing to sign)."""
    if head.seq < 1:
        raise UsageError("the audit log is empty: there is nothing to sign yet")
    return append_event(
        log_path, CHECKPOINT_KIND, {"head": head.model_dump(), "signature": signature}
    )


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


def _last_line(path: Path, block: int = 8192) -> bytes:
    """The last non-blank line of ``path`` (b"" when there is none), read from the end."""
    with path.open("rb") as source:
        pos = source.seek(0, os.SEEK_END)
        data = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            source.seek(pos)
            data = source.read(step) + data
            stripped = data.rstrip()
            if b"\n" in stripped:
                return stripped.rsplit(b"\n", 1)[1].strip()
        return data.strip()


def _last_line_number(path: Path) -> int:
    number = 0
    with path.open("rb") as source:
        for n, line in enumerate(source, start=1):
            if line.strip():
                number = n
    return number


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
