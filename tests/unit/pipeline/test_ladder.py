"""The ladder's recommendation and its optional rung 4 (reward model + RLOO): which rung
is named, and what is refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.errors import UsageError
from posttrain.pipeline.ladder import (
    LadderResult,
    Rung,
    RungCost,
    recommend,
    render_markdown,
    require_rlhf_configs,
)
from posttrain.workspace import init_workspace

NAMES = ["base", "guard", "SFT", "SFT+DPO", "SFT+RLHF"]


def _rungs(decisions: str, tokens: list[int] | None = None) -> list[Rung]:
    """One rung per letter of ``decisions`` (P pass, B block, I inconclusive)."""
    full = {"P": "PASS", "B": "BLOCK", "I": "INCONCLUSIVE"}
    tokens = tokens or [0] * len(decisions)
    return [
        Rung(
            index=i,
            name=NAMES[i],
            model=f"m{i}",
            eval_dir=f"eval/{i}",
            decision=full[d],  # type: ignore[arg-type]
            verdict_path=f"verdict-rung{i}.json",
            cost=RungCost(tokens_trained=tokens[i], gpu_hours=tokens[i] / 1e6),
        )
        for i, d in enumerate(decisions)
    ]


def test_rung_4_is_named_only_when_no_lower_rung_passes() -> None:
    best, text = recommend(_rungs("BBBIP"))
    assert best is not None and best.index == 4
    assert "rung 4 (SFT+RLHF)" in text and "most expensive and most risky" in text

    best, text = recommend(_rungs("BBPBP"))
    assert best is not None and best.index == 2
    assert "most expensive" not in text


def test_the_ladder_order_not_the_measured_cost_decides() -> None:
    # A short RL run can train fewer tokens than SFT + DPO; rung 4 still comes last,
    # whatever order the rungs arrive in.
    rungs = _rungs("BBBPP", tokens=[0, 0, 500, 3000, 900])
    best, _ = recommend(list(reversed(rungs)))
    assert best is not None and best.index == 3


def test_no_passing_rung_names_none() -> None:
    best, text = recommend(_rungs("BBIBB"))
    assert best is None and "no rung passes" in text


def test_rung_4_needs_both_align_configs_and_names_the_missing_one(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws").root
    require_rlhf_configs(ws)  # the example ships both
    (ws / "configs" / "align" / "reward.yaml").unlink()
    with pytest.raises(UsageError) as err:
        require_rlhf_configs(ws)
    missing = str(err.value).split("missing: ")[1]
    assert missing.startswith(str(ws / "configs" / "align" / "reward.yaml"))
    assert "ppo.yaml" not in missing.splitlines()[0]
    assert err.value.exit_code == 2 and "--rlhf" in (err.value.hint or "")
    (ws / "configs" / "align" / "ppo.yaml").unlink()
    with pytest.raises(UsageError, match=r"missing: .*reward\.yaml, .*ppo\.yaml"):
        require_rlhf_configs(ws)


def test_the_report_describes_rung_4() -> None:
    rungs = _rungs("BBBBP", tokens=[0, 0, 500, 3000, 900])
    best, text = recommend(rungs)
    result = LadderResult(
        loop_id="loop-x",
        workspace=".",
        size="7B",
        rungs=rungs,
        recommended=best.index if best else None,
        recommendation=text,
    )
    md = render_markdown(result)
    assert "| 4 SFT+RLHF | PASS |" in md
    assert "- rung 4 SFT+RLHF: + a reward model on the preference pairs, then RLOO" in md
