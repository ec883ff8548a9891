"""The registry binds a verdict to the weights it judged and to the workspace's gate
policy and contract, and checks the weights again before they are served."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_fakes import CONTRACT

from posttrain.errors import FingerprintMismatch, InputError, PromotionRefused, UsageError
from posttrain.gate import read_verdict
from posttrain.gate.waivers import create_waiver, sign_waiver
from posttrain.release.registry import Registry
from posttrain.release.rollout import Rollout, StepMetrics
from posttrain.workspace import Workspace, example_dir

GOOD = StepMetrics(requests=500, metrics={"error_rate": 0.001, "attack_hit_rate": 0.0})
MakeVerdict = Callable[[str], Path]


def change_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[0] ^= 0xFF
    weights.write_bytes(bytes(data))


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry", audit_log=tmp_path / "audit-log.jsonl")


def test_register_fingerprints_the_files(
    reg: Registry, make_verdict: MakeVerdict, model_dir: Path, cand_fp: str
) -> None:
    mv = reg.register(str(model_dir), verdict=make_verdict("PASS"))
    assert mv.fingerprint == cand_fp and mv.model_path == str(model_dir.resolve())
    cache = json.loads((reg.root / "fingerprints.json").read_text())
    assert cache["entries"][str(model_dir.resolve())]["fingerprint"] == cand_fp
    assert reg.verify_served("v1").version == "v1"


def test_other_files_than_the_judged_ones_are_refused_with_exit_1(
    reg: Registry, make_verdict: MakeVerdict, copy_model: Callable[[str], str], cand_fp: str
) -> None:
    other = Path(copy_model("other"))
    change_weights(other)
    with pytest.raises(FingerprintMismatch) as info:
        reg.register(str(other), verdict=make_verdict("PASS"))
    assert info.value.exit_code == 1
    assert str(other) in info.value.message and cand_fp in info.value.message
    assert reg.state().versions == []


def test_no_files_or_a_name_is_exit_2(
    reg: Registry, make_verdict: MakeVerdict, tmp_path: Path, model_dir: Path
) -> None:
    verdict = make_verdict("PASS")
    with pytest.raises(InputError, match="no such model folder") as info:
        reg.register(str(tmp_path / "runs/nope/export/fp32"), verdict=verdict)
    assert info.value.exit_code == 2 and info.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="the folder is empty"):
        reg.register(str(tmp_path / "empty"), verdict=verdict)
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text("{}")
    with pytest.raises(InputError, match="no model weights"):
        reg.register(str(tmp_path / "config-only"), verdict=verdict)
    with pytest.raises(InputError, match="not a model folder or a GGUF file"):
        reg.register(str(model_dir / "config.json"), verdict=verdict)
    with pytest.raises(UsageError, match="'tiny-random' is a built-in model name"):
        reg.register("tiny-random", verdict=verdict)
    assert reg.state().versions == []


def test_a_given_fingerprint_must_be_the_files(reg: Registry, model_dir: Path) -> None:
    with pytest.raises(FingerprintMismatch, match=r"not the f{16} given"):
        reg.register(str(model_dir), fingerprint="f" * 16)


def test_a_verdict_that_does_not_name_its_model_cannot_be_bound(
    reg: Registry, make_verdict: MakeVerdict, model_dir: Path
) -> None:
    path = make_verdict("PASS")
    data = json.loads(path.read_text())
    data["candidate"]["fingerprint"] = None
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="does not say which model it judged"):
        reg.register(str(model_dir), verdict=path)


def test_a_gguf_file_registers_with_its_llamacpp_fingerprint(reg: Registry, tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    from posttrain.core.hashing import file_sha256

    assert reg.register(str(gguf)).fingerprint == file_sha256(gguf)[:16]


def test_promotion_and_every_rollout_step_check_the_served_files(
    reg: Registry, make_verdict: MakeVerdict, copy_model: Callable[[str], str], tmp_path: Path
) -> None:
    verdict = make_verdict("PASS")
    reg.register(copy_model("champion"), verdict=verdict)
    challenger = Path(copy_model("challenger"))
    reg.register(str(challenger), verdict=verdict)
    reg.promote("v1")
    rollout = Rollout(tmp_path / "rollout", reg, audit_log=reg.audit_log)
    rollout.plan("v2")
    assert rollout.step(GOOD).weight == 5.0
    change_weights(challenger)
    with pytest.raises(FingerprintMismatch, match="changed after registration"):
        rollout.step(GOOD)
    state = rollout.status()
    assert state is not None and (state.phase, state.weight) == ("Aborted", 0.0)
    assert "the served files changed" in state.history[-1].reason
    assert reg.state().aliases == {"champion": "v1"}
    with pytest.raises(FingerprintMismatch):
        rollout.plan("v2")
    with pytest.raises(FingerprintMismatch):
        reg.promote("v2")
    assert reg.state().aliases == {"champion": "v1"}


# -- pins: a registry in a workspace (.posttrain/registry) ------------------------------


@pytest.fixture
def ws(tmp_path: Path, make_verdict: MakeVerdict) -> Workspace:
    """A workspace whose policy is the one :func:`make_verdict` judges with."""
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    (ws.root / "gate.yaml").write_text((tmp_path / "gate.yaml").read_text())
    return ws


def test_the_registry_finds_its_workspace(ws: Workspace, tmp_path: Path) -> None:
    assert Registry(ws.registry).workspace == ws.root
    assert Registry(tmp_path / "elsewhere").workspace is None


def test_a_verdict_under_another_policy_is_refused(
    ws: Workspace, make_verdict: MakeVerdict, model_dir: Path
) -> None:
    reg = Registry(ws.registry, audit_log=ws.audit_log)
    reg.register(str(model_dir), verdict=make_verdict("PASS"))
    assert reg.check_promotion("v1")[0]  # made under the workspace's policy
    policy = ws.root / "gate.yaml"
    policy.write_text(policy.read_text().replace("max: 0.10", "max: 0.05"))
    with pytest.raises(PromotionRefused, match="not pinned: judged under gate policy") as info:
        reg.promote("v1")
    verdict = reg.get("v1").verdict
    assert verdict is not None and verdict.policy_hash[:12] in info.value.message


def test_a_contract_pin_is_waived_only_by_a_waiver_naming_the_verdict(
    ws: Workspace, make_verdict: MakeVerdict, model_dir: Path, cand_fp: str, tmp_path: Path
) -> None:
    (ws.root / "contract.yaml").write_text((example_dir() / "contract.yaml").read_text("utf-8"))
    reg = Registry(ws.registry, audit_log=ws.audit_log)
    path = make_verdict("PASS")  # its results were evaluated under contract "ccc…"
    reg.register(str(model_dir), verdict=path)
    with pytest.raises(PromotionRefused, match="is not pinned: candidate evaluated under contract"):
        reg.promote("v1")

    def waiver(name: str, rules: list[str], verdict: str | None) -> Path:
        w = create_waiver(
            rules=rules,
            risk="evaluated under last week's contract, one clause reworded",
            impact="the reworded clause was not judged on this candidate",
            rollback_plan="posttrain rollback to the previous champion",
            owner="oncall@shop",
            expires_at=datetime.now(UTC) + timedelta(days=1),
            candidate=cand_fp,
            contract_hash=CONTRACT,
            verdict=verdict,
        )
        file = tmp_path / name
        file.write_text(sign_waiver(w).model_dump_json())
        return file

    verdict_id = read_verdict(path).id
    wrong_pin = waiver("policy.json", ["policy_pin"], verdict_id)
    with pytest.raises(PromotionRefused, match="rule contract_pin"):
        reg.promote("v1", waivers=[wrong_pin])
    no_verdict = waiver("rule.json", ["jailbreak_max"], None)
    with pytest.raises(PromotionRefused, match="not pinned"):
        reg.promote("v1", waivers=[no_verdict])
    good = waiver("contract.json", ["contract_pin"], verdict_id)
    event = reg.promote("v1", waivers=[good])
    assert event.waivers == [json.loads(good.read_text())["id"]]
    assert "waived: candidate evaluated under contract" in event.reason
