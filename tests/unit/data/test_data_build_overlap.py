"""The build's overlapped steps: records go to the workers while the input is read, the
datasets are rendered while a forked rule runs, and only compact heads of the records
cross between processes; none of it changes what the build writes or decides."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from datahelpers import record

from posttrain.data._workers import PairHead, RecordHead
from posttrain.data.config import QualityConfig
from posttrain.data.ingest import FailureRecord, ingest
from posttrain.data.labels import ContractInfo
from posttrain.data.quality import (
    QualityInput,
    pair_features,
    record_features,
    run_rules,
)
from posttrain.data.records import BucketedRecord, make_pair


def _records(n: int) -> list[BucketedRecord]:
    out = []
    for i in range(n):
        r = record(i)
        out.append(
            BucketedRecord(
                id=str(r["id"]),
                label="jailbreak" if i % 2 else "order_number",
                label_source="given",
                lang="en",
                prompt=f"{r['prompt']} ({i % 5})",
                bad_answer=str(r["bad_answer"]),
                source="s",
                ts="2026-01-01",
                file="f",
                line=i + 1,
            )
        )
    return out


def _input(heads: bool) -> QualityInput:
    recs = _records(24)
    pairs = [p for r in recs if (p := make_pair(r, "refusal", [], ContractInfo())) is not None]
    feats = [record_features(r) for r in recs]
    pfeats = [pair_features(p.chosen, p.rejected) for p in pairs]
    if not heads:
        return QualityInput(recs, pairs, [], [], ["jailbreak"], lambda t: [[] for _ in t])
    rheads = [
        RecordHead(r.id, r.label, r.label_source, r.lang, r.source, r.ts, r.file, r.line, {})
        for r in recs
    ]
    pheads = [PairHead(p.id, p.chosen, p.chosen_from, p.tags) for p in pairs]
    return QualityInput(
        rheads,
        pheads,
        [],
        [],
        ["jailbreak"],
        lambda t: [[] for _ in t],
        features=feats,
        pair_feats=pfeats,
    )


def _dump(report: object) -> str:
    return report.model_dump_json()  # type: ignore[attr-defined]


@pytest.mark.parametrize("processes", [1, 2])
def test_heads_and_meanwhile_give_the_report_of_the_full_records(processes: int) -> None:
    if processes > 1 and not sys.platform.startswith("linux"):
        pytest.skip("forked rules: Linux")
    cfg = QualityConfig(min_pairs_per_class=1, max_template_share=1.0)
    full = run_rules(_input(heads=False), cfg, {})
    calls: list[int] = []
    got = run_rules(
        _input(heads=True), cfg, {}, processes=processes, meanwhile=lambda: calls.append(1)
    )
    assert _dump(got) == _dump(full)
    assert calls == [1]  # called once, whether or not a rule was forked
    # the per-bucket length ratio comes from the pairs' features, not their texts
    ratio = {r.name: r for r in got.rules}["length_ratio"].details["per_bucket"]
    assert set(ratio) == {"jailbreak", "order_number"}  # type: ignore[arg-type]


def test_record_heads_without_their_features_are_refused() -> None:
    q = _input(heads=True)
    with pytest.raises(ValueError, match="RecordFeatures"):
        QualityInput(q.records, [], [], [], [], lambda t: [[] for _ in t])
    with pytest.raises(ValueError, match="PairFeatures"):
        QualityInput(q.records, q.pairs, [], [], [], lambda t: [[] for _ in t], features=q.features)


def test_ingest_hands_over_each_accepted_record_in_order_as_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "failures.jsonl"
    rows = [record(i) for i in range(5)]
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, '{"id": "broken", ')  # quarantined: never handed over
    lines.append(json.dumps(record(1)))  # a duplicate id: quarantined too
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[FailureRecord] = []
    got = ingest(
        [(path, "failures.jsonl")],
        field_map={},
        labels=["order_number"],
        max_line_bytes=100_000,
        max_text_chars=10_000,
        on_record=seen.append,
    )
    assert [r.id for r in seen] == [r.id for r in got.records] == [str(r["id"]) for r in rows]
    assert len(got.quarantine) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes: Linux")
def test_chunks_start_on_the_workers_before_the_input_is_read(
    make_ws: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import posttrain.data._workers as workers_mod
    from posttrain.data._workers import RecordWorkers
    from posttrain.data.build import _stage_spec
    from posttrain.data.config import DataConfig

    ws = make_ws([record(i) for i in range(12)])
    cfg = DataConfig(workspace=ws, contract=None, eval_sets=[])
    got = ingest(
        [(cfg.resolve(p), cfg.display(p)) for p in cfg.input_paths()],
        field_map={},
        labels=cfg.labels,
        max_line_bytes=cfg.max_line_bytes,
        max_text_chars=cfg.max_text_chars,
    )
    monkeypatch.setattr(workers_mod, "CHUNK", 5)
    spec = _stage_spec(cfg, ContractInfo(), None)
    with RecordWorkers(spec, 2) as pool:
        feed = pool.feed()
        for r in got.records:
            feed.add(r)
        started = len(feed._futures)  # submitted while "reading", before results()
        parallel = [o.item.id for chunk in feed.results() for o in chunk]
    with RecordWorkers(spec, 1) as local:
        alone = [o.item.id for chunk in local.records(got.records) for o in chunk]
    assert started == 2  # two full chunks of 5; the last 2 records wait for results()
    assert parallel == alone == [r.id for r in got.records]
