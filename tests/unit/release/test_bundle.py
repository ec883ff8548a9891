"""A version is a bundle: rollback restores the previous version's contract, gate policy
and serve config with the weights' alias (issue 15, item 4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from release_fakes import EXAMPLE_CONTRACT, POLICY, make_workspace, pinned_verdict

from posttrain.cli import main
from posttrain.core.auditlog import read_entries, verify_log
from posttrain.errors import InputError, UsageError
from posttrain.release.bundle import BlobStore
from posttrain.release.registry import Registry

SERVE_A = "guard:\n  mode: enforce\n  max_retries: 2\n"
SERVE_B = "guard:\n  mode: monitor\n  max_retries: 0\nlog_content: true\n"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws", SERVE_A)


def contract_b() -> bytes:
    """The example contract with its description changed: another contract hash."""
    text = EXAMPLE_CONTRACT.read_text()
    changed = text.replace("ShopMate is the", "ShopMate (v2) is the")
    assert changed != text
    return changed.encode()


@pytest.fixture
def gated(ws: Path, cand_fp: str) -> Callable[[str], Path]:
    """``gated(name)``: a PASS verdict on the candidate made in ``ws`` under its current
    contract and gate policy (so it is pinned, and promotion takes it)."""
    return lambda name: pinned_verdict(ws, name, cand_fp)


def test_rollback_restores_the_previous_contract_and_serve_config(
    ws: Path, gated: Callable[[str], Path], copy_model: Callable[[str], str]
) -> None:
    reg = Registry(ws / ".posttrain" / "registry", audit_log=ws / "audit-log.jsonl")
    contract_a = (ws / "contract.yaml").read_bytes()
    v1 = reg.register(copy_model("m1"), verdict=gated("a"))
    reg.promote("v1")
    assert v1.bundle is not None
    assert {e.role: e.path for e in v1.bundle.entries} == {
        "contract": "contract.yaml",
        "gate_policy": "gate.yaml",
        "serve_config": "serve.yaml",
        "guard": "serve.yaml#guard",
    }

    # v2 changes the contract and the serve config (its guard too), and is promoted.
    (ws / "contract.yaml").write_bytes(contract_b())
    (ws / "serve.yaml").write_text(SERVE_B)
    v2 = reg.register(copy_model("m2"), verdict=gated("b"))
    reg.promote("v2")
    assert v2.bundle is not None and v1.bundle is not None
    changed = {e.role for e, f in zip(v1.bundle.entries, v2.bundle.entries, strict=True) if e != f}
    assert changed == {"contract", "serve_config", "guard"}

    event = reg.rollback(reason="complaints after v2")
    assert (event.previous, event.version) == ("v2", "v1")
    assert (ws / "contract.yaml").read_bytes() == contract_a
    assert (ws / "serve.yaml").read_text() == SERVE_A
    assert (ws / "gate.yaml").read_text() == POLICY
    assert event.restored is not None
    assert sorted(c.path for c in event.restored) == ["contract.yaml", "serve.yaml"]
    assert all(not c.local_edit for c in event.restored)
    # The workspace is v1's again: its verdict is pinned to it, so it could be promoted.
    assert reg.check_promotion("v1")[0]
    # The audit event lists what changed, hash before and after.
    last = [e for e in read_entries(ws / "audit-log.jsonl") if e.kind == "rollback"][-1]
    assert {c["path"]: c["after"] for c in last.payload["restored"]} == {
        "contract.yaml": next(e.sha256 for e in v1.bundle.entries if e.role == "contract"),
        "serve.yaml": next(e.sha256 for e in v1.bundle.entries if e.role == "serve_config"),
    }
    assert verify_log(ws / "audit-log.jsonl").ok


def test_a_local_edit_blocks_rollback_unless_forced_and_is_kept(
    ws: Path, gated: Callable[[str], Path], copy_model: Callable[[str], str]
) -> None:
    reg = Registry(ws / ".posttrain" / "registry", audit_log=ws / "audit-log.jsonl")
    contract_a = (ws / "contract.yaml").read_bytes()
    reg.register(copy_model("m1"), verdict=gated("a"))
    reg.promote("v1")
    (ws / "contract.yaml").write_bytes(contract_b())
    reg.register(copy_model("m2"), verdict=gated("b"))
    reg.promote("v2")

    hand_edit = b"# edited on the server by hand\n" + contract_b()
    (ws / "contract.yaml").write_bytes(hand_edit)
    with pytest.raises(UsageError, match=r"(?s)local edits.*contract\.yaml.*--force"):
        reg.rollback()
    # Refused: nothing moved, nothing was written.
    assert reg.state().aliases["champion"] == "v2"
    assert (ws / "contract.yaml").read_bytes() == hand_edit

    event = reg.rollback(force=True)
    assert (ws / "contract.yaml").read_bytes() == contract_a
    assert event.restored is not None
    edit = next(c for c in event.restored if c.path == "contract.yaml")
    assert edit.local_edit and edit.before is not None
    assert BlobStore(reg.blobs.root).get(edit.before) == hand_edit


def test_a_file_absent_in_the_bundle_is_removed_and_a_lost_blob_changes_nothing(
    ws: Path, gated: Callable[[str], Path], copy_model: Callable[[str], str]
) -> None:
    reg = Registry(ws / ".posttrain" / "registry", audit_log=ws / "audit-log.jsonl")
    (ws / "serve.yaml").unlink()
    v1 = reg.register(copy_model("m1"), verdict=gated("a"))
    reg.promote("v1")
    assert v1.bundle is not None and v1.bundle.get("serve_config").sha256 is None  # type: ignore[union-attr]
    (ws / "serve.yaml").write_text(SERVE_B)
    (ws / "contract.yaml").write_bytes(contract_b())
    reg.register(copy_model("m2"), verdict=gated("b"))
    reg.promote("v2")

    # v1's contract blob is gone: the rollback stops before it changes any file.
    contract_sha = v1.bundle.get("contract").sha256  # type: ignore[union-attr]
    assert contract_sha is not None
    blob = reg.blobs.root / contract_sha
    saved = blob.read_bytes()
    blob.unlink()
    with pytest.raises(InputError, match="missing"):
        reg.rollback()
    assert (ws / "serve.yaml").read_text() == SERVE_B
    assert reg.state().aliases["champion"] == "v2"

    blob.write_bytes(saved)
    event = reg.rollback()
    assert not (ws / "serve.yaml").exists()
    assert event.restored is not None
    assert {c.path: c.after for c in event.restored}["serve.yaml"] is None


def test_registry_show_lists_the_bundle_and_rollback_prints_what_it_restored(
    ws: Path,
    gated: Callable[[str], Path],
    copy_model: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    w = ("-w", str(ws))
    assert main(["registry", "register", copy_model("m1"), "--verdict", str(gated("a")), *w]) == 0
    assert main(["promote", "v1", *w]) == 0
    (ws / "serve.yaml").write_text(SERVE_B)
    assert main(["registry", "register", copy_model("m2"), "--verdict", str(gated("b")), *w]) == 0
    assert main(["promote", "v2", *w]) == 0
    capsys.readouterr()

    assert main(["registry", "show", "v1", *w, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    files = {e["path"]: e["sha256"] for e in shown["bundle"]["entries"]}
    assert set(files) == {"contract.yaml", "gate.yaml", "serve.yaml", "serve.yaml#guard"}
    assert main(["registry", "show", "v1", *w]) == 0
    out = capsys.readouterr().out
    assert "bundle" in out and "serve.yaml" in out and str(files["serve.yaml"])[:12] in out

    assert main(["rollback", *w]) == 0
    out = capsys.readouterr().out
    assert "v2 -> v1" in out and "serve.yaml: restored" in out
    assert (ws / "serve.yaml").read_text() == SERVE_A
