"""The hash-chained audit log: any edited, reordered or deleted entry is named."""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp
from pathlib import Path

import pytest

from posttrain.core.auditlog import AuditLog, append_event, read_entries, verify_log
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
