"""Failure classes: the contract clauses behind each label, and label inference rules.

A record's bucket is its ``label``; when it has none, the first matching
:class:`~posttrain.data.config.LabelRule` decides, and a record no rule recognises goes to
the ``unlabeled`` bucket (reported, never guessed). A label is tied to the contract
clauses whose ``applies_to`` names it, whose id contains it, whose dimension is it, or
that match one of the label's aliases in the data config; the classes the contract
*requires* are the labels tied to at least one clause.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from posttrain.data.config import LabelRule
from posttrain.errors import ConfigError

__all__ = [
    "UNLABELED",
    "ClauseInfo",
    "ContractInfo",
    "LabelInferer",
    "clauses_for",
    "load_contract_info",
    "required_classes",
]

UNLABELED = "unlabeled"


class ClauseInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    dimension: str = ""
    rule: str = ""
    applies_to: list[str] = Field(default_factory=list)


class ContractInfo(BaseModel):
    """What the data stage needs from the contract (its clauses), plus its hash."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    # Contract.content_hash: the one contract hash evaluation, `contract lint`, the run
    # manifest and the registry record, so the same contract hashes the same everywhere.
    sha256: str | None = None
    product: str = "the store"
    clauses: list[ClauseInfo] = Field(default_factory=list)


def load_contract_info(path: Path | None, display: str | None = None) -> ContractInfo:
    """Read clause ids, dimensions, rules and tags; an absent file gives no clauses.

    Uses :func:`posttrain.contract.load_contract` (full validation) when it is available.
    """
    if path is None or not path.exists():
        return ContractInfo()
    data = path.read_bytes()
    name = display or str(path)
    try:
        from posttrain.contract import load_contract
    except ImportError:  # the contract package is optional for this stage
        load_contract = None  # type: ignore[assignment]
    if load_contract is not None:
        contract = load_contract(path)
        clauses = [
            ClauseInfo(
                id=c.id,
                dimension=str(c.dimension),
                rule=c.rule,
                applies_to=list(c.applies_to),
            )
            for c in contract.clauses
        ]
        product = contract.product
        digest = contract.content_hash
    else:  # pragma: no cover - exercised only without posttrain.contract
        try:
            raw = yaml.safe_load(data) or {}
            clauses = [ClauseInfo.model_validate(_clause_fields(c)) for c in raw.get("clauses", [])]
            product = str(raw.get("product", "the store"))
        except (yaml.YAMLError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{name}: cannot read contract clauses: {exc}") from None
        digest = hashlib.sha256(data).hexdigest()
    return ContractInfo(path=name, sha256=digest, product=product, clauses=clauses)


def _clause_fields(c: dict[str, object]) -> dict[str, object]:
    return {k: c[k] for k in ("id", "dimension", "rule", "applies_to") if k in c}


def clauses_for(label: str, contract: ContractInfo, aliases: dict[str, list[str]]) -> list[str]:
    """Ids of the clauses that speak for failures labelled ``label`` (contract order)."""
    keys = [label, *aliases.get(label, [])]
    out = []
    for c in contract.clauses:
        tags = set(c.applies_to)
        if any(k in tags or k in c.id or k == c.dimension for k in keys):
            out.append(c.id)
    return out


def required_classes(
    contract: ContractInfo, labels: list[str], aliases: dict[str, list[str]]
) -> list[str]:
    """Labels the contract has clauses for: each needs training data."""
    return [label for label in labels if clauses_for(label, contract, aliases)]


class LabelInferer:
    """Applies ordered :class:`LabelRule` s to records without a label."""

    def __init__(self, rules: list[LabelRule]) -> None:
        self.rules = [(r.label, r.field, re.compile(r.pattern)) for r in rules]

    def infer(self, prompt: str, bad_answer: str, context: str | None) -> str:
        fields = {"prompt": prompt, "bad_answer": bad_answer, "context": context or ""}
        for label, field, rx in self.rules:
            if rx.search(fields[field]):
                return label
        return UNLABELED
