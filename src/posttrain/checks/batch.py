"""One registered check over a JSONL file of (request, answer) records: ``posttrain
checks run``, for judging another system's logs or measuring a judge on outside data.

A record is one JSON object a line with ``prompt`` and ``completion``, and optionally
``id``, ``context``, ``lang`` (``en`` / ``zh``; guessed from the prompt when absent),
``secrets`` and ``expected`` (what :class:`~posttrain.checks.base.Sample` calls them).
Other keys (a log's timestamps, model names) are ignored. :func:`run_check_file` yields
one :class:`RecordVerdict` per line, in input order: a line that is not a valid record
is quarantined (its line, field and reason written to the quarantine file) and gets an
``error`` verdict saying why, so nothing given is silently lost and the rest still runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.checks.base import Sample, VerdictStatus, run_check
from posttrain.checks.language import guess_lang
from posttrain.errors import InputError

__all__ = ["CheckRecord", "CheckRunCounts", "RecordVerdict", "read_records", "run_check_file"]


class CheckRecord(BaseModel):
    """One input line (unknown keys are ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, min_length=1)
    prompt: str = Field(min_length=1)
    completion: str
    context: str | None = None
    lang: Literal["en", "zh"] | None = None
    secrets: list[str] = Field(default_factory=list)
    expected: dict[str, Any] = Field(default_factory=dict)


class RecordVerdict(BaseModel):
    """The check's verdict on one input line."""

    model_config = ConfigDict(extra="forbid")

    line: int
    id: str
    check: str
    status: VerdictStatus
    score: float | None = None
    evidence: str
    # True when the line was not a valid record (it is in the quarantine file).
    quarantined: bool = False


class CheckRunCounts(BaseModel):
    """How many records got each status, and how many were quarantined."""

    model_config = ConfigDict(extra="forbid")

    n: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    uncertain: int = 0
    quarantined: int = 0

    def add(self, v: RecordVerdict) -> None:
        self.n += 1
        if v.quarantined:
            self.quarantined += 1
        if v.status == "pass":
            self.passed += 1
        elif v.status == "fail":
            self.failed += 1
        elif v.status == "uncertain":
            self.uncertain += 1
        else:
            self.errors += 1


def read_records(path: Path) -> Iterator[tuple[int, CheckRecord | InputError]]:
    """(line, record) for every non-blank line; a line that is not a valid record gives
    the :class:`InputError` (file, line, field, how to fix) in place of the record.
    Raises :class:`InputError` when the file itself cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start})", path=str(path), hint="save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield (
                lineno,
                InputError(
                    f"invalid JSON ({exc.msg} at column {exc.colno})",
                    path=str(path),
                    line=lineno,
                    hint="each line must be one JSON object",
                ),
            )
            continue
        if not isinstance(obj, dict):
            yield (
                lineno,
                InputError(
                    f"expected a JSON object, got {type(obj).__name__}", path=str(path), line=lineno
                ),
            )
            continue
        try:
            yield lineno, CheckRecord.model_validate(obj)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            yield (
                lineno,
                InputError(
                    err["msg"],
                    path=str(path),
                    line=lineno,
                    field=field,
                    hint="a record has prompt and completion, and optionally id, context, lang "
                    f"(en or zh), secrets, expected (got keys: {', '.join(obj) or 'none'})",
                ),
            )


def _sample(lineno: int, record: CheckRecord, defaults: Mapping[str, Any]) -> Sample:
    lang = record.lang or guess_lang(record.prompt) or "en"
    return Sample(
        id=record.id or f"line-{lineno}",
        prompt=record.prompt,
        context=record.context,
        lang="zh" if lang == "zh" else "en",
        secrets=list(record.secrets),
        expected={**defaults, **record.expected},
    )


def run_check_file(
    check: str,
    path: Path,
    args: Mapping[str, Any] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    quarantine: Path | None = None,
) -> Iterator[RecordVerdict]:
    """Run ``check`` with ``args`` on every record of ``path``, in input order.

    ``defaults`` go into every sample's ``expected`` under the record's own (the
    workspace contract's ``canary`` and ``system_prompt``). Bad lines are appended to
    ``quarantine`` (created on the first one) as ``{"line", "error", "raw"}``.
    """
    raw_lines: list[str] | None = None
    for lineno, record in read_records(path):
        if isinstance(record, InputError):
            if quarantine is not None:
                if raw_lines is None:
                    raw_lines = path.read_text(encoding="utf-8").splitlines()
                _quarantine(quarantine, lineno, str(record), raw_lines[lineno - 1])
            yield RecordVerdict(
                line=lineno,
                id=f"line-{lineno}",
                check=check,
                status="error",
                evidence=f"bad record: {record}",
                quarantined=True,
            )
            continue
        sample = _sample(lineno, record, defaults or {})
        verdict = run_check(check, sample, record.completion, dict(args or {}))
        yield RecordVerdict(
            line=lineno,
            id=sample.id,
            check=check,
            status=verdict.status,
            score=verdict.score,
            evidence=verdict.evidence,
        )


def _quarantine(path: Path, lineno: int, error: str, raw: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        row = {"line": lineno, "error": error, "raw": raw}
        sink.write(json.dumps(row, ensure_ascii=False) + "\n")
