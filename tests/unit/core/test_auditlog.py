"""The hash-chained audit log: any edited, reordered or deleted entry is named; entries cut
off the end, a deleted log or an older copy are named against anchors; a log rewritten
whole is caught by its signed checkpoints."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import multiprocessing as mp
import shutil
from pathlib import Path
from typing import Any

import pytest

from posttrain.core.auditlog import (
    Anchor,
    AuditHead,
    AuditLog,
    CheckpointStatus,
    EventRef,
    append_checkpoint,
    append_event,
    checkpoint_bytes,
    entry_hash,
    read_entries,
    read_head,
    verify_log,
)
from posttrain.errors import UsageError

KINDS = ["data_build", "training_run", "evaluation", "gate_verdict", "waiver", "promotion"]


def fill(path: Path, n: int = 6) -> None:
    for i in range(n):
        append_event(path, KINDS[i % len(KINDS)], {"i": i, "note": f"event number {i}", "ok": True})


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_appends_chain_and_verify(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    entries = read_entries(log)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    result = verify_log(log)
    assert result.ok and result.entries == 6 and result.head_hash == entries[-1].hash


def test_missing_log_verifies_as_empty_unless_its_head_remains(tmp_path: Path) -> None:
    result = verify_log(tmp_path / "none.jsonl")
    assert result.ok and result.entries == 0
    log = tmp_path / "audit-log.jsonl"
    fill(log, 2)
    log.unlink()
    result = verify_log(log)
    assert not result.ok and "missing" in (result.reason or "")


def _flip_byte(path: Path, offset: int) -> None:
    """Change one byte, keeping digits digits and letters letters (the quietest edit)."""
    data = bytearray(path.read_bytes())
    old = chr(data[offset])
    new = str((int(old) + 1) % 10) if old.isdigit() else "b" if old == "a" else "a"
    data[offset] = ord(new)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "field", ["payload_text", "payload_number", "ts", "kind", "hash", "prev_hash"]
)
def test_changing_one_byte_names_the_entry(tmp_path: Path, field: str) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    third = lines(log)[2].decode()
    start = sum(len(line) for line in lines(log)[:2])
    entry = json.loads(third)
    needle = {
        "payload_text": "event number 2",
        "payload_number": '"i":2',
        "ts": entry["ts"][-6:],
        "kind": entry["kind"],
        "hash": entry["hash"][10:20],
        "prev_hash": entry["prev_hash"][10:20],
    }[field]
    offset = start + third.index(needle) + len(needle) - 1
    _flip_byte(log, offset)
    assert lines(log)[2] != third.encode()
    result = verify_log(log)
    assert not result.ok
    assert (result.bad_seq, result.bad_line) == (3, 3), result
    assert result.entries == 2


def test_deleted_entry_is_named(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    kept = lines(log)
    log.write_bytes(b"".join(kept[:3] + kept[4:]))
    result = verify_log(log)
    assert not result.ok
    assert (result.bad_seq, result.bad_line) == (5, 4)
    assert "where 4 was expected" in (result.reason or "")


def test_reordered_entries_are_named(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    kept = lines(log)
    kept[1], kept[2] = kept[2], kept[1]
    log.write_bytes(b"".join(kept))
    result = verify_log(log)
    assert (result.ok, result.bad_seq, result.bad_line) == (False, 3, 2)


def test_cut_off_tail_is_detected_by_the_head_file(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    log.write_bytes(b"".join(lines(log)[:4]))
    result = verify_log(log)
    assert not result.ok
    assert result.bad_seq == 5
    assert "cut off" in (result.reason or "")


def test_appending_after_a_broken_tail_refuses(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log, 2)
    with log.open("a") as f:
        f.write('{"seq": 3, "broken\n')
    with pytest.raises(Exception, match="line 3"):
        append_event(log, "rollback", {})


def test_bad_kind_and_payload(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="lower-case identifier"):
        append_event(tmp_path / "log.jsonl", "Gate Verdict", {})
    with pytest.raises(UsageError, match="not JSON"):
        append_event(tmp_path / "log.jsonl", "evaluation", {"x": object()})


def _append_many(path: str, worker: int) -> None:
    for i in range(15):
        append_event(Path(path), "evaluation", {"worker": worker, "i": i})


def test_appends_from_several_processes_keep_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(log), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    result = AuditLog(log).verify()
    assert result.ok and result.entries == 45


# -- anchors: what records outside the log say of it --------------------------------------


def anchored(log: Path, source: str = "the registry") -> Anchor:
    """An anchor at the log's head now, as the registry records it after a change."""
    return Anchor(source=source, head=read_head(log))


def test_head_is_read_from_the_last_line_also_past_a_read_block(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    assert read_head(log) == AuditHead(seq=0, hash="0" * 64)
    for i in range(3):
        append_event(log, "evaluation", {"i": i, "text": "x" * 20_000})  # > 2 read blocks
    entries = read_entries(log)
    assert read_head(log) == AuditHead(seq=3, hash=entries[-1].hash)
    with log.open("a") as f:
        f.write("\n\n")  # blank lines at the end are not entries
    assert append_event(log, "evaluation", {}).seq == 4
    assert verify_log(log).ok


def test_cut_off_tail_with_its_head_file_is_named_by_an_anchor(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    anchor = anchored(log, "the registry (.posttrain/registry/registry.json)")
    log.write_bytes(b"".join(lines(log)[:5]))
    log.with_name(log.name + ".head").unlink()
    assert verify_log(log).ok  # the chain alone cannot see it
    result = verify_log(log, [anchor])
    assert not result.ok
    assert (result.bad_seq, result.missing_from, result.missing_to) == (6, 6, 6)
    assert result.reason is not None
    assert "the log ends at seq 5" in result.reason and "registry.json" in result.reason
    assert "seq 6 is missing" in result.reason
    assert [p.source for p in result.problems] == [anchor.source]


def test_deleted_log_and_head_fail_against_an_anchor(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    anchor = anchored(log)
    log.unlink()
    log.with_name(log.name + ".head").unlink()
    assert verify_log(log).ok  # nothing left to compare with
    result = verify_log(log, [anchor])
    assert not result.ok and (result.missing_from, result.missing_to) == (1, 6)
    assert "the log is missing" in (result.reason or "")
    assert "seqs 1 to 6 are missing" in (result.reason or "")


def test_an_older_copy_of_the_log_fails_against_a_later_anchor(tmp_path: Path) -> None:
    log, backup = tmp_path / "audit-log.jsonl", tmp_path / "backup"
    fill(log, 4)
    backup.mkdir()
    for name in (log.name, log.name + ".head"):
        shutil.copy(log.with_name(name), backup / name)
    fill(log, 3)
    anchor = anchored(log, "verdict gate-abc (reports/gate/gate-abc.json)")
    for name in (log.name, log.name + ".head"):
        shutil.copy(backup / name, log.with_name(name))
    assert verify_log(log).ok  # the copy is consistent with its own head file
    result = verify_log(log, [anchor])
    assert not result.ok and (result.missing_from, result.missing_to) == (5, 7)
    assert "seqs 5 to 7 are missing" in (result.reason or "")
    assert "verdict gate-abc" in (result.reason or "")


def test_a_log_replaced_by_another_fails_against_the_anchor_hash(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log)
    anchor = anchored(log)
    log.unlink()
    log.with_name(log.name + ".head").unlink()
    fill(log, 7)  # as long, but other entries (other times)
    result = verify_log(log, [anchor])
    assert not result.ok and result.bad_seq == 6
    assert "rewritten at or before seq 6" in (result.reason or "")


def test_an_event_anchor_names_the_missing_event(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log, 2)
    before = read_head(log)
    append_event(log, "gate_verdict", {"verdict_id": "gate-1", "decision": "PASS"})
    fill(log, 2)
    ok = Anchor(
        source="verdict gate-1",
        head=before,
        event=EventRef(kind="gate_verdict", match={"verdict_id": "gate-1"}),
    )
    # the event must come after the head the record was written after
    late = Anchor(source="verdict gate-1", head=read_head(log), event=ok.event)
    gone = Anchor(
        source="registry version v2", event=EventRef(kind="registration", match={"version": "v2"})
    )
    assert verify_log(log, [ok]).ok
    result = verify_log(log, [ok, late, gone])
    assert not result.ok and len(result.problems) == 2
    messages = " | ".join(p.message for p in result.problems)
    assert "expects a `registration` event with version=v2" in messages
    assert "`gate_verdict` event with verdict_id=gate-1 after seq 5" in messages


# -- signed checkpoints ---------------------------------------------------------------------

KEY = b"the team's secret"


def sign(data: bytes) -> dict[str, Any]:
    return {"mac": hmac.new(KEY, data, hashlib.sha256).hexdigest()}


def verifier(data: bytes, signature: dict[str, Any]) -> tuple[CheckpointStatus, str]:
    ok = hmac.compare_digest(signature.get("mac", ""), sign(data)["mac"])
    return ("valid", "ok") if ok else ("invalid", "the signature does not match")


def no_key(data: bytes, signature: dict[str, Any]) -> tuple[CheckpointStatus, str]:
    return "unverifiable", "no key here"


def rewrite_whole(log: Path, edit: Any, *, repoint: bool = True) -> None:
    """What a forger without the key does: edit entries, recompute every hash, point each
    checkpoint at the new hash it covers (its signature cannot be redone; ``repoint``
    False leaves it as it was), rewrite the head file."""
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    edit(entries)
    prev, new_hashes = "0" * 64, list[str]()
    for seq, e in enumerate(entries, start=1):
        if e["kind"] == "checkpoint" and repoint:
            e["payload"]["head"]["hash"] = new_hashes[e["payload"]["head"]["seq"] - 1]
        e["seq"], e["prev_hash"] = seq, prev
        e["hash"] = prev = entry_hash(seq, e["ts"], e["kind"], e["payload"], prev)
        new_hashes.append(prev)
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    head = {"seq": len(entries), "hash": prev}
    log.with_name(log.name + ".head").write_text(json.dumps(head))


def note(text: str) -> Any:
    def edit(entries: list[dict[str, Any]]) -> None:
        entries[1]["payload"]["note"] = text

    return edit


def test_checkpoint_signs_a_head_and_verifies(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log, 3)
    head = read_head(log)
    entry = append_checkpoint(log, head, sign(checkpoint_bytes(head)))
    assert (entry.seq, entry.kind, entry.payload["head"]) == (4, "checkpoint", head.model_dump())
    fill(log, 2)
    result = verify_log(log, checkpoints=verifier)
    assert result.ok and result.checkpoints.checked
    assert (result.checkpoints.verified, result.checkpoints.covered_seq) == (1, 3)
    assert "covers seq 3, 3 entries after it" in result.checkpoints.note
    unchecked = verify_log(log, checkpoints=no_key)
    assert unchecked.ok and not unchecked.checkpoints.checked
    assert "not checked: no key here" in unchecked.checkpoints.note
    with pytest.raises(UsageError, match="empty"):
        append_checkpoint(tmp_path / "new.jsonl", AuditHead(seq=0, hash="0" * 64), {})


def test_whole_log_rewrite_is_caught_only_by_the_checkpoint_signature(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log, 3)
    head = read_head(log)
    append_checkpoint(log, head, sign(checkpoint_bytes(head)))
    fill(log, 1)
    anchor = anchored(log)
    rewrite_whole(log, note("nothing happened here"))
    forged = Anchor(source=anchor.source, head=read_head(log))  # anchors rewritten too
    assert verify_log(log, [forged]).ok
    unchecked = verify_log(log, [forged], checkpoints=no_key)
    assert unchecked.ok and "not checked" in unchecked.checkpoints.note
    result = verify_log(log, [forged], checkpoints=verifier)
    assert not result.ok and result.bad_seq == 4
    assert "checkpoint seq 4" in (result.reason or "")
    assert "rewritten whole" in (result.reason or "")
    # the anchor the forger did not reach names it without the key
    assert not verify_log(log, [anchor]).ok


def test_a_rewrite_under_a_checkpoint_left_as_is_is_caught_without_the_key(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log, 3)
    head = read_head(log)
    append_checkpoint(log, head, sign(checkpoint_bytes(head)))
    rewrite_whole(log, note("edited"), repoint=False)
    result = verify_log(log)
    assert not result.ok and result.bad_seq == 3
    assert "checkpoint seq 4 signs seq 3" in (result.reason or "")


def test_a_required_checkpoint_fails_a_log_with_none(tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    fill(log, 3)
    assert verify_log(log, checkpoints=verifier).ok
    result = verify_log(log, checkpoints=verifier, require_checkpoint=True)
    assert not result.ok and "has no checkpoint" in (result.reason or "")
    head = read_head(log)
    append_checkpoint(log, head, sign(checkpoint_bytes(head)))
    assert verify_log(log, checkpoints=verifier, require_checkpoint=True).ok
    unchecked = verify_log(log, checkpoints=no_key, require_checkpoint=True)
    assert not unchecked.ok and "could be checked (no key here)" in (unchecked.reason or "")
