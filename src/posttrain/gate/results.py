"""The per-rule result of a gate: value, threshold, bound, interval, n and evidence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.evaluate.metrics import ALL

__all__ = ["Decision", "EvidenceItem", "RuleKind", "RuleResult", "Status"]

Decision = Literal["PASS", "BLOCK", "INCONCLUSIVE"]
Status = Literal["pass", "fail", "inconclusive", "skipped", "alert", "ok"]
RuleKind = Literal["threshold", "improvement", "non_inferiority", "counter", "soft"]
EXIT_CODES: dict[str, int] = {"PASS": 0, "BLOCK": 1, "INCONCLUSIVE": 4}


class EvidenceItem(BaseModel):
    """An item behind a rule's result: a flip, a hit or a counted failure."""

    model_config = ConfigDict(extra="forbid")

    id: str
    suite: str
    group: str
    lang: str
    change: str
    detail: str = ""
    completion: str = ""


class RuleResult(BaseModel):
    """One judged rule: its value, threshold, interval, sample size and evidence."""

    model_config = ConfigDict(extra="forbid")

    id: str
    # The policy rule this result comes from (a non-inferiority rule gives one result per
    # metric and class); a waiver may name either.
    rule: str
    kind: RuleKind
    severity: Literal["hard", "soft"]
    metric: str
    group: str = ALL
    lang: str = ALL
    status: Status
    value: float | None = None
    threshold: str = ""
    # The number compared with the threshold (a Wilson or bootstrap bound, a count).
    bound: float | None = None
    interval: tuple[float, float] | None = None
    n: int | None = None
    # Items (or pairs) left out because the judge was uncertain; above the policy's
    # max_uncertain_share of them the rule is inconclusive.
    uncertain: int = 0
    message: str = ""
    evidence: list[EvidenceItem] = Field(default_factory=list)
    evidence_total: int = 0
    waived_by: str | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == "hard" and self.status in ("fail", "inconclusive")
