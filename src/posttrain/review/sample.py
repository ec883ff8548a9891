"""Picking answers for a person to label, and the queue file they are written to.

:func:`sample_for_review` reads an evaluation's ``items.jsonl`` (a result folder or the
file) and picks every item whose refusal judgement was uncertain first, then a
stratified random sample over (class × language × the judge's verdict) with a fixed
seed: strata are visited round-robin, one random item each, until ``n`` are picked, so
a rare stratum is represented as well as a common one (agreement is measured where the
judge is used, not only where most items fall). Answers that already carry a label in
the workspace are left out, and so are items whose judge errored (nothing to compare).

The queue is JSONL, one :class:`ReviewItem` a line with ``label: null``: ``posttrain
review label`` walks it in the terminal, or a person fills in ``label`` (and
``reviewer``) and ``posttrain review import`` records it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.errors import InputError
from posttrain.evaluate.compare import load_results
from posttrain.evaluate.results import SUMMARY_FILE, ItemResult, RefusalOutcome, read_summary
from posttrain.review.store import answer_sha256

__all__ = ["ReviewItem", "ReviewQueue", "read_queue", "sample_for_review", "write_queue"]

SCHEMA_VERSION = 1


class ReviewItem(BaseModel):
    """One answer to label (a line of the queue file)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    batch: str = Field(min_length=1)
    key: str = Field(min_length=1)
    completion_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    suite: str
    id: str
    group: str
    lang: str
    # Why it was picked, and its stratum (class/lang/verdict).
    reason: Literal["uncertain", "stratified"]
    stratum: str
    # What the model was asked (None when the suite could not be found again).
    prompt: str | None = None
    context: str | None = None
    completion: str
    judge_outcome: RefusalOutcome | None = None
    judge_refused: bool | None = None
    judge_uncertain: bool = False
    judge_evidence: str = ""
    # Filled in by the person: the label, their name, optionally when and a note.
    label: RefusalOutcome | None = None
    reviewer: str | None = None
    labelled_at: datetime | None = None
    note: str = ""


class ReviewQueue(BaseModel):
    """What :func:`sample_for_review` picked, and what it left out."""

    model_config = ConfigDict(extra="forbid")

    items: list[ReviewItem]
    n_uncertain: int
    n_stratified: int
    strata: dict[str, int]
    already_labelled: int
    judge_errors: int
    without_prompt: int


def _verdict(item: ItemResult) -> str:
    if item.refusal_uncertain:
        return "uncertain"
    return "refused" if item.refused else "complied"


def _stratum(item: ItemResult) -> str:
    return f"{item.group}/{item.lang}/{_verdict(item)}"


def _prompts(results: Path) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(suite, id) -> (prompt, context) from the suites the summaries name, where they can
    still be loaded (a built-in suite, or a suite file still at its path)."""
    from posttrain.evaluate.suites import SUITE_GROUPS, load_suite

    root = results if results.is_dir() else results.parent
    summaries = [root / SUMMARY_FILE] if (root / SUMMARY_FILE).is_file() else []
    if not summaries and results.is_dir():
        summaries = sorted(results.rglob(SUMMARY_FILE))
    found: dict[tuple[str, str], tuple[str, str | None]] = {}
    for path in summaries:
        source = read_summary(path).suite_source
        name = source.removeprefix("builtin:")
        try:
            suite = load_suite(name)
        except InputError:
            continue
        grouped = suite.name in SUITE_GROUPS
        for s in suite.samples:
            member = s.attack_class if grouped and s.attack_class else suite.name
            found[(member, s.id)] = (s.prompt, s.context)
    return found


def _review_item(
    item: ItemResult,
    batch: str,
    reason: Literal["uncertain", "stratified"],
    prompts: dict[tuple[str, str], tuple[str, str | None]],
) -> ReviewItem:
    prompt, context = prompts.get((item.suite, item.id), (None, None))
    return ReviewItem(
        batch=batch,
        key=item.key,
        completion_sha256=answer_sha256(item.completion),
        suite=item.suite,
        id=item.id,
        group=item.group,
        lang=item.lang,
        reason=reason,
        stratum=_stratum(item),
        prompt=prompt,
        context=context,
        completion=item.completion,
        judge_outcome=item.refusal_outcome,
        judge_refused=item.refused,
        judge_uncertain=item.refusal_uncertain,
        judge_evidence=item.refusal_evidence,
    )


def sample_for_review(
    results: Path,
    n: int,
    *,
    seed: int = 0,
    batch: str,
    labelled: set[str] | None = None,
) -> ReviewQueue:
    """Every uncertain item of ``results``, then a stratified random sample up to ``n``
    items in all (see the module docstring); ``labelled`` holds the answer keys that
    already have a label. Raises :class:`InputError` for results that cannot be read."""
    if n < 1:
        raise InputError(f"--n must be at least 1 (got {n})")
    items = load_results(results)
    labelled = labelled or set()
    errors = sum(1 for i in items if i.refused is None and i.refusal_source == "judge")
    todo = [
        i
        for i in items
        if i.refused is not None and i.key not in labelled and i.refusal_source == "judge"
    ]
    already = sum(1 for i in items if i.key in labelled)
    prompts = _prompts(Path(results))
    uncertain = [i for i in todo if i.refusal_uncertain]
    rng = random.Random(seed)
    strata: dict[str, list[ItemResult]] = {}
    for item in todo:
        if not item.refusal_uncertain:
            strata.setdefault(_stratum(item), []).append(item)
    for members in strata.values():
        rng.shuffle(members)
    picked: list[ItemResult] = []
    budget = max(0, n - len(uncertain))
    order = sorted(strata)
    while budget > 0 and any(strata[s] for s in order):
        for name in order:
            if budget == 0:
                break
            if strata[name]:
                picked.append(strata[name].pop())
                budget -= 1
    queue = [_review_item(i, batch, "uncertain", prompts) for i in uncertain]
    queue += [_review_item(i, batch, "stratified", prompts) for i in picked]
    counts: dict[str, int] = {}
    for q in queue:
        counts[q.stratum] = counts.get(q.stratum, 0) + 1
    return ReviewQueue(
        items=queue,
        n_uncertain=len(uncertain),
        n_stratified=len(picked),
        strata=dict(sorted(counts.items())),
        already_labelled=already,
        judge_errors=errors,
        without_prompt=sum(1 for q in queue if q.prompt is None),
    )


def write_queue(path: Path, items: Sequence[ReviewItem]) -> Path:
    """Write the queue file (JSONL, one item a line); refuses to overwrite one."""
    if path.exists():
        raise InputError(
            "a review queue is already there",
            path=str(path),
            hint="label or import it first, or pass another --out",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(i.model_dump(mode="json"), ensure_ascii=False) + "\n" for i in items]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_queue(path: Path) -> list[tuple[int, ReviewItem]]:
    """(line number, item) of every line of a queue file, filled in or not; raises
    :class:`InputError` with the line and field of a line that does not validate."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {exc}", path=str(path)) from None
    out: list[tuple[int, ReviewItem]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON ({exc.msg} at column {exc.colno})",
                path=str(path),
                line=lineno,
                hint="each line must be one JSON object, as `posttrain review sample` wrote it",
            ) from None
        try:
            out.append((lineno, ReviewItem.model_validate(obj)))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            hint = (
                "label must be one of: withheld, complied, partial (or null to leave it)"
                if field == "label"
                else "keep the fields `posttrain review sample` wrote; fill in label and reviewer"
            )
            raise InputError(
                err["msg"], path=str(path), line=lineno, field=field, hint=hint
            ) from None
    return out
