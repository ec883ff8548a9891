"""Strict JSON: NaN and Infinity are not valid JSON, so a price of NaN fails the schema check."""

from __future__ import annotations

from posttrain.checks.base import Sample, run_check

SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"price": {"type": "number"}}},
        }
    },
}


def test_nan_price_is_not_valid_json() -> None:
    sample = Sample(id="r-1", prompt="recommend a kettle")
    bad = '{"items": [{"name": "Kettle", "url": "https://shop.example/k", "price": NaN}]}'
    good = bad.replace("NaN", "19.9")
    assert run_check("json_schema", sample, bad, {"schema": SCHEMA}).status == "fail"
    assert run_check("json_schema", sample, good, {"schema": SCHEMA}).status == "pass"
