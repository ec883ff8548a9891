"""Waivers: a signed, expiring permission to release despite named gate rules.

The seeds allow a waiver only for emergencies and only on record: a risk statement, the
impact, a rollback plan and an owner's signature. A :class:`Waiver` is bound to one
candidate (its model fingerprint) and one contract version (its content hash), names the
rules it waives and expires; it may name the one verdict it was granted on (``verdict``),
which a waiver of a pin (``policy_pin``, ``contract_pin``: a verdict made under another
gate policy or contract than the workspace's, :mod:`posttrain.gate.pinning`) must do. It
is signed over its canonical JSON with

* ``hmac-sha256``: a shared secret in ``$POSTTRAIN_WAIVER_KEY``, or
* ``ed25519`` (needs the ``cryptography`` package): the owner's private key in
  ``$POSTTRAIN_WAIVER_ED25519_KEY`` (a PEM file path, or base64 of the 32 raw bytes);
  verifiers trust the public keys in ``$POSTTRAIN_WAIVER_ED25519_PUBKEYS``
  (comma-separated base64 or PEM paths) and the one derived from the private key.

The same keys sign the audit log's checkpoints (:func:`sign_bytes`, :func:`verify_bytes`;
:mod:`posttrain.release.integrity`).

:func:`check_waiver` never raises for a bad waiver: it returns a :class:`WaiverCheck`
whose ``reason`` says why it is ignored (unsigned, tampered, unknown key, expired, bound
to another candidate or contract, names no rule of the policy).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from posttrain.errors import InputError, MissingDependencyError, UsageError

__all__ = [
    "ED25519_KEY_ENV",
    "ED25519_PUBKEYS_ENV",
    "HMAC_KEY_ENV",
    "Signature",
    "SignatureStatus",
    "Waiver",
    "WaiverCheck",
    "assess_waiver_file",
    "check_waiver",
    "create_waiver",
    "issue_waiver",
    "load_waiver",
    "parse_expiry",
    "sign_bytes",
    "sign_waiver",
    "verify_bytes",
]

SCHEMA_VERSION = 1
HMAC_KEY_ENV = "POSTTRAIN_WAIVER_KEY"
ED25519_KEY_ENV = "POSTTRAIN_WAIVER_ED25519_KEY"
ED25519_PUBKEYS_ENV = "POSTTRAIN_WAIVER_ED25519_PUBKEYS"
Algorithm = Literal["hmac-sha256", "ed25519"]
SignatureStatus = Literal["valid", "invalid", "unverifiable"]
_DURATION = re.compile(r"^(\d+)\s*([hdw])$")


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: Algorithm
    # Which key signed: a short hash of the HMAC secret or of the Ed25519 public key.
    key_id: str
    value: str


class Waiver(BaseModel):
    """One waiver as written to disk (JSON)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["waiver"] = "waiver"
    id: str
    rules: list[str] = Field(min_length=1)
    risk: str = Field(min_length=10)
    impact: str = Field(min_length=10)
    rollback_plan: str = Field(min_length=10)
    owner: str = Field(min_length=1)
    created_at: datetime
    expires_at: datetime
    # The model fingerprint of the one candidate this waiver covers.
    candidate: str = Field(min_length=1)
    # The content hash of the one contract version it was granted under.
    contract_hash: str = Field(min_length=1)
    # The id of the one gate verdict it was granted on; needed to waive a pin.
    verdict: str | None = None
    signature: Signature | None = None

    @field_validator("created_at", "expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def signed_bytes(self) -> bytes:
        """The canonical JSON that is signed: every field but the signature."""
        body = self.model_dump(mode="json", exclude={"signature"})
        if body.get("verdict") is None:
            # A waiver without a verdict signs what it signed before the field existed.
            body.pop("verdict", None)
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


class WaiverCheck(BaseModel):
    """Whether a waiver is accepted, and why not."""

    model_config = ConfigDict(extra="forbid")

    id: str | None
    path: str | None = None
    accepted: bool
    reason: str
    rules: list[str] = Field(default_factory=list)
    owner: str | None = None
    expires_at: str | None = None
    # The verdict the waiver names, if any (a pin is waived only on that verdict).
    verdict: str | None = None


def parse_expiry(text: str, *, now: datetime | None = None) -> datetime:
    """``48h``, ``7d``, ``2w``, a date (valid to the end of that day, UTC) or an ISO
    datetime. Raises :class:`UsageError` for anything else or a time in the past."""
    now = now or datetime.now(UTC)
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        hours = {"h": 1, "d": 24, "w": 24 * 7}[unit] * amount
        value = now + timedelta(hours=hours)
    else:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"--expires {text!r} is neither a duration nor a date",
                hint="use e.g. 48h, 7d, 2025-12-31 or 2025-12-31T18:00:00+00:00",
            ) from None
        if len(text) == 10:  # a bare date: valid through that whole day
            value = value.replace(hour=23, minute=59, second=59)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if value <= now:
        raise UsageError(f"--expires {text!r} is in the past", hint="give a future time")
    return value


def create_waiver(
    *,
    rules: list[str],
    risk: str,
    impact: str,
    rollback_plan: str,
    owner: str,
    expires_at: datetime,
    candidate: str,
    contract_hash: str,
    verdict: str | None = None,
    now: datetime | None = None,
) -> Waiver:
    """An unsigned waiver with a content-derived id, bound to ``candidate``,
    ``contract_hash`` and, when given, the id of the ``verdict`` it was granted on.

    Raises :class:`UsageError` when a field is missing or too short to be a real
    statement, or when it waives a pin (``policy_pin``, ``contract_pin``) without naming
    the verdict.
    """
    from posttrain.gate.pinning import PIN_RULES

    pins = sorted(set(rules) & set(PIN_RULES))
    if pins and not (verdict or "").strip():
        raise UsageError(
            f"a waiver of {', '.join(pins)} must name the verdict it accepts",
            hint="pass the verdict file (`posttrain waive --verdict reports/gate/<id>.json`)",
        )
    created = now or datetime.now(UTC)
    body = {
        "rules": sorted(set(rules)),
        "risk": risk.strip(),
        "impact": impact.strip(),
        "rollback_plan": rollback_plan.strip(),
        "owner": owner.strip(),
        "created_at": created,
        "expires_at": expires_at,
        "candidate": candidate.strip(),
        "contract_hash": contract_hash.strip(),
    }
    if verdict is not None and verdict.strip():
        body["verdict"] = verdict.strip()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    try:
        return Waiver(id=f"waiver-{digest[:12]}", **body)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise UsageError(
            f"waiver field {field!r}: {err['msg']}",
            hint="a waiver needs a real risk statement, impact and rollback plan "
            "(10 characters or more each)",
        ) from None


def sign_waiver(
    waiver: Waiver, *, algorithm: Algorithm | None = None, env: Mapping[str, str] | None = None
) -> Waiver:
    """Sign with the key from the environment (:func:`sign_bytes`). Without ``algorithm``:
    Ed25519 when its private key is set, else HMAC. Raises :class:`UsageError` when no
    key is set and :class:`MissingDependencyError` for Ed25519 without ``cryptography``."""
    sig = sign_bytes(waiver.signed_bytes(), algorithm=algorithm, env=env)
    return waiver.model_copy(update={"signature": sig})


def sign_bytes(
    data: bytes, *, algorithm: Algorithm | None = None, env: Mapping[str, str] | None = None
) -> Signature:
    """Sign ``data`` with the waiver key from the environment: what signs waivers and the
    audit log's checkpoints. Raises what :func:`sign_waiver` raises."""
    env = os.environ if env is None else env
    if algorithm is None:
        algorithm = "ed25519" if env.get(ED25519_KEY_ENV) else "hmac-sha256"
    if algorithm == "hmac-sha256":
        secret = _hmac_secret(env)
        if secret is None:
            raise UsageError(
                f"no signing key: ${HMAC_KEY_ENV} is not set",
                hint=f"export {HMAC_KEY_ENV}=<the team's waiver secret>, or set "
                f"{ED25519_KEY_ENV} to sign with an Ed25519 key",
            )
        value = hmac.new(secret, data, hashlib.sha256).hexdigest()
        return Signature(algorithm=algorithm, key_id=_hmac_key_id(secret), value=value)
    private = _ed25519_private(env)
    if private is None:
        raise UsageError(
            f"no signing key: ${ED25519_KEY_ENV} is not set",
            hint="set it to a PEM private key file or base64 of the 32-byte raw key",
        )
    raw_pub = _raw_public(private.public_key())
    value = base64.b64encode(private.sign(data)).decode()
    return Signature(algorithm=algorithm, key_id=_pub_key_id(raw_pub), value=value)


def verify_bytes(
    data: bytes, sig: Signature, *, env: Mapping[str, str] | None = None, subject: str = "waiver"
) -> tuple[SignatureStatus, str]:
    """Check ``sig`` over ``data`` with the keys in the environment: ``valid``, ``invalid``
    (another key, or ``data`` changed after signing: the reason names the ``subject``),
    or ``unverifiable`` (no key here for its algorithm, or no ``cryptography``)."""
    env = os.environ if env is None else env
    changed = f"signature does not match the content: the {subject} was changed after signing"
    if sig.algorithm == "hmac-sha256":
        secret = _hmac_secret(env)
        if secret is None:
            return "unverifiable", f"cannot verify: ${HMAC_KEY_ENV} is not set"
        if sig.key_id != _hmac_key_id(secret):
            return "invalid", f"signed with another HMAC key ({sig.key_id}) than ${HMAC_KEY_ENV}"
        expected = hmac.new(secret, data, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sig.value):
            return "invalid", changed
        return "valid", f"valid hmac-sha256 signature by {sig.key_id}"
    try:
        from cryptography.exceptions import InvalidSignature
    except ImportError:
        why = "cannot verify an ed25519 signature: the `cryptography` package is missing"
        return "unverifiable", why
    trusted = _trusted_public_keys(env)
    key = trusted.get(sig.key_id)
    if key is None:
        why = (
            f"signed by Ed25519 key {sig.key_id}, which is not trusted here "
            f"(add it to ${ED25519_PUBKEYS_ENV})"
        )
        return ("invalid" if trusted else "unverifiable"), why
    try:
        key.verify(base64.b64decode(sig.value), data)
    except (InvalidSignature, ValueError):
        return "invalid", changed
    return "valid", f"valid ed25519 signature by {sig.key_id}"


def issue_waiver(
    waiver: Waiver,
    path: Path,
    audit_log: Path,
    *,
    algorithm: Algorithm | None = None,
    env: Mapping[str, str] | None = None,
) -> Waiver:
    """Sign ``waiver`` (see :func:`sign_waiver`), write it to ``path`` and append its
    ``waiver`` event to ``audit_log`` (the one place that event is built). Returns the
    signed waiver; raises what :func:`sign_waiver` raises, before anything is written."""
    from posttrain.core.auditlog import append_event

    signed = sign_waiver(waiver, algorithm=algorithm, env=env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(signed.model_dump_json(indent=2), encoding="utf-8")
    append_event(audit_log, "waiver", {"path": str(path), **signed.model_dump(mode="json")})
    return signed


def check_waiver(
    waiver: Waiver,
    *,
    candidate: str | None,
    contract_hash: str | None,
    rule_ids: list[str] | None = None,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
    path: str | None = None,
    verdict_id: str | None = None,
) -> WaiverCheck:
    """Accept ``waiver`` for this candidate and contract (and, given ``verdict_id``, the
    verdict it names, if it names one), or say why not."""
    env = os.environ if env is None else env
    now = now or datetime.now(UTC)

    def result(accepted: bool, reason: str) -> WaiverCheck:
        return WaiverCheck(
            id=waiver.id,
            path=path,
            accepted=accepted,
            reason=reason,
            rules=waiver.rules,
            owner=waiver.owner,
            expires_at=waiver.expires_at.isoformat(),
            verdict=waiver.verdict,
        )

    sig = waiver.signature
    if sig is None:
        return result(False, "unsigned: a waiver counts only when signed (posttrain waive)")
    problem = _verify_signature(waiver, sig, env)
    if problem:
        return result(False, problem)
    if waiver.expires_at <= now:
        return result(False, f"expired at {waiver.expires_at.isoformat()}")
    if candidate is None or waiver.candidate != candidate:
        return result(
            False, f"bound to candidate {waiver.candidate[:16]}, not {str(candidate)[:16]}"
        )
    if contract_hash is None or waiver.contract_hash != contract_hash:
        return result(
            False,
            f"bound to contract {waiver.contract_hash[:16]}, not {str(contract_hash)[:16]}",
        )
    if verdict_id is not None and waiver.verdict is not None and waiver.verdict != verdict_id:
        return result(False, f"bound to verdict {waiver.verdict}, not {verdict_id}")
    if rule_ids is not None:
        unknown = [r for r in waiver.rules if r not in rule_ids]
        if len(unknown) == len(waiver.rules):
            return result(False, f"names no rule of this policy ({', '.join(unknown)})")
    return result(True, f"valid, signed {sig.algorithm} by key {sig.key_id}, owner {waiver.owner}")


def load_waiver(path: Path) -> Waiver:
    """Read a waiver file; raises :class:`InputError` when it cannot be read or parsed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the waiver: {exc.strerror}", path=str(path)) from None
    try:
        return Waiver.model_validate_json(text)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(err["msg"], path=str(path), field=field) from None


def assess_waiver_file(
    path: Path,
    *,
    candidate: str | None,
    contract_hash: str | None,
    rule_ids: list[str] | None = None,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
    verdict_id: str | None = None,
) -> tuple[Waiver | None, WaiverCheck]:
    """Load and check a waiver file. A missing file raises :class:`InputError` (a typo in
    a path is a usage error); a file that exists but is not a valid waiver — which is
    what tampering often produces — is ignored with the reason."""
    if not Path(path).is_file():
        raise InputError("no such waiver file", path=str(path))
    try:
        waiver = load_waiver(path)
    except InputError as exc:
        return None, WaiverCheck(
            id=None, path=str(path), accepted=False, reason=f"not a valid waiver: {exc.message}"
        )
    check = check_waiver(
        waiver,
        candidate=candidate,
        contract_hash=contract_hash,
        rule_ids=rule_ids,
        now=now,
        env=env,
        path=str(path),
        verdict_id=verdict_id,
    )
    return waiver, check


# -- keys ------------------------------------------------------------------------------


def _verify_signature(waiver: Waiver, sig: Signature, env: Mapping[str, str]) -> str | None:
    status, reason = verify_bytes(waiver.signed_bytes(), sig, env=env)
    return None if status == "valid" else reason


def _hmac_secret(env: Mapping[str, str]) -> bytes | None:
    value = env.get(HMAC_KEY_ENV)
    return value.encode("utf-8") if value else None


def _hmac_key_id(secret: bytes) -> str:
    return "hmac:" + hashlib.sha256(b"posttrain-waiver-key:" + secret).hexdigest()[:12]


def _pub_key_id(raw_public: bytes) -> str:
    return "ed25519:" + hashlib.sha256(raw_public).hexdigest()[:12]


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise MissingDependencyError(
            "Ed25519 waivers need the `cryptography` package",
            hint="pip install cryptography, or sign with HMAC ($POSTTRAIN_WAIVER_KEY)",
        ) from None
    return ed25519


def _load_key_material(value: str) -> bytes:
    candidate = Path(value).expanduser()
    if len(value) < 512 and candidate.is_file():
        return candidate.read_bytes()
    return value.encode()


def _ed25519_private(env: Mapping[str, str]) -> Any:
    value = env.get(ED25519_KEY_ENV)
    if not value:
        return None
    ed25519 = _crypto()
    from cryptography.hazmat.primitives import serialization

    material = _load_key_material(value)
    try:
        if material.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(material, password=None)
        else:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(material))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"${ED25519_KEY_ENV} is not an Ed25519 private key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise UsageError(f"${ED25519_KEY_ENV} holds a key that is not Ed25519")
    return key


def _raw_public(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw: bytes = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def _trusted_public_keys(env: Mapping[str, str]) -> dict[str, Any]:
    ed25519 = _crypto()
    from cryptography.hazmat.primitives import serialization

    keys: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in env.get(ED25519_PUBKEYS_ENV, "").split(","))):
        material = _load_key_material(item)
        try:
            if material.lstrip().startswith(b"-----BEGIN"):
                key = serialization.load_pem_public_key(material)
            else:
                key = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(material))
        except (ValueError, TypeError):
            continue  # a bad entry trusts nothing; the waiver then names its key as unknown
        if isinstance(key, ed25519.Ed25519PublicKey):
            keys[_pub_key_id(_raw_public(key))] = key
    private = _ed25519_private(env)
    if private is not None:
        public = private.public_key()
        keys[_pub_key_id(_raw_public(public))] = public
    return keys
