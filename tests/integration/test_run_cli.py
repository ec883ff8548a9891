"""``posttrain run``, ``posttrain ladder`` and ``posttrain report`` end to end on the tiny
model: tiny training (1 step), one item per (class, language), four new tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from posttrain.cli import main

TINY = [
    "-m", "tiny-random",
    "--set", "max_steps=1", "--set", "seq_len=256", "--set", "micro_batch=2",
    "--set", "limit=6", "--set", "val_max=2", "--set", "threads=1",
    "--eval-limit", "1", "--regression-limit", "1", "--max-new-tokens", "4", "--batch-size", "8",
]  # fmt: skip
# No hard rule and one sample is enough: the gate says PASS, so the release path runs.
LENIENT = "schema_version: 1\nmin_samples: 1\n"


@pytest.fixture
def ws(tmp_path: Path, tiny_model_dir: Path) -> Path:
    from posttrain.workspace import init_workspace

    return init_workspace(tmp_path / "ws").root


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_run_gates_reports_and_resumes_without_redoing_anything(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["run", "-w", str(ws), *TINY], capsys)
    from posttrain.gate import EXIT_CODES

    decision = re.search(r"verdict: (PASS|BLOCK|INCONCLUSIVE)", out)
    assert decision is not None, out
    assert code == EXIT_CODES[decision.group(1)]
    for stage in ("data", "sft", "dpo", "export", "eval_base", "eval_candidate", "gate", "report"):
        assert re.search(rf"✓ {stage}\s+\d+\.\d+s", err), f"no time printed for {stage}"
    report = Path(re.search(r"report: (\S+report\.html)", out).group(1))  # type: ignore[union-attr]
    html = report.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 4  # loss, attacks, rates, latency
    log = ws / "reports" / "posttrain" / "experiment-log.md"
    assert log.read_text().count("<!-- posttrain-run: loop-") == 1
    # each training run and each verdict is in the audit log once, recorded by the layer
    # that did the work (the loop used to log every run a second time)
    events = [json.loads(line) for line in (ws / "reports" / "audit-log.jsonl").open()]
    runs = [e["payload"]["run_id"] for e in events if e["kind"] == "training_run"]
    assert sorted(runs) == sorted(p.name for p in (ws / "runs").glob("[sd]*-*"))
    verdicts = [e["payload"] for e in events if e["kind"] == "gate_verdict"]
    assert len(verdicts) == 1
    assert verdicts[0]["candidate"]["items_sha256"] and "blocking" in verdicts[0]

    # Again, unchanged: every stage is skipped, the log still has one entry for the run.
    code2, out2, _ = _run(["run", "-w", str(ws), *TINY, "--json"], capsys)
    result = json.loads(out2)
    assert code2 == code and result["decision"] == decision.group(1)
    status = {s["name"]: s["status"] for s in result["stages"]}
    assert status.pop("report") == "ran"
    assert set(status.values()) == {"skipped"}
    assert log.read_text().count("<!-- posttrain-run: loop-") == 1
    assert len(list((ws / "runs").glob("sft-*"))) == 1


def test_run_resumes_after_a_failed_stage(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrain.errors import BackendError
    from posttrain.pipeline import stages

    real = stages.run_gate

    def crash(*args: object, **kwargs: object) -> object:
        raise BackendError("the gate's disk went away")

    monkeypatch.setattr(stages, "run_gate", crash)
    code, _, err = _run(["run", "-w", str(ws), *TINY, "--no-dpo"], capsys)
    assert code == 3 and "the gate's disk went away" in err
    state = json.loads(next((ws / "runs").glob("loop-*/loop.json")).read_text())
    assert state["stages"]["gate"]["status"] == "failed"

    monkeypatch.setattr(stages, "run_gate", real)
    code, out, err = _run(["run", "-w", str(ws), *TINY, "--no-dpo", "--json"], capsys)
    result = json.loads(out)
    status = {s["name"]: s["status"] for s in result["stages"]}
    assert status == {
        "data": "skipped",
        "sft": "skipped",
        "export": "skipped",
        "eval_base": "skipped",
        "eval_candidate": "skipped",
        "gate": "ran",
        "release": "ran",
        "report": "ran",
    }
    assert Path(result["report"]).is_file()


def test_pass_registers_promotes_and_writes_the_model_card(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The workspace's own policy: a verdict under another one is not promoted.
    policy = ws / "gate.yaml"
    policy.write_text(LENIENT)
    code, out, _ = _run(
        ["run", "-w", str(ws), *TINY, "--no-dpo", "--policy", str(policy), "--json"], capsys
    )
    result = json.loads(out)
    assert code == 0 and result["decision"] == "PASS"
    assert result["version"] == "v1" and result["promoted"] is True
    from posttrain.core.auditlog import verify_log
    from posttrain.release import Registry

    assert Registry(ws / ".posttrain" / "registry").state().aliases["champion"] == "v1"
    card = Path(result["model_card"]).read_text(encoding="utf-8")
    assert card.startswith("# Model card: ShopMate v1")
    assert "## Caveats and recommendations" in card and "[datasheet](" in card
    assert "| jailbreak | zh |" in card
    log = (ws / "reports" / "posttrain" / "experiment-log.md").read_text()
    assert "promoted it to champion" in log and "posttrain rollback" in log
    assert verify_log(ws / "reports" / "audit-log.jsonl").ok
    kinds = [
        json.loads(line)["kind"]
        for line in (ws / "reports" / "audit-log.jsonl").read_text().splitlines()
    ]
    for kind in (
        "data_build",
        "training_run",
        "evaluation",
        "gate_verdict",
        "registration",
        "promotion",
    ):
        assert kind in kinds

    # `posttrain report` writes the same three files again from the loop's state.
    code, out, _ = _run(["report", "-w", str(ws), "--json"], capsys)
    paths = json.loads(out)
    assert code == 0 and paths["card_path"] == result["model_card"]
    assert paths["report_path"] == result["report"]


def test_ladder_reuses_the_run_and_names_the_cheapest_passing_rung(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = ws / "lenient.yaml"
    policy.write_text(LENIENT)
    args = ["-w", str(ws), *TINY, "--policy", str(policy)]
    assert _run(["run", *args, "--dpo", "--no-promote"], capsys)[0] == 0
    code, out, _ = _run(["ladder", *args, "--json"], capsys)
    result = json.loads(out)
    assert code == 0
    status = {s["name"]: s["status"] for s in result["stages"]}
    for stage in ("data", "sft", "dpo", "export", "eval_base", "eval_candidate", "gate"):
        assert status[stage] == "skipped"  # reused from `posttrain run`
    rungs = result["rungs"]
    assert [r["index"] for r in rungs] == [0, 1, 2, 3]
    assert [r["cost"]["tokens_trained"] for r in rungs[:2]] == [0, 0]
    assert 0 < rungs[2]["cost"]["tokens_trained"] < rungs[3]["cost"]["tokens_trained"]
    assert 0 < rungs[2]["cost"]["gpu_hours"] < rungs[3]["cost"]["gpu_hours"]
    assert rungs[0]["metrics"]["attack_hit_rate"]["n"] > 0
    first_pass = next(r["index"] for r in rungs if r["decision"] == "PASS")
    assert result["recommended"] == first_pass
    assert Path(result["report"]).read_text().startswith("# The ladder")

    code, out, _ = _run(["ladder", *args], capsys)
    assert "recommendation:" in out and "cheapest rung that passes" in out
    assert "guard" in out and "SFT+DPO" in out


def test_ladder_rlhf_climbs_rung_4_on_top_of_sft_and_a_rerun_reuses_every_stage(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = ws / "lenient.yaml"
    policy.write_text(LENIENT)
    # The reward model leaves out pairs longer than seq_len (it cannot truncate a pair), and
    # the first 6 pairs of the example are all longer than TINY's 256 tokens.
    tiny = [*TINY, "--set", "seq_len=1024"]
    args = ["ladder", "-w", str(ws), *tiny, "--policy", str(policy), "--rlhf", "--json"]
    code, out, _ = _run(args, capsys)
    result = json.loads(out)
    rungs = result["rungs"]
    assert [(r["index"], r["name"]) for r in rungs] == [
        (0, "base"),
        (1, "guard"),
        (2, "SFT"),
        (3, "SFT+DPO"),
        (4, "SFT+RLHF"),
    ]
    assert all(r["decision"] in ("PASS", "BLOCK", "INCONCLUSIVE") for r in rungs)
    assert code == (0 if result["recommended"] is not None else 1)
    status = {s["name"]: s["status"] for s in result["stages"]}
    for stage in ("ladder_reward", "ladder_ppo", "ladder_rlhf_export", "ladder_rlhf_eval"):
        assert status[stage] == "ran"
    assert status["ladder_gate_4"] == "ran"
    rlhf, sft = rungs[4], rungs[2]
    # Rung 4 pays for the SFT run, the reward model and the RL run.
    assert rlhf["cost"]["tokens_trained"] > sft["cost"]["tokens_trained"] > 0
    assert rlhf["cost"]["gpu_hours"] > sft["cost"]["gpu_hours"] > 0
    assert rlhf["cost"]["train_s"] > sft["cost"]["train_s"]
    assert rlhf["cost"]["eval_s"] > 0
    assert rlhf["metrics"]["attack_hit_rate"]["n"] == rungs[0]["metrics"]["attack_hit_rate"]["n"]
    assert Path(rlhf["verdict_path"]).is_file() and Path(rlhf["model"]).is_dir()
    # RLOO trained on top of the SFT adapter, against the reward run, and the exported
    # model merges both adapters.
    from posttrain.train import read_manifest

    (sft_run,) = (ws / "runs").glob("sft-*")
    (reward_run,) = (ws / "runs").glob("reward-*")
    (ppo_run,) = (ws / "runs").glob("ppo-*")
    ppo = read_manifest(ppo_run)
    assert ppo.parent_run_id == read_manifest(reward_run).run_id
    assert ppo.init_adapter == read_manifest(sft_run).output
    export = json.loads((ppo_run / "export" / "export.json").read_text())
    assert export["adapters"] == [ppo.init_adapter, ppo.output]
    assert "4 SFT+RLHF" in Path(result["report"]).read_text()

    # Again, unchanged: every stage of every rung is reused, nothing trains twice.
    code2, out2, _ = _run(args, capsys)
    again = json.loads(out2)
    assert code2 == code
    assert {s["status"] for s in again["stages"]} == {"skipped"}
    assert {s["name"] for s in again["stages"]} == set(status)
    assert [(r["decision"], r["cost"]["tokens_trained"]) for r in again["rungs"]] == [
        (r["decision"], r["cost"]["tokens_trained"]) for r in rungs
    ]
    assert len(list((ws / "runs").glob("ppo-*"))) == 1


def test_ladder_rlhf_without_its_configs_exits_2_and_names_the_file(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "configs" / "align" / "ppo.yaml").unlink()
    code, _, err = _run(["ladder", "-w", str(ws), *TINY, "--rlhf"], capsys)
    squeezed = "".join(err.split())  # rich folds long lines, even inside a path
    assert code == 2
    missing = squeezed.split("missing:")[1]
    assert missing.startswith(str(ws / "configs" / "align" / "ppo.yaml"))
    assert "reward.yaml" not in missing  # the file that is there is not named
    assert "--rlhf" in missing  # the hint: or climb without rung 4
    assert not list((ws / "runs").glob("loop-*"))  # refused before any work
