"""Ingest: every kind of broken input is quarantined with file, line and reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from datahelpers import record

from posttrain.data.ingest import ingest
from posttrain.errors import InputError

LABELS = ["order_number", "jailbreak", "privacy"]


def run(path: Path, **kw: object):
    args: dict[str, object] = {
        "field_map": {},
        "labels": LABELS,
        "max_line_bytes": 12000,
        "max_text_chars": 1000,
    }
    args.update(kw)
    return ingest([(path, path.name)], **args)  # type: ignore[arg-type]


def js(**over: object) -> str:
    return json.dumps(record(7, **over), ensure_ascii=False)


def without(field: str) -> str:
    r = record(7)
    del r[field]
    return json.dumps(r)


# (name, raw line bytes, substring expected in the reason)
BROKEN_JSONL: list[tuple[str, bytes, str]] = [
    ("invalid_json", b'{"id": "x", "prompt": ', "invalid JSON"),
    ("trailing_garbage", (js() + " xyz").encode(), "invalid JSON"),
    ("single_quotes", b"{'id': 'x'}", "invalid JSON"),
    ("json_array", b'["a", "b"]', "got an array"),
    ("json_string", b'"just a string"', "got a string"),
    ("json_number", b"42", "got a number"),
    ("json_null", b"null", "got null"),
    ("missing_prompt", without("prompt").encode(), 'field "prompt" is missing'),
    ("missing_bad_answer", without("bad_answer").encode(), 'field "bad_answer" is missing'),
    ("missing_id", without("id").encode(), 'field "id" is missing'),
    ("missing_source", without("source").encode(), 'field "source" is missing'),
    ("missing_ts", without("ts").encode(), 'field "ts" is missing'),
    ("null_prompt", js(prompt=None).encode(), 'field "prompt" is missing'),
    ("prompt_number", js(prompt=12).encode(), 'field "prompt" must be a string, got a number'),
    ("prompt_list", js(prompt=["a"]).encode(), "got an array"),
    ("bad_answer_object", js(bad_answer={"a": 1}).encode(), "got an object"),
    ("label_list", js(label=["jailbreak"]).encode(), 'field "label" must be a string'),
    ("id_bool", js(id=True).encode(), 'field "id" must be a string, got a boolean'),
    ("ts_number", js(ts=1712345678).encode(), 'field "ts" must be a string'),
    ("ideal_number", js(ideal_answer=3.5).encode(), 'field "ideal_answer" must be a string'),
    ("context_list", js(context=[1]).encode(), 'field "context" must be a string'),
    ("empty_prompt", js(prompt="").encode(), 'field "prompt" is empty'),
    ("blank_prompt", js(prompt="   \n ").encode(), 'field "prompt" is empty'),
    ("empty_bad_answer", js(bad_answer="").encode(), 'field "bad_answer" is empty'),
    ("empty_id", js(id=" ").encode(), 'field "id" is empty'),
    ("bad_ts", js(ts="yesterday").encode(), "not an ISO 8601"),
    ("unknown_label", js(label="spam").encode(), 'unknown label "spam"'),
    ("undecodable", b'{"id": "x", "prompt": "\xff\xfe bad"}', "not valid UTF-8"),
    ("oversized_line", js(prompt="x" * 13000).encode(), "oversized line"),
    ("too_long_text", js(prompt="y" * 1500).encode(), "too long"),
    ("nul_char", js(prompt="a\u0000b").encode(), "control characters"),
    (
        "lone_surrogate",
        b'{"id": "s1", "prompt": "\\ud800 x", "bad_answer": "b", '
        b'"source": "s", "ts": "2026-01-01"}',
        "lone surrogate",
    ),
    ("duplicate_key", b'{"id": "a", "id": "b"}', 'duplicate key "id"'),
    ("nan_value", b'{"id": NaN}', "NaN"),
    ("huge_int", b'{"id": ' + b"9" * 5000 + b"}", "invalid JSON value"),
    ("deep_nesting", b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ("blank_line", b"   ", "blank line"),
    ("ideal_equals_bad", js(ideal_answer=record(7)["bad_answer"]).encode(), "ideal_answer equals"),
]


@pytest.mark.parametrize(("name", "raw", "reason"), BROKEN_JSONL, ids=[b[0] for b in BROKEN_JSONL])
def test_each_broken_line_is_quarantined_with_line_and_reason(
    tmp_path: Path, name: str, raw: bytes, reason: str
) -> None:
    good = json.dumps(record(1)).encode()
    path = tmp_path / "failures.jsonl"
    path.write_bytes(good + b"\n" + raw + b"\n" + json.dumps(record(2)).encode() + b"\n")
    res = run(path)
    assert [r.id for r in res.records] == ["r-001", "r-002"]
    assert len(res.quarantine) == 1
    q = res.quarantine[0]
    assert (q.file, q.line) == ("failures.jsonl", 2)
    assert reason in q.reason
    assert len(res.records) + len(res.quarantine) == res.read == 3


def test_at_least_thirty_kinds_of_broken_input() -> None:
    assert len(BROKEN_JSONL) + len(BROKEN_CSV) >= 30


def test_duplicate_id_points_at_the_first_occurrence(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(record(1)) + "\n" + json.dumps(record(1)) + "\n")
    res = run(path)
    assert len(res.records) == 1
    assert res.quarantine[0].line == 2
    assert "first seen at f.jsonl:1" in res.quarantine[0].reason


def test_missing_field_hint_suggests_the_mapping(tmp_path: Path) -> None:
    r = record(1)
    r["text"] = r.pop("prompt")
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(r) + "\n")
    q = run(path).quarantine[0]
    assert q.hint is not None and "--map prompt=text" in q.hint
    assert len(run(path, field_map={"prompt": "text"}).records) == 1


def test_quarantine_never_holds_the_content(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(record(1, ts="not-a-date", prompt="call 13800138000")) + "\n")
    q = run(path).quarantine[0]
    assert "13800138000" not in q.model_dump_json()
    assert q.raw_sha256 and len(q.raw_sha256) == 64


def test_bom_crlf_and_label_case_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    lines = [json.dumps(record(1, label="Jailbreak")), json.dumps(record(2, label=""))]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    res = run(path)
    assert [r.label for r in res.records] == ["jailbreak", None]
    assert not res.quarantine


# --- CSV and Parquet --------------------------------------------------------------------

HEADER = "id,prompt,bad_answer,label,source,ts\n"
BROKEN_CSV: list[tuple[str, str, str]] = [
    ("too_many_cells", "x1,p,b,jailbreak,s,2026-01-01,extra\n", "7 cells but the header has 6"),
    ("too_few_cells", "x2,p,b\n", "3 cells"),
    ("csv_missing_value", "x3,,b,jailbreak,s,2026-01-01\n", 'field "prompt" is missing'),
    ("csv_bad_label", "x4,p,b,nope,s,2026-01-01\n", 'unknown label "nope"'),
    ("csv_bad_ts", "x5,p,b,jailbreak,s,31/12/2026\n", "not an ISO 8601"),
    ("csv_blank_row", ",,,,,\n", "blank line"),
]


@pytest.mark.parametrize(("name", "row", "reason"), BROKEN_CSV, ids=[b[0] for b in BROKEN_CSV])
def test_csv_broken_rows(tmp_path: Path, name: str, row: str, reason: str) -> None:
    good = 'g1,"Where is my order, please?",It shipped,order_number,log,2026-01-01T00:00:00\n'
    path = tmp_path / "f.csv"
    path.write_text(HEADER + good + row + good.replace("g1", "g2"), encoding="utf-8")
    res = run(path)
    assert [r.id for r in res.records] == ["g1", "g2"]
    assert [(q.line, reason in q.reason) for q in res.quarantine] == [(3, True)]
    assert res.read == 3


def test_csv_multiline_cell_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        HEADER + 'a,"line one\nline two",b,jailbreak,s,2026-01-01\n' + "c,p,b,bad,s,2026-01-01\n"
    )
    res = run(path)
    assert res.records[0].prompt == "line one\nline two"
    assert res.quarantine[0].line == 4


def test_csv_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(HEADER.encode() + b"a,p\xff,b,jailbreak,s,2026-01-01\n")
    assert "not valid UTF-8" in run(path).quarantine[0].reason


def test_parquet_rows_and_types(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "text": ["Where is my parcel?", "hi", None],
            "bad_answer": ["b", "b", "b"],
            "source": ["s", "s", "s"],
            "ts": ["2026-01-01", "2026-01-02", "2026-01-03"],
            "label": ["order_number", "bogus", None],
        }
    )
    path = tmp_path / "f.parquet"
    pq.write_table(table, path)
    res = run(path, field_map={"prompt": "text"})
    assert [r.id for r in res.records] == ["p1"]
    assert [(q.line, q.reason[:15]) for q in res.quarantine] == [
        (2, 'unknown label "'),
        (3, 'field "prompt" '),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "input file not found"),
        ("f.txt", b"hello", "unknown input format"),
        ("f.parquet", b"not parquet at all", "cannot read Parquet file"),
        ("f.csv", b"", "cannot read the CSV header"),
        ("g.csv", b"id,id,prompt\n1,2,3\n", "repeats column"),
    ],
)
def test_unusable_files_raise_input_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        run(path)
    assert name in str(err.value)


def _csv_orders(n: int) -> list[str]:
    return [
        f'r{i},"Where is my order {i}, please?",It shipped,order_number,log,2026-01-0{i}\n'
        for i in range(1, n + 1)
    ]


@pytest.mark.parametrize("broken", [2, 5, 6], ids=["early", "second_to_last", "last"])
def test_csv_unterminated_quote_is_named_and_loses_no_row(tmp_path: Path, broken: int) -> None:
    rows = _csv_orders(6)
    rows[broken - 1] = rows[broken - 1].replace('please?",', "please?,")  # the quote stays open
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    res = run(path)
    assert res.read == 6
    assert [r.id for r in res.records] == [f"r{i}" for i in range(1, 7) if i != broken]
    [q] = res.quarantine
    line = broken + 1  # the header is line 1
    assert (q.file, q.line, q.field) == ("f.csv", line, "prompt")
    assert q.reason == f'unterminated quote in field "prompt" (opened on line {line})'


def test_csv_unterminated_quote_on_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        HEADER + "".join(_csv_orders(2)) + 'r3,"Where is it,b,order_number,s,2026-01-03'
    )
    res = run(path)
    assert [r.id for r in res.records] == ["r1", "r2"]
    assert [(q.line, q.reason[:18]) for q in res.quarantine] == [(4, "unterminated quote")]


def test_csv_unterminated_quote_in_the_header_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text('id,"prompt,bad_answer\n' + "".join(_csv_orders(2)), encoding="utf-8")
    with pytest.raises(InputError, match=r"f\.csv line 1: unterminated quote in the CSV header"):
        run(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [("f.jsonl", b""), ("g.jsonl", b"\n  \n"), ("h.csv", HEADER.encode())],
    ids=["empty", "blank_lines", "header_only"],
)
def test_an_input_without_records_is_an_input_error(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"no records in {re.escape(name)}"):
        run(path)
