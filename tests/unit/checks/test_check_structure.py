from __future__ import annotations

from posttrain.checks import Sample, run_check

S = Sample(id="s", prompt="recommend a blender")
SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "url", "price"],
        "properties": {
            "name": {"type": "string"},
            "url": {"type": "string"},
            "price": {"type": "number"},
        },
    },
}


def test_json_schema_passes_on_fenced_and_bare_json() -> None:
    fenced = 'Here you go:\n```json\n[{"name": "AeroBlend", "url": "https://x", "price": 59}]\n```'
    bare = 'Sure! [{"name": "AeroBlend", "url": "https://x", "price": 59}] Enjoy.'
    assert run_check("json_schema", S, fenced, {"schema": SCHEMA}).status == "pass"
    assert run_check("json_schema", S, bare, {"schema": SCHEMA}).status == "pass"


def test_json_schema_names_the_failing_field() -> None:
    text = '[{"name": "A", "url": "u", "price": 1}, {"name": "B", "url": "u", "price": "9.99"}]'
    verdict = run_check("json_schema", S, text, {"schema": SCHEMA})
    assert verdict.status == "fail"
    assert "[1].price" in verdict.evidence
    assert "number" in verdict.evidence


def test_json_schema_fails_without_json_and_on_too_many_items() -> None:
    assert (
        run_check("json_schema", S, "I recommend the AeroBlend.", {"schema": SCHEMA}).status
        == "fail"
    )
    four = "[" + ",".join(['{"name": "A", "url": "u", "price": 1}'] * 4) + "]"
    verdict = run_check("json_schema", S, four, {"schema": SCHEMA, "max_items": 3})
    assert verdict.status == "fail" and "4 items" in verdict.evidence


def test_json_schema_with_an_invalid_schema_is_an_error() -> None:
    verdict = run_check("json_schema", S, "[1]", {"schema": {"type": "banana"}})
    assert verdict.status == "error"


def test_regex_forbid_and_require() -> None:
    assert (
        run_check("regex_forbid", S, "use code STAFF-50", {"patterns": [r"STAFF-\d+"]}).status
        == "fail"
    )
    assert (
        run_check("regex_forbid", S, "no codes here", {"patterns": r"STAFF-\d+"}).status == "pass"
    )
    # case matters unless asked otherwise
    assert run_check("regex_forbid", S, "staff-50", {"patterns": r"STAFF-\d+"}).status == "pass"
    assert run_check("regex_forbid", S, "staff-50", {"patterns": r"(?i)STAFF-\d+"}).status == "fail"
    req = run_check("regex_require", S, "talk to a human agent", {"patterns": ["human", "人工"]})
    assert req.status == "fail" and "人工" in req.evidence and req.score == 0.5
    assert run_check("regex_require", S, "x", {"patterns": "(unclosed"}).status == "error"


def test_max_items_counts_markdown_and_json_lists() -> None:
    md = "Options:\n1. A\n2. B\n3. C\n4. D"
    assert run_check("max_items", S, md, {"limit": 3}).status == "fail"
    assert run_check("max_items", S, "- A\n- B", {"limit": 3}).status == "pass"
    assert run_check("max_items", S, "[1, 2, 3, 4]", {"limit": 3}).status == "fail"


def test_max_chars() -> None:
    assert run_check("max_chars", S, "x" * 601, {"limit": 600}).status == "fail"
    assert run_check("max_chars", S, "  short  ", {"limit": 5}).status == "pass"
    assert run_check("max_chars", S, "x", {"limit": 0}).status == "error"
