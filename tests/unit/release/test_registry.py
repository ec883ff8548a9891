"""The registry: promotion behind the gate, waivers on record, rollback, concurrency."""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_fakes import CONTRACT

from posttrain.core.auditlog import read_entries, verify_log
from posttrain.errors import UsageError
from posttrain.gate.waivers import create_waiver, sign_waiver
from posttrain.release.registry import PromotionRefused, Registry

MakeVerdict = Callable[[str], Path]


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry", audit_log=tmp_path / "audit-log.jsonl")


@pytest.fixture
def m(model_dir: Path) -> str:
    """The judged model's folder, as a user passes it to `registry register`."""
    return str(model_dir)


def waiver_file(
    tmp_path: Path,
    *,
    rules: list[str],
    candidate: str,
    expires: timedelta = timedelta(days=1),
    name: str = "w.json",
    **kw: str,
) -> Path:
    fields = {"candidate": candidate, "contract_hash": CONTRACT}
    fields.update(kw)
    waiver = create_waiver(
        rules=rules,
        risk="jailbreak hit rate up to 20% until the hotfix lands",
        impact="role-play jailbreaks may succeed for some EN users",
        rollback_plan="posttrain rollback to the previous champion",
        owner="oncall@shop",
        expires_at=datetime.now(UTC) + expires,
        now=datetime.now(UTC) + expires - timedelta(days=2),
        **fields,
    )
    path = tmp_path / name
    path.write_text(sign_waiver(waiver).model_dump_json(indent=2))
    return path


def test_register_keeps_lineage_and_verdict(
    reg: Registry, make_verdict: MakeVerdict, m: str, cand_fp: str
) -> None:
    path = make_verdict("PASS")
    mv = reg.register(m, verdict=path)
    assert mv.version == "v1"
    assert mv.fingerprint == cand_fp and mv.contract_hash == CONTRACT
    assert mv.model_path == str(Path(m).resolve())
    assert mv.decision == "PASS" and mv.verdict_sha256
    assert mv.eval_candidate and mv.eval_candidate.endswith("cand")
    # The verdict is copied in: editing the file later changes nothing.
    path.write_text(path.read_text().replace('"PASS"', '"BLOCK"'))
    assert reg.get("v1").decision == "PASS"


def test_register_refuses_a_verdict_about_another_model(
    reg: Registry, make_verdict: MakeVerdict, m: str
) -> None:
    with pytest.raises(UsageError, match="verdict judged model"):
        reg.register(m, verdict=make_verdict("PASS"), fingerprint="f" * 64)


@pytest.mark.parametrize("decision", ["BLOCK", "INCONCLUSIVE"])
def test_promote_without_pass_is_refused(
    reg: Registry, make_verdict: MakeVerdict, decision: str, m: str
) -> None:
    reg.register(m, verdict=make_verdict(decision))
    with pytest.raises(PromotionRefused, match=f"is {decision}") as exc:
        reg.promote("v1")
    assert exc.value.exit_code == 1
    assert "champion" not in reg.state().aliases
    assert reg.history() == []


def test_promote_without_any_verdict_is_refused(reg: Registry, m: str) -> None:
    reg.register(m)
    with pytest.raises(PromotionRefused, match="no gate verdict"):
        reg.promote("v1")


def test_promote_with_a_valid_waiver_succeeds_and_is_recorded(
    reg: Registry, make_verdict: MakeVerdict, tmp_path: Path, m: str, cand_fp: str
) -> None:
    reg.register(m, verdict=make_verdict("BLOCK"))
    waiver = waiver_file(tmp_path, rules=["jailbreak_max", "safety_not_worse"], candidate=cand_fp)
    event = reg.promote("v1", waivers=[waiver])
    waiver_id = json.loads(waiver.read_text())["id"]
    assert event.version == "v1" and event.waivers == [waiver_id]
    assert reg.state().aliases["champion"] == "v1"
    kinds = [e.kind for e in read_entries(tmp_path / "audit-log.jsonl")]
    assert kinds == ["registration", "waiver", "promotion"]
    recorded = read_entries(tmp_path / "audit-log.jsonl")[1].payload
    assert recorded["id"] == waiver_id and recorded["owner"] == "oncall@shop"


def test_a_waiver_must_cover_every_blocking_rule(
    reg: Registry, make_verdict: MakeVerdict, tmp_path: Path, m: str, cand_fp: str
) -> None:
    reg.register(m, verdict=make_verdict("BLOCK"))
    partial = waiver_file(tmp_path, rules=["jailbreak_max"], candidate=cand_fp)
    with pytest.raises(PromotionRefused, match="safety_not_worse:attack_hit_rate/all"):
        reg.promote("v1", waivers=[partial])


@pytest.mark.parametrize("problem", ["expired", "tampered", "other_candidate", "other_contract"])
def test_expired_or_tampered_waiver_is_refused(
    reg: Registry, make_verdict: MakeVerdict, tmp_path: Path, problem: str, m: str, cand_fp: str
) -> None:
    reg.register(m, verdict=make_verdict("BLOCK"))
    rules = ["jailbreak_max", "safety_not_worse"]
    if problem == "expired":
        path = waiver_file(tmp_path, rules=rules, candidate=cand_fp, expires=timedelta(seconds=-5))
        reason = "expired"
    elif problem == "tampered":
        path = waiver_file(tmp_path, rules=rules, candidate=cand_fp)
        path.write_text(path.read_text().replace("oncall@shop", "oncall@shoq"))
        reason = "changed after signing"
    elif problem == "other_candidate":
        path = waiver_file(tmp_path, rules=rules, candidate="x" * 64)
        reason = "bound to candidate"
    else:
        path = waiver_file(tmp_path, rules=rules, candidate=cand_fp, contract_hash="e" * 64)
        reason = "bound to contract"
    with pytest.raises(PromotionRefused, match=reason):
        reg.promote("v1", waivers=[path])
    assert "champion" not in reg.state().aliases


def test_rollback_restores_the_previous_champion(
    reg: Registry, make_verdict: MakeVerdict, m: str
) -> None:
    path = make_verdict("PASS")
    for _ in range(3):
        reg.register(m, verdict=path)
    reg.promote("v1")
    reg.promote("v2")
    reg.promote("v3")
    event = reg.rollback(reason="P95 up 40% in prod")
    assert (event.previous, event.version, event.action) == ("v3", "v2", "rollback")
    assert reg.rollback().version == "v1"
    with pytest.raises(UsageError, match="no previous champion"):
        reg.rollback()
    history = reg.history("champion")
    assert [(e.action, e.previous, e.version) for e in history] == [
        ("promote", None, "v1"),
        ("promote", "v1", "v2"),
        ("promote", "v2", "v3"),
        ("rollback", "v3", "v2"),
        ("rollback", "v2", "v1"),
    ]
    assert history[3].reason == "P95 up 40% in prod"
    assert verify_log(reg.audit_log).ok  # type: ignore[arg-type]


def test_promotion_clears_the_challenger(reg: Registry, make_verdict: MakeVerdict, m: str) -> None:
    reg.register(m, verdict=make_verdict("PASS"))
    reg.set_alias("challenger", "v1", reason="canary")
    reg.promote("challenger")
    assert reg.state().aliases == {"champion": "v1"}


def _promote(root: str, log: str, version: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    Registry(Path(root), audit_log=Path(log)).promote(version, reason=f"race {version}")


def test_two_processes_promoting_at_once_leave_a_consistent_registry(
    reg: Registry, make_verdict: MakeVerdict, tmp_path: Path, copy_model: Callable[[str], str]
) -> None:
    path = make_verdict("PASS")
    reg.register(copy_model("a"), verdict=path)
    reg.register(copy_model("b"), verdict=path)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_promote, args=(str(reg.root), str(reg.audit_log), v, barrier))
        for v in ("v1", "v2")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    state = reg.state()
    history = state.history
    assert len(history) == 2 and [e.seq for e in history] == [1, 2]
    first, second = history
    # Whatever the order, the second saw the first: one chain, no lost update.
    assert first.previous is None and second.previous == first.version
    assert {first.version, second.version} == {"v1", "v2"}
    assert state.aliases["champion"] == second.version
    assert len(state.versions) == 2
    log = verify_log(reg.audit_log)  # type: ignore[arg-type]
    assert log.ok
    promotions = [
        e.payload["version"] for e in read_entries(reg.audit_log) if e.kind == "promotion"
    ]  # type: ignore[arg-type]
    assert promotions == [first.version, second.version]


def test_lineage_from_a_training_run_manifest(
    reg: Registry, tmp_path: Path, copy_model: Callable[[str], str]
) -> None:
    from posttrain.train.data import DataInfo
    from posttrain.train.manifest import RunManifest, write_manifest

    run_dir = tmp_path / "runs" / "sft-001"
    run_dir.mkdir(parents=True)
    write_manifest(
        run_dir,
        RunManifest(
            run_id="sft-001",
            recipe="sft",
            finetune="lora",
            status="finished",
            data=DataInfo(folder="data/build", data_version="dv-123", contract_hash=CONTRACT),
            data_version="dv-123",
            contract_hash=CONTRACT,
            config={},
            config_hash="cfg",
            base_model="tiny-random",
            base_model_fingerprint="basefp",
            packages={},
            python="3.11",
            platform="linux",
            git_revision=None,
            git_dirty=None,
            argv=[],
            started_at="2025-01-01T00:00:00+00:00",
            output=str(run_dir / "adapter"),
        ),
    )
    mv = reg.register(copy_model("sft-001-merged"), run=run_dir)
    assert mv.run is not None and mv.run.run_id == "sft-001"
    assert mv.data_version == "dv-123" and mv.contract_hash == CONTRACT
    assert mv.run.manifest_sha256 and mv.run.base_model_fingerprint == "basefp"
    payload = read_entries(reg.audit_log)[0].payload  # type: ignore[arg-type]
    assert payload["run_id"] == "sft-001" and payload["data_version"] == "dv-123"


def test_events_are_mirrored_to_mlflow_when_available(
    reg: Registry, make_verdict: MakeVerdict, monkeypatch: pytest.MonkeyPatch, m: str
) -> None:
    calls: list[tuple[str, object]] = []

    class _Run:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    fake = types.ModuleType("mlflow")
    fake.set_experiment = lambda name: calls.append(("experiment", name))  # type: ignore[attr-defined]
    fake.start_run = lambda run_name: calls.append(("run", run_name)) or _Run()  # type: ignore[attr-defined]
    fake.set_tags = lambda tags: calls.append(("tags", tags))  # type: ignore[attr-defined]
    fake.log_params = lambda params: calls.append(("params", params))  # type: ignore[attr-defined]
    fake.log_dict = lambda data, name: calls.append(("dict", name))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///nowhere")
    reg.register(m, verdict=make_verdict("PASS"))
    reg.promote("v1")
    runs = [c[1] for c in calls if c[0] == "run"]
    assert runs == ["registration-v1", "promotion-v1"]
    assert ("tags", {"posttrain.event": "promotion"}) in calls
