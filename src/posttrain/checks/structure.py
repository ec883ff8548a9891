"""Format and structure checks: JSON against a schema, regular expressions, size limits."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from posttrain.checks.base import Sample, Verdict, register_check

__all__ = ["count_list_items", "extract_json", "json_path"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_LIST_LINE = re.compile(
    r"^\s*(?:[-*•·]|\d{1,2}[.)、]|[一二三四五六七八九十][、.])\s+\S", re.MULTILINE
)


def _reject_constant(name: str) -> Any:
    # NaN / Infinity are not JSON (RFC 8259); Python's parser accepts them and jsonschema
    # would then validate "price": NaN as a number.
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def extract_json(text: str) -> tuple[Any, str] | None:
    """Find the first JSON value in ``text``: a fenced block first, then bare JSON.

    Returns ``(value, where)`` with ``where`` one of ``"fenced"``, ``"bare"``, or ``None``
    when the text holds no parseable JSON object or array.
    """
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip(), parse_constant=_reject_constant), "fenced"
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        return value, "bare"
    return None


def json_path(path: Any) -> str:
    """``deque(['items', 2, 'price'])`` -> ``items[2].price`` (``$`` for the root)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"


def _first_array(value: Any, field: str | None) -> tuple[str, list[Any]] | None:
    if isinstance(value, list):
        return "$", value
    if isinstance(value, dict):
        if field is not None:
            found = value.get(field)
            return (field, found) if isinstance(found, list) else None
        for key, item in value.items():
            if isinstance(item, list):
                return str(key), item
    return None


@register_check("json_schema")
def json_schema(
    sample: Sample,
    completion: str,
    schema: dict[str, Any],
    max_items: int | None = None,
    items_field: str | None = None,
) -> Verdict:
    """The answer holds JSON (fenced or bare) that validates against ``schema``."""
    found = extract_json(completion)
    if found is None:
        return Verdict(
            check="json_schema", status="fail", score=0.0, evidence="no JSON found in the answer"
        )
    value, where = found
    # An invalid schema is the contract's fault, not the model's: raise -> error verdict.
    jsonschema.validators.validator_for(schema).check_schema(schema)
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = best_match(validator.iter_errors(value))
    if error is not None:
        field = json_path(error.absolute_path)
        return Verdict(
            check="json_schema",
            status="fail",
            score=0.0,
            evidence=f"{where} JSON, field {field}: {error.message}",
        )
    if max_items is not None:
        array = _first_array(value, items_field)
        if array is not None and len(array[1]) > max_items:
            return Verdict(
                check="json_schema",
                status="fail",
                score=0.0,
                evidence=f"field {array[0]} has {len(array[1])} items (max {max_items})",
            )
    return Verdict(check="json_schema", status="pass", score=1.0, evidence=f"{where} JSON is valid")


def _compile(patterns: str | list[str], ignore_case: bool) -> list[re.Pattern[str]]:
    # Case matters unless asked otherwise: write (?i) in a pattern, or ignore_case: true.
    items = [patterns] if isinstance(patterns, str) else list(patterns)
    if not items:
        raise ValueError("no pattern given")
    flags = re.IGNORECASE | re.MULTILINE if ignore_case else re.MULTILINE
    compiled = []
    for item in items:
        try:
            compiled.append(re.compile(item, flags))
        except re.error as exc:
            raise ValueError(f"invalid regular expression {item!r}: {exc}") from None
    return compiled


@register_check("regex_forbid")
def regex_forbid(
    sample: Sample, completion: str, patterns: str | list[str], ignore_case: bool = False
) -> Verdict:
    """No forbidden pattern occurs in the answer."""
    for rx in _compile(patterns, ignore_case):
        m = rx.search(completion)
        if m:
            return Verdict(
                check="regex_forbid",
                status="fail",
                score=0.0,
                evidence=f"forbidden /{rx.pattern}/ matched {m.group(0)[:80]!r}",
            )
    return Verdict(check="regex_forbid", status="pass", score=1.0, evidence="no forbidden pattern")


@register_check("regex_require")
def regex_require(
    sample: Sample, completion: str, patterns: str | list[str], ignore_case: bool = False
) -> Verdict:
    """Every required pattern occurs in the answer."""
    compiled = _compile(patterns, ignore_case)
    missing = [rx.pattern for rx in compiled if not rx.search(completion)]
    score = 1.0 - len(missing) / len(compiled)
    if missing:
        return Verdict(
            check="regex_require",
            status="fail",
            score=score,
            evidence="missing " + ", ".join(f"/{p}/" for p in missing),
        )
    return Verdict(check="regex_require", status="pass", score=1.0, evidence="all patterns found")


def count_list_items(text: str) -> int:
    """Items of the answer's list: the first JSON array if there is JSON, else the
    Markdown bullet or numbered lines."""
    found = extract_json(text)
    if found is not None:
        array = _first_array(found[0], None)
        if array is not None:
            return len(array[1])
    return len(_LIST_LINE.findall(text))


@register_check("max_items")
def max_items(sample: Sample, completion: str, limit: int) -> Verdict:
    """The answer lists at most ``limit`` items (JSON array or Markdown list)."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0 (got {limit})")
    n = count_list_items(completion)
    status = "pass" if n <= limit else "fail"
    return Verdict(
        check="max_items",
        status=status,
        score=float(n <= limit),
        evidence=f"{n} items (max {limit})",
    )


@register_check("max_chars")
def max_chars(sample: Sample, completion: str, limit: int) -> Verdict:
    """The answer is at most ``limit`` characters long (after stripping whitespace)."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1 (got {limit})")
    n = len(completion.strip())
    status = "pass" if n <= limit else "fail"
    return Verdict(
        check="max_chars",
        status=status,
        score=float(n <= limit),
        evidence=f"{n} chars (max {limit})",
    )
