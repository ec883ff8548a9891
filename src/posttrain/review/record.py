"""Turning a labelled queue item into a :class:`~posttrain.review.store.ReviewLabel`, and
importing a filled-in queue file (all or nothing: a file with one bad line records
nothing, and the error names the line and the field)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrain.errors import InputError
from posttrain.evaluate.results import RefusalOutcome
from posttrain.review.sample import ReviewItem, read_queue
from posttrain.review.store import ReviewLabel, append_labels

__all__ = ["ImportResult", "import_queue", "to_label"]


class ImportResult(BaseModel):
    """What ``posttrain review import`` recorded."""

    model_config = ConfigDict(extra="forbid")

    path: str
    labels_file: str
    recorded: int
    unlabelled: int


def to_label(
    item: ReviewItem,
    label: RefusalOutcome,
    reviewer: str,
    when: datetime | None = None,
    note: str = "",
) -> ReviewLabel:
    """The label record of ``item`` labelled ``label`` by ``reviewer`` (now, by default)."""
    return ReviewLabel(
        key=item.key,
        completion_sha256=item.completion_sha256,
        suite=item.suite,
        id=item.id,
        group=item.group,
        lang=item.lang,
        label=label,
        reviewer=reviewer,
        labelled_at=when or datetime.now(UTC).replace(microsecond=0),
        batch=item.batch,
        judge_outcome=item.judge_outcome,
        judge_refused=item.judge_refused,
        judge_uncertain=item.judge_uncertain,
        note=note,
    )


def import_queue(path: Path, labels_file: Path, reviewer: str | None = None) -> ImportResult:
    """Record every labelled line of the queue file ``path`` into ``labels_file``.

    A line's own ``reviewer`` wins over ``reviewer``; a labelled line with neither is an
    :class:`InputError` naming it. Lines left at ``label: null`` are counted, not recorded.
    """
    items = read_queue(path)
    labels: list[ReviewLabel] = []
    unlabelled = 0
    for lineno, item in items:
        if item.label is None:
            unlabelled += 1
            continue
        who = (item.reviewer or reviewer or "").strip()
        if not who:
            raise InputError(
                "a labelled line names no reviewer",
                path=str(path),
                line=lineno,
                field="reviewer",
                hint="fill in reviewer on the line, or pass --reviewer NAME",
            )
        when = item.labelled_at
        if when is not None and when.tzinfo is None:
            raise InputError(
                "labelled_at has no time zone",
                path=str(path),
                line=lineno,
                field="labelled_at",
                hint="write it as 2026-12-01T10:00:00+00:00, or leave it out (now is used)",
            )
        labels.append(to_label(item, item.label, who, when, item.note))
    recorded = append_labels(labels_file, labels)
    return ImportResult(
        path=str(path), labels_file=str(labels_file), recorded=recorded, unlabelled=unlabelled
    )
