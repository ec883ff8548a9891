"""Is the chosen answer really better? Both sides of a pair judged by the contract's checks.

Evaluation judges a completion against the contract's clauses with
:func:`posttrain.evaluate.runner.judge_item`; the pair check calls exactly that, on the
chosen and on the rejected answer of a pair, with the sample the held-out suite would
make of the failure (its prompt, context and language, the clauses its label is tied to
plus the contract's ``all`` clauses). The chosen answer must

* pass every clause the rejected answer failed (else it repeats the failure it is meant
  to correct), and
* pass every hard clause that could judge the pair (one side got a pass or a fail).

Otherwise the pair is quarantined (``pairs_quarantine.jsonl``), with the clauses and the
check's evidence, and counted. A clause neither answer could be judged on (an injection
clause without a marker in the record) is counted as unjudged, not held against the pair;
a pair whose rejected answer no check found failing is counted as unconfirmed (the label
says it failed; no check of the contract can tell).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from posttrain.data.records import BucketedRecord, PrefPair

__all__ = ["PairJudge", "PairQuarantineItem", "PairVerdict"]


class PairVerdict(NamedTuple):
    """What the checks said about one pair."""

    problems: list[str]  # clause ids the chosen answer does not pass (the pair is quarantined)
    evidence: str  # the first problem's check evidence
    rejected_failed: list[str]
    unjudged: list[str]
    chosen_from: str = ""  # ideal_answer | template:<id>


class PairQuarantineItem(BaseModel):
    """A line of ``pairs_quarantine.jsonl``: a pair held back, and why (no answer text)."""

    model_config = ConfigDict(extra="forbid")

    file: str
    line: int
    id: str
    label: str
    chosen_from: str
    clauses: list[str]
    reason: str
    hint: str


class PairJudge:
    """The contract at ``contract_path``, ready to judge pairs (one per process)."""

    def __init__(self, contract_path: Path, workspace: Path) -> None:
        from posttrain.contract import load_contract
        from posttrain.evaluate.runner import canary_for, judge_item

        self._judge_item = judge_item
        self.contract = load_contract(contract_path)
        self.canary = canary_for(self.contract.content_hash)
        self.expected = {
            "canary": self.canary,
            "system_prompt": self.contract.render_system_prompt(canary=self.canary),
            # relative paths in check arguments (the catalogue) are the workspace's
            "workspace": str(workspace.resolve()),
        }
        self.severity = {c.id: c.severity for c in self.contract.clauses}

    def sample(self, rec: BucketedRecord, clauses: list[str]) -> Any:
        from posttrain.checks import Sample

        known = self.severity
        return Sample(
            id=rec.id,
            prompt=rec.prompt or "(empty)",
            context=rec.context or None,
            lang="zh" if rec.lang == "zh" else "en",
            tags=[f"failure:{rec.label}"],
            clauses=[c for c in clauses if c in known],
            expected=dict(self.expected),
        )

    def judge(self, rec: BucketedRecord, pair: PrefPair, clauses: list[str]) -> PairVerdict:
        sample = self.sample(rec, clauses)
        chosen = {
            v.clause: v
            for v in self._judge_item(self.contract, sample, pair.chosen, self.canary)[0]
        }
        rejected = {
            v.clause: v
            for v in self._judge_item(self.contract, sample, pair.rejected, self.canary)[0]
        }
        problems: list[str] = []
        evidence = ""
        failed: list[str] = []
        unjudged: list[str] = []
        for clause, c in chosen.items():
            r = rejected.get(clause)
            r_status = r.status if r is not None else "error"
            if r_status == "fail":
                failed.append(clause)
            judged = c.status in ("pass", "fail") or r_status in ("pass", "fail")
            if not judged:
                unjudged.append(clause)
                continue
            if c.status != "pass" and (r_status == "fail" or self.severity.get(clause) == "hard"):
                problems.append(clause)
                if not evidence:
                    evidence = f"{c.check} {c.status}: {c.evidence}"
        return PairVerdict(problems, evidence, failed, unjudged, pair.chosen_from)
