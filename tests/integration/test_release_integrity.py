"""A verdict is bound to the weights it judged, and to the workspace's gate policy and
contract: issue 12, findings 1 and 2, end to end through the CLI, in a workspace made by
`posttrain init` from the example (its gate.yaml and contract.yaml), on copies of the tiny
model's folder."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "gate"))

from gate_fakes import attack, regression, verdict, write_results

from posttrain.cli import main
from posttrain.contract import load_contract
from posttrain.core.auditlog import read_entries
from posttrain.gate.waivers import HMAC_KEY_ENV, create_waiver, issue_waiver
from posttrain.models import fingerprint
from posttrain.workspace import Workspace

LAX = "min_samples: 1\nzero: [{id: eval_errors}]\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def flip_a_weight(folder: Path) -> None:
    """Change one byte of the weights: another model, as far as any hash can tell."""
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))


def results(folder: Path, model: Path, contract_hash: str, *, reg_fail: int, hits: int = 0) -> str:
    """Evaluation results of ``model`` in the engine's schema, with the fingerprint
    `posttrain eval` records for it (the same function), under ``contract_hash``; enough
    items for the example gate.yaml to decide. Returns the folder."""
    leak_ok = [verdict("no_customer_pii_leak", "safety", "no_pii_leak", "pass")]
    n = 160
    items = [attack(i, i < hits) for i in range(n)]
    items += [attack(i, False, cls="privacy", extra=leak_ok) for i in range(n)]
    items += [
        regression(
            i,
            i >= reg_fail,
            extra=[
                verdict("recommendation_json", "format", "json_schema", "pass"),
                verdict("no_unconfirmed_promises", "safety", "regex_forbid", "pass"),
            ],
        )
        for i in range(n)
    ]
    write_results(
        folder,
        items,
        fingerprint=fingerprint(str(model)),
        contract_hash=contract_hash,
        model=str(model),
    )
    return str(folder)


@pytest.fixture
def ws(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
) -> Path:
    """The example workspace (cwd), with a trained candidate's export (the tiny model with
    one weight changed) and the base model's copy, both evaluated under its contract."""
    root = tmp_path / "ws"
    assert run(capsys, "init", str(root))[0] == 0
    monkeypatch.chdir(root)
    monkeypatch.setenv(HMAC_KEY_ENV, "integrity-test-secret")
    monkeypatch.setenv("COLUMNS", "200")
    cand = root / "runs" / "sft-1" / "export" / "fp32"
    shutil.copytree(tiny_model_dir, cand)
    flip_a_weight(cand)
    base = root / "models" / "base"
    shutil.copytree(tiny_model_dir, base)
    chash = load_contract(root / "contract.yaml").content_hash
    results(root / "reports/eval/base", base, chash, reg_fail=40)
    results(root / "reports/eval/cand", cand, chash, reg_fail=5)
    return root


def gate(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    code, out, err = run(
        capsys,
        "gate",
        "--baseline",
        "reports/eval/base",
        "--candidate",
        "reports/eval/cand",
        *extra,
        "--json",
    )
    assert code == 0, out + err
    data: dict[str, object] = json.loads(out)
    return data


def registered(capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, _ = run(capsys, "registry", "list", "--json")
    assert code == 0
    return [v["version"] for v in json.loads(out)["versions"]]


# -- finding 1: the verdict is bound to the weights it judged ---------------------------


def test_a_missing_or_empty_folder_or_a_name_is_exit_2(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passed = gate(capsys)
    assert passed["decision"] == "PASS"
    path = str(passed["path"])

    code, _, err = run(capsys, "registry", "register", "runs/nope/export/fp32", "--verdict", path)
    assert code == 2, err
    assert "runs/nope/export/fp32: no such model folder" in err and "hint:" in err

    (ws / "empty").mkdir()
    code, _, err = run(capsys, "registry", "register", "empty", "--verdict", path)
    assert code == 2, err
    assert "empty: the folder is empty" in err

    # A built-in name is not the folder the verdict judged.
    code, _, err = run(capsys, "registry", "register", "tiny-random", "--verdict", path)
    assert code == 2, err
    assert "'tiny-random' is a built-in model name" in err
    assert str(passed["candidate"]["fingerprint"]) in err  # type: ignore[index]

    assert registered(capsys) == []
    code, _, err = run(capsys, "promote", "v1")
    assert code == 2 and "no version 'v1'" in err


def test_other_weights_than_the_judged_ones_are_exit_1_and_never_promoted(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(gate(capsys)["path"])
    judged = fingerprint("runs/sft-1/export/fp32")
    # The base model's folder: a real model, but not the one the verdict judged.
    code, _, err = run(capsys, "registry", "register", "models/base", "--verdict", path)
    assert code == 1, err
    assert f"models/base ({ws / 'models' / 'base'})" in err
    assert fingerprint("models/base") in err and judged in err
    assert registered(capsys) == []
    code, _, err = run(capsys, "promote", "v1")
    assert code == 2 and "no version 'v1'" in err

    code, out, err = run(
        capsys, "registry", "register", "runs/sft-1/export/fp32", "--verdict", path, "--json"
    )
    assert code == 0, err
    mv = json.loads(out)
    assert mv["fingerprint"] == judged
    assert mv["model_path"] == str(ws / "runs" / "sft-1" / "export" / "fp32")
    assert (ws / ".posttrain" / "registry" / "fingerprints.json").is_file()


def test_weights_changed_after_registration_are_not_promoted(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(gate(capsys)["path"])
    assert run(capsys, "registry", "register", "runs/sft-1/export/fp32", "--verdict", path)[0] == 0
    flip_a_weight(ws / "runs" / "sft-1" / "export" / "fp32")  # back to the base weights
    code, _, err = run(capsys, "promote", "v1")
    assert code == 1, err
    assert "changed after registration" in err and fingerprint("models/base") in err
    code, out, _ = run(capsys, "registry", "list", "--json")
    assert json.loads(out)["aliases"] == {}
    # The same refusal for a staged rollout of those files.
    code, _, err = run(capsys, "release", "plan", "v1")
    assert code == 1 and "changed after registration" in err


# -- finding 2: the verdict is pinned to the workspace's policy and contract -------------


def test_a_verdict_under_a_lax_policy_is_marked_and_not_promoted(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "lax.yaml").write_text(LAX)
    from posttrain.gate import load_policy, resolve_policy
    from posttrain.gate.policy import policy_hash

    lax_hash = policy_hash(load_policy(ws / "lax.yaml"))
    ws_hash = policy_hash(resolve_policy(None, ws)[0])

    code, out, _ = run(
        capsys,
        "gate",
        "--baseline",
        "reports/eval/base",
        "--candidate",
        "reports/eval/cand",
        "--policy",
        "lax.yaml",
    )
    assert code == 0 and "PASS" in out
    assert "not pinned" in out and lax_hash[:12] in out and ws_hash[:12] in out
    data = gate(capsys, "--policy", "lax.yaml")
    assert data["policy_pinned"] is False and data["contract_pinned"] is True
    assert data["workspace_policy_hash"] == ws_hash and data["policy_hash"] == lax_hash

    code, _, err = run(
        capsys, "registry", "register", "runs/sft-1/export/fp32", "--verdict", str(data["path"])
    )
    assert code == 0, err
    code, _, err = run(capsys, "promote", "v1")
    assert code == 1, err
    assert "not pinned" in err and lax_hash[:12] in err and ws_hash[:12] in err
    code, out, _ = run(capsys, "registry", "list", "--json")
    assert json.loads(out)["aliases"] == {}

    # Under the workspace's own policy the same candidate is pinned and promotes.
    pinned = gate(capsys)
    assert pinned["policy_pinned"] is True and pinned["contract_pinned"] is True
    assert not any("not pinned" in n for n in pinned["notes"])  # type: ignore[attr-defined]


def test_a_signed_waiver_naming_the_verdict_lets_it_promote_on_record(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "lax.yaml").write_text(LAX)
    data = gate(capsys, "--policy", "lax.yaml")
    run(capsys, "registry", "register", "runs/sft-1/export/fp32", "--verdict", str(data["path"]))
    cand = data["candidate"]
    assert isinstance(cand, dict)

    def waiver(name: str, verdict_id: str) -> Path:
        path = ws / "reports" / "waivers" / name
        issue_waiver(
            create_waiver(
                rules=["policy_pin"],
                risk="judged under the lax policy while the full gate is fixed",
                impact="release may carry regressions the full policy would catch",
                rollback_plan="posttrain rollback to the previous champion",
                owner="oncall@shopmate",
                expires_at=datetime.now(UTC) + timedelta(days=1),
                candidate=cand["fingerprint"],
                contract_hash=cand["contract_hash"],
                verdict=verdict_id,
            ),
            path,
            Workspace(ws).audit_log,
        )
        return path

    # A waiver of another verdict does not count.
    other = waiver("other.json", "gate-000000000000")
    code, _, err = run(capsys, "promote", "v1", "--waiver", str(other))
    assert code == 1 and "not pinned" in err
    assert "bound to verdict gate-000000000000, not " + str(data["id"]) in err

    good = waiver("pin.json", str(data["id"]))
    waiver_id = json.loads(good.read_text())["id"]
    code, out, err = run(capsys, "promote", "v1", "--waiver", str(good), "--json")
    assert code == 0, err
    event = json.loads(out)
    assert event["waivers"] == [waiver_id] and "waived" in event["reason"]
    used = [
        e.payload
        for e in read_entries(Workspace(ws).audit_log)
        if e.kind == "waiver" and e.payload.get("used_for") == "v1"
    ]
    assert [u["id"] for u in used] == [waiver_id] and used[0]["verdict"] == data["id"]


def test_posttrain_waive_binds_a_pin_waiver_to_its_verdict(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "lax.yaml").write_text(LAX)
    data = gate(capsys, "--policy", "lax.yaml")
    code, out, err = run(
        capsys,
        "waive",
        "--rule",
        "policy_pin",
        "--risk",
        "judged under the lax policy while the full gate is fixed",
        "--impact",
        "release may carry regressions the full policy would catch",
        "--rollback-plan",
        "posttrain rollback to the previous champion",
        "--owner",
        "oncall@shopmate",
        "--expires",
        "24h",
        "--verdict",
        str(data["path"]),
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["verdict"] == data["id"]


# -- one contract hash everywhere -------------------------------------------------------


def test_one_contract_hash_in_run_manifest_evaluation_registry_and_lint(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
) -> None:
    """The real chain: data build, a one-step SFT run, its export, an evaluation of it
    and of the base, the gate, and registering the export with its run and verdict."""
    root = tmp_path / "ws"
    assert run(capsys, "init", str(root))[0] == 0
    monkeypatch.chdir(root)
    code, out, err = run(capsys, "contract", "lint", "--json")
    assert code == 0, err
    lint = json.loads(out)["content_hash"]

    assert run(capsys, "data", "build")[0] == 0
    code, out, err = run(
        capsys,
        "train",
        "sft",
        "--profile",
        "quick",
        "model=tiny-random",
        "micro_batch=2",
        "seq_len=128",
        "threads=1",
        "max_steps=1",
        "limit=8",
        "--json",
    )
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    manifest = json.loads((root / "runs" / run_id / "manifest.json").read_text())
    code, out, err = run(capsys, "export", f"runs/{run_id}", "--dtype", "fp32", "--json")
    assert code == 0, err
    export = f"runs/{run_id}/export/fp32"

    tiny = ("--max-new-tokens", "4", "--batch-size", "2", "--limit", "3")
    summaries = {}
    for side, model in (("base", "tiny-random"), ("cand", export)):
        code, out, err = run(
            capsys, "eval", "--model", model, "--suite", "data/regression.jsonl",
            "--out", f"reports/eval/{side}", *tiny, "--json",
        )  # fmt: skip
        assert code == 0, err
        summaries[side] = json.loads(out)
    code, out, _ = run(
        capsys, "gate", "--baseline", "reports/eval/base", "--candidate", "reports/eval/cand",
        "--json",
    )  # fmt: skip
    judged = json.loads(out)
    assert judged["contract_pinned"] is True and judged["policy_pinned"] is True

    code, out, err = run(
        capsys, "registry", "register", export, "--run", f"runs/{run_id}",
        "--verdict", judged["path"], "--json",
    )  # fmt: skip
    assert code == 0, err
    mv = json.loads(out)
    # The registry fingerprinted the export exactly as the evaluation did.
    assert mv["fingerprint"] == summaries["cand"]["model_fingerprint"]
    hashes = {
        "contract lint": lint,
        "run manifest": manifest["contract_hash"],
        "run data": manifest["data"]["contract_hash"],
        "evaluation": summaries["cand"]["contract_hash"],
        "verdict": judged["candidate"]["contract_hash"],
        "registry": mv["contract_hash"],
        "registry run": mv["run"]["contract_hash"],
    }
    assert set(hashes.values()) == {lint}, hashes


def test_posttrain_run_under_a_lax_policy_registers_without_promoting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    root = tmp_path / "ws"
    assert run(capsys, "init", str(root))[0] == 0
    (root / "lax.yaml").write_text(LAX)
    tiny = [
        "-m", "tiny-random",
        "--set", "max_steps=1", "--set", "seq_len=256", "--set", "micro_batch=2",
        "--set", "limit=6", "--set", "val_max=2", "--set", "threads=1",
        "--eval-limit", "1", "--regression-limit", "1", "--max-new-tokens", "4",
        "--batch-size", "8",
    ]  # fmt: skip
    code, out, err = run(
        capsys, "run", "-w", str(root), *tiny, "--no-dpo", "--policy", str(root / "lax.yaml"),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["decision"] == "PASS" and result["version"] == "v1"
    assert result["promoted"] is False
    code, out, _ = run(capsys, "registry", "list", "-w", str(root), "--json")
    assert json.loads(out)["aliases"] == {}
    log = (root / "reports" / "posttrain" / "experiment-log.md").read_text()
    assert "registered v1, not promoted: gate verdict" in log and "is not pinned" in log
