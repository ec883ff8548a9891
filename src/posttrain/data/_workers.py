"""The per-record work of a data build, spread over worker processes.

De-identification (and what follows it per record: the label, the preference pair, the
SFT record) is independent from record to record, so :class:`RecordWorkers` cuts the
accepted records into chunks and maps them over ``workers`` processes with
``Pool.imap``, which returns the chunks in input order: the output does not depend on
the number of workers (placeholders are numbered within a record, never across). The
residual-PII rescan and the redaction of free-standing texts go through the same
processes.

The workers are forked as soon as the build starts, so their start-up overlaps the
parent's ingest (``fork``, not ``spawn``: a spawned child re-runs the caller's
``__main__``, which breaks any script without a ``__main__`` guard; forking is Linux
only here, elsewhere the build runs in one process). They import Presidio without
torch/transformers (:func:`~posttrain.data.deid.offline.import_presidio_in_worker`:
safe there, as they only de-identify and exit); the parent does not import Presidio.
With ``workers=1`` everything runs in this process and Presidio is imported the
ordinary way, on first use.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from posttrain.checks.policy_facts import CatalogItem
from posttrain.data._construct import construct
from posttrain.data.config import LabelRule, TemplateKind
from posttrain.data.deid import DeidPolicy, no_network
from posttrain.data.ingest import FailureRecord, QuarantineItem
from posttrain.data.labels import UNLABELED, ContractInfo, LabelInferer
from posttrain.data.pairs import PairJudge, PairVerdict
from posttrain.data.quality import (
    PairFeatures,
    RecordFeatures,
    TextFeatures,
    pair_features,
    record_features,
)
from posttrain.data.records import BucketedRecord, jsonl_line, make_pair, make_sft
from posttrain.data.residual import ResidualHit, ResidualScanner
from posttrain.data.templates import detect_lang
from posttrain.errors import PosttrainError

if TYPE_CHECKING:
    from posttrain.data.deid import Deidentifier

__all__ = ["PairHead", "RecordHead", "RecordOut", "RecordWorkers", "StageSpec", "auto_workers"]

# Records per task: large enough that pickling and scheduling stay a few percent of the
# work, small enough that two workers finish within a chunk of each other.
CHUNK = 1000
# Below this much input, starting processes costs more than it saves.
PARALLEL_MIN_BYTES = 2_000_000

T = TypeVar("T")
R = TypeVar("R")


def auto_workers(input_bytes: int) -> int:
    """Worker processes for a build reading ``input_bytes`` of failures (``--workers 0``)."""
    if input_bytes < PARALLEL_MIN_BYTES or not sys.platform.startswith("linux"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True)
class StageSpec:
    """Everything the per-record work depends on (sent once to each worker)."""

    policy: DeidPolicy
    label_rules: list[LabelRule]
    templates: dict[str, TemplateKind]
    clause_map: dict[str, list[str]]
    contract: ContractInfo
    # the product catalogue recommendation templates draw from
    catalog: tuple[CatalogItem, ...] = ()
    # the contract whose checks judge each pair (None: --no-contract, no pair checks)
    contract_path: Path | None = None
    workspace: Path = Path(".")
    # normalised values the residual scan does not flag (posttrain.data.residual.allowlist)
    residual_allow: frozenset[str] = frozenset()


class RecordHead(NamedTuple):
    """What the parent reads of an accepted record (counts, buckets, the quality rules):
    the record itself travels only as its JSON line, never as a model (pickling the
    models cost as much as measuring them)."""

    id: str
    label: str
    label_source: str
    lang: str
    source: str
    ts: str
    file: str
    line: int
    pii: dict[str, int]


class PairHead(NamedTuple):
    """What the parent reads of a preference pair (the quality rules, the counts)."""

    id: str
    chosen: str
    chosen_from: str
    tags: list[str]


class RecordOut(NamedTuple):
    """One accepted record after de-identification."""

    item: RecordHead | QuarantineItem  # a quarantined item when the policy drops it
    pair: PairHead | None
    # the JSON lines written for the record: bucket, prefs.jsonl, sft.jsonl (serialised
    # here, in parallel; the parent only concatenates them)
    lines: tuple[str, str | None, str | None]
    # what the quality rules measure per record / pair, measured here in parallel
    features: RecordFeatures | None
    pair_feats: PairFeatures | None
    # the contract's checks on the pair (None without a contract or a pair); a verdict
    # with problems means the pair was quarantined and ``pair`` is None
    pair_check: PairVerdict | None = None
    # the residual scan of each written line (bucket, prefs, sft): (field, kind, detector)
    residual: tuple[list[tuple[str, str, str]], ...] = ((), (), ())  # type: ignore[assignment]
    # the residual-PII rule's rescan, done here, of every written text the analyzer did
    # not already find clean: the texts de-identification changed (with the record's id),
    # a template's chosen answer (with the pair's id); only those it finds something in
    # come back, as (id, text, entity types), one per text and field (a clean text adds
    # nothing to the rule)
    rescan_hits: tuple[tuple[str, str, list[str]], ...] = ()


class _Stage:
    """The per-process state: a de-identifier and a label inferer."""

    def __init__(self, spec: StageSpec) -> None:
        from posttrain.data.deid import Deidentifier

        self.spec = spec
        with no_network():
            self.deid: Deidentifier = Deidentifier(spec.policy)
        self.inferer = LabelInferer(spec.label_rules)
        self._text_memo: dict[str, TextFeatures] = {}  # pair_features' per text
        self.judge = (
            PairJudge(spec.contract_path, spec.workspace)
            if spec.contract_path is not None
            else None
        )
        self.residual = ResidualScanner(spec.residual_allow)

    def records(self, recs: Sequence[FailureRecord]) -> list[RecordOut]:
        with no_network():
            return [self._record(r) for r in recs]

    def redact(self, texts: Sequence[str]) -> list[str]:
        with no_network():
            return [self.deid.redact_text(t) for t in texts]

    def scan(self, texts: Sequence[str]) -> list[list[str]]:
        with no_network():
            return self.deid.analyzer.scan(texts, self.spec.policy.score_threshold)

    def scan_files(self, docs: Sequence[tuple[str, str]]) -> list[list[ResidualHit]]:
        with no_network():
            return [self.residual.scan_document(name, text) for name, text in docs]

    def _scan_lines(
        self, lines: tuple[str, str | None, str | None]
    ) -> tuple[list[tuple[str, str, str]], ...]:
        return tuple(self.residual.scan_jsonl_line(x) if x else [] for x in lines)

    def _record(self, rec: FailureRecord) -> RecordOut:
        fields = {
            "id": rec.id,
            "prompt": rec.prompt,
            "bad_answer": rec.bad_answer,
            "ideal_answer": rec.ideal_answer,
            "context": rec.context,
            "source": rec.source,
        }
        res = self.deid.apply(fields)
        if res.dropped_for:
            item = QuarantineItem(
                file=rec.file,
                line=rec.line,
                reason="dropped by the de-identification policy: contains "
                + ", ".join(res.dropped_for),
                hint="the policy's action for these entity types is 'quarantine'",
            )
            return RecordOut(item, None, ("", None, None), None, None)
        f = res.fields
        rid = f["id"] or rec.id
        if rid != rec.id:  # an id that carried PII is replaced by a stable hash of itself
            rid = "rec-" + hashlib.sha256(rec.id.encode()).hexdigest()[:16]
        prompt, bad = f["prompt"] or "", f["bad_answer"] or ""
        if rec.label:
            label, how = rec.label, "given"
        else:
            label = self.inferer.infer(prompt, bad, f["context"])
            how = "none" if label == UNLABELED else "rule"
        brec = construct(
            BucketedRecord,
            id=rid,
            label=label,
            label_source=how,
            lang=detect_lang(prompt),
            prompt=prompt,
            bad_answer=bad,
            ideal_answer=f["ideal_answer"],
            context=f["context"],
            source=f["source"] or "",
            ts=rec.ts,
            file=rec.file,
            line=rec.line,
            pii=res.entities,
        )
        rescan = [(rid, v) for k, v in f.items() if k != "id" and v and v != fields[k]]
        if rid != rec.id:
            rescan.append((rid, rid))
        head = RecordHead(
            rid, label, how, brec.lang, brec.source, rec.ts, rec.file, rec.line, res.entities
        )
        kind = self.spec.templates.get(label, "none")
        clauses = self.spec.clause_map.get(label, [])
        pair = make_pair(brec, kind, clauses, self.spec.contract, self.spec.catalog)
        lines: tuple[str, str | None, str | None]
        check = None
        if pair is not None and self.judge is not None:
            check = self.judge.judge(brec, pair, clauses)
            if check.problems:  # not better than the rejected answer: quarantined
                # the evidence may quote the answer: de-identified like every reason
                check = check._replace(evidence=self.deid.redact_text(check.evidence[:200]))
                pair = None
        if pair is None:
            lines = (jsonl_line(brec), None, None)
            return RecordOut(
                head,
                None,
                lines,
                record_features(brec),
                None,
                check,
                self._scan_lines(lines),
                self._rescan(rescan),
            )
        if len(self._text_memo) > 50_000:
            self._text_memo.clear()
        lines = (jsonl_line(brec), jsonl_line(pair), jsonl_line(make_sft(brec, pair)))
        if pair.chosen_from != "ideal_answer":  # a template's text: not analysed yet
            rescan.append((pair.id, pair.chosen))
        return RecordOut(
            head,
            PairHead(pair.id, pair.chosen, pair.chosen_from, pair.tags),
            lines,
            record_features(brec),
            pair_features(pair.chosen, pair.rejected, self._text_memo),
            check,
            self._scan_lines(lines),
            self._rescan(rescan),
        )

    def _rescan(self, texts: list[tuple[str, str]]) -> tuple[tuple[str, str, list[str]], ...]:
        if not texts:
            return ()
        found = self.deid.analyzer.scan([t for _, t in texts], self.spec.policy.score_threshold)
        return tuple((i, t, f) for (i, t), f in zip(texts, found, strict=True) if f)


# --- worker side ---------------------------------------------------------------------

_STATE: _Stage | None = None
_INIT_ERROR: BaseException | None = None


def _init_worker(spec: StageSpec) -> None:
    global _STATE, _INIT_ERROR
    # An initializer that raises only logs and breaks the pool: keep the error and raise
    # it from the first task instead, where the parent sees what went wrong.
    try:
        from posttrain.data.deid.offline import import_presidio_in_worker

        import_presidio_in_worker()
        _STATE = _Stage(spec)
    except BaseException as exc:
        _INIT_ERROR = exc


def _ready() -> None:
    """A no-op task: submitting it starts the worker processes."""


def _run(method: str, arg: Any) -> Any:
    if _INIT_ERROR is not None:
        raise _INIT_ERROR
    assert _STATE is not None  # set by _init_worker
    return getattr(_STATE, method)(arg)


class _Call:
    """A picklable ``partial(_run, method)``."""

    def __init__(self, method: str) -> None:
        self.method = method

    def __call__(self, arg: Any) -> Any:
        return _run(self.method, arg)


# --- parent side ---------------------------------------------------------------------


class RecordWorkers:
    """``workers`` processes (or this one, for ``workers=1`` or off Linux) doing the
    per-record work.

    Use as a context manager; the processes start at construction. A worker that dies
    (killed for memory, say) raises ``BrokenProcessPool`` here rather than hanging.
    """

    def __init__(self, spec: StageSpec, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        spec.policy.hash_key()  # a missing key is a ConfigError here, not in a worker
        self.spec, self.workers = spec, workers
        self._local: _Stage | None = None
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1 and sys.platform.startswith("linux"):
            self._pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(spec,),
            )
            self._pool.submit(_ready)  # forks every worker now: they start during ingest

    def __enter__(self) -> RecordWorkers:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._pool = None

    def _map(self, method: str, items: Sequence[T], chunk: int) -> Iterator[list[R]]:
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        if self._pool is not None:
            try:
                yield from self._pool.map(_Call(method), chunks)  # results in input order
            except BrokenProcessPool as exc:
                raise _died(exc) from exc
            return
        fn: Callable[[Sequence[T]], list[R]] = getattr(self._local_stage(), method)
        for c in chunks:
            yield fn(c)

    def records(self, recs: Sequence[FailureRecord]) -> Iterator[list[RecordOut]]:
        """De-identified records, chunk by chunk, in input order."""
        feed = self.feed()
        for r in recs:
            feed.add(r)
        yield from feed.results()

    def feed(self) -> RecordFeed:
        """A feed of records to de-identify as they are read (see :class:`RecordFeed`)."""
        return RecordFeed(self)

    def _local_stage(self) -> _Stage:
        if self._local is None:
            self._local = _Stage(self.spec)
        return self._local

    def redact(self, texts: Sequence[str]) -> list[str]:
        """Each text de-identified on its own (messages, eval prompts)."""
        parts: Iterator[list[str]] = self._map("redact", texts, 4 * CHUNK)
        return [t for part in parts for t in part]

    def scan(self, texts: Sequence[str]) -> list[list[str]]:
        """The entity types the analyzer finds in each text (the residual-PII rescan)."""
        parts: Iterator[list[list[str]]] = self._map("scan", texts, 4 * CHUNK)
        return [t for part in parts for t in part]

    def scan_files(self, docs: Sequence[tuple[str, str]]) -> list[ResidualHit]:
        """The independent residual scan of whole files ``(name, text)``."""
        parts: Iterator[list[list[ResidualHit]]] = self._map("scan_files", docs, 1)
        return [h for part in parts for doc in part for h in doc]


class RecordFeed:
    """Records handed to the workers while the parent still reads the input: every
    ``CHUNK`` records start on a worker at once, so de-identification overlaps the
    ingest (which otherwise ran alone on one core). :meth:`results` gives the chunks in
    input order. In one process (``workers=1``) the chunks wait for :meth:`results`."""

    def __init__(self, workers: RecordWorkers) -> None:
        self._workers = workers
        self._buf: list[FailureRecord] = []
        self._futures: list[Future[list[RecordOut]]] = []
        self._waiting: list[list[FailureRecord]] = []

    def add(self, rec: FailureRecord) -> None:
        self._buf.append(rec)
        if len(self._buf) >= CHUNK:
            self._submit()

    def _submit(self) -> None:
        chunk, self._buf = self._buf, []
        pool = self._workers._pool
        if pool is None:
            self._waiting.append(chunk)
            return
        try:
            self._futures.append(pool.submit(_Call("records"), chunk))
        except BrokenProcessPool as exc:
            raise _died(exc) from exc

    def results(self) -> Iterator[list[RecordOut]]:
        """Every chunk added, de-identified, in input order."""
        if self._buf:
            self._submit()
        try:
            for fut in self._futures:
                yield fut.result()
        except BrokenProcessPool as exc:
            raise _died(exc) from exc
        if self._waiting:
            stage = self._workers._local_stage()
            for chunk in self._waiting:
                yield stage.records(chunk)


def _died(exc: BaseException) -> PosttrainError:
    return PosttrainError(
        f"a de-identification worker process died ({exc})",
        hint="it was probably killed for memory; run the build again with "
        "fewer workers (build_dataset(..., workers=1)) or on a smaller input",
    )
