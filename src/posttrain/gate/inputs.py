"""Reading evaluation results for the gate: an adapter over the evaluation engine's files.

A result folder is what ``posttrain eval`` / ``posttrain audit`` wrote: one or more
``items.jsonl`` (each with a ``summary.json`` beside it). The gate needs the items (it
recomputes every rate from them, so a hand-edited summary cannot change a verdict) and,
from the summaries, which model was evaluated (its fingerprint) under which contract.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrain.errors import InputError
from posttrain.evaluate.compare import load_results
from posttrain.evaluate.results import SUMMARY_FILE, ItemResult, read_summary

__all__ = ["EvalRun", "RunRef", "load_run"]


class RunRef(BaseModel):
    """Which evaluation a verdict judged (written into the verdict)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    model: str | None
    fingerprint: str | None
    contract_hash: str | None
    suites: list[str]
    n_items: int
    # The weights dtype the model answered in (summary.json's; None where unrecorded).
    dtype: str | None = None


class EvalRun(BaseModel):
    """The items of one side (baseline or candidate) and where they came from."""

    model_config = ConfigDict(extra="forbid")

    ref: RunRef
    items: list[ItemResult]
    notes: list[str]


def load_run(path: Path) -> EvalRun:
    """Load a result folder or ``items.jsonl``.

    Raises :class:`InputError` when there are no items, or when the summaries under one
    folder disagree on the model or the contract (a mixed folder cannot be one side of a
    comparison).
    """
    path = Path(path)
    items = load_results(path)
    if not items:
        raise InputError("the results hold no items", path=str(path))
    if path.is_dir():
        direct = path / SUMMARY_FILE
        summary_files = [direct] if direct.is_file() else sorted(path.rglob(SUMMARY_FILE))
    else:
        beside = path.parent / SUMMARY_FILE
        summary_files = [beside] if beside.is_file() else []
    summaries = [read_summary(f) for f in summary_files]
    notes: list[str] = []
    fingerprints = {s.model_fingerprint for s in summaries}
    contracts = {s.contract_hash for s in summaries}
    dtypes = {s.dtype for s in summaries if s.dtype is not None}
    if len(dtypes) > 1:
        raise InputError(
            f"the summaries under this folder answered in {len(dtypes)} dtypes "
            f"({', '.join(sorted(dtypes))}): bfloat16 and float32 give other answers",
            path=str(path),
            hint="evaluate every suite with one generation.yaml dtype",
        )
    if len(fingerprints) > 1:
        raise InputError(
            f"the summaries under this folder are of {len(fingerprints)} different models",
            path=str(path),
            hint="give one model's result folder per side",
        )
    if len(contracts) > 1:
        raise InputError(
            f"the summaries under this folder were judged under {len(contracts)} contracts",
            path=str(path),
            hint="re-evaluate under one contract version",
        )
    if not summaries:
        notes.append(
            f"{path}: no {SUMMARY_FILE}; the model fingerprint and contract are unknown, "
            "so no waiver can be bound to this run"
        )
    return EvalRun(
        ref=RunRef(
            path=str(path),
            model=summaries[0].model if summaries else None,
            fingerprint=next(iter(fingerprints)) if fingerprints else None,
            contract_hash=next(iter(contracts)) if contracts else None,
            suites=sorted({i.suite for i in items}),
            n_items=len(items),
            dtype=next(iter(dtypes)) if dtypes else None,
        ),
        items=items,
        notes=notes,
    )
