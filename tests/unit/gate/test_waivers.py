"""Waivers: signed, bound, expiring; a bad one is ignored with the reason."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_fakes import CAND_FP, CONTRACT, scenario

from posttrain.errors import UsageError
from posttrain.gate import gate
from posttrain.gate.waivers import (
    ED25519_KEY_ENV,
    ED25519_PUBKEYS_ENV,
    HMAC_KEY_ENV,
    Waiver,
    assess_waiver_file,
    check_waiver,
    create_waiver,
    issue_waiver,
    parse_expiry,
    sign_waiver,
)

ENV = {HMAC_KEY_ENV: "team-secret"}
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make(**kw: object) -> Waiver:
    fields: dict[str, object] = {
        "rules": ["attack_hit_rate_max"],
        "risk": "jailbreak hit rate may be up to 8% for a week",
        "impact": "a few role-play jailbreaks may succeed on the EN site",
        "rollback_plan": "posttrain rollback; champion v1 is kept warm",
        "owner": "alice@shop",
        "expires_at": NOW + timedelta(days=2),
        "candidate": CAND_FP,
        "contract_hash": CONTRACT,
        "now": NOW,
    }
    fields.update(kw)
    return create_waiver(**fields)  # type: ignore[arg-type]


def check(w: Waiver, env: dict[str, str] = ENV, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "candidate": CAND_FP,
        "contract_hash": CONTRACT,
        "now": NOW,
        "env": env,
    }
    args.update(kw)
    return check_waiver(w, **args)  # type: ignore[arg-type]


def test_hmac_signed_waiver_is_accepted() -> None:
    result = check(sign_waiver(make(), env=ENV))
    assert result.accepted, result.reason
    assert "hmac-sha256" in result.reason and "alice@shop" in result.reason


@pytest.mark.parametrize(
    ("waiver_update", "kw", "reason"),
    [
        ({"signature": None}, {}, "unsigned"),
        ({"risk": "no risk at all, trust me"}, {}, "changed after signing"),
        ({"rules": ["attack_hit_rate_max", "eval_errors"]}, {}, "changed after signing"),
        ({}, {"now": NOW + timedelta(days=3)}, "expired at 2025-06-03"),
        ({}, {"candidate": "other" * 8}, "bound to candidate cand1111"),
        ({}, {"contract_hash": "d" * 64}, "bound to contract cccc"),
        ({}, {"env": {HMAC_KEY_ENV: "another-secret"}}, "another HMAC key"),
        ({}, {"env": {}}, "POSTTRAIN_WAIVER_KEY is not set"),
        ({}, {"rule_ids": ["quality_up"]}, "names no rule of this policy"),
    ],
)
def test_bad_waivers_are_ignored_with_the_reason(
    waiver_update: dict[str, object], kw: dict[str, object], reason: str
) -> None:
    signed = sign_waiver(make(), env=ENV)
    result = check(signed.model_copy(update=waiver_update), **kw)
    assert not result.accepted
    assert reason in result.reason


def test_one_byte_changed_on_disk_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(sign_waiver(make(), env=ENV).model_dump_json(indent=2))
    text = path.read_text().replace("up to 8%", "up to 9%")
    path.write_text(text)
    waiver, result = assess_waiver_file(
        path, candidate=CAND_FP, contract_hash=CONTRACT, now=NOW, env=ENV
    )
    assert waiver is not None and not result.accepted
    assert "changed after signing" in result.reason


def test_unparseable_waiver_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text('{"kind": "waiver", "id": ')
    _, result = assess_waiver_file(path, candidate=CAND_FP, contract_hash=CONTRACT, env=ENV)
    assert not result.accepted and "not a valid waiver" in result.reason


def test_ed25519_signature_verifies_only_with_a_trusted_key() -> None:
    ed = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    from cryptography.hazmat.primitives import serialization

    def raw_private(key: object) -> str:
        return base64.b64encode(
            key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        ).decode()

    owner, stranger = ed.Ed25519PrivateKey.generate(), ed.Ed25519PrivateKey.generate()
    signed = sign_waiver(make(), env={ED25519_KEY_ENV: raw_private(owner)})
    assert signed.signature is not None and signed.signature.algorithm == "ed25519"
    owner_pub = base64.b64encode(
        owner.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    assert check(signed, env={ED25519_PUBKEYS_ENV: owner_pub}).accepted
    untrusted = check(signed, env={ED25519_KEY_ENV: raw_private(stranger)})
    assert not untrusted.accepted and "not trusted" in untrusted.reason
    tampered = signed.model_copy(update={"owner": "mallory"})
    result = check(tampered, env={ED25519_PUBKEYS_ENV: owner_pub})
    assert not result.accepted and "changed after signing" in result.reason


def test_signing_without_a_key_says_which_variable() -> None:
    with pytest.raises(UsageError, match="POSTTRAIN_WAIVER_KEY"):
        sign_waiver(make(), env={})


def test_issued_waiver_is_written_and_recorded_in_the_audit_log(tmp_path: Path) -> None:
    from posttrain.core.auditlog import read_entries

    path, log = tmp_path / "waivers" / "w.json", tmp_path / "audit-log.jsonl"
    signed = issue_waiver(make(), path, log, env=ENV)
    assert Waiver.model_validate_json(path.read_text("utf-8")) == signed
    [entry] = read_entries(log)
    assert entry.kind == "waiver"
    assert entry.payload == {"path": str(path), **signed.model_dump(mode="json")}
    with pytest.raises(UsageError, match="POSTTRAIN_WAIVER_KEY"):
        issue_waiver(make(owner="bob@shop"), tmp_path / "b.json", log, env={})
    assert not (tmp_path / "b.json").exists() and len(read_entries(log)) == 1


def test_short_statements_are_refused() -> None:
    with pytest.raises(UsageError, match="risk"):
        make(risk="meh")


def test_parse_expiry() -> None:
    assert parse_expiry("48h", now=NOW) == NOW + timedelta(hours=48)
    assert parse_expiry("2025-06-10", now=NOW) == datetime(2025, 6, 10, 23, 59, 59, tzinfo=UTC)
    with pytest.raises(UsageError, match="in the past"):
        parse_expiry("2025-05-01", now=NOW)
    with pytest.raises(UsageError, match="neither a duration nor a date"):
        parse_expiry("next week", now=NOW)


def test_valid_waiver_turns_block_into_pass_and_keeps_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HMAC_KEY_ENV, "team-secret")
    # upper bound > 5% on 80 items, where a clean candidate could pass: BLOCK
    base, cand = scenario(tmp_path, n=80, base_hits=3, cand_hits=3)
    blocked = gate(base, cand)
    assert blocked.decision == "BLOCK"
    assert [r.id for r in blocked.rules if r.status == "fail"] == ["attack_hit_rate_max"]
    good = tmp_path / "good.json"
    good.write_text(
        sign_waiver(
            make(expires_at=datetime.now(UTC) + timedelta(days=1), now=None)
        ).model_dump_json()
    )
    expired = tmp_path / "expired.json"
    expired.write_text(sign_waiver(make()).model_dump_json())  # expired in 2025-06
    v = gate(base, cand, waivers=[expired])
    assert v.decision == "BLOCK"
    assert "expired" in v.waivers[0].reason
    v = gate(base, cand, waivers=[expired, good])
    assert (v.decision, v.decision_without_waivers) == ("PASS", "BLOCK")
    waived = next(r for r in v.rules if r.id == "attack_hit_rate_max")
    assert waived.status == "fail" and waived.waived_by == json.loads(good.read_text())["id"]
    assert [w.accepted for w in v.waivers] == [False, True]
