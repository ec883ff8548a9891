"""`posttrain review sample | label | import | agreement` end to end in a workspace made by
`posttrain init`: an evaluation (scripted model, the example contract, the built-in
jailbreak suite) with uncertain judgements, a person labelling in the terminal and by
file, the agreement report, and a re-evaluation where the labels decide, marked human,
shown in the HTML report."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "evaluate"))

from eval_fakes import ScriptedBackend

from posttrain.checks.refusal_judge import RefusalJudgement
from posttrain.cli import main
from posttrain.contract import load_contract
from posttrain.evaluate import EvalConfig, evaluate, load_suite
from posttrain.workspace import init_workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def _scripted_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers starting "No" are withheld, the rest complied; "maybe" makes it uncertain."""

    def judge(
        prompt: str, completion: str, context: str | None = None, lang: str | None = None
    ) -> RefusalJudgement:
        refused = completion.startswith("No")
        return RefusalJudgement(
            outcome="withheld" if refused else "complied", uncertain="maybe" in completion,
            rules_outcome="withheld" if refused else "complied",
            classifier_p_withheld=0.5, evidence="scripted",
        )  # fmt: skip

    import posttrain.checks.refusal as refusal_check
    import posttrain.evaluate.runner as runner

    monkeypatch.setattr(refusal_check, "judge_refusal", judge)
    monkeypatch.setattr(runner, "judge_refusal", judge)


def test_sample_label_import_agreement_and_labels_in_the_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _scripted_judge(monkeypatch)
    ws = init_workspace(tmp_path / "ws").root
    contract = load_contract(ws / "contract.yaml")
    suite = load_suite("jailbreak").head(4)  # 4 per language
    answers = {s.prompt: i for i, s in enumerate(suite.samples)}

    def reply(conv: list[dict[str, str]]) -> str:
        i = answers[next(p for p in answers if conv[-1]["content"].startswith(p))]
        return ["No, I can't help with that.", "Sure, here it is.", "No... maybe later."][i % 3]

    backend = ScriptedBackend(reply)
    labels_file = ws / "reports" / "review" / "labels.jsonl"

    def evaluate_into(name: str) -> Path:
        out = ws / "reports" / "eval" / name / "jailbreak"
        cfg = EvalConfig(model=name, out_dir=out, cache_dir=ws / ".posttrain" / "cache",
                         review_labels=labels_file)  # fmt: skip
        evaluate(cfg, backend, contract, suite)
        return out

    before = evaluate_into("m1")
    first = json.loads((before / "summary.json").read_text("utf-8"))
    n_uncertain = first["judge"]["n_uncertain"]
    assert n_uncertain > 0 and first["judge"]["n_human"] == 0

    # 1. sample: every uncertain item first, then a stratified sample
    code, out, err = run(capsys, "review", "sample", str(before), "--n", "6", "--seed", "3",
                         "--batch", "b1", "-w", str(ws), "--json")  # fmt: skip
    assert code == 0, err
    picked = json.loads(out)
    queue = Path(picked["queue"])
    assert picked["n_uncertain"] == n_uncertain and picked["without_prompt"] == 0
    rows = [json.loads(x) for x in queue.read_text("utf-8").splitlines()]
    assert len(rows) == 6 and all(r["label"] is None and r["prompt"] for r in rows)
    assert [r["reason"] for r in rows[:n_uncertain]] == ["uncertain"] * n_uncertain

    # 2. label in the terminal: withheld, complied, skip, quit
    monkeypatch.setattr(sys, "stdin", io.StringIO("w\nc\ns\nq\n"))
    code, out, err = run(capsys, "review", "label", str(queue), "--reviewer", "ann",
                         "-w", str(ws))  # fmt: skip
    assert code == 0, err
    assert "recorded 2 labels (1 skipped)" in " ".join(out.split())
    stored = [json.loads(x) for x in labels_file.read_text("utf-8").splitlines()]
    assert [(x["label"], x["reviewer"], x["batch"]) for x in stored] == [
        ("withheld", "ann", "b1"),
        ("complied", "ann", "b1"),
    ]
    assert all(datetime.fromisoformat(x["labelled_at"]).tzinfo is not None for x in stored)

    # 3. import the rest from a filled-in file (the two done are left out by key)
    for r in rows[2:]:
        r.update(label="withheld" if r["judge_outcome"] == "withheld" else "complied")
    missed = next(
        r for r in rows[2:] if r["judge_outcome"] == "complied" and not r["judge_uncertain"]
    )
    missed.update(label="withheld", reviewer="bo")  # the judge said complied: a miss
    filled = tmp_path / "filled.jsonl"
    filled.write_text("".join(json.dumps(r) + "\n" for r in rows[2:]), "utf-8")
    code, out, err = run(capsys, "review", "import", str(filled), "--reviewer", "cy",
                         "-w", str(ws), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["recorded"] == 4

    # 4. agreement: kappa, P and R of the judge against the people, by batch
    code, out, err = run(capsys, "review", "agreement", "--by", "batch", "-w", str(ws), "--json")
    assert code == 0, err
    report = json.loads(out)
    overall = report["overall"]
    assert report["n_labels"] == 6 and [r["period"] for r in report["rows"]] == ["b1"]
    assert overall["uncertain"] == n_uncertain
    assert overall["n"] + overall["uncertain"] == 6 and overall["fn"] >= 1
    assert overall["recall"] is not None and overall["recall"] < 1.0
    assert set(overall["reviewers"]) == {"ann", "bo", "cy"}
    code, out, _ = run(capsys, "review", "agreement", "-w", str(ws))
    assert code == 0 and "kappa" in out

    # 5. the labels decide in the next evaluation (answers cached), marked human
    after = evaluate_into("m2")
    items = {
        json.loads(x)["key"]: json.loads(x)
        for x in (after / "items.jsonl").read_text().splitlines()
    }
    # all six: the one skipped in the terminal was imported from the file
    for key in {r["key"] for r in rows}:
        assert items[key]["refusal_source"] == "human"
        clause = {v["clause"]: v for v in items[key]["verdicts"]}["resist_jailbreak"]
        assert clause["source"] == "human" and clause["status"] in ("pass", "fail")
    second = json.loads((after / "summary.json").read_text("utf-8"))
    assert second["judge"]["n_human"] == 6 and second["judge"]["n_uncertain"] == 0

    # 6. the HTML report shows the judge and the agreement
    from posttrain.report import collect_report, render_html

    page = render_html(
        collect_report("r1", workspace=ws, baseline=before, candidate=after), plots=[]
    )
    assert "Refusal judge" in page and "Judge vs people" in page and "Cohen" in page
    assert "uncertain (not in n)" in page
