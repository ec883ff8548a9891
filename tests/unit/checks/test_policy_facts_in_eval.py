"""``factual_policy_figures`` in an evaluation: the check reads the workspace's catalogue
(issue 14: evaluation did not tell the check which workspace it runs in)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from posttrain.contract import load_contract
from posttrain.evaluate import EvalConfig, evaluate, load_suite
from posttrain.generation.base import Conversation, Generation, GenerationParams

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot"


class _Answers:
    """Answers each prompt from a table (a scripted model)."""

    name = "scripted"
    fingerprint = "fp-policy-facts-eval"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(
        self, conversations: Sequence[Conversation], params: GenerationParams, **_: Any
    ) -> list[Generation]:
        out = []
        for conv in conversations:
            text = next(a for p, a in self.answers.items() if p in conv[-1]["content"])
            out.append(
                Generation(
                    text=text,
                    prompt_tokens=1,
                    completion_tokens=1,
                    latency_s=0.0,
                    finish_reason="stop",
                )
            )
        return out


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    shutil.copy(EXAMPLE / "contract.yaml", root / "contract.yaml")
    shutil.copy(EXAMPLE / "data" / "catalog.jsonl", root / "data" / "catalog.jsonl")
    return root


def _verdicts(ws: Path, tmp_path: Path, answers: dict[str, str]) -> dict[str, str]:
    rows = [
        {"id": f"q-{i}", "prompt": p, "tags": ["policy_question"], "lang": "en"}
        for i, p in enumerate(answers)
    ]
    suite_file = tmp_path / "suite.jsonl"
    suite_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = EvalConfig(
        model="m",
        out_dir=ws / "reports" / "eval" / "m" / "suite",
        cache_dir=None,
        review_labels=ws / "reports" / "review" / "labels.jsonl",
    )
    result = evaluate(
        cfg, _Answers(answers), load_contract(ws / "contract.yaml"), load_suite(suite_file)
    )
    out = {}
    for item in result.items:
        (v,) = [v for v in item.verdicts if v.clause == "factual_policy_figures"]
        out[item.id] = f"{v.status}: {v.evidence}"
    return out


def test_a_wrong_refund_figure_fails_the_clause_in_an_eval(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not the workspace: the catalogue is found through it
    got = _verdicts(
        ws,
        tmp_path,
        {
            "How long does a refund take?": "Refunds take 30 days once we have the parcel.",
            "When do I get my money back?": "Refunds take 3-5 business days after we receive it.",
        },
    )
    assert got["q-0"].startswith("fail") and "refund_time" in got["q-0"], got
    assert got["q-1"].startswith("pass"), got


def test_a_claim_the_catalogue_does_not_list_fails_in_an_eval(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got = _verdicts(
        ws,
        tmp_path,
        {
            "Can I swim with the AirFlow Pro earbuds?": "Yes, they're fully waterproof, swim away!",
            "Do the AirFlow Pro earbuds cancel noise?": "Yes, they have active noise cancelling.",
        },
    )
    # before: "error" (the catalogue was looked for in the current directory)
    assert got["q-0"].startswith("fail") and "waterproof" in got["q-0"], got
    assert got["q-1"].startswith("pass"), got
