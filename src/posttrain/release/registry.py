"""The model registry: versions with their lineage, and aliases with their full history.

A local, file-based registry in ``.posttrain/registry/`` of a workspace: one
``registry.json`` holding every :class:`ModelVersion`, the current aliases (``champion``,
``challenger``) and every :class:`AliasEvent` ever recorded. Every change happens under a
file lock and is written atomically (temp file + rename), so processes that change it at
the same time leave one consistent state and one history, in the order they got the lock.

A version carries its lineage: the training run's manifest (path and hash, data version,
contract hash, base model), the evaluation results and the gate verdict (copied in, so
editing the file on disk later changes nothing). Registering fingerprints the model from
its files (:func:`posttrain.models.fingerprint_files`, the hash evaluation records, cached
by file size and mtime in ``fingerprints.json``) and refuses a verdict that judged other
weights. :meth:`Registry.promote` refuses a version whose verdict is not PASS unless valid
waivers cover every blocking rule, whose verdict was made under another gate policy or
contract than the workspace's unless a signed waiver names that verdict
(:mod:`posttrain.gate.pinning`), and whose files no longer have the registered fingerprint
(:meth:`Registry.verify_served`); :meth:`Registry.rollback` puts the previous champion
back, with its configuration: a version registered in a workspace carries a
:class:`~posttrain.release.bundle.Bundle` (contract, gate policy, serve config and guard
settings by sha256, their bytes in ``blobs/``), which rollback restores. Each change is
appended to the audit log, and logged to MLflow when ``mlflow`` is importable and
``$MLFLOW_TRACKING_URI`` is set.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.core.auditlog import AuditHead, append_event, read_head
from posttrain.core.hashing import file_sha256
from posttrain.errors import FingerprintMismatch, InputError, PromotionRefused, UsageError
from posttrain.gate.verdict import GateVerdict, apply_waivers, read_verdict
from posttrain.gate.waivers import WaiverCheck, assess_waiver_file
from posttrain.release.bundle import (
    BlobStore,
    Bundle,
    FileChange,
    apply_restore,
    capture_bundle,
    plan_restore,
)

__all__ = [
    "ALIASES",
    "AliasEvent",
    "ModelVersion",
    "PromotionRefused",
    "Registry",
    "RegistryState",
    "RunLineage",
    "read_run_lineage",
]

SCHEMA_VERSION = 1
ALIASES = ("champion", "challenger")
STATE_FILE = "registry.json"
FINGERPRINT_CACHE = "fingerprints.json"
BLOBS = "blobs"
_LOCK_TIMEOUT_S = 120.0

_log = logging.getLogger(__name__)


class RunLineage(BaseModel):
    """What the registry keeps of a training run's manifest."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    manifest_path: str
    manifest_sha256: str
    data_version: str | None = None
    contract_hash: str | None = None
    base_model: str | None = None
    base_model_fingerprint: str | None = None
    status: str | None = None
    output: str | None = None


class ModelVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    model: str
    # The content hash of the model files, computed from them at registration.
    fingerprint: str | None
    # Where those files are (absolute), re-checked before they are served; None for a
    # built-in model name (re-checked by name).
    model_path: str | None = None
    created_at: str
    created_by: str
    run: RunLineage | None = None
    data_version: str | None = None
    contract_hash: str | None = None
    # Evaluation result folders the verdict judged.
    eval_baseline: str | None = None
    eval_candidate: str | None = None
    verdict_path: str | None = None
    verdict_sha256: str | None = None
    verdict: GateVerdict | None = None
    note: str = ""
    # The workspace's configuration at registration (None: registered outside a
    # workspace, or before bundles existed; rollback then moves only the alias).
    bundle: Bundle | None = None

    @property
    def decision(self) -> str:
        return self.verdict.decision if self.verdict else "none"


class AliasEvent(BaseModel):
    """One change of an alias: set or removed, from which version to which, and why."""

    model_config = ConfigDict(extra="forbid")

    seq: int
    ts: str
    alias: str
    action: Literal["promote", "rollback", "set", "remove"]
    version: str | None
    previous: str | None
    reason: str = ""
    actor: str
    waivers: list[str] = Field(default_factory=list)
    # A rollback: the bundle files it restored in the workspace (hash before and after);
    # None when the version has no bundle (only the alias moved).
    restored: list[FileChange] | None = None


class RegistryState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    versions: list[ModelVersion] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)
    history: list[AliasEvent] = Field(default_factory=list)
    # The audit log's head when this state was written (after its own events): `posttrain
    # log verify` fails on a log that no longer reaches it (release/integrity.py).
    audit_head: AuditHead | None = None

    def get(self, version: str) -> ModelVersion:
        for v in self.versions:
            if v.version == version:
                return v
        known = ", ".join(v.version for v in self.versions) or "none yet"
        raise UsageError(
            f"no version {version!r} in the registry (known: {known})",
            hint="see `posttrain registry list`; register with `posttrain registry register`",
        )


def read_run_lineage(path: Path) -> RunLineage:
    """Adapter over the training stage's run record (``runs/<run_id>/manifest.json``).

    Accepts the run folder or the manifest file. Raises :class:`InputError` when it is
    not a valid run record.
    """
    from posttrain.train.manifest import MANIFEST_FILE, read_manifest

    path = Path(path)
    run_dir = path.parent if path.name == MANIFEST_FILE else path
    manifest = read_manifest(run_dir)
    file = run_dir / MANIFEST_FILE
    return RunLineage(
        run_id=manifest.run_id,
        manifest_path=str(file),
        manifest_sha256=file_sha256(file),
        data_version=manifest.data_version or manifest.data.data_version,
        contract_hash=manifest.contract_hash or manifest.data.contract_hash,
        base_model=manifest.base_model,
        base_model_fingerprint=manifest.base_model_fingerprint,
        status=manifest.status,
        output=manifest.output,
    )


class Registry:
    """A registry folder; every method that changes it takes the lock."""

    def __init__(
        self, root: Path, *, audit_log: Path | None = None, workspace: Path | None = None
    ) -> None:
        """``workspace`` pins the gate policy and contract a verdict must have been made
        under to promote; by default the workspace ``root`` sits in (``<workspace>/
        .posttrain/registry``), else none (nothing is pinned)."""
        self.root = Path(root)
        self.state_path = self.root / STATE_FILE
        self.audit_log = audit_log
        self.workspace = workspace if workspace is not None else _workspace_of(self.root)
        self._lock = FileLock(str(self.root / "registry.lock"))
        self._fingerprints = self.root / FINGERPRINT_CACHE
        self.blobs = BlobStore(self.root / BLOBS)

    # -- reading -------------------------------------------------------------------------
    def state(self) -> RegistryState:
        """The registry as it is now (an empty one when nothing was registered)."""
        if not self.state_path.is_file():
            return RegistryState()
        try:
            return RegistryState.model_validate_json(self.state_path.read_text("utf-8"))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            raise InputError(
                err["msg"],
                path=str(self.state_path),
                field=field,
                hint="the registry file was edited by hand; restore it from a backup",
            ) from None

    def get(self, version: str) -> ModelVersion:
        return self.state().get(_resolve(self.state(), version))

    def history(self, alias: str | None = None) -> list[AliasEvent]:
        events = self.state().history
        return [e for e in events if alias is None or e.alias == alias]

    def verify_served(self, version: str) -> ModelVersion:
        """Check that the files ``version`` would serve are still the ones registered:
        fingerprint them again (from the cache when no size or mtime changed) and compare.

        Returns the version; raises :class:`FingerprintMismatch` (exit 1) when they
        differ, cannot be read, or the version was registered without a fingerprint.
        """
        mv = self.get(version)
        target = mv.model_path or mv.model
        judged = f" (judged by verdict {mv.verdict.id})" if mv.verdict else ""
        again = "register the judged files again, or register these and gate them first"
        if mv.fingerprint is None:
            raise FingerprintMismatch(
                f"{mv.version} was registered without a fingerprint, so what it would serve "
                "cannot be checked",
                hint=again,
            )
        try:
            actual, _ = self._fingerprint_model(target)
        except UsageError as exc:
            raise FingerprintMismatch(
                f"{mv.version}: cannot fingerprint the files it would serve: {exc.message}",
                hint=again,
            ) from None
        if actual != mv.fingerprint:
            raise FingerprintMismatch(
                f"{mv.version}: the files in {target} have fingerprint {actual}, not the "
                f"{mv.fingerprint} registered{judged}: they changed after registration",
                hint="restore the judged weights, or " + again,
            )
        return mv

    def _fingerprint_model(self, model: str) -> tuple[str, Path | None]:
        """The fingerprint of the files ``model`` names, and their absolute path (None for
        a built-in model name). Raises :class:`InputError` when there are none."""
        from posttrain.models import KNOWN_MODELS, fingerprint, fingerprint_files
        from posttrain.models.registry import WEIGHT_SUFFIXES

        if model in KNOWN_MODELS:
            return fingerprint(model, cache=self._fingerprints), None
        path = Path(model).expanduser()
        hint = (
            "register the folder the verdict judged: the one `posttrain eval --model` "
            "evaluated (e.g. runs/<run_id>/export/fp32), or a GGUF file; built-in names: "
            + ", ".join(sorted(KNOWN_MODELS))
        )
        if not path.exists():
            raise InputError("no such model folder", path=model, hint=hint)
        if path.is_file() and path.suffix != ".gguf":
            raise InputError("not a model folder or a GGUF file", path=model, hint=hint)
        if path.is_dir() and not any(
            p.is_file() and p.suffix in WEIGHT_SUFFIXES for p in path.rglob("*")
        ):
            what = "the folder is empty" if not any(path.iterdir()) else "no model weights"
            raise InputError(
                f"{what} (a model folder holds *.safetensors or *.bin files)",
                path=model,
                hint=hint,
            )
        try:
            return fingerprint_files(path, cache=self._fingerprints), path.resolve()
        except OSError as exc:
            raise InputError(f"cannot read the model files: {exc}", path=model) from None

    # -- changing ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[RegistryState]:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock.acquire(timeout=_LOCK_TIMEOUT_S):
            state = self.state()
            yield state
            if self.audit_log is not None:
                state.audit_head = read_head(self.audit_log)
            tmp = self.state_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
            tmp.replace(self.state_path)

    def register(
        self,
        model: str,
        *,
        fingerprint: str | None = None,
        run: Path | None = None,
        verdict: Path | None = None,
        note: str = "",
    ) -> ModelVersion:
        """Add a new version ``v<N>`` of the model files ``model`` (a folder, a GGUF file
        or a built-in model name), fingerprinted from those files.

        Raises :class:`UsageError` when ``fingerprint`` is not the one the verdict judged,
        :class:`InputError` (exit 2) when ``model`` names no model files (a missing or
        empty folder) or the verdict does not say which model it judged, :class:`UsageError`
        for a built-in name the verdict did not judge, and :class:`FingerprintMismatch`
        (exit 1) when the files are not the ones the verdict judged (or ``fingerprint``).
        """
        lineage = read_run_lineage(run) if run is not None else None
        gate_verdict = read_verdict(verdict) if verdict is not None else None
        judged = gate_verdict.candidate.fingerprint if gate_verdict is not None else None
        if fingerprint and judged and judged != fingerprint:
            raise UsageError(
                f"the verdict judged model {judged[:16]}, not {fingerprint[:16]}",
                hint="register the model the verdict is about, or gate this one first",
            )
        actual, files = self._fingerprint_model(model)
        if gate_verdict is not None:
            _check_judged(model, files, actual, gate_verdict)
        if fingerprint and fingerprint != actual:
            raise FingerprintMismatch(
                f"{model}: its files have fingerprint {actual}, not the {fingerprint} given",
                hint="drop --fingerprint (the registry computes it from the files)",
            )
        fingerprint = actual
        contract_hash = (gate_verdict.candidate.contract_hash if gate_verdict else None) or (
            lineage.contract_hash if lineage else None
        )
        bundle = capture_bundle(self.workspace, self.blobs) if self.workspace else None
        with self._transaction() as state:
            number = 1 + max((int(v.version[1:]) for v in state.versions), default=0)
            mv = ModelVersion(
                version=f"v{number}",
                model=model,
                fingerprint=fingerprint,
                model_path=str(files) if files is not None else None,
                created_at=_now(),
                created_by=_actor(),
                run=lineage,
                data_version=lineage.data_version if lineage else None,
                contract_hash=contract_hash,
                eval_baseline=gate_verdict.baseline.path if gate_verdict else None,
                eval_candidate=gate_verdict.candidate.path if gate_verdict else None,
                verdict_path=str(verdict) if verdict else None,
                verdict_sha256=file_sha256(verdict) if verdict else None,
                verdict=gate_verdict,
                note=note,
                bundle=bundle,
            )
            state.versions.append(mv)
            self._record(
                "registration",
                {
                    "version": mv.version,
                    "model": model,
                    "fingerprint": fingerprint,
                    "run_id": lineage.run_id if lineage else None,
                    "run_manifest_sha256": lineage.manifest_sha256 if lineage else None,
                    "data_version": mv.data_version,
                    "contract_hash": contract_hash,
                    "verdict_id": gate_verdict.id if gate_verdict else None,
                    "decision": mv.decision,
                    "bundle": bundle.model_dump()["entries"] if bundle else None,
                },
            )
        return mv

    def check_promotion(
        self, version: str, waivers: Sequence[Path] = ()
    ) -> tuple[bool, str, list[WaiverCheck]]:
        """Whether ``version`` may be promoted, why, and what each waiver file counted for.

        It may when its verdict is PASS (or valid waivers cover every blocking rule) and
        was made under the workspace's gate policy and contract (or a valid waiver names
        the verdict and the pin it misses: ``policy_pin``, ``contract_pin``). Raises
        :class:`~posttrain.errors.ConfigError` when the workspace's policy or contract
        does not validate.
        """
        from posttrain.gate.pinning import PIN_RULES, pin_problems, workspace_pins

        mv = self.get(version)
        if mv.verdict is None:
            return False, f"{mv.version} has no gate verdict; run `posttrain gate` first", []
        rule_ids = [r.rule for r in mv.verdict.rules] + [r.id for r in mv.verdict.rules]
        checks = [
            assess_waiver_file(
                p,
                candidate=mv.fingerprint,
                contract_hash=mv.contract_hash,
                rule_ids=[*rule_ids, *PIN_RULES],
                verdict_id=mv.verdict.id,
            )[1]
            for p in waivers
        ]
        verdict = apply_waivers(mv.verdict, checks)
        problems = (
            pin_problems(verdict, workspace_pins(self.workspace))
            if self.workspace is not None
            else []
        )
        pin_waivers = {p.pin: _pin_waiver(p.pin, verdict.id, verdict.waivers) for p in problems}
        unpinned = [p for p in problems if pin_waivers[p.pin] is None]
        if verdict.decision == "PASS" and not unpinned:
            used = sorted(
                {r.waived_by for r in verdict.rules if r.waived_by}
                | {w for w in pin_waivers.values() if w}
            )
            why = "gate PASS" + (f" under waiver {', '.join(used)}" if used else "")
            if pin_waivers:
                why += " (waived: " + "; ".join(p.message for p in problems) + ")"
            return True, why, verdict.waivers
        reasons = []
        if verdict.decision != "PASS":
            blocking = list(
                dict.fromkeys(r.id for r in verdict.rules if r.blocking and not r.waived_by)
            )
            reasons.append(
                f"gate verdict {verdict.id} is {verdict.decision}; not covered by a valid "
                "waiver: " + ", ".join(blocking)
            )
        reasons += [
            f"gate verdict {verdict.id} is not pinned: {p.message}; gate again under the "
            f"workspace's {_PIN_WHAT.get(p.pin, p.pin)}, or pass a signed waiver naming verdict "
            f"{verdict.id} and rule {p.pin}"
            for p in unpinned
        ]
        reason = "; ".join(reasons)
        rejected = [f"{c.path or c.id}: {c.reason}" for c in verdict.waivers if not c.accepted]
        if rejected:
            reason += "; ignored waivers: " + "; ".join(rejected)
        return False, reason, verdict.waivers

    def promote(
        self, version: str, *, waivers: Sequence[Path] = (), reason: str = ""
    ) -> AliasEvent:
        """Make ``version`` the champion. Raises :class:`PromotionRefused` when
        :meth:`check_promotion` refuses, :class:`FingerprintMismatch` when its files are
        not the registered ones (:meth:`verify_served`), :class:`UsageError` if it is
        already the champion."""
        ok, why, checks = self.check_promotion(version, waivers)
        if not ok:
            raise PromotionRefused(
                f"promotion of {version} refused: {why}",
                hint="fix the blocking rules and gate again, or get a signed waiver "
                "(`posttrain waive`) and pass it with --waiver",
            )
        self.verify_served(version)
        used = [c.id for c in checks if c.accepted and c.id]
        for check in checks:
            if check.accepted:
                self._record("waiver", {"used_for": version, **check.model_dump()})
        with self._transaction() as state:
            name = _resolve(state, version)
            if state.aliases.get("champion") == name:
                raise UsageError(f"{name} is already the champion")
            event = self._move(state, "champion", name, "promote", reason or why, used)
            if state.aliases.get("challenger") == name:
                self._move(state, "challenger", None, "remove", f"{name} became champion", [])
        return event

    def rollback(self, *, reason: str = "", force: bool = False) -> AliasEvent:
        """Put the previous champion back, and its configuration bundle in the workspace:
        contract, gate policy and serve config as they were when it was registered (the
        event, in the history and the audit log, lists each file changed in ``restored``,
        hash before and after).

        Raises :class:`UsageError` when there is no previous champion, or when a bundle
        file has local edits that no registered version holds (unless ``force``: the
        edited bytes are kept as a blob); then nothing changes. :class:`InputError` when a
        stored blob is missing or altered (nothing changes either)."""
        with self._transaction() as state:
            stack = _champion_stack(state.history)
            if len(stack) < 2:
                raise UsageError(
                    "no previous champion to roll back to"
                    + (f" (champion is {stack[-1]})" if stack else " (there is no champion)"),
                    hint="see `posttrain registry show champion` for the alias history",
                )
            target = state.get(stack[-2])
            restored: list[FileChange] | None = None
            if self.workspace is not None and target.bundle is not None:
                known = [v.bundle for v in state.versions if v.bundle is not None]
                restored = plan_restore(self.workspace, target.bundle, known, force=force)
                apply_restore(self.workspace, self.blobs, restored)
            return self._move(
                state, "champion", target.version, "rollback", reason, [], restored=restored
            )

    def set_alias(self, alias: str, version: str | None, *, reason: str = "") -> AliasEvent:
        """Point ``alias`` at ``version`` (None removes it). Not for ``champion``: use
        :meth:`promote` and :meth:`rollback`, which check the gate and keep the stack."""
        if alias == "champion":
            raise UsageError("the champion alias moves only by promote or rollback")
        with self._transaction() as state:
            target = _resolve(state, version) if version is not None else None
            action: Literal["set", "remove"] = "set" if target else "remove"
            return self._move(state, alias, target, action, reason, [])

    def _move(
        self,
        state: RegistryState,
        alias: str,
        version: str | None,
        action: Literal["promote", "rollback", "set", "remove"],
        reason: str,
        waivers: list[str],
        *,
        restored: list[FileChange] | None = None,
    ) -> AliasEvent:
        previous = state.aliases.get(alias)
        event = AliasEvent(
            seq=len(state.history) + 1,
            ts=_now(),
            alias=alias,
            action=action,
            version=version,
            previous=previous,
            reason=reason,
            actor=_actor(),
            waivers=waivers,
            restored=restored,
        )
        if version is None:
            state.aliases.pop(alias, None)
        else:
            state.aliases[alias] = version
        state.history.append(event)
        kind = {"promote": "promotion", "rollback": "rollback"}.get(action, "alias")
        self._record(kind, event.model_dump())
        return event

    def _record(self, kind: str, payload: dict[str, Any]) -> None:
        if self.audit_log is not None:
            append_event(self.audit_log, kind, payload)
        _mlflow_log(kind, payload)


def _champion_stack(history: list[AliasEvent]) -> list[str]:
    """Replay champion events: a promotion pushes, a rollback pops back to the one before."""
    stack: list[str] = []
    for e in history:
        if e.alias != "champion" or e.version is None:
            continue
        if e.action == "rollback":
            while stack and stack[-1] != e.version:
                stack.pop()
        else:
            stack.append(e.version)
    return stack


def _check_judged(model: str, files: Path | None, actual: str, verdict: GateVerdict) -> None:
    """Refuse to bind ``verdict`` to files with another fingerprint than it judged."""
    cand = verdict.candidate
    judged = cand.fingerprint
    if judged is None:
        raise InputError(
            f"the verdict {verdict.id} does not say which model it judged (its candidate "
            f"results {cand.path} have no summary.json), so it cannot be bound to weights",
            hint="evaluate with `posttrain eval` (it writes summary.json) and gate again",
        )
    if actual == judged:
        return
    what = f"the verdict {verdict.id} judged {judged} ({cand.model}, results {cand.path})"
    if files is None:
        raise UsageError(
            f"{model!r} is a built-in model name, not the model the verdict judged: its "
            f"fingerprint is {actual}, and {what}",
            hint="register the folder that was evaluated (e.g. runs/<run_id>/export/fp32)",
        )
    raise FingerprintMismatch(
        f"{model} ({files}): its files have fingerprint {actual}, but {what}",
        hint=f"register the folder that was evaluated, or evaluate this one "
        f"(`posttrain eval --model {model}`) and gate it first",
    )


_PIN_WHAT = {
    "policy_pin": "gate policy",
    "contract_pin": "contract (evaluate the candidate under it first)",
}


def _pin_waiver(pin: str, verdict_id: str, checks: Sequence[WaiverCheck]) -> str | None:
    """The id of an accepted waiver that names ``verdict_id`` and waives ``pin``."""
    for c in checks:
        if c.accepted and c.verdict == verdict_id and pin in c.rules:
            return c.id or c.path or pin
    return None


def _workspace_of(root: Path) -> Path | None:
    """The workspace a registry folder sits in (``<workspace>/.posttrain/registry``)."""
    if root.name == "registry" and root.parent.name == ".posttrain":
        return root.parent.parent
    return None


def _resolve(state: RegistryState, name: str) -> str:
    """A version name, or an alias that points at one."""
    if name in state.aliases:
        return state.aliases[name]
    return state.get(name).version


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}"


def _mlflow_log(kind: str, payload: dict[str, Any]) -> None:
    """Log a registry event to MLflow as a run in experiment ``posttrain-registry``, when
    mlflow is installed and ``$MLFLOW_TRACKING_URI`` says where; never fails the change."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return
    try:
        import mlflow
    except ImportError:
        return
    try:
        mlflow.set_experiment("posttrain-registry")
        with mlflow.start_run(run_name=f"{kind}-{payload.get('version') or ''}"):
            mlflow.set_tags({"posttrain.event": kind})
            flat = {k: v for k, v in payload.items() if isinstance(v, str | int | float | bool)}
            mlflow.log_params(flat)
            mlflow.log_dict(json.loads(json.dumps(payload, default=str)), f"{kind}.json")
    except Exception as exc:  # MLflow is a mirror of the registry, never its source of truth
        _log.warning(
            "registry event %r was not mirrored to MLflow: %s: %s", kind, type(exc).__name__, exc
        )
