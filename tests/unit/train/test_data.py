from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.errors import InputError
from posttrain.models import load_tokenizer
from posttrain.models.chat import render
from posttrain.train.data import load_prefs, load_sft, read_data_info, split_ids

from .conftest import data_manifest, quality_report, write_data


def test_manifest_fields_are_read(tmp_path: Path) -> None:
    info = read_data_info(write_data(tmp_path / "data"))
    assert (info.data_version, info.contract_hash, info.deid_policy_version) == (
        "dv-test-0001",
        "c0ffee",
        "posttrain-deid v1",
    )
    assert info.quality_passed is True


def test_the_data_stage_manifest_layout_is_read(tmp_path: Path) -> None:
    folder = write_data(tmp_path / "data")
    (folder / "manifest.json").write_text(
        data_manifest(
            "dv-9", contract_sha256="c0ffee42", policy_id="deid-default", policy_version=2
        )
    )
    (folder / "quality.json").write_text(quality_report({"dupes": "overridden"}))
    info = read_data_info(folder)
    assert (info.data_version, info.contract_hash, info.deid_policy_version) == (
        "dv-9",
        "c0ffee42",
        "deid-default v2",
    )
    assert info.quality_passed is True


def test_failed_quality_is_refused_unless_a_reason_is_given(tmp_path: Path) -> None:
    folder = write_data(tmp_path / "data", quality_ok=False)
    with pytest.raises(InputError) as err:
        read_data_info(folder)
    assert "pair_similarity" in err.value.message
    assert err.value.hint is not None and "allow_failed_quality" in err.value.hint
    info = read_data_info(folder, allow_failed_quality="pilot run, pairs reviewed by hand")
    assert info.failed_rules == ["pair_similarity"]
    assert info.quality_override_reason == "pilot run, pairs reviewed by hand"


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        # What a hand-written or older manifest looks like: flat keys the data stage never wrote.
        ("manifest.json", json.dumps({"data_version": "dv-1", "contract_hash": "c0"}), "packages"),
        ("manifest.json", "{not json", None),
        ("quality.json", json.dumps({"rules": [{"name": "dupes", "passed": False}]}), "passed"),
    ],
)
def test_files_the_data_stage_did_not_write_are_refused_naming_the_file(
    tmp_path: Path, name: str, content: str, field: str | None
) -> None:
    folder = write_data(tmp_path / "data")
    (folder / name).write_text(content)
    with pytest.raises(InputError) as err:
        read_data_info(folder)
    assert err.value.path == str(folder / name)
    assert err.value.field == field
    assert err.value.hint is not None and "posttrain data build" in err.value.hint


def test_missing_manifest_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_data_info(tmp_path)
    assert err.value.hint is not None and "posttrain data build" in err.value.hint


def test_split_is_deterministic_and_stable_under_additions() -> None:
    ids = [f"r{i}" for i in range(200)]
    val = split_ids(ids, fraction=0.1, max_val=64, seed=0)
    assert len(val) == 20 and val == split_ids(
        list(reversed(ids)), fraction=0.1, max_val=64, seed=0
    )
    grown = split_ids([*ids, *(f"n{i}" for i in range(10))], fraction=0.1, max_val=64, seed=0)
    assert len(val & grown) >= 18  # adding records moves few items across the split


def test_training_text_is_generation_text(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = write_data(tmp_path / "data")
    tok = load_tokenizer(str(tiny_model_dir))
    train, val = load_sft(folder, tok, val_fraction=0.1, val_max=8, seed=0)
    assert len(train) + len(val) == 24 and len(val) == 2
    row = json.loads((folder / "sft.jsonl").read_text().splitlines()[0])
    first = next(r for r in [*train, *val] if r.id == row["id"])
    # The prompt is exactly what the hf backend feeds the model...
    assert first.prompt == render(tok, row["messages"][:1], add_generation_prompt=True)
    # ...and the completion is the answer up to one end-of-turn token, nothing after it.
    assert first.completion == row["messages"][1]["content"] + tok.eos_token
    pairs, _ = load_prefs(folder, tok, val_fraction=0.1, val_max=8, seed=0)
    assert all(
        p.chosen.endswith(tok.eos_token) and p.rejected.count(tok.eos_token) == 1 for p in pairs
    )


def test_bad_record_names_file_line_and_field(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = write_data(tmp_path / "data")
    with (folder / "sft.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "bad", "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    tok = load_tokenizer(str(tiny_model_dir))
    with pytest.raises(InputError) as err:
        load_sft(folder, tok, val_fraction=0.1, val_max=8, seed=0)
    assert "sft.jsonl line 25" in err.value.message and "messages" in err.value.message
