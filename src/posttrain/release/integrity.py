"""The audit log held to what the workspace's other records say of it.

The chain alone (:func:`posttrain.core.auditlog.verify_log`) cannot see entries cut off
its end when the head file goes with them, nor a log deleted whole or put back from an
older copy. The registry and the verdicts can: each records the log's head it was
written after (``audit_head``), and the registry's versions and alias moves are events
the log must hold. :func:`workspace_anchors` gathers those anchors,
:func:`verify_workspace_log` checks the log against them and its signed checkpoints
(what ``posttrain log verify`` calls), and :func:`checkpoint_workspace_log` signs the
verified head with the waiver key (``posttrain log checkpoint``), so that a log
rewritten whole by someone without the key is caught. ``docs/THREAT_MODEL.md`` says what
each detects.

The anchors, by source:

* the registry (``.posttrain/registry/registry.json``): its ``audit_head``, and one
  event per version (``registration`` of it) and per alias move (``promotion``,
  ``rollback`` or ``alias`` with that history seq);
* every verdict in ``reports/gate/*.json``, ``runs/*/verdict*.json`` and copied into
  the registry: its ``audit_head`` and its own ``gate_verdict`` event after it;
* the rollout (``.posttrain/rollout/state.json``): the ``rollout`` event of its last
  transition.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from posttrain.core.auditlog import (
    Anchor,
    AuditEntry,
    AuditHead,
    CheckpointStatus,
    CheckpointVerifier,
    EventRef,
    VerifyResult,
    append_checkpoint,
    checkpoint_bytes,
    verify_log,
)
from posttrain.errors import AuditLogBroken, InputError, UsageError
from posttrain.gate.verdict import GateVerdict, read_verdict
from posttrain.gate.waivers import (
    ED25519_KEY_ENV,
    ED25519_PUBKEYS_ENV,
    HMAC_KEY_ENV,
    Algorithm,
    Signature,
    sign_bytes,
    verify_bytes,
)
from posttrain.release.registry import STATE_FILE, Registry
from posttrain.release.rollout import STATE_FILE as ROLLOUT_STATE_FILE
from posttrain.release.rollout import Rollout
from posttrain.workspace import Workspace

__all__ = [
    "checkpoint_verifier",
    "checkpoint_workspace_log",
    "verify_workspace_log",
    "workspace_anchors",
]

# The audit event each kind of alias move is recorded as (Registry._move).
_ALIAS_EVENT = {"promote": "promotion", "rollback": "rollback"}
_KEY_ENVS = (HMAC_KEY_ENV, ED25519_KEY_ENV, ED25519_PUBKEYS_ENV)


def verify_workspace_log(
    workspace: Path,
    *,
    env: Mapping[str, str] | None = None,
    require_checkpoint: bool = False,
) -> VerifyResult:
    """Check the workspace's audit log: its chain, its head file, every anchor of
    :func:`workspace_anchors` and, when a waiver key is in ``env`` (default: the
    environment), every checkpoint's signature. ``require_checkpoint``: also fail when
    no checkpoint signature could be verified.

    Raises :class:`~posttrain.errors.InputError` when the registry or rollout state
    cannot be read (they are what the log is checked against).
    """
    ws = Workspace(Path(workspace))
    return verify_log(
        ws.audit_log,
        workspace_anchors(ws.root),
        checkpoints=checkpoint_verifier(env),
        require_checkpoint=require_checkpoint,
    )


def checkpoint_workspace_log(
    workspace: Path,
    *,
    algorithm: Algorithm | None = None,
    env: Mapping[str, str] | None = None,
) -> AuditEntry:
    """Verify the workspace's audit log, then sign its head with the waiver key and
    append the signature as a ``checkpoint`` entry; returns that entry (its payload's
    ``head`` is what was signed: keep it outside the workspace as well, if you can).

    Raises :class:`~posttrain.errors.AuditLogBroken` when the log does not verify (it
    is not signed as it is), :class:`UsageError` when it is empty or no key is set.
    """
    ws = Workspace(Path(workspace))
    result = verify_workspace_log(ws.root, env=env)
    if not result.ok:
        raise AuditLogBroken(
            f"{ws.audit_log} does not verify, so it is not signed: {result.reason}",
            hint="see `posttrain log verify`; restore the log from a backup first",
        )
    if result.entries == 0 or result.head_hash is None:
        raise UsageError(f"{ws.audit_log} is empty: there is nothing to sign yet")
    head = AuditHead(seq=result.entries, hash=result.head_hash)
    signature = sign_bytes(checkpoint_bytes(head), algorithm=algorithm, env=env)
    return append_checkpoint(ws.audit_log, head, signature.model_dump())


def checkpoint_verifier(env: Mapping[str, str] | None = None) -> CheckpointVerifier:
    """Check a checkpoint's signature with the waiver keys in ``env`` (default: the
    environment): ``$POSTTRAIN_WAIVER_KEY`` for HMAC, the Ed25519 public keys of
    ``$POSTTRAIN_WAIVER_ED25519_PUBKEYS`` (and of ``$POSTTRAIN_WAIVER_ED25519_KEY``).

    With no key at all a checkpoint is ``unverifiable`` (verify says they were not
    checked). With one, a checkpoint it cannot verify is ``invalid``: otherwise a log
    rewritten whole could carry checkpoints signed with a key of the forger's own.
    """
    keys = os.environ if env is None else env
    have_key = any(keys.get(name) for name in _KEY_ENVS)

    def verify(data: bytes, signature: dict[str, Any]) -> tuple[CheckpointStatus, str]:
        try:
            sig = Signature.model_validate(signature)
        except ValidationError:
            return "invalid", "its signature is not a signature record"
        if sig.algorithm == "ed25519" and importlib.util.find_spec("cryptography") is None:
            return "unverifiable", "an ed25519 signature needs the `cryptography` package"
        status, why = verify_bytes(data, sig, env=keys, subject="log")
        if status != "unverifiable":
            return status, why
        if have_key:
            return "invalid", f"{why}, and the key set here does not verify it"
        return "unverifiable", (
            f"no key to check them with (set ${HMAC_KEY_ENV}, or ${ED25519_PUBKEYS_ENV} "
            "for Ed25519)"
        )

    return verify


def workspace_anchors(workspace: Path) -> list[Anchor]:
    """What the workspace's registry, verdicts and rollout say the audit log holds (see
    the module docstring). Raises :class:`~posttrain.errors.InputError` when the
    registry or rollout state cannot be read."""
    ws = Workspace(Path(workspace))
    anchors = _verdict_anchors(ws)
    anchors += _registry_anchors(ws)
    anchors += _rollout_anchors(ws)
    # A verdict both on disk and copied into the registry is one anchor, named by its file.
    unique: dict[str, Anchor] = {}
    for anchor in anchors:
        unique.setdefault(anchor.model_dump_json(exclude={"source"}), anchor)
    return list(unique.values())


def _registry_anchors(ws: Workspace) -> list[Anchor]:
    registry = Registry(ws.registry)
    if not registry.state_path.is_file():
        return []
    state = registry.state()
    where = _rel(ws, ws.registry / STATE_FILE)
    anchors: list[Anchor] = []
    if state.audit_head is not None:
        anchors.append(Anchor(source=f"the registry ({where})", head=state.audit_head))
    for mv in state.versions:
        anchors.append(
            Anchor(
                source=f"registry version {mv.version} ({where})",
                event=EventRef(kind="registration", match={"version": mv.version}),
            )
        )
        if mv.verdict is not None:
            anchors += _verdict_anchor(mv.verdict, f"registry version {mv.version}")
    for move in state.history:
        kind = _ALIAS_EVENT.get(move.action, "alias")
        anchors.append(
            Anchor(
                source=f"registry history #{move.seq}, {move.action} {move.alias} ({where})",
                event=EventRef(
                    kind=kind, match={"alias": move.alias, "seq": move.seq, "ts": move.ts}
                ),
            )
        )
    return anchors


def _verdict_anchors(ws: Workspace) -> list[Anchor]:
    files = sorted((ws.reports / "gate").glob("*.json")) + sorted(ws.runs.glob("*/verdict*.json"))
    anchors: list[Anchor] = []
    for path in files:
        try:
            verdict = read_verdict(path)
        except InputError:
            continue  # not a verdict (another report in the folder)
        anchors += _verdict_anchor(verdict, _rel(ws, path))
    return anchors


def _verdict_anchor(verdict: GateVerdict, where: str) -> list[Anchor]:
    # Only a verdict written by record_verdict has a head, and an event after it.
    if verdict.audit_head is None:
        return []
    event = EventRef(kind="gate_verdict", match={"verdict_id": verdict.id})
    return [Anchor(source=f"verdict {verdict.id} ({where})", head=verdict.audit_head, event=event)]


def _rollout_anchors(ws: Workspace) -> list[Anchor]:
    state = Rollout(ws.rollout, Registry(ws.registry)).status()
    if state is None:
        return []
    where = _rel(ws, ws.rollout / ROLLOUT_STATE_FILE)
    match = {"rollout": state.id, "phase": state.phase, "weight": state.weight}
    return [
        Anchor(
            source=f"rollout {state.id}, {state.phase} at {state.weight:g}% ({where})",
            event=EventRef(kind="rollout", match=match),
        )
    ]


def _rel(ws: Workspace, path: Path) -> str:
    try:
        return path.resolve().relative_to(ws.root.resolve()).as_posix()
    except ValueError:
        return str(path)
