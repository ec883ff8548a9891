"""The behaviour contract: schema, loading with line-numbered errors, system prompt.

``load_contract("contract.yaml")`` gives a :class:`Contract`; its clauses name the checks
(:mod:`posttrain.checks`) that decide them, and ``Contract.render_system_prompt`` is the
one place the system prompt is built.
"""

from __future__ import annotations

from posttrain.contract.loader import (
    ContractIssue,
    LintResult,
    lint_contract,
    load_contract,
    parse_contract,
)
from posttrain.contract.schema import (
    SCHEMA_VERSION,
    CheckSpec,
    Clause,
    Contract,
    Dimension,
    Severity,
)

__all__ = [
    "SCHEMA_VERSION",
    "CheckSpec",
    "Clause",
    "Contract",
    "ContractIssue",
    "Dimension",
    "LintResult",
    "Severity",
    "lint_contract",
    "load_contract",
    "parse_contract",
]
