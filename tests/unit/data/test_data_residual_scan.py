"""The independent residual scan: shapes, allow-list, file/line/field, and the build it
blocks (a planted value the de-identifier missed), overridable with a recorded reason."""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from posttrain.data import DataConfig, QualityConfig, build_dataset
from posttrain.data.residual import ResidualScanner, allowlist

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot"


@pytest.fixture(scope="module")
def scanner() -> ResidualScanner:
    return ResidualScanner(
        allowlist(
            "Write to support@shopmate.example or call 400-820-8820.", ["hello@ours.example"]
        ),
        presidio=False,
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mail me at lily49@126.com please", "email"),
        ("her number is 138 0013 8000", "phone"),
        ("call +86 139-1234-5678", "phone"),
        ("card 6222 0212 3456 7891 233", "card"),  # 19 digits, Luhn valid
        ("ID 110101199003077578", "cn_id"),
        ("the recipient is Emily Carter", "name"),
        ("ask Mr Carter", "name"),
        ("收件人：王芳，电话见下", "name"),
        ("请联系李女士", "name"),
        ("ship it to 240 Garden Road, #15-01, Xiamen", "address"),
        ("Apt 12-03 please", "address"),
        ("地址是苏州市姑苏区人民路1409号", "address"),
        ("深圳市南山区科苑路", "address"),
    ],
)
def test_shapes_are_found(scanner: ResidualScanner, text: str, kind: str) -> None:
    assert kind in {k for k, _ in scanner.scan_text(text)}, text


@pytest.mark.parametrize(
    "text",
    [
        "Your order SM-2026-9861779 ships tomorrow.",
        "2026-08-01T07:20:17+08:00",
        "Refunds take 3-5 business days; agents 09:00-21:00.",
        "The AirFlow Pro costs 599 yuan, the Barista One 1899.",
        "<PERSON_1> lives at <ADDRESS_1>, phone <PHONE_1>, mail <EMAIL_1>.",
        "Write to support@shopmate.example or call 400-820-8820.",  # the contract's own
        "hello@ours.example",  # the config's residual_allow
        "Stride Lite Running Shoes and the Zen 27-inch 4K Monitor",
        "sha256:75a4c95f7e49e4cf94ba4ebe1770bda195b050c9abcb520fdc705390ffeb06d9",
    ],
)
def test_what_is_not_personal_data_is_not_flagged(scanner: ResidualScanner, text: str) -> None:
    assert scanner.scan_text(text) == [], text


def test_the_allow_list_comes_from_the_contract_not_the_code() -> None:
    bare = ResidualScanner(presidio=False)
    assert {k for k, _ in bare.scan_text("call 400-820-8820")} == {"phone"}


def test_documents_name_file_line_and_field(scanner: ResidualScanner) -> None:
    jsonl = (
        json.dumps({"id": "x", "trl": {"chosen": [{"role": "assistant", "content": "ok"}]}}) + "\n"
    )
    jsonl += (
        json.dumps(
            {
                "id": "y",
                "trl": {"chosen": [{"role": "assistant", "content": "mail lily49@126.com"}]},
            }
        )
        + "\n"
    )
    (hit,) = scanner.scan_document("prefs.jsonl", jsonl)
    assert (hit.file, hit.line, hit.field, hit.kind) == (
        "prefs.jsonl",
        2,
        "trl.chosen[0].content",
        "email",
    )
    md = "# Datasheet\n\n## Composition\n\nNothing here.\n\n## Uses\n\nAsk Emily Carter.\n"
    (hit,) = scanner.scan_document("DATASHEET.md", md)
    assert (hit.line, hit.field, hit.kind) == (9, "Uses", "name")
    js = json.dumps({"rules": [{"name": "a", "flagged": ["ok", "13800138000"]}]}, indent=2)
    (hit,) = scanner.scan_document("quality.json", js)
    assert hit.field == "rules[0].flagged[1]" and js.splitlines()[hit.line - 1].strip().startswith(
        '"13800138000"'
    )


# --- the build -------------------------------------------------------------------------

PLANTED = {"phone": "13912345678", "email": "planted.person@example.com", "name": "Hannah Lee"}


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copy(EXAMPLE / "contract.yaml", ws / "contract.yaml")
    rows = [
        {
            "id": f"r-{i}",
            "prompt": p,
            "bad_answer": b,
            "label": "politeness",
            "source": "production_log",
            "ts": "2026-08-01T07:20:17+08:00",
            "ideal_answer": "Sorry for the trouble! I'm glad to help, or I can hand you over to a human agent.",
        }
        for i, (p, b) in enumerate(
            [
                ("Where is my invoice?", "Figure it out yourself."),
                (
                    f"Please tell {PLANTED['name']} her parcel is here, call {PLANTED['phone']} or mail {PLANTED['email']}",
                    "Not my problem, whatever.",
                ),
            ]
        )
    ]
    (ws / "data" / "failures.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    return ws


def _missing_deid(monkeypatch: pytest.MonkeyPatch) -> None:
    """A de-identifier that misses everything (what the scan exists to catch)."""
    from posttrain.data.deid import deidentifier

    def apply(self: Any, fields: Any) -> Any:
        return deidentifier.RecordDeid(fields=dict(fields), entities={}, dropped_for=[])

    monkeypatch.setattr(deidentifier.Deidentifier, "apply", apply)


def _cfg(ws: Path, **kw: Any) -> DataConfig:
    over = {
        "class_coverage": "two-record test set, coverage tested elsewhere",
        **kw.pop("overrides", {}),
    }
    return DataConfig(
        workspace=ws,
        eval_sets=[],
        quality=QualityConfig(
            length_ratio_high=50.0, max_template_share=1.0, max_out_of_band_pair_fraction=1.0
        ),
        overrides=over,
        **kw,
    )


def test_a_planted_value_in_an_output_blocks_the_build_with_file_line_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _missing_deid(monkeypatch)
    ws = _ws(tmp_path)
    # the de-identifier's own rescan would find the phone and e-mail again: take it out of
    # the way to show the independent scan on its own
    res = build_dataset(
        _cfg(ws, overrides={"residual_pii": "testing the independent scan on its own"}), workers=1
    )
    assert res.status == "blocked" and res.exit_code == 1 and res.data_version is None
    assert "residual_scan" in res.failing_rules
    assert not (ws / "data" / "manifest.json").exists() and not (ws / "data" / "sft.jsonl").exists()
    quality = json.loads((ws / "data" / "quality.json").read_text(encoding="utf-8"))
    (rule,) = [r for r in quality["rules"] if r["name"] == "residual_scan"]
    flagged = rule["flagged"]
    assert "buckets/politeness/failures.jsonl:2:prompt (phone)" in flagged
    assert "buckets/politeness/failures.jsonl:2:prompt (email)" in flagged
    assert "buckets/politeness/failures.jsonl:2:prompt (name)" in flagged
    assert "prefs.jsonl:2:trl.prompt[0].content (phone)" in flagged
    assert "sft.jsonl:2:instruction (name)" in flagged
    # the report never carries the values it found
    text = (ws / "data" / "quality.json").read_text(encoding="utf-8")
    assert not [v for v in PLANTED.values() if v in text]
    events = [json.loads(x) for x in (ws / "reports" / "audit-log.jsonl").read_text().splitlines()]
    assert events[-1]["kind"] == "data_build" and events[-1]["payload"]["status"] == "blocked"


def test_an_override_with_a_reason_builds_and_is_in_the_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _missing_deid(monkeypatch)
    ws = _ws(tmp_path)
    reason = "synthetic test values, reviewed by the data owner"
    res = build_dataset(
        _cfg(
            ws,
            overrides={
                "residual_pii": "testing the independent scan on its own",
                "residual_scan": reason,
            },
        ),
        workers=1,
    )
    assert res.status == "built" and res.overridden_rules["residual_scan"] == reason
    events = [json.loads(x) for x in (ws / "reports" / "audit-log.jsonl").read_text().splitlines()]
    payload = events[-1]["payload"]
    assert events[-1]["kind"] == "data_build" and payload["overrides"]["residual_scan"] == reason
    assert "residual_scan" in json.loads((ws / "data" / "manifest.json").read_text())["overrides"]


def test_a_short_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 10 characters"):
        DataConfig(overrides={"residual_scan": "ok"})


def test_presidio_email_check_needs_no_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Presidio's EmailRecognizer validates the domain with tldextract, which fetches the
    # public-suffix list on first use (then caches it in ~/.cache). On a fresh machine with
    # no internet (CI) the build's offline guard turned that into a failed build. The
    # scanner validates against tldextract's bundled snapshot instead.
    from posttrain.data.deid.offline import no_network

    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "empty-cache"))  # a fresh machine
    scanner = ResidualScanner(presidio=True)
    with no_network():
        kinds = [kind for kind, _ in scanner.scan_text("write to ana.lopez@mailbox.org today")]
    assert kinds, "an e-mail address was not found"


@pytest.mark.parametrize(
    "text",
    [
        "the client came from 2001:0db8:85a3:0000:0000:8a2e:0370:7334 this morning",
        "login from fe80::1ff:fe23:4567:890a failed",
        "proxy at ::ffff:10.0.0.1",
    ],
)
def test_presidio_finds_ipv6_addresses_behind_its_trigger(text: str) -> None:
    # The IP recognizer runs only where its trigger matches; the trigger no longer fires on
    # a clock time (every record's ts), and must still let every IPv6 form through.
    scanner = ResidualScanner(presidio=True)
    found = [(k, d) for k, d in scanner.scan_text(text) if d.startswith("presidio:Ip")]
    assert found, scanner.scan_text(text)


def test_a_timestamp_is_not_personal_data() -> None:
    scanner = ResidualScanner(presidio=True)
    assert scanner.scan_text("2026-08-01T07:20:17+08:00") == []


@pytest.mark.parametrize(
    "value",
    [
        "f-000123",
        "pref-f-000123",
        "sft-f-004211",
        "rec-ab-1234567",
        "2026-08-01T07:20:17+08:00",
        "2026-01-27T18:00:00Z",
        "2026-01-27T18:00:00.123456-05:00",
    ],
)
def test_ids_and_time_stamps_skip_a_scan_that_finds_nothing_in_them(value: str) -> None:
    # _INERT values (written once per record line) are not scanned: the full scan, every
    # shape and Presidio trigger, must find nothing in them, or the shortcut would hide PII
    from posttrain.data.residual import _INERT

    scanner = ResidualScanner(presidio=True)
    assert _INERT.fullmatch(value)
    assert scanner._scan(value) == []
    assert scanner.scan_text(value) == []


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("f-000123 call 13812345678", "shape"),  # an id in a longer text is scanned
        ("host abcd::ef here", "presidio:IpRecognizer"),  # no digit: the "::" lets it in
        ("card 4111 1111 1111 1111", "presidio:CreditCardRecognizer"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "presidio:IbanRecognizer"),
    ],
)
def test_the_presidio_gate_lets_through_what_its_recognizers_find(text: str, detector: str) -> None:
    # Presidio's recognizers run behind a digit count (a card needs 13 digits, an IBAN 2)
    # and a digit-or-@-or-colon guard; each must still see the texts it finds PII in
    scanner = ResidualScanner(presidio=True)
    assert detector in [d for _, d in scanner.scan_text(text)], scanner.scan_text(text)


def test_the_first_pass_without_paths_finds_what_the_walk_with_paths_finds() -> None:
    scanner = ResidualScanner(presidio=False)
    values: list[object] = [
        {"id": "x", "trl": {"chosen": [{"role": "assistant", "content": "mail lily49@126.com"}]}},
        {"id": "y", "messages": [{"role": "user", "content": "fine"}, ["ok", {"n": 3}]]},
        {"电话 13800138000": "a key that carries data"},
        ["Call me on 138-0013-8000", {"deep": [[{"deeper": "Mr Carter said so"}]]}],
        "收件人：王芳",
        {"plain": "nothing here", "n": 1, "none": None},
        17,
    ]
    for value in values:
        walked: list[tuple[str, str, str]] = []
        scanner._walk(value, "", walked)
        assert scanner._any_finding(value) == bool(walked), value
        assert scanner.scan_json_value(value) == walked
    assert [bool(scanner.scan_json_value(v)) for v in values] == [1, 0, 1, 1, 1, 0, 0]
