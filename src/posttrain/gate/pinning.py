"""Pinning: the gate policy and contract a verdict must have been made under to promote.

A workspace pins one gate policy, the one :func:`posttrain.gate.resolve_policy` finds
there without ``--policy`` (its ``gate.yaml``, else the ``gate:`` section of its
contract, else the built-in default), by :func:`~posttrain.gate.policy.policy_hash`; and
one contract, its ``contract.yaml``, by :attr:`~posttrain.contract.Contract.content_hash`
(the hash evaluation records in every summary). A verdict judged under another policy
(``posttrain gate --policy lax.yaml``), or on candidate results evaluated under another
contract, is *not pinned*: it says so in its JSON (``policy_pinned: false`` /
``contract_pinned: false``, with the workspace's hashes) and in a note the gate table
prints, and the registry refuses to promote it unless a signed waiver names that verdict
(its ``verdict`` field) and the pin it accepts (``policy_pin`` / ``contract_pin`` in its
``rules``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrain.gate.policy import policy_hash
from posttrain.gate.verdict import GateVerdict

__all__ = [
    "CONTRACT_PIN",
    "PIN_RULES",
    "POLICY_PIN",
    "PinProblem",
    "WorkspacePins",
    "mark_pins",
    "pin_problems",
    "workspace_pins",
]

# The ids a waiver names in its ``rules`` to accept an unpinned policy or contract.
POLICY_PIN = "policy_pin"
CONTRACT_PIN = "contract_pin"
PIN_RULES = (POLICY_PIN, CONTRACT_PIN)


class WorkspacePins(BaseModel):
    """What a workspace pins a verdict to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy_hash: str
    policy_source: str
    # None: the workspace has no contract.yaml, so there is no contract to pin to.
    contract_hash: str | None


class PinProblem(BaseModel):
    """One pin a verdict misses: which (``policy_pin`` | ``contract_pin``) and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pin: str
    message: str


def workspace_pins(workspace: Path) -> WorkspacePins:
    """The workspace's gate policy hash and contract hash. Raises
    :class:`~posttrain.errors.ConfigError` when its policy or contract does not validate."""
    from posttrain.contract import load_contract
    from posttrain.gate import resolve_policy

    workspace = Path(workspace)
    policy, source = resolve_policy(None, workspace)
    contract = workspace / "contract.yaml"
    return WorkspacePins(
        policy_hash=policy_hash(policy),
        policy_source=source,
        contract_hash=load_contract(contract).content_hash if contract.is_file() else None,
    )


def pin_problems(verdict: GateVerdict, pins: WorkspacePins) -> list[PinProblem]:
    """The pins ``verdict`` misses, each naming both hashes (empty: it is pinned)."""
    problems: list[PinProblem] = []
    if verdict.policy_hash != pins.policy_hash:
        problems.append(
            PinProblem(
                pin=POLICY_PIN,
                message=f"judged under gate policy {verdict.policy_hash[:12]} "
                f"({verdict.policy_source}), not the workspace's {pins.policy_hash[:12]} "
                f"({pins.policy_source})",
            )
        )
    judged = verdict.candidate.contract_hash
    if pins.contract_hash is not None and judged != pins.contract_hash:
        problems.append(
            PinProblem(
                pin=CONTRACT_PIN,
                message=f"candidate evaluated under contract "
                f"{judged[:12] if judged else '(unknown)'}, not the workspace's "
                f"contract.yaml {pins.contract_hash[:12]}",
            )
        )
    return problems


def mark_pins(verdict: GateVerdict, workspace: Path) -> GateVerdict:
    """``verdict`` with ``policy_pinned`` / ``contract_pinned`` and the workspace's hashes
    set, and a note (first, so it is not missed) for each pin it misses."""
    pins = workspace_pins(workspace)
    problems = pin_problems(verdict, pins)
    missed = {p.pin for p in problems}
    notes = [
        f"not pinned: {p.message}; `posttrain promote` refuses this verdict unless a signed "
        f"waiver names it (verdict {verdict.id}, rule {p.pin})"
        for p in problems
    ]
    return verdict.model_copy(
        update={
            "policy_pinned": POLICY_PIN not in missed,
            "contract_pinned": None if pins.contract_hash is None else CONTRACT_PIN not in missed,
            "workspace_policy_hash": pins.policy_hash,
            "workspace_contract_hash": pins.contract_hash,
            "notes": [*notes, *verdict.notes],
        }
    )
