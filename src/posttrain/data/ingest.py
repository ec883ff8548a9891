"""Ingest failure records from JSONL, CSV or Parquet, quarantining what cannot be used.

Every physical record read is either accepted (a :class:`FailureRecord`) or quarantined
(a :class:`QuarantineItem` with file, line and reason): ``accepted + quarantined == read``
always holds. Problems with a single record never raise; only problems with a whole file
(missing, unreadable, unknown format, a CSV header or Parquet footer that cannot be read)
and inputs that hold no record at all (empty, or blank lines only) raise
:class:`~posttrain.errors.InputError`.

Append-only live files (``append_only``: what ``posttrain serve`` captures to
``data/live/*.jsonl``) are the one exception: a last line with no newline after it that is
not valid JSON is what a crash in the middle of an append leaves, not bad input. It was
never acknowledged to the client (the capture answers only after the whole line is
fsynced), so it is skipped, not read, and listed in ``IngestResult.torn``.

In CSV a quoted cell may span lines; a quote left open (it runs past its line into the
next records) quarantines only the line it opened on, naming the field, and the lines
after it are read as the records they are.

Record fields (``--map ours=theirs`` renames an input column): ``id``, ``prompt``,
``bad_answer``, ``source``, ``ts`` (ISO 8601) are required; ``label``, ``ideal_answer`` and
``context`` are optional. For Parquet, ``line`` is the row number (1-based).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Collection, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from posttrain.data._construct import construct
from posttrain.errors import InputError

__all__ = ["FailureRecord", "IngestResult", "InputFile", "QuarantineItem", "ingest"]

REQUIRED = ("id", "prompt", "bad_answer", "source", "ts")
OPTIONAL = ("label", "ideal_answer", "context")
TEXT_FIELDS = ("prompt", "bad_answer", "ideal_answer", "context")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEY_COLON = re.compile(r'"\s*:')
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class FailureRecord(BaseModel):
    """One accepted failure sample, exactly as read (before de-identification)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    bad_answer: str
    source: str
    ts: str
    label: str | None = None
    ideal_answer: str | None = None
    context: str | None = None
    file: str
    line: int


class QuarantineItem(BaseModel):
    """A record that could not be used: where it is and why (never its content)."""

    model_config = ConfigDict(extra="forbid")

    file: str
    line: int
    reason: str
    field: str | None = None
    hint: str | None = None
    raw_sha256: str | None = None  # identifies the raw line without storing it


class InputFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    format: str
    sha256: str
    bytes: int
    read: int


class IngestResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[FailureRecord]
    quarantine: list[QuarantineItem]
    files: list[InputFile]
    # Torn last lines of append-only live files, skipped (not read, not quarantined).
    torn: list[QuarantineItem] = []

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)


class _Bad(Exception):
    """A record-level problem: becomes a QuarantineItem."""

    def __init__(self, reason: str, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field, self.hint = reason, field, hint


def ingest(
    paths: list[tuple[Path, str]],
    *,
    field_map: dict[str, str],
    labels: list[str],
    max_line_bytes: int,
    max_text_chars: int,
    append_only: Collection[str] = (),
    on_record: Callable[[FailureRecord], None] | None = None,
) -> IngestResult:
    """Read ``(path, display_name)`` inputs in order; see the module docstring.
    ``append_only``: display names of live append-only files (their torn last line is
    skipped); ``on_record`` is called with each accepted record as soon as it is read
    (the build starts de-identifying while the rest is read)."""
    records: list[FailureRecord] = []
    quarantine: list[QuarantineItem] = []
    torn: list[QuarantineItem] = []
    files: list[InputFile] = []
    seen_ids: dict[str, str] = {}
    known = set(labels)
    for path, name in paths:
        data = _read_bytes(path, name)
        fmt = _format_of(path, name)
        reader = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[fmt]
        n = 0
        # A live file's last line without its newline: a crash mid-append (see above).
        tail = None
        if fmt == "jsonl" and name in append_only and data and not data.endswith(b"\n"):
            tail = data.count(b"\n") + 1
        for line, obj, raw in reader(data, name, max_line_bytes):
            digest = hashlib.sha256(raw).hexdigest() if raw else None
            if line == tail and isinstance(obj, _Bad) and obj.reason.startswith("invalid JSON"):
                torn.append(
                    QuarantineItem(
                        file=name,
                        line=line,
                        reason="torn last line of an append-only live file (a crash "
                        "mid-append; never acknowledged): skipped",
                        raw_sha256=digest,
                    )
                )
                continue
            n += 1
            try:
                if isinstance(obj, _Bad):
                    raise obj
                rec = _validate(obj, name, line, field_map, known, max_text_chars)
                if rec.id in seen_ids:
                    raise _Bad(
                        f"duplicate id (first seen at {seen_ids[rec.id]})",
                        "id",
                        "give every record a unique id",
                    )
                seen_ids[rec.id] = f"{name}:{line}"
                records.append(rec)
                if on_record is not None:
                    on_record(rec)
            except _Bad as bad:
                quarantine.append(
                    QuarantineItem(
                        file=name,
                        line=line,
                        reason=bad.reason,
                        field=bad.field,
                        hint=bad.hint,
                        raw_sha256=digest,
                    )
                )
        files.append(
            InputFile(
                path=name,
                format=fmt,
                sha256=hashlib.sha256(data).hexdigest(),
                bytes=len(data),
                read=n,
            )
        )
    if not records and all(q.reason == "blank line" for q in quarantine):
        # Nothing to build from: say so, rather than let the quality rules fail on it.
        raise InputError(
            f"no records in {', '.join(f.path for f in files)}",
            hint="the input is empty or holds only blank lines: put one failure record a "
            "line in it, or pass another file with --input FILE",
        )
    return IngestResult(records=records, quarantine=quarantine, files=files, torn=torn)


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            "input file not found",
            path=name,
            hint="put failure samples in data/failures.jsonl or pass --input FILE",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read input file: {exc.strerror}", path=name) from None


def _format_of(path: Path, name: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputError(
        f"unknown input format {suffix or '(no extension)'!r}",
        path=name,
        hint="use a .jsonl, .csv or .parquet file",
    )


# --- readers: yield (line, object-or-_Bad, raw bytes) for every physical record --------

_Row = tuple[int, Any, bytes]


def _jsonl_rows(data: bytes, name: str, max_bytes: int) -> Iterator[_Row]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line is not a line of its own
    for n, raw in enumerate(lines, 1):
        if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        raw = raw.removesuffix(b"\r")
        if len(raw) > max_bytes:
            yield (
                n,
                _Bad(
                    f"oversized line ({len(raw)} bytes > limit {max_bytes})",
                    hint="split the record or raise max_line_bytes in the data config",
                ),
                raw[:max_bytes],
            )
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield (
                n,
                _Bad(
                    f"undecodable bytes at byte {exc.start}: not valid UTF-8",
                    hint="re-encode the file as UTF-8",
                ),
                raw,
            )
            continue
        if not text.strip():
            yield n, _Bad("blank line", hint="remove empty lines"), raw
            continue
        try:
            obj = json.loads(text, parse_constant=_no_constant)
            # A duplicate key leaves fewer keys than `"key":` occurrences; only then (or
            # when a string holds `":` or objects nest) parse again with the slow check.
            if not isinstance(obj, dict) or len(_KEY_COLON.findall(text)) != len(obj):
                obj = json.loads(text, object_pairs_hook=_no_dup_keys, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            yield n, _Bad(f"invalid JSON: {exc.msg} at column {exc.colno}"), raw
            continue
        except RecursionError:
            yield n, _Bad("invalid JSON: nested too deeply"), raw
            continue
        except _Bad as bad:
            yield n, bad, raw
            continue
        except ValueError as exc:  # e.g. an integer with more digits than Python allows
            yield n, _Bad(f"invalid JSON value: {str(exc)[:80]}"), raw
            continue
        yield n, obj, raw


def _no_dup_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for k, v in pairs:
        if k in obj:
            raise _Bad(f'duplicate key "{k[:40]}" in one object', hint="keep one value per field")
        obj[k] = v
    return obj


def _no_constant(name: str) -> Any:
    raise _Bad(f"invalid JSON value {name} (not standard JSON)")


def _csv_rows(data: bytes, name: str, max_bytes: int) -> Iterator[_Row]:
    text = data.decode("utf-8-sig", errors="surrogateescape")
    csv.field_size_limit(max(max_bytes, 131072))
    dialect = "excel-tab" if name.lower().endswith(".tsv") else "excel"
    src = _Lines(io.StringIO(text, newline="").readlines(), dialect)
    reader = csv.reader(src, dialect=dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise InputError(f"cannot read the CSV header: {exc or 'empty file'}", path=name) from None
    if _unterminated(src, 0) is not None:
        raise InputError(
            "unterminated quote in the CSV header",
            path=name,
            line=1,
            hint='close the quote on the same line, or write a quote inside a quoted cell as ""',
        )
    dups = sorted({h for h in header if header.count(h) > 1})
    if dups:
        raise InputError(f"CSV header repeats column(s) {dups}", path=name, line=1)
    while True:
        start = src.pos  # index of the record's first line; its line number is start + 1
        error: csv.Error | None = None
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if src.pos == start:  # the reader cannot move on: stop, do not loop
                yield start + 1, _Bad(f"invalid CSV: {exc}"), b""
                return
            error = exc
        opened = _unterminated(src, start)
        if opened is not None:
            # The quote ran past its line into the records after it: quarantine this line
            # alone and read on from the next one, so that no other record is lost.
            column = header[opened] if opened < len(header) else f"column {opened + 1}"
            yield (
                start + 1,
                _Bad(
                    f'unterminated quote in field "{column}" (opened on line {start + 1})',
                    column,
                    'close the quote on the same line, or write a quote inside a quoted cell as ""',
                ),
                src.lines[start].encode("utf-8", errors="surrogateescape"),
            )
            src.pos = start + 1
            reader = csv.reader(src, dialect=dialect)
            continue
        if error is not None:
            yield start + 1, _Bad(f"invalid CSV: {error}", hint="check quotes and delimiters"), b""
            continue
        raw = "\x1f".join(row).encode("utf-8", errors="surrogateescape")
        if not any(cell.strip() for cell in row):
            yield start + 1, _Bad("blank line", hint="remove empty lines"), raw
        elif len(row) != len(header):
            yield (
                start + 1,
                _Bad(
                    f"row has {len(row)} cells but the header has {len(header)}",
                    hint="quote cells that contain the delimiter",
                ),
                raw,
            )
        elif len(raw) > max_bytes:
            yield start + 1, _Bad(f"oversized record ({len(raw)} bytes > limit {max_bytes})"), raw
        elif any(_has_surrogate(c) for c in row):
            yield (
                start + 1,
                _Bad("undecodable bytes: not valid UTF-8", hint="re-encode the file as UTF-8"),
                raw,
            )
        else:
            # CSV has no null: an empty cell is an absent value
            yield start + 1, {h: c for h, c in zip(header, row, strict=True) if c != ""}, raw


class _Lines:
    """The physical lines of a CSV text (each with its line end), handed to
    ``csv.reader`` one at a time: ``pos`` is how many it has taken, and a new reader
    started after setting it reads on from there."""

    def __init__(self, lines: list[str], dialect: str) -> None:
        self.lines, self.dialect, self.pos = lines, dialect, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.lines)


def _unterminated(src: _Lines, start: int) -> int | None:
    """The index of the cell whose quote opens on line ``start`` of the record the reader
    just read (lines ``start`` to ``src.pos``) and is never closed properly, or None.

    A quoted cell may hold line breaks, so a quote left open runs on into the next records
    until some later quote "closes" it. A real multi-line cell closes with a quote followed
    by the delimiter or the line end; an open quote is closed by the opening quote of a
    later cell (text follows it) or by the end of the file, and a strict parse fails.
    """
    if src.pos - start < 2 and not src.at_end:
        return None  # one line, and not the last: every quote on it was closed on it
    opened = _open_cell(src.lines[start], src.dialect)
    if opened is None:
        return None
    try:
        for _ in csv.reader(src.lines[start : src.pos], dialect=src.dialect, strict=True):
            pass
    except csv.Error:
        return opened
    return None


def _open_cell(line: str, dialect: str) -> int | None:
    """Index of the cell whose quote is still open at the end of ``line`` alone, or None."""
    if not line.endswith(("\n", "\r")):
        line += "\n"
    try:
        cells = next(csv.reader([line], dialect=dialect))
    except (csv.Error, StopIteration):
        return None
    # Inside an open quote the line end is kept as part of the cell's text.
    return len(cells) - 1 if cells and cells[-1].endswith(("\n", "\r")) else None


def _parquet_rows(data: bytes, name: str, max_bytes: int) -> Iterator[_Row]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with datasets
        from posttrain.errors import MissingDependencyError

        raise MissingDependencyError(
            "reading Parquet needs pyarrow", hint="pip install pyarrow"
        ) from None
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises many types for a broken file
        raise InputError(f"cannot read Parquet file: {exc}", path=name) from None
    for n, row in enumerate(table.to_pylist(), 1):
        raw = json.dumps(row, default=str, ensure_ascii=False, sort_keys=True).encode()
        out: dict[str, Any] = {}
        bad: _Bad | None = None
        for k, v in row.items():
            if isinstance(v, bytes):
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    bad = _Bad("undecodable bytes: not valid UTF-8", str(k))
                    break
            if isinstance(v, datetime | date):
                v = v.isoformat()
            if v is not None:
                out[str(k)] = v
        yield n, bad or out, raw


# --- validation ------------------------------------------------------------------------


def _validate(
    obj: Any,
    file: str,
    line: int,
    field_map: dict[str, str],
    known_labels: set[str],
    max_chars: int,
) -> FailureRecord:
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(obj), "a number"
        )
        raise _Bad(f"expected a JSON object, got {kind}", hint="one JSON object per line")
    for ours, theirs in field_map.items():
        if theirs in obj and ours not in obj:
            obj[ours] = obj.pop(theirs)
    vals: dict[str, Any] = {}
    for f in REQUIRED:
        if f not in obj or obj[f] is None:
            raise _Bad(f'field "{f}" is missing', f, _missing_hint(f, obj))
        vals[f] = obj[f]
    for f in OPTIONAL:
        if obj.get(f) is not None:
            vals[f] = obj[f]
    if isinstance(vals["id"], int) and not isinstance(vals["id"], bool):
        vals["id"] = str(vals["id"])
    for f, v in vals.items():
        if not isinstance(v, str):
            raise _Bad(
                f'field "{f}" must be a string, got {_type_name(v)}',
                f,
                "ts must be an ISO 8601 string" if f == "ts" else None,
            )
        if _has_surrogate(v):
            raise _Bad(f'field "{f}" holds an invalid Unicode code point (lone surrogate)', f)
        if _CONTROL.search(v):
            raise _Bad(f'field "{f}" holds control characters (NUL or similar)', f)
        if f in TEXT_FIELDS and len(v) > max_chars:
            raise _Bad(
                f'field "{f}" is too long ({len(v)} characters > limit {max_chars})',
                f,
                "raise max_text_chars in the data config if this is intended",
            )
    for f in ("id", "prompt", "bad_answer", "source"):
        if not vals[f].strip():
            raise _Bad(f'field "{f}" is empty', f)
    for f in ("ideal_answer", "context", "label"):
        if f in vals and not vals[f].strip():
            del vals[f]  # an empty optional field is an absent one
    try:
        datetime.fromisoformat(vals["ts"].strip())
    except ValueError:
        raise _Bad(
            'field "ts" is not an ISO 8601 date-time', "ts", "write e.g. 2026-03-14T09:30:00Z"
        ) from None
    if "label" in vals:
        label = vals["label"].strip().lower()
        if label not in known_labels:
            raise _Bad(
                f'unknown label "{label[:40]}"',
                "label",
                f"use one of {', '.join(sorted(known_labels))}, or leave it empty to infer it",
            )
        vals["label"] = label
    if "ideal_answer" in vals and vals["ideal_answer"].strip() == vals["bad_answer"].strip():
        raise _Bad(
            "ideal_answer equals bad_answer: no preference to learn",
            "ideal_answer",
            "fix the ideal answer or drop it to use the contract template",
        )
    return construct(FailureRecord, file=file, line=line, **vals)  # checked above


def _missing_hint(field: str, obj: dict[str, Any]) -> str:
    keys = [str(k)[:30] for k in obj][:12]
    others = [k for k in keys if k not in REQUIRED + OPTIONAL]
    if others:
        return (
            f'got keys: {", ".join(keys)}. Rename one of them to "{field}" or map it '
            f"with --map {field}={others[0]}"
        )
    return f"got keys: {', '.join(keys) or '(none)'}; every record needs {', '.join(REQUIRED)}"


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number" if not (isinstance(v, float) and math.isnan(v)) else "NaN"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _has_surrogate(s: str) -> bool:
    return _SURROGATE.search(s) is not None
