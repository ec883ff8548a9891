"""The gate: policy, verdicts and waivers.

``gate(baseline_dir, candidate_dir, policy=..., waivers=[...])`` loads both sides'
evaluation results, judges every rule of the policy and returns a
:class:`~posttrain.gate.verdict.GateVerdict` (PASS | BLOCK | INCONCLUSIVE). Waivers that
are unsigned, tampered, expired or bound to another candidate or contract are listed on
the verdict with the reason and cover nothing.
"""

from __future__ import annotations

import typing

from posttrain.contract.gate_policy import GatePolicy
from posttrain.gate.inputs import EvalRun, RunRef, load_run
from posttrain.gate.policy import default_policy, load_policy
from posttrain.gate.verdict import (
    EXIT_CODES,
    GateVerdict,
    RuleResult,
    apply_waivers,
    read_verdict,
    record_verdict,
    run_gate,
    write_verdict,
)
from posttrain.gate.waivers import Waiver, WaiverCheck, assess_waiver_file

if typing.TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = [
    "EXIT_CODES",
    "GATE_FILE",
    "EvalRun",
    "GatePolicy",
    "GateVerdict",
    "RuleResult",
    "RunRef",
    "Waiver",
    "WaiverCheck",
    "apply_waivers",
    "assess_waiver_file",
    "default_policy",
    "gate",
    "load_policy",
    "load_run",
    "read_verdict",
    "record_verdict",
    "resolve_policy",
    "run_gate",
    "write_verdict",
]

GATE_FILE = "gate.yaml"


def resolve_policy(policy: Path | None, workspace: Path | None = None) -> tuple[GatePolicy, str]:
    """The policy to judge with, and where it came from: ``policy`` when given, else the
    workspace's ``gate.yaml``, else the ``gate:`` section of its ``contract.yaml``, else
    the built-in default."""
    if policy is not None:
        return load_policy(policy), str(policy)
    if workspace is not None:
        candidate = workspace / GATE_FILE
        if candidate.is_file():
            return load_policy(candidate), str(candidate)
        contract = workspace / "contract.yaml"
        if contract.is_file() and _has_gate_section(contract):
            return load_policy(contract), f"{contract} (gate:)"
    return default_policy(), "built-in default"


def _has_gate_section(path: Path) -> bool:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and isinstance(data.get("gate"), dict)


def _same_dtype(base: EvalRun, cand: EvalRun) -> None:
    """Refuse to compare a model that answered in one dtype with one in another: bf16 and
    fp32 greedy answers differ item by item (BENCHMARKS.md, bf16 agreement), so the paired
    difference would measure the dtype as much as the training."""
    a, b = base.ref.dtype, cand.ref.dtype
    if a is not None and b is not None and a != b:
        from posttrain.errors import InputError

        raise InputError(
            f"the baseline answered in {a} and the candidate in {b}: a paired comparison "
            "needs both sides in one dtype",
            path=cand.ref.path,
            hint="evaluate both with the workspace's generation.yaml dtype (or the same --dtype)",
        )


def gate(
    baseline: Path,
    candidate: Path,
    *,
    policy: Path | None = None,
    workspace: Path | None = None,
    waivers: Sequence[Path] = (),
) -> GateVerdict:
    """Load results, resolve the policy, check the waivers and judge; see the module doc.
    With a ``workspace``, the verdict says whether it was made under the workspace's own
    policy and contract (:func:`posttrain.gate.pinning.mark_pins`).

    Raises :class:`~posttrain.errors.InputError` for unreadable results or waiver paths
    that do not exist, :class:`~posttrain.errors.ConfigError` for an invalid policy.
    """
    gate_policy, source = resolve_policy(policy, workspace)
    base_run, cand_run = load_run(baseline), load_run(candidate)
    _same_dtype(base_run, cand_run)
    checks = [
        assess_waiver_file(
            path,
            candidate=cand_run.ref.fingerprint,
            contract_hash=cand_run.ref.contract_hash,
            rule_ids=gate_policy.rule_ids(),
        )[1]
        for path in waivers
    ]
    verdict = run_gate(gate_policy, base_run, cand_run, policy_source=source, waivers=checks)
    if workspace is None:
        return verdict
    from posttrain.gate.pinning import mark_pins

    return mark_pins(verdict, workspace)
