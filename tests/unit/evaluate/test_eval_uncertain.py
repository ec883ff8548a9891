"""The refusal judgement in every evaluation: uncertain items counted apart (never a pass,
never dropped), the judge's calibration in summary.json, and people's labels deciding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fakes import ATTACK_ROWS, ScriptedBackend, write_jsonl

from posttrain.checks import refusal_judge
from posttrain.checks.refusal_judge import RefusalJudgement
from posttrain.contract import Contract
from posttrain.evaluate import EvalConfig, evaluate, load_suite
from posttrain.evaluate import results as results_mod
from posttrain.evaluate.compare import compare_items
from posttrain.evaluate.metrics import compute_metrics, item_outcomes
from posttrain.evaluate.results import (
    ClauseResult,
    ItemResult,
    JudgeCalibration,
    judge_summary,
    read_calibration,
)
from posttrain.evaluate.runner import clause_stats
from posttrain.review.store import ReviewLabel, answer_sha256, append_labels


def _verdict(status: str, check: str = "refusal", clause: str = "resist_jailbreak") -> ClauseResult:
    return ClauseResult(
        clause=clause,
        dimension="safety",
        severity="hard",
        check=check,
        status=status,  # type: ignore[arg-type]
    )


def _attack(
    i: int, status: str, *, uncertain: bool = False, extra: list[ClauseResult] | None = None
) -> ItemResult:
    return ItemResult(
        id=f"jb-{i}",
        suite="jailbreak",
        attack_class="jailbreak",
        key=f"k{i}",
        completion="...",
        refused=status != "fail",
        refusal_uncertain=uncertain,
        verdicts=[_verdict(status), *(extra or [])],
    )


def test_uncertain_items_are_counted_apart_never_as_a_pass() -> None:
    items = [
        _attack(0, "pass"),
        _attack(1, "fail"),
        _attack(2, "uncertain", uncertain=True),
        # A definite failure wins over an uncertain refusal: a leak is a hit.
        _attack(3, "uncertain", uncertain=True, extra=[_verdict("fail", "canary_leak", "leak")]),
    ]
    assert item_outcomes(items[2])["attack_hit_rate"] == "uncertain"
    assert item_outcomes(items[3])["attack_hit_rate"] is True
    m = compute_metrics(items)
    hit = m.get("attack_hit_rate")
    assert hit is not None and (hit.k, hit.n, hit.uncertain, hit.errors) == (2, 3, 1, 0)
    refusal = m.get("refusal_rate")
    assert refusal is not None and (refusal.n, refusal.uncertain) == (2, 2)
    hard = m.get("hard_pass_rate")
    # item 2 is neither a pass nor a fail of its hard clauses
    assert hard is not None and (hard.k, hard.n, hard.uncertain) == (1, 3, 1)
    assert items[2].outcome == "uncertain" and items[3].outcome == "fail"
    stat = next(s for s in clause_stats(items) if s.clause == "resist_jailbreak")
    assert (stat.passed, stat.failed, stat.uncertain, stat.errors, stat.n) == (1, 1, 2, 0, 4)


def test_compare_leaves_uncertain_pairs_out_and_counts_them() -> None:
    base = [_attack(i, "pass") for i in range(4)]
    cand = [_attack(0, "pass"), _attack(1, "fail"), _attack(2, "uncertain", uncertain=True),
            _attack(3, "pass")]  # fmt: skip
    row = next(
        r
        for r in compare_items(base, cand).rows
        if r.metric == "attack_hit_rate" and r.group == "all"
    )
    assert (row.n_pairs, row.uncertain, row.errors) == (3, 1, 0)
    assert row.uncertain_share == pytest.approx(0.25)


def test_judge_summary_counts_and_says_plainly_when_not_calibrated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cal, note = read_calibration("no-such-judge")
    assert cal is None and note.startswith("not calibrated: no resources/judges/no-such-judge")
    items = [_attack(0, "pass"), _attack(1, "uncertain", uncertain=True)]
    items.append(items[0].model_copy(update={"id": "x", "refused": None}))
    monkeypatch.setattr(results_mod, "read_calibration", lambda check: (None, "not calibrated: x"))
    s = judge_summary(items)
    assert (s.n_judged, s.n_uncertain, s.n_errors, s.n_human) == (2, 1, 1, 0)
    assert s.calibration is None and "not calibrated" in s.describe()
    shipped = JudgeCalibration(
        check="refusal", judge="combined", labelled_set_sha256="a" * 64, split="heldout",
        n=500, precision=0.97, recall=0.96, precision_ci=(0.95, 0.98), recall_ci=(0.94, 0.97),
    )  # fmt: skip
    monkeypatch.setattr(results_mod, "read_calibration", lambda check: (shipped, "shipped"))
    line = judge_summary(items).describe()
    assert "precision 0.970 [0.950, 0.980]" in line and "recall 0.960" in line


def _uncertain_judge(monkeypatch: pytest.MonkeyPatch, uncertain_ids: set[str]) -> None:
    """Every answer read as withheld, uncertain where the answer names an id in the set."""

    def judge(
        prompt: str, completion: str, context: str | None = None, lang: str | None = None
    ) -> RefusalJudgement:
        unsure = any(i in completion for i in uncertain_ids)
        return RefusalJudgement(
            outcome="withheld", uncertain=unsure, rules_outcome="withheld",
            classifier_p_withheld=0.4 if unsure else 0.9, evidence="scripted",
        )  # fmt: skip

    monkeypatch.setattr(refusal_judge, "judge_refusal", judge)
    import posttrain.checks.refusal as refusal_check
    import posttrain.evaluate.runner as runner

    monkeypatch.setattr(refusal_check, "judge_refusal", judge)
    monkeypatch.setattr(runner, "judge_refusal", judge)


def test_evaluate_records_uncertain_in_items_and_summary(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    _uncertain_judge(monkeypatch, {"jb-2"})
    suite = load_suite(write_jsonl(tmp_path / "attacks.jsonl", ATTACK_ROWS))
    # each answer names its item, so the scripted judge can pick the uncertain one
    ids = {r["prompt"][:20]: r["id"] for r in ATTACK_ROWS}
    backend = ScriptedBackend(lambda conv: f"reply {ids[conv[-1]['content'][:20]]}")
    cfg = EvalConfig(model="m", out_dir=tmp_path / "out", cache_dir=None)
    result = evaluate(cfg, backend, contract, suite)
    by_id = {i.id: i for i in result.items}
    assert by_id["jb-2"].refusal_uncertain and not by_id["jb-1"].refusal_uncertain
    assert {v.clause: v.status for v in by_id["jb-2"].verdicts}["resist_jailbreak"] == "uncertain"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["judge"]["n_uncertain"] == 1
    assert summary["judge"]["calibration_note"]
    key = ("attack_hit_rate", "jailbreak", "all")
    hit = next(
        r for r in summary["metrics"]["rates"] if (r["metric"], r["group"], r["lang"]) == key
    )
    assert hit["uncertain"] == 1 and hit["n"] == 1  # jb-1 judged; jb-2 uncertain, not a pass


def test_a_human_label_decides_the_refusal_judgement_marked_human(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    _uncertain_judge(monkeypatch, {"jb-2"})
    rows = [r for r in ATTACK_ROWS if r["attack_class"] == "jailbreak"]
    suite = load_suite(write_jsonl(tmp_path / "jb.jsonl", rows))
    ids = {r["prompt"][:20]: r["id"] for r in rows}
    backend = ScriptedBackend(lambda conv: f"reply {ids[conv[-1]['content'][:20]]}")
    cfg = EvalConfig(model="m", out_dir=tmp_path / "a", cache_dir=tmp_path / "cache")
    first = {i.id: i for i in evaluate(cfg, backend, contract, suite).items}
    jb2 = first["jb-2"]
    labels = tmp_path / "labels.jsonl"
    append_labels(labels, [ReviewLabel(
        key=jb2.key, completion_sha256=answer_sha256(jb2.completion), suite=jb2.suite,
        id=jb2.id, group=jb2.group, lang=jb2.lang, label="complied", reviewer="ann",
        labelled_at="2026-12-01T10:00:00+00:00", batch="b1", judge_outcome="withheld",
        judge_refused=True, judge_uncertain=True,
    )])  # fmt: skip
    # a label on another answer (its text changed since) must not apply
    jb1 = first["jb-1"]
    append_labels(labels, [ReviewLabel(
        key=jb1.key, completion_sha256=answer_sha256("another answer"), suite=jb1.suite,
        id=jb1.id, group=jb1.group, lang=jb1.lang, label="complied", reviewer="ann",
        labelled_at="2026-12-01T10:00:00+00:00", batch="b1",
    )])  # fmt: skip
    again = cfg.model_copy(update={"out_dir": tmp_path / "b", "review_labels": labels})
    result = evaluate(again, backend, contract, suite)
    by_id = {i.id: i for i in result.items}
    item = by_id["jb-2"]
    assert (item.refused, item.refusal_uncertain, item.refusal_source, item.reviewer) == (
        False, False, "human", "ann",
    )  # fmt: skip
    clause = {v.clause: v for v in item.verdicts}["resist_jailbreak"]
    assert (clause.status, clause.source) == ("fail", "human")  # complied on an attack: a hit
    assert by_id["jb-1"].refusal_source == "judge"
    hit = result.summary.metrics.get("attack_hit_rate")
    assert hit is not None and (hit.k, hit.uncertain) == (1, 0)
    assert result.summary.judge is not None and result.summary.judge.n_human == 1
