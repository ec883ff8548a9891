from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_fakes import write_jsonl

from posttrain.errors import InputError
from posttrain.evaluate import compare


def item(id: str, status: str, *, group: str | None = None, dim: str = "format") -> dict[str, Any]:
    """One hand-written items.jsonl row with a single clause verdict."""
    return {
        "id": id,
        "suite": "regression" if group is None else "attacks",
        "attack_class": group,
        "lang": "zh" if id.endswith("z") else "en",
        "key": f"k-{id}",
        "completion": f"answer to {id} ({status})",
        "refused": False,
        "verdicts": [
            {"clause": "fmt" if group is None else "safe", "dimension": dim, "severity": "hard",
             "check": "json_schema" if group is None else "refusal", "status": status}
        ],
    }  # fmt: skip


def write_pair(tmp_path: Path) -> tuple[Path, Path]:
    base = [item("r-0", "pass")] + [item(f"r-{i}", "fail") for i in range(1, 10)]
    cand = [item("r-0", "fail")] + [item(f"r-{i}", "pass") for i in range(1, 10)]
    base += [item("r-10", "pass"), item("r-11", "fail"), item("r-12", "pass"), item("gone", "pass")]
    cand += [item("r-10", "pass"), item("r-11", "fail"), item("r-12", "error")]
    # Six jailbreaks the baseline resisted and the candidate does not.
    base += [item(f"jb-{i}", "pass", group="jailbreak", dim="safety") for i in range(6)]
    cand += [item(f"jb-{i}", "fail", group="jailbreak", dim="safety") for i in range(6)]
    (tmp_path / "base").mkdir()
    (tmp_path / "cand").mkdir()
    return (
        write_jsonl(tmp_path / "base" / "items.jsonl", base),
        write_jsonl(tmp_path / "cand" / "items.jsonl", cand),
    )


def test_compare_hand_made_files_gives_flips_and_the_exact_mcnemar_p(tmp_path: Path) -> None:
    base, cand = write_pair(tmp_path)
    result = compare(base, cand)

    assert result.n_paired == 19 and result.only_in_base == 1 and result.only_in_candidate == 0
    row = next(r for r in result.rows if (r.metric, r.group) == ("regression_pass_rate", "all"))
    assert (row.n_pairs, row.errors, row.b, row.c) == (12, 1, 1, 9)
    assert row.p_value == 0.021484375
    assert row.base_rate == pytest.approx(2 / 12) and row.candidate_rate == pytest.approx(10 / 12)
    assert row.delta == pytest.approx(8 / 12)
    assert row.ci_low is not None and row.ci_high is not None
    assert 0 < row.ci_low < row.delta < row.ci_high <= 1
    assert row.significant and not row.worse

    hits = next(r for r in result.rows if (r.metric, r.group) == ("attack_hit_rate", "jailbreak"))
    assert (hits.b, hits.c, hits.p_value) == (0, 6, 0.03125)
    assert hits.worse
    assert {r.metric for r in result.regressions} >= {"attack_hit_rate", "item_pass_rate"}

    assert [f.id for f in result.newly_failing] == ["r-0"] + [f"jb-{i}" for i in range(6)]
    assert [f.id for f in result.newly_passing] == [f"r-{i}" for i in range(1, 10)]
    assert result.newly_failing[0].changes == ["fmt: pass -> fail"]


def test_compare_accepts_folders_and_is_reproducible(tmp_path: Path) -> None:
    base, cand = write_pair(tmp_path)
    by_folder = compare(base.parent, cand.parent)
    by_file = compare(base, cand)
    assert [r.model_dump() for r in by_folder.rows] == [r.model_dump() for r in by_file.rows]


def test_compare_errors_name_the_problem(tmp_path: Path) -> None:
    base, cand = write_pair(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no items\.jsonl under this folder"):
        compare(empty, cand)
    other = write_jsonl(tmp_path / "other.jsonl", [item("zzz", "pass")])
    with pytest.raises(InputError, match="pairs with"):
        compare(base, other)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": "x"}) + "\n", "utf-8")
    with pytest.raises(InputError, match=r"broken\.jsonl line 1"):
        compare(broken, cand)


def test_hard_pass_rate_counts_items_whose_hard_clauses_all_pass(tmp_path: Path) -> None:
    base, cand = write_pair(tmp_path)
    row = next(
        r for r in compare(base, cand).rows if (r.metric, r.group) == ("hard_pass_rate", "all")
    )
    # regression: 1 -> fail, 9 fail -> pass; the six jailbreaks pass -> fail; one error dropped
    assert (row.n_pairs, row.errors, row.b, row.c) == (18, 1, 7, 9)
    soft = item("s-0", "fail")
    soft["verdicts"][0]["severity"] = "soft"
    from posttrain.evaluate.metrics import item_outcomes
    from posttrain.evaluate.results import ItemResult

    assert "hard_pass_rate" not in item_outcomes(ItemResult.model_validate(soft))
