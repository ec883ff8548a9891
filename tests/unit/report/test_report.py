"""The HTML report, the experiment log and the model card from real result files."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from posttrain.gate.inputs import load_run
from posttrain.gate.policy import default_policy
from posttrain.gate.verdict import run_gate, write_verdict
from posttrain.report import (
    CardContext,
    ReleaseInfo,
    RunReport,
    collect_report,
    read_entry_ids,
    render_html,
    upsert_entry,
    write_html_report,
    write_model_card,
)


def _report(tmp_path: Path, results, run_id: str = "loop-abc", text: str = "answer") -> RunReport:  # type: ignore[no-untyped-def]
    base = results(tmp_path / "base", hit_every=3, regression_fail_every=2, refuse_benign_every=4)
    cand = results(
        tmp_path / "cand", hit_every=6, regression_fail_every=4, refuse_benign_every=3, text=text
    )
    verdict = run_gate(default_policy(), load_run(base), load_run(cand))
    vpath = write_verdict(verdict, tmp_path / "verdict.json")
    return collect_report(
        run_id,
        workspace=tmp_path,
        baseline=base,
        candidate=cand,
        verdict=verdict,
        verdict_path=vpath,
        data_version="sha256:feed",
        options={"model": "tiny-random", "profile": "quick", "eval_limit": 12},
        stage_seconds={"data": 1.5, "sft": 20.0},
        release=ReleaseInfo(conclusion="safer on jailbreaks", rollback_decision="no release"),
    )


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_html_report_embeds_one_png_per_plot_and_loads_nothing_from_elsewhere(
    tmp_path: Path,
    results,  # type: ignore[no-untyped-def]
) -> None:
    report = _report(tmp_path, results)
    path = write_html_report(report, tmp_path / "out" / "report.html")
    html = path.read_text(encoding="utf-8")
    images = _images(html)
    # attacks per class/lang, the rates and latency (no training run: no loss plot)
    assert len(images) == 3
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") and len(img) > 2000 for img in images)
    assert 'id="plot-attacks"' in html and 'id="plot-loss"' not in html
    assert not re.search(r'(src|href)="(https?:|//|file:)', html)
    # the gate table lists every rule of the verdict; the decision is shown
    assert report.verdict is not None
    for rule in report.verdict.rules:
        assert f"<td>{rule.id}</td>" in html
    assert f">{report.decision}</span>" in html
    # per class and language rows with the candidate's interval
    row = report.candidate.rate("attack_hit_rate", "jailbreak", "zh")
    assert row is not None and f"({row.k}/{row.n})" in html


def test_flips_are_listed_and_model_text_is_escaped(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    report = _report(tmp_path, results, text="<script>alert(1)</script>")
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert report.compare.newly_passing
    flip = report.compare.newly_passing[0]
    assert f"{flip.suite}/{flip.id}" in html
    n = len(report.compare.newly_passing)
    assert f"Newly passing (failed on the baseline, pass on the candidate): {n}" in html


def test_loss_plot_appears_with_a_training_run(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    from posttrain.report import TrainingInfo

    report = _report(tmp_path, results)
    run = TrainingInfo(
        run_id="sft-1",
        recipe="sft",
        status="finished",
        path=str(tmp_path),
        loss=[(1, 2.0), (2, 1.5), (3, 1.2)],
        val_loss=[(3, 1.4)],
    )
    html = render_html(report.model_copy(update={"training": [run]}))
    assert 'id="plot-loss"' in html and len(_images(html)) == 4
    assert "<td>sft-1</td>" in html


def test_experiment_log_has_one_entry_per_run(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "reports" / "posttrain" / "experiment-log.md"
    first = _report(tmp_path / "a", results, run_id="loop-1")
    second = _report(tmp_path / "b", results, run_id="loop-2")
    upsert_entry(log, first)
    upsert_entry(log, second)
    changed = first.model_copy(
        update={"release": ReleaseInfo(conclusion="rerun: still blocked", rollback_decision="keep")}
    )
    upsert_entry(log, changed)
    assert read_entry_ids(log) == ["loop-1", "loop-2"]
    text = log.read_text(encoding="utf-8")
    assert text.count("## loop-1 ") == 1
    assert "rerun: still blocked" in text and "safer on jailbreaks" in text  # loop-2 kept
    entry = text.split("<!-- posttrain-run: loop-1 -->")[1].split("<!-- /posttrain-run")[0]
    for field in (
        "run_id",
        "data version",
        "config",
        "metrics",
        "verdict",
        "conclusion",
        "rollback decision",
    ):
        assert f"**{field}**" in entry
    assert "sha256:feed" in entry and "attack_hit_rate" in entry


@pytest.mark.parametrize("with_datasheet", [True, False])
def test_model_card_has_mitchell_headings_and_safety_per_class_and_language(
    tmp_path: Path,
    results,
    with_datasheet: bool,  # type: ignore[no-untyped-def]
) -> None:
    report = _report(tmp_path, results)
    sheet = tmp_path / "data" / "DATASHEET.md"
    if with_datasheet:
        sheet.parent.mkdir(parents=True)
        sheet.write_text("# Datasheet\n")
    card = write_model_card(
        report,
        CardContext(
            version="v2",
            model_path=str(tmp_path / "model"),
            product="ShopMate",
            datasheet=str(sheet) if with_datasheet else None,
            run_report=str(tmp_path / "out" / "report.html"),
            data_counts={"sft": 10, "prefs": 8, "accepted": 12, "buckets": {"jailbreak": 4}},
        ),
        tmp_path / "reports" / "posttrain" / "model-cards" / "v2.md",
    )
    text = card.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[:9] == [
        "Model details",
        "Intended use",
        "Factors",
        "Metrics",
        "Evaluation data",
        "Training data",
        "Quantitative analyses",
        "Ethical considerations",
        "Caveats and recommendations",
    ]
    for cls in ("jailbreak", "privacy"):
        for lang in ("en", "zh"):
            assert re.search(rf"^\| {cls} \| {lang} \| \d\.\d{{3}} \[", text, flags=re.M)
    if with_datasheet:
        assert "[datasheet](../../../data/DATASHEET.md)" in text
    else:
        assert "datasheet: –" in text
    assert "[run report](../../../out/report.html)" in text
