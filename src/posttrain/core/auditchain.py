"""The audit log's format and its verification: entries, heads, anchors, checkpoints.

:mod:`posttrain.core.auditlog` writes the log and re-exports everything here; read its
docstring first. This module holds what a reader needs to check a log without writing
to it: the entry and its hash (:func:`entry_hash`), the head a record outside the log
anchors (:class:`AuditHead`, :class:`Anchor`), what a checkpoint signs
(:func:`checkpoint_bytes`) and :func:`verify_log`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "CHECKPOINT_KIND",
    "GENESIS_HASH",
    "Anchor",
    "AuditEntry",
    "AuditHead",
    "CheckpointStatus",
    "CheckpointSummary",
    "CheckpointVerifier",
    "EventRef",
    "LogProblem",
    "VerifyResult",
    "checkpoint_bytes",
    "entry_hash",
    "head_file",
    "verify_log",
]

GENESIS_HASH = "0" * 64
SCHEMA_VERSION = 2
CHECKPOINT_KIND = "checkpoint"
_CHECKPOINT_PURPOSE = b"posttrain-audit-checkpoint:v1\n"

CheckpointStatus = Literal["valid", "invalid", "unverifiable"]
# (the bytes that were signed, the checkpoint's signature record) -> status and why.
# "unverifiable": no key here to check it with (verify then says checkpoints were not
# checked); "invalid": the signature is wrong (the log was rewritten).
CheckpointVerifier = Callable[[bytes, dict[str, Any]], tuple[CheckpointStatus, str]]


class AuditEntry(BaseModel):
    """One line of the audit log."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    ts: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditHead(BaseModel):
    """A point of the log: the seq and hash of its last entry then (seq 0: the empty log)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    hash: str


class EventRef(BaseModel):
    """An event an anchor expects in the log: its kind and payload fields that must match
    (``{"kind": "registration", "match": {"version": "v2"}}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    match: dict[str, Any] = Field(default_factory=dict)


class Anchor(BaseModel):
    """What a record outside the log says of it: the ``head`` it was written after (the
    log must hold that seq with that hash) and/or an ``event`` it expects (after
    ``head.seq`` when both are given: a verdict's own ``gate_verdict``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Who says so, as a user would find it: "registry .posttrain/registry/registry.json".
    source: str
    head: AuditHead | None = None
    event: EventRef | None = None


class LogProblem(BaseModel):
    """One thing that does not hold: what found it, the entries concerned, and why."""

    model_config = ConfigDict(extra="forbid")

    source: str
    # The first entry concerned (missing, rewritten or badly signed); None when unknown.
    seq: int | None = None
    # The seqs known to be missing, first to last (None when nothing is known missing).
    missing_from: int | None = None
    missing_to: int | None = None
    message: str


class CheckpointSummary(BaseModel):
    """The signed checkpoints found, and whether their signatures could be checked."""

    model_config = ConfigDict(extra="forbid")

    count: int = 0
    verified: int = 0
    # Every checkpoint's signature was checked with a key (False: no key, or none found).
    checked: bool = False
    # The last seq a verified checkpoint covers (None: none verified).
    covered_seq: int | None = None
    note: str = ""


class VerifyResult(BaseModel):
    """What :func:`verify_log` found: ``ok``, or the first bad entry and why."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    path: str
    ok: bool
    entries: int
    # The first entry that does not hold: its seq as the line claims it (None when the
    # line cannot be read), its line number (1-based) and what is wrong. For a log cut
    # short or replaced, the first missing seq and the first problem's message.
    bad_seq: int | None = None
    bad_line: int | None = None
    reason: str | None = None
    head_hash: str | None = None
    # How many anchors were checked, and every problem found (the chain, the head file,
    # anchors, checkpoints), first seq first.
    anchors: int = 0
    problems: list[LogProblem] = Field(default_factory=list)
    # All seqs known to be missing, first to last (None when none are).
    missing_from: int | None = None
    missing_to: int | None = None
    checkpoints: CheckpointSummary = Field(default_factory=CheckpointSummary)

    @property
    def exit_code(self) -> int:
        """0 the log verifies, 1 it does not."""
        return 0 if self.ok else 1


def entry_hash(seq: int, ts: str, kind: str, payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces) of an entry's fields."""
    body = {"seq": seq, "ts": ts, "kind": kind, "payload": payload, "prev_hash": prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def checkpoint_bytes(head: AuditHead) -> bytes:
    """What a checkpoint signs: a fixed purpose line and the head's canonical JSON (so a
    signature made for a waiver never passes for a checkpoint)."""
    body = json.dumps({"hash": head.hash, "seq": head.seq}, sort_keys=True, separators=(",", ":"))
    return _CHECKPOINT_PURPOSE + body.encode("utf-8")


def head_file(log_path: Path) -> Path:
    """The head file beside a log: ``audit-log.jsonl.head`` (the last seq and hash)."""
    return log_path.with_name(log_path.name + ".head")


def verify_log(
    path: Path,
    anchors: Sequence[Anchor] = (),
    *,
    checkpoints: CheckpointVerifier | None = None,
    require_checkpoint: bool = False,
) -> VerifyResult:
    """Walk the chain, then hold the log to its head file, to ``anchors`` and to its
    signed checkpoints; report every entry that is edited, out of order or missing.

    Checks, line by line: the line is a valid entry; its seq is one more than the line
    before (a deleted or moved entry shows up here); its ``prev_hash`` is the hash of the
    line before; its ``hash`` matches its content (an edit shows up here); a broken chain
    is reported alone. Then: the log reaches its head file; it holds every anchor's head
    (that seq, that hash) and event; every checkpoint signs a head of this chain, and,
    with ``checkpoints`` (a verifier that has the key), its signature is valid.
    ``require_checkpoint``: also fail when no checkpoint could be verified (a log
    rewritten whole with its checkpoints dropped). A missing log with nothing that
    anchors it verifies as empty.
    """
    path = Path(path)
    walked = _walk_chain(path)
    if isinstance(walked, VerifyResult):
        return walked
    entries = walked
    hashes = [e.hash for e in entries]
    exists = path.is_file()
    problems = _head_file_problems(path, hashes, exists)
    problems += [p for a in anchors if (p := _anchor_problem(a, entries, exists)) is not None]
    summary, signed = _check_checkpoints(entries, checkpoints, require_checkpoint)
    problems += signed
    head_hash = hashes[-1] if hashes else None
    if not problems:
        return VerifyResult(
            path=str(path),
            ok=True,
            entries=len(entries),
            head_hash=head_hash,
            anchors=len(anchors),
            checkpoints=summary,
        )
    # First seq first; at one seq, the problem that says which seqs are missing first.
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.missing_to is None))
    first = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    starts = [p.missing_from for p in problems if p.missing_from is not None]
    ends = [p.missing_to for p in problems if p.missing_to is not None]
    return VerifyResult(
        path=str(path),
        ok=False,
        entries=len(entries),
        bad_seq=first.seq,
        reason=first.message + more,
        head_hash=head_hash,
        anchors=len(anchors),
        problems=problems,
        missing_from=min(starts) if starts else None,
        missing_to=max(ends) if ends else None,
        checkpoints=summary,
    )


# -- verification steps -------------------------------------------------------------------


def _walk_chain(path: Path) -> list[AuditEntry] | VerifyResult:
    """The entries, or the result naming the first line that breaks the chain."""
    if not path.is_file():
        return []
    entries: list[AuditEntry] = []
    prev_hash, expected_seq = GENESIS_HASH, 1
    for lineno, raw_line in enumerate(path.read_bytes().split(b"\n"), start=1):
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
            return _broken(path, len(entries), claimed_seq, lineno, reason)
        if entry.seq != expected_seq:
            reason = (
                f"seq {entry.seq} where {expected_seq} was expected: an entry was deleted, "
                "inserted or moved here"
            )
            return _broken(path, len(entries), entry.seq, lineno, reason)
        if entry.prev_hash != prev_hash:
            reason = "prev_hash does not match the entry before: the chain is broken here"
            return _broken(path, len(entries), entry.seq, lineno, reason)
        actual = entry_hash(entry.seq, entry.ts, entry.kind, entry.payload, entry.prev_hash)
        if actual != entry.hash:
            reason = "content does not match its hash: this entry was edited"
            return _broken(path, len(entries), entry.seq, lineno, reason)
        entries.append(entry)
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    return entries


def _broken(path: Path, count: int, seq: int | None, line: int, reason: str) -> VerifyResult:
    problem = LogProblem(source=f"line {line}", seq=seq, message=reason)
    return VerifyResult(
        path=str(path),
        ok=False,
        entries=count,
        bad_seq=seq,
        bad_line=line,
        reason=reason,
        problems=[problem],
    )


def _head_file_problems(path: Path, hashes: list[str], exists: bool) -> list[LogProblem]:
    head = _read_head_file(path)
    if head is None:
        return []
    count, source = len(hashes), f"head file {path.name}.head"
    seq, digest = head.get("seq"), head.get("hash")
    if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
        return [LogProblem(source=source, message="the head file cannot be read")]
    if seq > count:
        where = "the log is missing" if not exists else f"the log ends at seq {count}"
        return [
            LogProblem(
                source=source,
                seq=count + 1,
                missing_from=count + 1,
                missing_to=seq,
                message=f"{where} but its head file records seq {seq}: "
                f"{_seqs(count + 1, seq)} missing: entries were cut off the end "
                "(or the head file was changed)",
            )
        ]
    if seq == count and (hashes[-1] if hashes else GENESIS_HASH) == digest:
        return []
    if seq == count or (seq >= 1 and hashes[seq - 1] != digest):
        message = (
            f"the head file records seq {seq} with hash {digest[:12]}, but entry seq {seq} "
            "has another: the log was rewritten (or the head file was changed)"
        )
        return [LogProblem(source=source, seq=seq or None, message=message)]
    # The log goes on past its head: appended to by something other than posttrain, or the
    # head file was put back from an older copy. The chain itself holds.
    message = (
        f"the log goes on to seq {count} past its head file (seq {seq}): entries were "
        "appended outside posttrain, or the head file was restored from an older copy"
    )
    return [LogProblem(source=source, seq=seq + 1, message=message)]


def _anchor_problem(anchor: Anchor, entries: list[AuditEntry], exists: bool) -> LogProblem | None:
    count = len(entries)
    where = (
        "the log is missing"
        if not exists
        else f"the log ends at seq {count}"
        if count
        else "the log is empty"
    )
    head = anchor.head
    if head is not None and head.seq > count:
        return LogProblem(
            source=anchor.source,
            seq=count + 1,
            missing_from=count + 1,
            missing_to=head.seq,
            message=f"{where}, but {anchor.source} was written after seq {head.seq} "
            f"(hash {head.hash[:12]}): {_seqs(count + 1, head.seq)} missing: cut off the "
            "end, deleted, or the log was replaced with an older copy",
        )
    if head is not None and head.seq >= 1 and entries[head.seq - 1].hash != head.hash:
        return LogProblem(
            source=anchor.source,
            seq=head.seq,
            message=f"entry seq {head.seq} has hash {entries[head.seq - 1].hash[:12]}, but "
            f"{anchor.source} was written after seq {head.seq} with hash {head.hash[:12]}: "
            f"the log was rewritten at or before seq {head.seq}, or replaced with another",
        )
    event = anchor.event
    if event is None:
        return None
    after = head.seq if head is not None else 0
    for entry in entries[after:]:
        if entry.kind == event.kind and all(
            entry.payload.get(k) == v for k, v in event.match.items()
        ):
            return None
    fields = ", ".join(f"{k}={v}" for k, v in event.match.items())
    wanted = f"a `{event.kind}` event" + (f" with {fields}" if fields else "")
    wanted += f" after seq {after}" if after else ""
    found = where if count <= after else f"{where} and holds none"
    return LogProblem(
        source=anchor.source,
        seq=count + 1 if count <= after else None,
        message=f"{anchor.source} expects {wanted}, but {found}: it was cut off, deleted, "
        "or the log was rewritten or replaced with an older copy",
    )


def _check_checkpoints(
    entries: list[AuditEntry], verifier: CheckpointVerifier | None, require: bool
) -> tuple[CheckpointSummary, list[LogProblem]]:
    problems: list[LogProblem] = []
    marks = [e for e in entries if e.kind == CHECKPOINT_KIND]
    verified, covered, unchecked = 0, None, None
    for mark in marks:
        source = f"checkpoint seq {mark.seq}"
        signature = mark.payload.get("signature")
        try:
            head = AuditHead.model_validate(mark.payload.get("head"))
        except ValidationError:
            head = None
        if head is None or not isinstance(signature, dict):
            problems.append(
                LogProblem(source=source, seq=mark.seq, message=f"{source} is malformed")
            )
            continue
        if not 1 <= head.seq < mark.seq or entries[head.seq - 1].hash != head.hash:
            # Caught without the key: the chain was rewritten under a checkpoint left as is.
            problems.append(
                LogProblem(
                    source=source,
                    seq=head.seq if 1 <= head.seq < mark.seq else mark.seq,
                    message=f"{source} signs seq {head.seq} with hash {head.hash[:12]}, which "
                    "is not an entry of this log before it: the log was rewritten after "
                    "it was signed",
                )
            )
            continue
        if verifier is None:
            unchecked = "no key was given to check them with"
            continue
        status, why = verifier(checkpoint_bytes(head), signature)
        if status == "valid":
            verified, covered = verified + 1, head.seq
        elif status == "unverifiable":
            unchecked = why
        else:
            problems.append(
                LogProblem(
                    source=source,
                    seq=mark.seq,
                    message=f"{source} (signing seq {head.seq}): {why}; its chain holds, so "
                    "the log was rewritten whole after it was signed",
                )
            )
    summary = CheckpointSummary(count=len(marks), verified=verified, covered_seq=covered)
    summary.checked = bool(marks) and unchecked is None and verifier is not None
    if not marks:
        summary.note = "no signed checkpoints (`posttrain log checkpoint` signs the head)"
    elif unchecked is not None:
        summary.note = f"{len(marks)} checkpoint(s) not checked: {unchecked}"
    elif covered is not None:
        after = len(entries) - covered
        summary.note = f"{verified} of {len(marks)} checkpoint signature(s) valid; the last "
        summary.note += f"covers seq {covered}" + (f", {after} entries after it" if after else "")
    else:
        summary.note = f"{len(marks)} checkpoint(s), none valid"
    if require and not verified:
        why = (
            "the log has no checkpoint"
            if not marks
            else f"no checkpoint signature could be checked ({unchecked})"
            if unchecked
            else "no checkpoint signature is valid"
        )
        problems.append(
            LogProblem(
                source="checkpoints",
                message=f"a verified signed checkpoint is required, but {why}: a log "
                "rewritten whole with its checkpoints dropped looks like this",
            )
        )
    return summary, problems


def _seqs(first: int, last: int) -> str:
    return f"seq {first} is" if first == last else f"seqs {first} to {last} are"


def _read_head_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(head_file(path).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
