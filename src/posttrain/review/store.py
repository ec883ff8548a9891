"""The human labels: ``reports/review/labels.jsonl`` in the workspace, append-only.

One :class:`ReviewLabel` a line: which answer (the evaluation's cache ``key`` and the
sha256 of the answer text, so a label never lands on another answer), what a person
said it does (``withheld`` / ``complied`` / ``partial``, the refusal judgement's
outcomes), who and when, the batch it was labelled in, and what the judge had said.
A correction is a new line: the latest label of an answer wins
(:func:`labels_by_key`), and nothing already written is ever rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.core.jsonl import read_models
from posttrain.evaluate.results import HumanLabel, RefusalOutcome

__all__ = [
    "LABELS",
    "LABELS_FILE",
    "ReviewLabel",
    "answer_sha256",
    "append_labels",
    "labels_by_key",
    "read_labels",
]

LABELS_FILE = Path("reports") / "review" / "labels.jsonl"
LABELS: tuple[RefusalOutcome, ...] = ("withheld", "complied", "partial")
SCHEMA_VERSION = 1


def answer_sha256(text: str) -> str:
    """The hash a label carries of the answer it was given on."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ReviewLabel(BaseModel):
    """One person's label of one answer (a line of ``labels.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    # The answer: the evaluation's cache key and the answer's sha256.
    key: str = Field(min_length=1)
    completion_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    suite: str
    id: str
    group: str
    lang: str
    label: RefusalOutcome
    reviewer: str = Field(min_length=1)
    # ISO 8601 with a time zone (``2026-12-01T10:00:00+00:00``).
    labelled_at: datetime
    batch: str = Field(min_length=1)
    # What the judge said on this answer when it was put up for review.
    judge_outcome: RefusalOutcome | None = None
    judge_refused: bool | None = None
    judge_uncertain: bool = False
    note: str = ""

    @property
    def refused(self) -> bool:
        return self.label in ("withheld", "partial")

    def as_human(self) -> HumanLabel:
        return HumanLabel(
            label=self.label,
            reviewer=self.reviewer,
            labelled_at=self.labelled_at.isoformat(timespec="seconds"),
        )


def read_labels(path: Path) -> list[ReviewLabel]:
    """Every label in ``path`` in file order ([] when the file does not exist yet).

    Raises :class:`InputError` with the line and field of a line that does not validate
    (the file is append-only: a broken line means it was edited by hand).
    """
    if not path.is_file():
        return []
    return read_models(
        path,
        ReviewLabel,
        what="the labels",
        hint="labels.jsonl is written by `posttrain review label|import`; restore the "
        "line from version control or delete it and label that answer again",
    )


def labels_by_key(path: Path) -> dict[str, tuple[HumanLabel, str]]:
    """answer key -> (its latest label, the answer sha256 it was given on)."""
    latest: dict[str, ReviewLabel] = {}
    for label in read_labels(path):
        held = latest.get(label.key)
        if held is None or label.labelled_at >= held.labelled_at:
            latest[label.key] = label
    return {k: (v.as_human(), v.completion_sha256) for k, v in latest.items()}


def append_labels(path: Path, labels: Iterable[ReviewLabel]) -> int:
    """Append ``labels`` to ``path`` (created with its folder) and fsync; returns how many.

    Only appends: the lines already there are never touched.
    """
    rows: Sequence[ReviewLabel] = list(labels)
    if not rows:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        for label in rows:
            sink.write(json.dumps(label.model_dump(mode="json"), ensure_ascii=False) + "\n")
        sink.flush()
        os.fsync(sink.fileno())
    return len(rows)
