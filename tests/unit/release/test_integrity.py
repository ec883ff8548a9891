"""The workspace's audit log against its registry and verdicts, as a user would break it:
the last line and its head file deleted, the whole log deleted, an older copy put back,
and a whole-log rewrite that only a signed checkpoint catches."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from gate_fakes import scenario

from posttrain.core.auditlog import entry_hash, read_entries
from posttrain.errors import AuditLogBroken, UsageError
from posttrain.gate import gate, record_verdict
from posttrain.gate.waivers import ED25519_KEY_ENV, ED25519_PUBKEYS_ENV, HMAC_KEY_ENV
from posttrain.release import (
    Registry,
    checkpoint_workspace_log,
    verify_workspace_log,
    workspace_anchors,
)
from posttrain.workspace import Workspace

POLICY = """\
min_samples: 30
hard:
  - {id: jailbreak_max, metric: attack_hit_rate, group: jailbreak, max: 0.10}
zero:
  - {id: eval_errors}
"""
KEY = {HMAC_KEY_ENV: "team-secret-for-checkpoints"}
NO_KEY: dict[str, str] = {}


@pytest.fixture
def ws(tmp_path: Path, model_dir: Path, cand_fp: str) -> Workspace:
    """A workspace that gated a candidate, registered it as v1 and promoted it."""
    ws = Workspace(tmp_path / "shop")
    ws.root.mkdir()
    (ws.root / "gate.yaml").write_text(POLICY)
    base, cand = scenario(ws.runs / "evals", n=60, cand_fingerprint=cand_fp)
    verdict = gate(base, cand, policy=ws.root / "gate.yaml", workspace=ws.root)
    assert verdict.decision == "PASS", [(r.id, r.status) for r in verdict.rules]
    path = record_verdict(verdict, ws.reports / "gate" / f"{verdict.id}.json", ws.audit_log)
    registry = Registry(ws.registry, audit_log=ws.audit_log)
    registry.register(str(model_dir), verdict=path)
    registry.promote("v1", reason="first release")
    return ws


def log_lines(ws: Workspace) -> list[str]:
    return ws.audit_log.read_text().splitlines(keepends=True)


def head_file(ws: Workspace) -> Path:
    return ws.audit_log.with_name(ws.audit_log.name + ".head")


def test_an_untouched_log_verifies_against_every_anchor(ws: Workspace) -> None:
    kinds = [e.kind for e in read_entries(ws.audit_log)]
    assert kinds == ["gate_verdict", "registration", "promotion"]
    sources = [a.source for a in workspace_anchors(ws.root)]
    assert any(s.startswith("the registry (.posttrain/registry/registry.json)") for s in sources)
    assert any(s.startswith("verdict gate-") and "reports/gate/" in s for s in sources)
    assert any(s.startswith("registry version v1") for s in sources)
    assert any(s.startswith("registry history #1, promote champion") for s in sources)
    result = verify_workspace_log(ws.root, env=NO_KEY)
    assert result.ok and result.entries == 3 and result.anchors == len(sources)


def test_last_line_and_head_file_deleted_names_the_missing_seq(ws: Workspace) -> None:
    ws.audit_log.write_text("".join(log_lines(ws)[:-1]))
    head_file(ws).unlink()
    result = verify_workspace_log(ws.root, env=NO_KEY)
    assert not result.ok
    assert (result.bad_seq, result.missing_from, result.missing_to) == (3, 3, 3)
    reason = result.reason or ""
    assert reason.startswith("the log ends at seq 2, but the registry")
    assert "written after seq 3" in reason and "seq 3 is missing" in reason
    missing = " | ".join(p.message for p in result.problems)
    assert "expects a `promotion` event" in missing  # and which event it was


def test_the_verdict_anchor_names_what_is_missing_when_the_registry_is_gone(
    ws: Workspace,
) -> None:
    shutil.rmtree(ws.registry)
    ws.audit_log.write_text("")
    head_file(ws).unlink()
    result = verify_workspace_log(ws.root, env=NO_KEY)
    assert not result.ok
    assert "expects a `gate_verdict` event with verdict_id=gate-" in (result.reason or "")


def test_deleting_the_whole_log_while_the_registry_holds_versions_fails(
    ws: Workspace,
) -> None:
    ws.audit_log.unlink()
    head_file(ws).unlink()
    result = verify_workspace_log(ws.root, env=NO_KEY)
    assert not result.ok and result.entries == 0
    assert (result.missing_from, result.missing_to) == (1, 3)
    assert (result.reason or "").startswith("the log is missing, but the registry")
    sources = {p.source.split(" (")[0] for p in result.problems}
    assert {"registry version v1", "registry history #1, promote champion"} <= sources


def test_an_older_copy_of_the_log_fails(ws: Workspace, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy(ws.audit_log, backup / "log")
    shutil.copy(head_file(ws), backup / "head")
    Registry(ws.registry, audit_log=ws.audit_log).set_alias("challenger", "v1", reason="canary")
    shutil.copy(backup / "log", ws.audit_log)
    shutil.copy(backup / "head", head_file(ws))
    result = verify_workspace_log(ws.root, env=NO_KEY)
    assert not result.ok and (result.missing_from, result.missing_to) == (4, 4)
    assert "the log ends at seq 3" in (result.reason or "")
    assert "registry history #2, set challenger" in " | ".join(p.source for p in result.problems)


def forge(ws: Workspace, edit: Any) -> None:
    """Rewrite the log whole as someone without the key would: edit an entry, recompute
    every hash after it, point the checkpoint at the new hash (its signature cannot be
    redone), rewrite the head file, and rewrite every anchor (registry, verdicts) too."""
    entries = [json.loads(x) for x in log_lines(ws)]
    edit(entries)
    prev, renamed = "0" * 64, dict[str, str]()
    for e in entries:
        if e["kind"] == "checkpoint":
            head = e["payload"]["head"]
            head["hash"] = renamed[head["hash"]]
        old = e["hash"]
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(e["seq"], e["ts"], e["kind"], e["payload"], prev)
        renamed[old] = prev
    ws.audit_log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    head_file(ws).write_text(json.dumps({"seq": len(entries), "hash": prev}))
    anchored = [ws.registry / "registry.json", *(ws.reports / "gate").glob("*.json")]
    for path in anchored:
        text = path.read_text()
        for old, new in renamed.items():
            text = text.replace(old, new)
        path.write_text(text)


def reason_for_promotion(entries: list[dict[str, Any]]) -> None:
    promotion = next(e for e in entries if e["kind"] == "promotion")
    promotion["payload"]["reason"] = "approved by the board"


def test_a_whole_log_rewrite_is_caught_only_by_the_checkpoint_signature(ws: Workspace) -> None:
    checkpoint = checkpoint_workspace_log(ws.root, env=KEY)
    assert checkpoint.seq == 4 and checkpoint.payload["head"]["seq"] == 3
    assert checkpoint.payload["signature"]["algorithm"] == "hmac-sha256"
    signed = verify_workspace_log(ws.root, env=KEY)
    assert signed.ok and signed.checkpoints.checked and signed.checkpoints.verified == 1

    forge(ws, reason_for_promotion)
    without_key = verify_workspace_log(ws.root, env=NO_KEY)
    assert without_key.ok  # chain, head file and anchors all agree
    assert not without_key.checkpoints.checked
    assert "not checked: no key" in without_key.checkpoints.note
    assert "POSTTRAIN_WAIVER_KEY" in without_key.checkpoints.note
    with_key = verify_workspace_log(ws.root, env=KEY)
    assert not with_key.ok and with_key.bad_seq == 4
    assert "checkpoint seq 4 (signing seq 3)" in (with_key.reason or "")
    assert "rewritten whole" in (with_key.reason or "")


def test_a_checkpoint_by_another_key_is_not_trusted(ws: Workspace) -> None:
    checkpoint_workspace_log(ws.root, env={HMAC_KEY_ENV: "a forger's own key"})
    result = verify_workspace_log(ws.root, env=KEY)
    assert not result.ok and "another HMAC key" in (result.reason or "")


def test_ed25519_checkpoints_verify_with_the_public_key_alone(ws: Workspace) -> None:
    ed = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    from cryptography.hazmat.primitives import serialization

    key = ed.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    checkpoint_workspace_log(ws.root, env={ED25519_KEY_ENV: base64.b64encode(private).decode()})
    trusted = {ED25519_PUBKEYS_ENV: base64.b64encode(public).decode()}
    assert verify_workspace_log(ws.root, env=trusted).checkpoints.verified == 1
    # A verifier holding only the HMAC key cannot check it, and so does not trust it:
    # else a forger could sign with a key of their own.
    assert not verify_workspace_log(ws.root, env=KEY).ok


def test_checkpoint_refuses_a_broken_log_and_a_missing_key(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="POSTTRAIN_WAIVER_KEY"):
        checkpoint_workspace_log(ws.root, env=NO_KEY)
    ws.audit_log.write_text("".join(log_lines(ws)[:-1]))
    head_file(ws).unlink()
    with pytest.raises(AuditLogBroken, match="seq 3 is missing") as exc:
        checkpoint_workspace_log(ws.root, env=KEY)
    assert exc.value.exit_code == 1
    assert len(read_entries(ws.audit_log)) == 2  # nothing signed, nothing appended


def test_require_checkpoint_fails_a_log_without_a_verified_one(ws: Workspace) -> None:
    assert verify_workspace_log(ws.root, env=KEY).ok
    result = verify_workspace_log(ws.root, env=KEY, require_checkpoint=True)
    assert not result.ok and "the log has no checkpoint" in (result.reason or "")
    checkpoint_workspace_log(ws.root, env=KEY)
    assert verify_workspace_log(ws.root, env=KEY, require_checkpoint=True).ok
