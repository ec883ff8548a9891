"""Read ``contract.yaml``: parse, validate, and say where each problem is.

Validation errors from pydantic carry a location (``("clauses", 2, "severity")``); the
YAML is also composed to nodes, whose marks give the line of each value, so every
problem is reported as ``contract.yaml line 14: clauses[2].severity: must be hard or soft
(got 'hrad')``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.contract.gate_policy import GatePolicy
from posttrain.contract.schema import CheckSpec, Clause, Contract
from posttrain.errors import ConfigError

__all__ = [
    "ContractIssue",
    "LintResult",
    "field_name",
    "line_of",
    "lint_contract",
    "load_contract",
    "parse_contract",
]

_FIELDS_AT_DEPTH = {
    0: [*Contract.model_fields, "gate"],
    2: list(Clause.model_fields),
    4: list(CheckSpec.model_fields),
}


class ContractIssue(BaseModel):
    """One problem in a contract file."""

    model_config = ConfigDict(extra="forbid")

    path: str
    line: int | None
    field: str  # dotted location, e.g. clauses[2].severity ("" for the whole file)
    message: str

    def __str__(self) -> str:
        where = self.path + (f" line {self.line}" if self.line is not None else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class LintResult(BaseModel):
    """What ``posttrain contract lint`` found: errors block loading, warnings do not."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    path: str
    contract: Contract | None = None
    errors: list[ContractIssue] = Field(default_factory=list)
    warnings: list[ContractIssue] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def field_name(loc: Sequence[int | str]) -> str:
    """A pydantic error location as the dotted field it names: ``clauses[2].severity``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(root: yaml.Node | None, loc: Sequence[int | str], *, key: bool = False) -> int | None:
    """Line (1-based) of the YAML node at ``loc``; the deepest existing parent when the
    location is missing; the key's own line when ``key`` (an unknown field)."""
    if root is None:
        return None
    node = root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    node = k if (last and key) else v
                    break
            else:
                return node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node.start_mark.line + 1
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1


def read_yaml(text: str, path: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for :func:`line_of`) and the data of the YAML ``text`` of ``path``;
    a syntax error raises :class:`ConfigError` naming the file and line."""
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path} line {mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None


def _message(err: Any) -> str:
    kind = err["type"]
    got = err.get("input")
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
        return f"must be {expected} (got {got!r})"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = _FIELDS_AT_DEPTH.get(len(err["loc"]) - 1)
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown field{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error"):
        return msg
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    return f"{msg} (got {shown})"


def _check_gate_section(
    gate: object, root: yaml.Node | None, path: str, result: LintResult
) -> None:
    try:
        GatePolicy.model_validate(gate)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ("gate", *err["loc"])
            extra = err["type"] == "extra_forbidden"
            message = _message(err) if not extra else "unknown field"
            if extra and len(err["loc"]) == 1:
                message += f" (allowed: {', '.join(GatePolicy.model_fields)})"
            result.errors.append(
                ContractIssue(
                    path=path,
                    line=line_of(root, loc, key=extra),
                    field=field_name(loc),
                    message=message,
                )
            )


def _duplicate_ids(clauses: object, root: yaml.Node | None, path: str) -> list[ContractIssue]:
    """A clause id used again, at the line of the clause that reuses it (the schema can
    only say that the contract as a whole repeats one)."""
    if not isinstance(clauses, list):
        return []
    first: dict[str, int] = {}
    issues = []
    for i, clause in enumerate(clauses):
        cid = clause.get("id") if isinstance(clause, dict) else None
        if not isinstance(cid, str):
            continue
        if cid not in first:
            first[cid] = i
            continue
        j = first[cid]
        issues.append(
            ContractIssue(
                path=path,
                line=line_of(root, ("clauses", i, "id")),
                field=f"clauses[{i}].id",
                message=f"clause id {cid!r} is used twice (first by clauses[{j}] on line "
                f"{line_of(root, ('clauses', j, 'id'))}); give each clause its own id",
            )
        )
    return issues


def parse_contract(text: str, path: str = "contract.yaml") -> LintResult:
    """Validate contract YAML ``text``; ``path`` only names the file in messages."""
    result = LintResult(path=path)
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        result.errors.append(
            ContractIssue(path=path, line=line, field="", message=f"invalid YAML: {problem}")
        )
        return result
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        result.errors.append(
            ContractIssue(
                path=path,
                line=1,
                field="",
                message=f"a contract is a mapping of fields (got {got})",
            )
        )
        return result
    # A `gate:` section is the gate's policy (posttrain.contract.gate_policy), checked too.
    gate = data.pop("gate", None)
    if gate is not None:
        _check_gate_section(gate, root, path, result)
    duplicates = _duplicate_ids(data.get("clauses"), root, path)
    result.errors.extend(duplicates)
    try:
        result.contract = Contract.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if duplicates and not loc and "used twice" in str(err["msg"]):
                continue  # the schema's whole-contract message; reported above at the line
            result.errors.append(
                ContractIssue(
                    path=path,
                    line=line_of(root, loc, key=err["type"] == "extra_forbidden"),
                    field=field_name(loc),
                    message=_message(err),
                )
            )
        result.errors.sort(key=lambda i: (i.line or 0, i.field))
        return result
    if result.errors:  # the clauses are fine, the gate section is not
        result.contract = None
        result.errors.sort(key=lambda i: (i.line or 0, i.field))
        return result
    if "{canary}" not in result.contract.system_prompt:
        result.warnings.append(
            ContractIssue(
                path=path,
                line=line_of(root, ("system_prompt",)),
                field="system_prompt",
                message="no {canary} placeholder; a marker line is appended when a canary is used",
            )
        )
    return result


def lint_contract(path: str | Path = "contract.yaml") -> LintResult:
    """Validate the contract file at ``path``; never raises for what the file holds."""
    p = Path(path)
    if not p.is_file():
        result = LintResult(path=str(path))
        result.errors.append(
            ContractIssue(path=str(path), line=None, field="", message="file not found")
        )
        return result
    return parse_contract(p.read_text(encoding="utf-8"), path=str(path))


def load_contract(path: str | Path = "contract.yaml") -> Contract:
    """Read and validate a contract; raises :class:`ConfigError` listing every problem
    with its line (``contract.yaml line 14: clauses[2].severity: must be hard or soft
    (got 'hrad')``)."""
    result = lint_contract(path)
    if result.contract is None:
        lines = "\n".join(str(issue) for issue in result.errors)
        hint = (
            "create one with `posttrain init` or pass its path"
            if not Path(path).is_file()
            else f"fix the field(s) above; `posttrain contract lint {path}` re-checks"
        )
        raise ConfigError(lines, hint=hint)
    return result.contract
