"""Judging a candidate against a baseline under a gate policy.

:func:`run_gate` reads nothing: it takes both sides' items (see :mod:`.inputs`), judges
every rule of the policy and returns a :class:`GateVerdict`:

* ``PASS``: every hard rule holds (or is covered by a valid waiver);
* ``BLOCK``: a hard rule is broken and not waived;
* ``INCONCLUSIVE``: nothing is broken, but some rule could not be judged — too few
  samples, or nothing measured it. Too few samples never gives PASS (but a threshold
  whose whole interval lies on the wrong side still BLOCKs, however few the samples).

Absolute thresholds are judged on the 95% Wilson bound (an upper bound for ``max``), paired
rules on the paired-bootstrap interval of the delta, so that "the point estimate looks
fine" never passes a gate on its own. Soft alerts are reported and never block.

CLI exit codes for a verdict: 0 PASS, 1 BLOCK, 4 INCONCLUSIVE (2 stays usage/input).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.contract.gate_policy import GatePolicy
from posttrain.core.auditlog import AuditHead
from posttrain.core.hashing import file_sha256, update_from_file
from posttrain.errors import InputError
from posttrain.evaluate.metrics import ALL
from posttrain.evaluate.results import Manifest, build_manifest
from posttrain.gate.inputs import EvalRun, RunRef
from posttrain.gate.policy import policy_hash
from posttrain.gate.results import Decision, EvidenceItem, RuleResult
from posttrain.gate.rules import Judge
from posttrain.gate.waivers import WaiverCheck

__all__ = [
    "EXIT_CODES",
    "Decision",
    "EvidenceItem",
    "GateVerdict",
    "RuleResult",
    "apply_waivers",
    "read_verdict",
    "record_verdict",
    "run_gate",
    "write_verdict",
]

SCHEMA_VERSION = 1
EXIT_CODES: dict[str, int] = {"PASS": 0, "BLOCK": 1, "INCONCLUSIVE": 4}


class GateVerdict(BaseModel):
    """The gate's decision, written as ``verdict.json``."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["gate"] = "gate"
    id: str
    decision: Decision
    # What the rules alone decided, before any waiver.
    decision_without_waivers: Decision
    created_at: str
    policy_source: str
    policy_hash: str
    policy: dict[str, Any]
    # Whether it was judged under the workspace's own gate policy and on results evaluated
    # under its contract (None: judged without a workspace, or the workspace has no
    # contract.yaml), and the workspace's hashes then; see :mod:`posttrain.gate.pinning`.
    policy_pinned: bool | None = None
    contract_pinned: bool | None = None
    workspace_policy_hash: str | None = None
    workspace_contract_hash: str | None = None
    baseline: RunRef
    candidate: RunRef
    n_paired: int
    rules: list[RuleResult]
    waivers: list[WaiverCheck] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    manifest: Manifest
    # The audit log's head just before this verdict's `gate_verdict` event (set by
    # record_verdict): `posttrain log verify` fails on a log that no longer reaches it.
    audit_head: AuditHead | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    @property
    def alerts(self) -> list[RuleResult]:
        return [r for r in self.rules if r.status == "alert"]


def run_gate(
    policy: GatePolicy,
    baseline: EvalRun,
    candidate: EvalRun,
    *,
    policy_source: str = "built-in default",
    waivers: Sequence[WaiverCheck] = (),
    now: datetime | None = None,
) -> GateVerdict:
    """Judge ``candidate`` against ``baseline``; see the module docstring.

    ``waivers`` are already checked (:func:`posttrain.gate.waivers.check_waiver`); only
    accepted ones cover rules. Raises :class:`InputError` when no item pairs.
    """
    judge = Judge(policy, baseline.items, candidate.items)
    rules: list[RuleResult] = []
    rules += [judge.threshold(r) for r in policy.hard]
    rules += [judge.improvement(r) for r in policy.improve]
    for ni in policy.non_inferiority:
        rules += judge.non_inferiority(ni)
    rules += [judge.counter(r) for r in policy.zero]
    rules += judge.soft()
    notes = [*baseline.notes, *candidate.notes]
    full = judge.compare(ALL)
    if full.only_in_base or full.only_in_candidate:
        notes.append(
            f"{full.only_in_base} baseline and {full.only_in_candidate} candidate items have "
            "no partner and are left out of every paired rule"
        )
    b_hash, c_hash = baseline.ref.contract_hash, candidate.ref.contract_hash
    if b_hash and c_hash and b_hash != c_hash:
        notes.append(
            f"baseline and candidate were judged under different contracts ({b_hash[:12]} vs "
            f"{c_hash[:12]}): paired deltas mix a model change with a contract change"
        )
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    phash = policy_hash(policy)
    raw = _decide(rules)
    digest = hashlib.sha256(
        json.dumps(
            [created, phash, baseline.ref.path, candidate.ref.fingerprint, candidate.ref.path],
            default=str,
        ).encode()
    ).hexdigest()
    verdict = GateVerdict(
        id=f"gate-{digest[:12]}",
        decision=raw,
        decision_without_waivers=raw,
        created_at=created,
        policy_source=policy_source,
        policy_hash=phash,
        policy=policy.model_dump(mode="json"),
        baseline=baseline.ref,
        candidate=candidate.ref,
        n_paired=full.n_paired,
        rules=rules,
        notes=notes,
        manifest=build_manifest(),
    )
    return apply_waivers(verdict, waivers)


def apply_waivers(verdict: GateVerdict, checks: Iterable[WaiverCheck]) -> GateVerdict:
    """The verdict with accepted waivers covering the blocking rules they name.

    A waiver names a policy rule id (covering all its results) or one result id. Checks
    already on the verdict are kept; the decision is recomputed from the rules.
    """
    checks = [*verdict.waivers, *[c for c in checks if c not in verdict.waivers]]
    cover: dict[str, str] = {}
    for check in checks:
        if check.accepted and check.id:
            for rule_id in check.rules:
                cover.setdefault(rule_id, check.id)
    rules = []
    for r in verdict.rules:
        by = cover.get(r.id) or cover.get(r.rule)
        rules.append(r.model_copy(update={"waived_by": by if r.blocking and by else None}))
    decision = _decide([r for r in rules if not r.waived_by])
    return verdict.model_copy(update={"rules": rules, "waivers": checks, "decision": decision})


def write_verdict(verdict: GateVerdict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(verdict.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def record_verdict(verdict: GateVerdict, path: Path, audit_log: Path) -> Path:
    """Write ``verdict`` to ``path`` and append its ``gate_verdict`` event to ``audit_log``
    (the one place that event is built, for ``posttrain gate`` and the loop alike). The
    file records the log's head before that event (``audit_head``), an anchor for
    ``posttrain log verify``."""
    from posttrain.core.auditlog import append_event, read_head

    verdict = verdict.model_copy(update={"audit_head": read_head(audit_log)})
    write_verdict(verdict, path)
    append_event(
        audit_log,
        "gate_verdict",
        {
            "verdict_id": verdict.id,
            "decision": verdict.decision,
            "decision_without_waivers": verdict.decision_without_waivers,
            "path": str(path),
            "verdict_sha256": file_sha256(path),
            "policy_source": verdict.policy_source,
            "policy_hash": verdict.policy_hash,
            "baseline": {
                **verdict.baseline.model_dump(),
                "items_sha256": _items_sha256(Path(verdict.baseline.path)),
            },
            "candidate": {
                **verdict.candidate.model_dump(),
                "items_sha256": _items_sha256(Path(verdict.candidate.path)),
            },
            "blocking": [r.id for r in verdict.rules if r.blocking and not r.waived_by],
            "waivers": [w.model_dump() for w in verdict.waivers],
        },
    )
    return path


def _items_sha256(path: Path) -> str | None:
    """One sha256 over the ``items.jsonl`` files a side was judged on (None if none)."""
    files = [path] if path.is_file() else sorted(path.rglob("items.jsonl"))
    if not files:
        return None
    digest = hashlib.sha256()
    for f in files:
        update_from_file(digest, f)
    return digest.hexdigest()


def read_verdict(path: Path) -> GateVerdict:
    """Read a ``verdict.json``; raises :class:`InputError` when it does not validate."""
    try:
        return GateVerdict.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the verdict: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(
            err["msg"], path=str(path), field=field, hint="is this written by `posttrain gate`?"
        ) from None


def _decide(rules: Iterable[RuleResult]) -> Decision:
    blocking = [r for r in rules if r.blocking]
    if any(r.status == "fail" for r in blocking):
        return "BLOCK"
    if blocking:
        return "INCONCLUSIVE"
    return "PASS"
