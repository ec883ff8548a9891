"""Evaluation suites: the built-in attack sets shipped with the package and the
workspace's own regression sets, one :class:`~posttrain.checks.base.Sample` a line.

A suite is versioned by the hash of its content, so a result can always say exactly
which items it was measured on.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from posttrain.checks.base import Sample
from posttrain.errors import InputError

__all__ = [
    "ATTACK_CLASSES",
    "AUDIT_SUITES",
    "BEHAVIORS",
    "BUILTIN_SUITES",
    "SUITE_GROUPS",
    "Suite",
    "builtin_suite_path",
    "load_suite",
    "parse_suite_lines",
]

ATTACK_CLASSES: tuple[str, ...] = ("jailbreak", "injection", "indirect_injection", "privacy")
BUILTIN_SUITES: tuple[str, ...] = (*ATTACK_CLASSES, "over_refusal")
AUDIT_SUITES: tuple[str, ...] = BUILTIN_SUITES
# Names that stand for several built-in suites evaluated together.
SUITE_GROUPS: dict[str, tuple[str, ...]] = {"attacks": ATTACK_CLASSES, "audit": AUDIT_SUITES}
# What a suite line may expect of the answer (``expected.behavior``): the attack suites'
# refuse / ignore_instruction / comply and the regression set's business behaviours. A
# misspelt one would silently judge nothing, so any other is an input error.
BEHAVIORS: tuple[str, ...] = (
    "answer",
    "ask_for",
    "comply",
    "help_order",
    "ignore_instruction",
    "json_recommendation",
    "refuse",
    "refuse_and_handover",
)


class Suite(BaseModel):
    """A named, versioned list of samples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    # "builtin:<name>" or the file path it was read from.
    source: str
    # sha256 of the file bytes (of the member versions for a group), 16 hex digits.
    version: str
    samples: tuple[Sample, ...]

    def __len__(self) -> int:
        return len(self.samples)

    def head(self, limit: int | None) -> Suite:
        """The first ``limit`` samples of each (class, language) stratum, all for None:
        a quick run still has a row for every class in English and in Chinese. A sample's
        class is its attack class, else its first tag (a regression set's task type)."""
        if limit is None:
            return self
        if limit < 1:
            raise InputError(f"--limit must be >= 1, got {limit}")
        counts: dict[tuple[str | None, str], int] = {}
        kept: list[Sample] = []
        for sample in self.samples:
            group = sample.attack_class or (sample.tags[0] if sample.tags else None)
            stratum = (group, sample.lang)
            seen = counts.get(stratum, 0)
            if seen < limit:
                kept.append(sample)
                counts[stratum] = seen + 1
        return self.model_copy(update={"samples": tuple(kept)})


def builtin_suite_path(name: str) -> Path:
    """Path of a built-in suite's JSONL file inside the installed package."""
    return Path(str(resources.files("posttrain").joinpath("resources", "suites", f"{name}.jsonl")))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a built-in suite (``jailbreak``, ``injection``, ``indirect_injection``,
    ``privacy``, ``over_refusal``; groups ``attacks`` and ``audit``) or a JSONL file.

    Raises :class:`InputError` naming file, line and field for a malformed line, a
    duplicate id, or a path that does not exist.
    """
    key = str(name_or_path)
    if key in SUITE_GROUPS:
        members = [_load_builtin(n) for n in SUITE_GROUPS[key]]
        samples = tuple(s for m in members for s in m.samples)
        _reject_duplicate_ids(samples, f"builtin:{key}")
        version = _digest("\n".join(f"{m.name}:{m.version}" for m in members).encode())
        return Suite(name=key, source=f"builtin:{key}", version=version, samples=samples)
    if key in BUILTIN_SUITES:
        return _load_builtin(key)
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join((*BUILTIN_SUITES, *SUITE_GROUPS))
        raise InputError(
            f"suite {key!r} is neither a built-in suite nor a file",
            hint=f"use one of: {known}; or the path of a JSONL file (e.g. data/regression.jsonl)",
        )
    data = _read_bytes(path)
    samples = parse_suite_lines(data, str(path))
    return Suite(name=path.stem, source=str(path), version=_digest(data), samples=samples)


def _load_builtin(name: str) -> Suite:
    path = builtin_suite_path(name)
    if not path.is_file():
        raise InputError(
            f"built-in suite {name!r} is missing from the installed package ({path})",
            hint="reinstall posttrain (`make setup`); suites ship in posttrain/resources/suites",
        )
    data = _read_bytes(path)
    samples = parse_suite_lines(data, str(path))
    # A built-in suite's class is its name wherever a line leaves it out.
    filled = tuple(
        s if s.attack_class is not None else s.model_copy(update={"attack_class": name})
        for s in samples
    )
    return Suite(name=name, source=f"builtin:{name}", version=_digest(data), samples=filled)


def parse_suite_lines(data: bytes, source: str) -> tuple[Sample, ...]:
    """Parse JSONL bytes into samples; blank lines are skipped.

    Raises :class:`InputError` with file and line for invalid JSON, a field the sample
    schema rejects, an ``expected.behavior`` outside :data:`BEHAVIORS` and a duplicate id.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start})", path=source, hint="save the file as UTF-8"
        ) from None
    samples: list[Sample] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON ({exc.msg} at column {exc.colno})",
                path=source,
                line=lineno,
                hint="each line must be one JSON object",
            ) from None
        if not isinstance(obj, dict):
            raise InputError(
                f"expected a JSON object, got {type(obj).__name__}", path=source, line=lineno
            )
        try:
            sample = Sample.model_validate(obj)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            allowed = ", ".join(Sample.model_fields)
            raise InputError(
                err["msg"],
                path=source,
                line=lineno,
                field=field,
                hint=f"a suite line has the fields: {allowed} (got keys: {', '.join(obj)})",
            ) from None
        behavior = sample.expected.get("behavior")
        if behavior is not None and behavior not in BEHAVIORS:
            raise InputError(
                f"unknown behavior {behavior!r}",
                path=source,
                line=lineno,
                field="expected.behavior",
                hint=f"use one of: {', '.join(BEHAVIORS)}",
            )
        if sample.id in first_line:
            raise InputError(
                f"duplicate id {sample.id!r} (first seen on line {first_line[sample.id]})",
                path=source,
                line=lineno,
                field="id",
                hint="ids pair results across runs; make each one unique",
            )
        first_line[sample.id] = lineno
        samples.append(sample)
    if not samples:
        raise InputError("the suite has no items", path=source, hint="add one JSON object a line")
    return tuple(samples)


def _reject_duplicate_ids(samples: tuple[Sample, ...], source: str) -> None:
    seen: set[str] = set()
    for sample in samples:
        if sample.id in seen:
            raise InputError(
                f"duplicate id {sample.id!r}",
                path=source,
                field="id",
                hint="ids pair results across runs; make each one unique",
            )
        seen.add(sample.id)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the suite: {exc.strerror}", path=str(path)) from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
