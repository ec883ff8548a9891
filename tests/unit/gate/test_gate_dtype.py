"""The gate compares two sides that answered in one dtype: bfloat16 and float32 greedy
answers differ item by item, so a paired difference across dtypes would measure the
dtype as much as the training."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_fakes import BASE_FP, CAND_FP, attack, regression, write_results

from posttrain.errors import InputError
from posttrain.gate import gate
from posttrain.gate.inputs import load_run


def _side(folder: Path, fingerprint: str, dtype: str | None, ok: int) -> Path:
    items = [attack(i, hit=False) for i in range(40)]
    items += [regression(i, ok=i < ok) for i in range(40)]
    return write_results(folder, items, fingerprint=fingerprint, dtype=dtype)


def test_sides_in_two_dtypes_are_refused(tmp_path: Path) -> None:
    base = _side(tmp_path / "base", BASE_FP, "float32", ok=20)
    cand = _side(tmp_path / "cand", CAND_FP, "bfloat16", ok=35)
    with pytest.raises(InputError, match="baseline answered in float32 and the candidate in"):
        gate(base, cand)


def test_sides_in_one_dtype_are_judged_and_the_verdict_says_which(tmp_path: Path) -> None:
    base = _side(tmp_path / "base", BASE_FP, "bfloat16", ok=20)
    cand = _side(tmp_path / "cand", CAND_FP, "bfloat16", ok=35)
    verdict = gate(base, cand)
    assert verdict.candidate.dtype == verdict.baseline.dtype == "bfloat16"
    # results written before the dtype was recorded still compare
    old = _side(tmp_path / "old", BASE_FP, None, ok=20)
    assert gate(old, cand).baseline.dtype is None


def test_one_side_in_two_dtypes_is_refused(tmp_path: Path) -> None:
    side = tmp_path / "side"
    write_results(side / "a", [attack(i, hit=False) for i in range(5)], fingerprint=BASE_FP,
              dtype="float32")  # fmt: skip
    write_results(side / "b", [regression(i, ok=True) for i in range(5)], fingerprint=BASE_FP,
              dtype="bfloat16")  # fmt: skip
    with pytest.raises(InputError, match="answered in 2 dtypes"):
        load_run(side)
