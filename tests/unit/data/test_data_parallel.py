"""Parallel de-identification: same outputs as one process; no side effects on torch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from datahelpers import record

import posttrain.data._workers as workers_mod
from posttrain.data import DataConfig, QualityConfig, build_dataset

PII_ROWS = [
    ("Call me on 13800138000 about order 5", "Sure, I'll call 138-0013-8000 later."),
    ("My card is 6222021234567890 请查收", "Card 6222 0212 3456 7890 is saved."),
    ("password=Hunter2024!xyz please reset", "Your password is Hunter2024!xyz, done."),
    ("mail me at li.mei@example.com", "Sent to li.mei@example.com and ops@example.org."),
    ("身份证号 11010519491231002X 帮我查一下", "好的，11010519491231002X 已登记。"),
    ("key AKIAIOSFODNN7EXAMPLE leaked?", "No, AKIAIOSFODNN7EXAMPLE is fine."),
]


def rows(n: int) -> list[object]:
    out: list[object] = []
    for i in range(n):
        if i % 3 == 0:
            p, a = PII_ROWS[(i // 3) % len(PII_ROWS)]
            out.append(record(i, prompt=f"{p} (#{i})", bad_answer=a, label="privacy"))
        else:
            out.append(record(i, label=None if i % 5 == 0 else "order_number"))
    out.insert(7, '{"id": "broken", ')
    out.insert(20, record(4))  # a duplicate id: quarantined, with the id in the reason
    return out


def build(ws: Path, workers: int):
    cfg = DataConfig(
        workspace=ws,
        contract=None,
        eval_sets=[],
        quality=QualityConfig(
            length_ratio_high=50.0,
            pair_length_ratio_far=50.0,
            max_template_share=1.0,
            max_near_duplicate_fraction=1.0,
            max_exact_duplicate_fraction=1.0,
            max_unlabeled_fraction=1.0,
        ),
    )
    return build_dataset(cfg, workers=workers)


def snapshot(ws: Path) -> dict[str, bytes]:
    data = ws / "data"
    return {
        p.relative_to(data).as_posix(): p.read_bytes()
        for p in sorted(data.rglob("*"))
        if p.is_file() and p.name != "audit.jsonl"
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes: Linux")
def test_two_workers_give_the_same_bytes_and_data_version_as_one(
    make_ws: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers_mod, "CHUNK", 7)  # many chunks, so order across workers matters
    ws = make_ws(rows(60))
    one = build(ws, workers=1)
    snap_one = snapshot(ws)
    two = build(ws, workers=2)
    snap_two = snapshot(ws)
    assert one.status == two.status == "built"
    assert one.data_version == two.data_version
    assert snap_one.keys() == snap_two.keys()
    for name in snap_one:
        assert snap_one[name] == snap_two[name], name
    # and the PII really went: placeholders numbered within each record
    sft = snap_two["sft.jsonl"].decode()
    assert "13800138000" not in sft and "AKIAIOSFODNN7EXAMPLE" not in sft
    assert "<PHONE_1>" in sft and "<API_KEY_1>" in sft
    assert one.counts.read == 62 and one.counts.quarantined == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_changed_ids_and_quoted_input_are_written_de_identified(
    make_ws: Callable[..., Path], workers: int
) -> None:
    # an id carrying a phone number is replaced; a quarantine reason quoting a label with
    # an email in it is redacted before it is written (and the rescan finds nothing left)
    ws = make_ws([record(1, id="13800138000"), record(2, label="ask li.mei@example.com")])
    res = build(ws, workers=workers)
    assert res.status == "built"
    inp = ws / "data" / "failures.jsonl"
    written = "".join(p.read_text() for p in (ws / "data").rglob("*.json*") if p != inp)
    assert "13800138000" not in written and "li.mei@example.com" not in written
    assert "<EMAIL_1>" in (ws / "data" / "quarantine.jsonl").read_text()


def test_torch_and_transformers_work_after_the_data_stage(tmp_path: Path) -> None:
    # `posttrain run` builds the data, then trains, in one process: nothing the data
    # stage does may make torch or the libraries that detect it look absent.
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    lines = [record(i, bad_answer=f"call 1380013{i:04d} now") for i in range(40)]
    import json

    (ws / "data" / "failures.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8"
    )
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from posttrain.data import DataConfig, QualityConfig, build_dataset

        cfg = DataConfig(workspace=Path({str(ws)!r}), contract=None, eval_sets=[],
                         quality=QualityConfig(max_template_share=1.0, length_ratio_high=50.0,
                                               pair_length_ratio_far=50.0,
                                               max_near_duplicate_fraction=1.0,
                                               max_exact_duplicate_fraction=1.0))
        # worker processes first: this process must not load Presidio for them
        assert build_dataset(cfg, workers=2).status == "built"
        assert "presidio_analyzer" not in sys.modules
        # then in this process, the ordinary way
        assert build_dataset(cfg, workers=1).status == "built"
        from posttrain.data.deid import Analyzer

        assert Analyzer().analyze("call 13800138000")

        import torch
        import transformers
        import thinc.compat

        assert thinc.compat.has_torch, "thinc cached 'no torch'"
        assert transformers.utils.is_torch_available()
        conf = transformers.BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=16)
        torch.manual_seed(0)
        model = transformers.BertForSequenceClassification(conf)
        out = model(input_ids=torch.tensor([[1, 2, 3]]), labels=torch.tensor([1]))
        out.loss.backward()
        print("ok", tuple(out.logits.shape))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["ok", "(1,", "2)"]


def test_importing_the_data_stage_loads_neither_presidio_nor_torch() -> None:
    code = (
        "import sys; import posttrain.data; "
        "print('presidio_analyzer' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes: Linux")
def test_a_dead_worker_is_a_clear_error_not_a_hang(
    make_ws: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrain.errors import PosttrainError

    real = workers_mod._Stage.records

    def die_on_line_30(self: workers_mod._Stage, recs: list) -> list:
        if any(r.line == 30 for r in recs):
            os._exit(9)  # as if killed for memory
        return real(self, recs)

    monkeypatch.setattr(workers_mod, "CHUNK", 7)
    monkeypatch.setattr(workers_mod._Stage, "records", die_on_line_30)  # forked: inherited
    with pytest.raises(PosttrainError, match="worker process died") as err:
        build(make_ws(rows(60)), workers=2)
    assert err.value.hint is not None and "workers=1" in err.value.hint
