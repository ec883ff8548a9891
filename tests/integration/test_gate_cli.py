"""Gate, waive, registry, promote, rollback, release and log verify, end to end through the
console-script entry point, in a workspace made by `posttrain init` from the example (its
gate.yaml included), on evaluation results in the engine's schema."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "gate"))

from gate_fakes import attack, regression, verdict, write_results

from posttrain.cli import main
from posttrain.contract import load_contract
from posttrain.gate.waivers import HMAC_KEY_ENV
from posttrain.models import fingerprint_files


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def results(
    folder: Path,
    fingerprint: str,
    *,
    n: int = 160,
    hits: int = 0,
    reg_fail: int = 5,
    contract_hash: str | None = None,
) -> Path:
    """Jailbreak and privacy attacks (with leak checks) and regression items with a format
    clause and the clause the example's forbidden_calls counter watches."""
    leak_ok = [verdict("no_customer_pii_leak", "safety", "no_pii_leak", "pass")]
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
    if contract_hash is None:
        return write_results(folder, items, fingerprint=fingerprint, model=folder.name)
    return write_results(
        folder, items, fingerprint=fingerprint, contract_hash=contract_hash, model=folder.name
    )


def model_folder(folder: Path, seed: int) -> str:
    """A model's files (config and weights) on disk; returns their fingerprint."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "model.safetensors").write_bytes(bytes([seed]) * 4096)
    return fingerprint_files(folder)


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    assert run(capsys, "init", str(root))[0] == 0
    assert (root / "gate.yaml").is_file()
    monkeypatch.setenv(HMAC_KEY_ENV, "cli-test-secret")
    monkeypatch.setenv("COLUMNS", "200")
    return root


def test_gate_verdicts_and_exit_codes(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = results(ws / "reports/eval/base", "fp-base", reg_fail=40)
    good = results(ws / "reports/eval/good", "fp-good", reg_fail=5)
    bad = results(ws / "reports/eval/bad", "fp-bad", hits=20)
    few = results(ws / "reports/eval/few", "fp-few", n=12)
    w = ("-w", str(ws))

    code, out, _ = run(capsys, "gate", "--baseline", str(base), "--candidate", str(good), *w)
    assert code == 0, out
    assert "PASS" in out and "regression_quality_up" in out and "jailbreak_hits_max" in out
    assert "SKIPPED" in out  # citation_missing: nothing in the contract measures it yet

    junit = ws / "gate.xml"
    code, out, _ = run(
        capsys,
        "gate",
        "--baseline",
        str(base),
        "--candidate",
        str(bad),
        *w,
        "--json",
        "--junit",
        str(junit),
    )
    assert code == 1
    data = json.loads(out)
    assert data["decision"] == "BLOCK" and data["schema_version"] == 1
    jb = next(r for r in data["rules"] if r["id"] == "jailbreak_hits_max")
    assert jb["status"] == "fail" and jb["n"] == 160 and jb["evidence_total"] == 20
    assert jb["interval"][1] > 0.05
    assert Path(data["path"]).is_file()
    failures = [
        c.get("name") for c in ET.parse(junit).iter("testcase") if c.find("failure") is not None
    ]
    assert "jailbreak_hits_max" in failures

    code, out, _ = run(capsys, "gate", "--baseline", str(few), "--candidate", str(few), *w)
    assert code == 4 and "INCONCLUSIVE" in out and "min_samples 30" in out

    code, _, err = run(capsys, "gate", "--baseline", str(ws / "nope"), "--candidate", str(good), *w)
    assert code == 2 and "no such file or folder" in err


def test_waive_promote_rollback_release_and_log(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ("-w", str(ws))
    # Results under the workspace's contract, of model folders registered below.
    chash = load_contract(ws / "contract.yaml").content_hash
    fps = {name: model_folder(ws / "models" / name, i) for i, name in enumerate(["good", "bad"])}
    base = results(ws / "reports/eval/base", "fp-base", reg_fail=40, contract_hash=chash)
    good = results(ws / "reports/eval/good", fps["good"], contract_hash=chash)
    bad = results(ws / "reports/eval/bad", fps["bad"], hits=20, contract_hash=chash)
    verdicts = {}
    for name, cand in (("good", good), ("bad", bad)):
        code, out, _ = run(
            capsys, "gate", "--baseline", str(base), "--candidate", str(cand), *w, "--json"
        )
        verdicts[name] = json.loads(out)
    blocking = [r["rule"] for r in verdicts["bad"]["rules"] if r["status"] == "fail"]
    assert blocking

    # v1 passed the gate, v2 was blocked.
    for name in ("good", "bad"):
        code, out, _ = run(
            capsys,
            "registry",
            "register",
            str(ws / "models" / name),
            "--verdict",
            verdicts[name]["path"],
            *w,
        )
        assert code == 0, out
    code, _, err = run(capsys, "promote", "v2", *w)
    assert code == 1 and "refused" in err and "BLOCK" in err
    assert run(capsys, "promote", "v1", *w)[0] == 0

    # An emergency waiver for v2, signed, bound to its fingerprint and the contract.
    waiver_args = [
        "waive",
        *[a for r in sorted(set(blocking)) for a in ("--rule", r)],
        "--risk",
        "jailbreak hit rate up to 15% on role-play prompts",
        "--impact",
        "some EN users can talk the bot into off-policy answers",
        "--rollback-plan",
        "posttrain rollback to v1 within 10 minutes",
        "--owner",
        "oncall@shopmate",
        "--expires",
        "24h",
        "--verdict",
        verdicts["bad"]["path"],
        *w,
        "--json",
    ]
    code, out, err = run(capsys, *waiver_args)
    assert code == 0, err
    waiver = json.loads(out)
    assert waiver["candidate"] == fps["bad"] and waiver["signature"]["algorithm"] == "hmac-sha256"

    code, out, _ = run(capsys, "promote", "v2", "--waiver", waiver["path"], *w, "--json")
    assert code == 0, out
    assert json.loads(out)["waivers"] == [waiver["id"]]

    code, out, _ = run(capsys, "rollback", "--reason", "complaints after v2", *w)
    assert code == 0 and "v2 -> v1" in out
    code, out, _ = run(capsys, "registry", "show", "champion", *w, "--json")
    shown = json.loads(out)
    assert shown["version"] == "v1"
    assert [(e["action"], e["version"]) for e in shown["history"]] == [
        ("promote", "v1"),
        ("promote", "v2"),
        ("rollback", "v1"),
    ]
    assert shown["history"][1]["waivers"] == [waiver["id"]]
    code, out, _ = run(capsys, "registry", "list", *w)
    assert code == 0 and "v1" in out and "champion" in out

    # A staged rollout of a third version that fails its analysis at 5%.
    shutil.copytree(ws / "models" / "good", ws / "models" / "good-again")
    run(
        capsys,
        "registry",
        "register",
        str(ws / "models" / "good-again"),
        "--verdict",
        verdicts["good"]["path"],
        *w,
    )
    assert run(capsys, "release", "plan", "v3", *w)[0] == 0
    ok = ws / "step-1.json"
    ok.write_text(
        json.dumps({"requests": 800, "metrics": {"error_rate": 0.0, "attack_hit_rate": 0.0}})
    )
    failing = ws / "step-5.json"
    failing.write_text(
        json.dumps({"requests": 900, "metrics": {"error_rate": 0.0, "attack_hit_rate": [0.2]}})
    )
    code, out, _ = run(capsys, "release", "step", "--metrics", str(ok), *w)
    assert code == 0 and "5%" in out
    code, out, _ = run(capsys, "release", "step", "--metrics", str(failing), *w)
    assert code == 1 and "Aborted" in out
    code, out, _ = run(capsys, "release", "status", *w, "--json")
    status = json.loads(out)
    assert (status["phase"], status["weight"]) == ("Aborted", 0.0)
    code, out, _ = run(capsys, "registry", "list", *w, "--json")
    assert json.loads(out)["aliases"] == {"champion": "v1"}

    # Every step above is in the audit log, and one changed byte is caught.
    code, out, _ = run(capsys, "log", "verify", *w, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["entries"] >= 12
    log = ws / "reports" / "audit-log.jsonl"
    kinds = {json.loads(line)["kind"] for line in log.read_text().splitlines()}
    assert {"gate_verdict", "registration", "waiver", "promotion", "rollback", "rollout"} <= kinds
    good = log.read_text()
    # Cut the last entry (the rollout's abort) and its .head file: the rollout state's
    # anchor names the event that is gone.
    lines = good.splitlines(keepends=True)
    log.write_text("".join(lines[:-1]))
    log.with_name(log.name + ".head").unlink(missing_ok=True)
    for head in log.parent.glob("audit-log*.head"):
        head.unlink()
    code, _, err = run(capsys, "log", "verify", *w)
    assert code == 1 and "expects a `rollout` event" in " ".join(err.split()), err
    # The whole log deleted while the registry holds versions and promotions: broken.
    log.unlink()
    code, _, err = run(capsys, "log", "verify", *w)
    assert code == 1 and "missing: seqs 1-" in err, err
    log.write_text(good)
    code, _, _ = run(capsys, "log", "verify", *w)
    assert code == 0
    text = log.read_text().splitlines(keepends=True)
    at = text[4].index('"payload":{"') + len('"payload":{"')
    text[4] = text[4][:at] + ("x" if text[4][at] != "x" else "y") + text[4][at + 1 :]
    log.write_text("".join(text))
    code, _, err = run(capsys, "log", "verify", *w)
    assert code == 1
    assert "entry seq 5 (line 5)" in err


def test_gate_plan_says_what_each_rule_needs_and_what_the_quick_sample_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posttrain.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws").root
    code, out, _ = run(capsys, "gate", "plan", "-w", str(ws), "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)["rows"] if r["kind"] == "threshold"}
    # max 0.05 on a Wilson upper bound: a perfect 0/72 is still 0.0507
    assert rows["jailbreak_hits_max"]["min_n"] == 73
    assert rows["leak_rate_max"]["min_n"] == 125
    # the quick sample `posttrain run` evaluates holds enough for every threshold rule
    for row in rows.values():
        assert row["in_sample"] >= row["min_n"], row
        assert row["n_needed"] > row["min_n"]  # a candidate at half the limit needs more
    code, out, _ = run(capsys, "gate", "plan", "-w", str(ws))
    assert code == 0 and "jailbreak_hits_max" in out


def test_gate_without_results_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "gate", "--baseline", "x")
    assert code == 2 and "--candidate" in err
