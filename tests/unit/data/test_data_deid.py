"""De-identification: recognizers, policy actions, offline guarantee, the labelled set."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from posttrain.data.deid import (
    Analyzer,
    Deidentifier,
    DeidPolicy,
    NetworkAccessError,
    id_card_checksum_ok,
    luhn_ok,
    no_network,
)
from posttrain.data.pii_eval import default_set_path, evaluate_pii, load_labelled
from posttrain.errors import ConfigError


def spans(analyzer: Analyzer, text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for r in analyzer.analyze(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("卡号6222021234567890128请查收", ("BANK_CARD", "6222021234567890128")),
        ("refund to 4111 1111 1111 1111 please", ("BANK_CARD", "4111 1111 1111 1111")),
        ("手机+86 138-0013-8000联系我", ("PHONE", "+86 138-0013-8000")),
        ("电话13800138000", ("PHONE", "13800138000")),
        ("身份证11010519491231002X", ("ID_CARD", "11010519491231002X")),
        ("邮箱zhang.san@example.com谢谢", ("EMAIL", "zhang.san@example.com")),
        ("key LTAI5tQ9xYzAbCdEfGh12xy", ("API_KEY", "LTAI5tQ9xYzAbCdEfGh12xy")),
        (
            "id AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA ok",
            ("API_KEY", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"),
        ),
        ("password=Hunter22!", ("PASSWORD", "Hunter22!")),
        ("密码是Abc12345请帮我登录", ("PASSWORD", "Abc12345")),
    ],
)
def test_recognizers_find_chinese_and_english_pii(
    analyzer: Analyzer, text: str, expected: tuple[str, str]
) -> None:
    assert expected in spans(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "Where is my order SM-2026-0042317?",
        "运单号SF1402345678901，价格¥1,299.00，2026-03-14到货",
        "the password is incorrect, my token expired",
        "app version 10.2.3.4 crashes",
        "客服热线 400-800-8888",
    ],
)
def test_hard_negatives_are_left_alone(analyzer: Analyzer, text: str) -> None:
    assert spans(analyzer, text) == []


def test_luhn_raises_the_card_score(analyzer: Analyzer) -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    # without context a Luhn-invalid 16-digit number is not a card; with Luhn it is
    assert spans(analyzer, "num 4111111111111111 x") == [("BANK_CARD", "4111111111111111")]
    assert spans(analyzer, "num 4111111111111112 x") == []
    # card context words lift a Luhn-invalid number over the threshold
    assert spans(analyzer, "卡号4111111111111112") == [("BANK_CARD", "4111111111111112")]


def test_id_number_needs_a_valid_checksum(analyzer: Analyzer) -> None:
    assert id_card_checksum_ok("11010519491231002X")
    assert not id_card_checksum_ok("110105194912310021")
    assert ("ID_CARD", "110105194912310021") not in spans(analyzer, "身份证110105194912310021")


def test_placeholders_are_typed_and_consistent_within_a_record() -> None:
    d = Deidentifier(DeidPolicy())
    out = d.apply(
        {
            "prompt": "call 13800138000 or 139 0013 8000, mail a@example.com",
            "bad_answer": "I called 138-0013-8000 already",
        }
    )
    assert out.fields == {
        "prompt": "call <PHONE_1> or <PHONE_2>, mail <EMAIL_1>",
        "bad_answer": "I called <PHONE_1> already",
    }
    assert out.entities == {"PHONE": 3, "EMAIL": 1}


def test_hash_action_needs_a_key_and_is_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = DeidPolicy(actions={"EMAIL": "hash"})
    monkeypatch.delenv("POSTTRAIN_DEID_KEY", raising=False)
    with pytest.raises(ConfigError, match="POSTTRAIN_DEID_KEY"):
        Deidentifier(policy)
    monkeypatch.setenv("POSTTRAIN_DEID_KEY", "k1")
    a = Deidentifier(policy).redact_text("mail a@example.com")
    monkeypatch.setenv("POSTTRAIN_DEID_KEY", "k2")
    b = Deidentifier(policy).redact_text("mail a@example.com")
    assert a.startswith("mail <EMAIL:") and a != b and "example" not in a


def test_quarantine_action_drops_the_record() -> None:
    d = Deidentifier(DeidPolicy(actions={"PRIVATE_KEY": "quarantine"}))
    out = d.apply({"p": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"})
    assert out.dropped_for == ["PRIVATE_KEY"] and out.fields == {}


def test_drop_action_drops_the_value_and_keeps_a_summary() -> None:
    d = Deidentifier(DeidPolicy(actions={"PRIVATE_KEY": "drop"}))
    out = d.apply({"p": "key: -----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"})
    assert out.dropped_for == [] and out.fields == {"p": "key: a private key"}


def test_policy_rejects_unknown_entity_types() -> None:
    with pytest.raises(ValueError, match="unknown entity types"):
        DeidPolicy(actions={"NAME": "drop"})


def test_network_access_fails_loudly() -> None:
    with no_network(), pytest.raises(NetworkAccessError):
        socket.create_connection(("127.0.0.1", 9))


def test_every_way_out_is_guarded_and_the_guard_is_lifted_afterwards() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = server.getsockname()
        with socket.socket() as client, pytest.raises(RuntimeError, match="inside"), no_network():
            for attempt in (
                lambda: socket.create_connection(address),
                lambda: socket.getaddrinfo("localhost", address[1]),
                lambda: client.connect(address),
                lambda: client.connect_ex(address),
            ):
                with pytest.raises(NetworkAccessError):
                    attempt()
            raise RuntimeError("inside the guard")
        # Lifted even though the block raised: the same local server is reachable again.
        with socket.create_connection(address, timeout=5):
            pass
        with socket.socket() as client:
            assert client.connect_ex(address) == 0
        assert socket.getaddrinfo("127.0.0.1", address[1])


def test_deidentification_runs_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def record(*args: object, **kwargs: object) -> None:
        calls.append(args[:2])
        raise OSError("network is unreachable in this test")

    for owner, name in [
        (socket.socket, "connect"),
        (socket.socket, "connect_ex"),
        (socket, "create_connection"),
        (socket, "getaddrinfo"),
    ]:
        monkeypatch.setattr(owner, name, record)
    out = Deidentifier(DeidPolicy(), Analyzer()).apply({"p": "mail me at a@example.com"})
    assert out.fields == {"p": "mail me at <EMAIL_1>"} and calls == []


def test_analyzer_is_built_without_any_nlp_model() -> None:
    code = (
        "import sys; from posttrain.data.deid import Analyzer; a = Analyzer();"
        "print(type(a.engine.nlp_engine).__name__, 'spacy' in str(type(a.engine.nlp_engine)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["NoOpNlpEngine", "False"]


def test_fast_path_equals_presidio_engine_on_the_labelled_set(analyzer: Analyzer) -> None:
    for item in load_labelled():
        fast = [(r.entity_type, r.start, r.end) for r in analyzer.analyze(item.text)]
        engine = [(r.entity_type, r.start, r.end) for r in analyzer.analyze_with_engine(item.text)]
        assert fast == engine, item.id


def test_direct_rendering_equals_presidios_anonymizer(
    analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import posttrain.data.deid.deidentifier as deid_mod

    texts = [item.text for item in load_labelled()] + [
        "call 13800138000 13900139000 today",  # two phones a space apart: merged
        "Emily Carter and Emily Carter, 13800138000",
        "邮箱a@example.com b@example.com",
    ]
    deid = Deidentifier(DeidPolicy(), analyzer)
    direct = [deid.redact_text(t) for t in texts]
    monkeypatch.setattr(deid_mod, "_merges", lambda spans, text: True)  # always Presidio
    deid = Deidentifier(DeidPolicy(), analyzer)
    via_presidio = [deid.redact_text(t) for t in texts]
    assert direct == via_presidio
    assert direct[-3].count("<PHONE_") == 1  # Presidio's merge of same-type neighbours kept


def test_labelled_set_is_large_bilingual_and_reproducible() -> None:
    items = load_labelled()
    assert len(items) >= 300
    assert {i.lang for i in items} == {"en", "zh"}
    assert sum(1 for i in items if not i.entities) >= 100
    for i in items:
        for e in i.entities:
            assert i.text[e.start : e.end] == e.value
    script = Path(default_set_path()).with_name("make_labelled.py")
    ns: dict[str, object] = {"__name__": "make_labelled", "__file__": str(script)}
    exec(compile(script.read_text(), str(script), "exec"), ns)
    rebuilt = ns["build"]()  # type: ignore[operator]
    shipped = [json.loads(line) for line in default_set_path().read_text().splitlines()]
    assert rebuilt == shipped


def test_pii_eval_meets_the_targets(analyzer: Analyzer) -> None:
    res = evaluate_pii(analyzer=analyzer)
    assert res.precision >= 0.95, res.false_positives
    assert not [t for t in res.failed_targets if "other types" in t], res.missed
    assert set(res.per_entity) >= {"ID_CARD", "PHONE", "BANK_CARD", "EMAIL", "IP", "API_KEY"}
    held = res.per_split["heldout"]
    for key in ("PERSON/en", "ADDRESS/en", "ADDRESS/zh"):
        assert held[key].expected >= 40 and held[key].recall >= 0.95, (key, held[key])
    assert {i.split for i in load_labelled()} == {"tune", "heldout"}
    # everything but the held-out Chinese names (the next test) meets its target
    assert [t for t in res.failed_targets if "held-out recall of PERSON/zh" not in t] == []


@pytest.mark.xfail(
    strict=True,
    reason="issue 14: the held-out PERSON/zh split reaches 0.886 (1032 of 1165, precision "
    "0.936) after the sixth pass (2026-12-06: rules from tune5-7 and a trained span "
    "model); on blind7_zh_names.txt alone, written during the pass and scored once at its "
    "end, 0.838 (0.671 at 60d9789, before the pass); on blind6, scored once mid-pass, "
    "0.852 (0.723 before); on the 449 rows held out before the pass 0.935 (0.889); the "
    "target is 0.95",
)
def test_pii_eval_meets_the_heldout_target_for_chinese_names(analyzer: Analyzer) -> None:
    res = evaluate_pii(analyzer=analyzer)
    held = res.per_split["heldout"]["PERSON/zh"]
    assert held.expected >= 40 and held.recall >= 0.95, held
    assert res.passed, res.failed_targets


def test_labelled_splits_share_no_template_and_no_value() -> None:
    items = load_labelled()
    by_split: dict[str, set[str]] = {"tune": set(), "heldout": set()}
    values: dict[str, set[str]] = {"tune": set(), "heldout": set()}
    for i in items:
        if any(e.type in ("PERSON", "ADDRESS") for e in i.entities):
            by_split[i.split].add(i.source)
            values[i.split] |= {e.value for e in i.entities if e.type == "PERSON"}
    assert by_split["tune"] and by_split["heldout"]
    assert not by_split["tune"] & by_split["heldout"]
    # a surname on its own (王老师, 老王, 欧阳经理: the name of a title form) is shared by
    # construction, there being few surnames; a full name never is
    from posttrain.data.deid.lexicon import zh_compound_surnames

    surnames = set(zh_compound_surnames())
    shared = {v for v in values["tune"] & values["heldout"] if len(v) > 1 and v not in surnames}
    # except by chance in the blind files, written later by helpers who saw no tune row:
    # they invent the popular names (李秀英, 赵磊, 慕容雪) the tune files hold too
    blind = {
        e.value
        for i in items
        if i.split == "heldout" and i.source.startswith("names.zh:blind")
        for e in i.entities
    }
    assert shared <= blind and len(shared) <= 10, sorted(shared)
    kinds = {s.split(".")[0] for s in by_split["heldout"]}
    assert kinds == {"free", "json", "note", "names"}  # names: the blind zh names file


def test_pii_eval_scores_each_heldout_source_apart(analyzer: Analyzer) -> None:
    res = evaluate_pii(analyzer=analyzer)
    by = res.heldout_by_source
    blind = list(dict.fromkeys(k.split(" ")[0] for k in by if k.startswith("blind")))
    # in the order they were written: the first blind file first, the seventh last
    assert blind[0] == "blind_zh_names.txt" and blind[-1] == "blind7_zh_names.txt"
    for key in ("PERSON/zh", "ADDRESS/zh", "PERSON/en"):
        parts = [s for k, s in by.items() if k.endswith(" " + key)]
        total = res.per_split["heldout"][key]
        assert sum(s.expected for s in parts) == total.expected
        assert sum(s.found for s in parts) == total.found
        assert sum(s.detections for s in parts) == total.detections


def test_pii_eval_reports_misses(tmp_path: Path, analyzer: Analyzer) -> None:
    bad = tmp_path / "set.jsonl"
    text = "call me on five five five"
    bad.write_text(
        json.dumps(
            {
                "id": "x",
                "lang": "en",
                "text": text,
                "kind": "positive",
                "entities": [{"type": "PHONE", "start": 11, "end": 25, "value": "five five five"}],
            }
        )
        + "\n"
    )
    res = evaluate_pii(bad, analyzer=analyzer)
    assert res.recall == 0.0 and not res.passed and res.missed == ["x"]
