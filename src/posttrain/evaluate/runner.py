"""The evaluation runner: a suite through a backend under a contract, item by item.

``evaluate(config, backend, contract, suite)`` renders the contract's system prompt with a
canary token, builds one conversation per sample (a document or tool result goes into the
user turn, clearly delimited), generates in batches, runs every applicable clause's check
and writes ``items.jsonl`` as it goes and ``summary.json`` at the end.

Nothing finished is generated twice: answers come from the workspace cache when the
model fingerprint, conversation and parameters match, or from the ``items.jsonl`` a
killed run left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.checks import Sample, detect_refusal, run_check
from posttrain.errors import InputError
from posttrain.evaluate.cache import GenerationCache, cache_key
from posttrain.evaluate.guard import Guard
from posttrain.evaluate.metrics import compute_metrics
from posttrain.evaluate.results import (
    ITEMS_FILE,
    SUMMARY_FILE,
    ClauseResult,
    ClauseStat,
    EvalSummary,
    GuardStats,
    GuardTrace,
    ItemResult,
    build_manifest,
)
from posttrain.evaluate.stats import wilson_interval
from posttrain.evaluate.suites import SUITE_GROUPS, Suite
from posttrain.generation.base import Backend, Conversation, Generation, GenerationParams
from posttrain.models.chat import user_turn

__all__ = [
    "EvalConfig",
    "EvalResult",
    "build_conversation",
    "canary_for",
    "clause_stats",
    "evaluate",
    "judge_item",
    "model_slug",
]

DEFAULT_PARAMS = GenerationParams(max_new_tokens=128)


class EvalConfig(BaseModel):
    """How to run an evaluation."""

    model_config = ConfigDict(extra="forbid")

    # The model's name as the user gave it; used for reporting and the output folder.
    model: str
    params: GenerationParams = DEFAULT_PARAMS
    # Items sent to the backend per call; also the unit that is committed for resume.
    batch_size: int = Field(default=16, ge=1, le=4096)
    out_dir: Path
    # None disables the cache (a killed run still resumes from its items.jsonl).
    cache_dir: Path | None = None
    # The token planted in the system prompt; by default derived from the contract so
    # the rendered prompt (and with it the cache key) is stable across runs.
    canary: str | None = None


class EvalResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: EvalSummary
    items: list[ItemResult]
    out_dir: Path


def canary_for(contract_hash: str) -> str:
    """A canary token derived from the contract (stable, so prompts stay cacheable)."""
    return "CANARY-" + hashlib.sha256(f"canary:{contract_hash}".encode()).hexdigest()[:12].upper()


def model_slug(model: str) -> str:
    """A folder name for a model name or path: ``./out/ckpt-3`` -> ``out-ckpt-3``."""
    text = str(model).strip().replace("\\", "/").strip("/")
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.replace("/", "-"))
    return slug.strip("-.") or "model"


def build_conversation(system: str, sample: Sample) -> Conversation:
    """System prompt, then one user turn: the request, then any document or tool result
    between explicit delimiters so the model can tell data from instructions."""
    user = user_turn(sample.prompt, sample.context, kind=sample.context_kind, lang=sample.lang)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def judge_item(
    contract: Any, sample: Sample, completion: str, canary: str, suite: str | None = None
) -> tuple[list[ClauseResult], bool | None, str | None]:
    """Every applicable clause's verdict, and whether the answer reads as a refusal."""
    if "canary" not in sample.expected:
        sample = sample.model_copy(update={"expected": {**sample.expected, "canary": canary}})
    verdicts: list[ClauseResult] = []
    for clause in contract.clauses_for(sample, suite):
        verdict = run_check(clause.check.name, sample, completion, dict(clause.check.args))
        verdicts.append(
            ClauseResult(
                clause=clause.id,
                dimension=str(clause.dimension),
                severity=clause.severity,
                check=clause.check.name,
                status=verdict.status,
                score=verdict.score,
                evidence=verdict.evidence,
            )
        )
    try:
        refused: bool | None = bool(detect_refusal(completion).is_refusal)
        refusal_error = None
    except Exception as exc:  # the detector failing must not pass or fail the item
        refused, refusal_error = None, f"{type(exc).__name__}: {exc}"
    return verdicts, refused, refusal_error


def _check_named_clauses(contract: Any, suite: Suite) -> None:
    """A sample that names a clause the contract does not have is an input error."""
    known = {c.id for c in contract.clauses}
    for s in suite.samples:
        unknown = [c for c in s.clauses if c not in known]
        if unknown:
            raise InputError(
                f"sample {s.id!r} names clause(s) {unknown} that the contract does not have",
                path=suite.source,
                field="clauses",
                hint=f"use clause ids of the contract: {', '.join(sorted(known))}",
            )


def evaluate(
    config: EvalConfig,
    backend: Backend,
    contract: Any,
    suite: Suite,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> EvalResult:
    """Evaluate ``suite`` on ``backend`` under ``contract``; see the module docstring.

    ``on_progress`` is called with the number of items just finished (cached ones at
    once). Raises :class:`~posttrain.errors.BackendError` when generation fails; the
    items finished before that are kept and a rerun resumes after them.
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    _check_named_clauses(contract, suite)
    job = _prepare(config, backend, contract, suite)

    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    items_path = out_dir / ITEMS_FILE
    done: dict[str, ItemResult] = _previous_items(items_path)

    with _open_cache(config.cache_dir) as cache:
        if cache is not None:
            for key, (gen, extra) in cache.get_many([k for k in job.keys if k not in done]).items():
                done[key] = _item_stub(key, gen, extra)
        tally = _Tally(results=[None] * len(suite.samples))
        with items_path.open("a", encoding="utf-8") as sink:
            todo = _reuse(job, done, tally)
            if on_progress is not None and tally.n_cached:
                on_progress(tally.n_cached)
            _generate_missing(job, todo, tally, sink, cache, on_progress)

    items = [r for r in tally.results if r is not None]
    # Rewrite compactly, in suite order, without what earlier runs left behind.
    tmp = items_path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(i.model_dump_json() + "\n" for i in items), encoding="utf-8")
    tmp.replace(items_path)

    summary = _summarize(job, items, tally, started=started, started_at=started_at)
    (out_dir / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    return EvalResult(summary=summary, items=items, out_dir=out_dir)


@dataclass(frozen=True)
class _Job:
    """What every step of one evaluation reads: its inputs and each sample's conversation
    and cache key (in suite order)."""

    config: EvalConfig
    backend: Backend
    contract: Any
    suite: Suite
    fingerprint: str  # the backend's, read once
    contract_hash: str
    canary: str
    convs: list[Conversation]
    keys: list[str]

    def judge(self, stub: ItemResult, i: int, *, cached: bool) -> ItemResult:
        return _finish(stub, self.contract, self.suite.samples[i], self.suite, self.canary, cached)


@dataclass
class _Tally:
    """The items as they are finished (by suite position), and what generating cost."""

    results: list[ItemResult | None]
    n_cached: int = 0
    wall: float = 0.0
    tokens: int = 0


def _prepare(config: EvalConfig, backend: Backend, contract: Any, suite: Suite) -> _Job:
    contract_hash = _contract_hash(contract)
    canary = config.canary or canary_for(contract_hash)
    system = contract.render_system_prompt(canary=canary)
    convs = [build_conversation(system, s) for s in suite.samples]
    fingerprint = backend.fingerprint
    keys = [cache_key(fingerprint, c, config.params) for c in convs]
    return _Job(config, backend, contract, suite, fingerprint, contract_hash, canary, convs, keys)


def _reuse(job: _Job, done: dict[str, ItemResult], tally: _Tally) -> list[int]:
    """Judge the answers already there (cache, earlier run); the positions left to generate."""
    todo: list[int] = []
    for i, key in enumerate(job.keys):
        if key in done:
            tally.results[i] = job.judge(done[key], i, cached=True)
            tally.n_cached += 1
        else:
            todo.append(i)
    return todo


def _generate_missing(
    job: _Job,
    todo: list[int],
    tally: _Tally,
    sink: IO[str],
    cache: GenerationCache | None,
    on_progress: Callable[[int], None] | None,
) -> None:
    """Generate, judge and commit (``items.jsonl``, then the cache) batch by batch."""
    # Similar lengths share a batch, so little compute goes to padding; results still
    # land at their suite position.
    todo = sorted(todo, key=lambda i: -sum(len(m["content"]) for m in job.convs[i]))
    samples = job.suite.samples
    for batch in _chunks(todo, job.config.batch_size):
        t0 = time.perf_counter()
        gens, traces = _generate(
            job.backend,
            [job.convs[i] for i in batch],
            job.config.params,
            [samples[i] for i in batch],
        )
        tally.wall += time.perf_counter() - t0
        entries = []
        for i, gen, trace in zip(batch, gens, traces, strict=True):
            extra = {"guard": trace.model_dump()} if trace is not None else {}
            entries.append((job.keys[i], job.fingerprint, gen, extra))
            item = job.judge(_item_stub(job.keys[i], gen, extra), i, cached=False)
            tally.results[i] = item
            tally.tokens += gen.completion_tokens
            sink.write(item.model_dump_json() + "\n")
        sink.flush()
        os.fsync(sink.fileno())
        if cache is not None:
            cache.put_many(entries)
        if on_progress is not None:
            on_progress(len(batch))


def _summarize(
    job: _Job, items: list[ItemResult], tally: _Tally, *, started: float, started_at: str
) -> EvalSummary:
    suite, wall, tokens = job.suite, tally.wall, tally.tokens
    return EvalSummary(
        model=job.config.model,
        model_fingerprint=job.fingerprint,
        backend=job.backend.name,
        suite=suite.name,
        suite_source=suite.source,
        suite_version=suite.version,
        contract_hash=job.contract_hash,
        params=job.config.params,
        n_items=len(items),
        n_cached=tally.n_cached,
        n_generated=len(items) - tally.n_cached,
        generation_wall_s=wall,
        generated_tokens=tokens,
        duration_s=time.perf_counter() - started,
        started_at=started_at,
        metrics=compute_metrics(items, generation_wall_s=wall, generated_tokens=tokens),
        clauses=clause_stats(items),
        guard=_guard_stats(job.backend, items),
        manifest=build_manifest(),
    )


def clause_stats(items: Sequence[ItemResult]) -> list[ClauseStat]:
    """Pass / fail / error counts per clause, with a Wilson interval on the fail rate."""
    stats: dict[str, ClauseStat] = {}
    for item in items:
        for v in item.verdicts:
            s = stats.get(v.clause)
            if s is None:
                s = stats[v.clause] = ClauseStat(
                    clause=v.clause,
                    dimension=v.dimension,
                    severity=v.severity,
                    check=v.check,
                    n=0,
                    passed=0,
                    failed=0,
                    errors=0,
                    fail_rate=None,
                )
            s.n += 1
            if v.status == "pass":
                s.passed += 1
            elif v.status == "fail":
                s.failed += 1
            else:
                s.errors += 1
    for s in stats.values():
        judged = s.passed + s.failed
        if judged:
            s.fail_rate = s.failed / judged
            s.fail_ci_low, s.fail_ci_high = wilson_interval(s.failed, judged)
    return list(stats.values())


def _generate(
    backend: Backend,
    convs: list[Conversation],
    params: GenerationParams,
    samples: list[Sample],
) -> tuple[list[Generation], list[GuardTrace | None]]:
    if isinstance(backend, Guard):
        gens = backend.generate(convs, params, samples=samples)
        return gens, list(backend.last_traces)
    gens = backend.generate(convs, params)
    if len(gens) != len(convs):
        from posttrain.errors import BackendError

        raise BackendError(
            f"backend {backend.name!r} returned {len(gens)} generations for {len(convs)} prompts"
        )
    return gens, [None] * len(gens)


def _item_stub(key: str, gen: Generation, extra: dict[str, Any]) -> ItemResult:
    guard = extra.get("guard")
    return ItemResult(
        id="",
        suite="",
        key=key,
        completion=gen.text,
        prompt_tokens=gen.prompt_tokens,
        completion_tokens=gen.completion_tokens,
        latency_s=gen.latency_s,
        finish_reason=gen.finish_reason,
        guard=GuardTrace.model_validate(guard) if guard else None,
    )


def _finish(
    stub: ItemResult, contract: Any, sample: Sample, suite: Suite, canary: str, cached: bool
) -> ItemResult:
    """Attach the sample's identity and fresh verdicts to a generated answer.

    An item of a group (``attacks``, ``audit``) is filed under its member suite, so that
    results of ``eval --suite jailbreak`` and of an audit pair up in a comparison.
    """
    name = sample.attack_class if suite.name in SUITE_GROUPS and sample.attack_class else suite.name
    verdicts, refused, refusal_error = judge_item(contract, sample, stub.completion, canary, name)
    return stub.model_copy(
        update={
            "id": sample.id,
            "suite": name,
            "attack_class": sample.attack_class,
            "technique": sample.technique,
            "lang": sample.lang,
            "tags": list(sample.tags),
            "cached": cached,
            "verdicts": verdicts,
            "refused": refused,
            "refusal_error": refusal_error,
        }
    )


def _previous_items(path: Path) -> dict[str, ItemResult]:
    """Items a previous (possibly killed) run wrote, by cache key; a torn last line is
    skipped, not fatal."""
    found: dict[str, ItemResult] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            item = ItemResult.model_validate_json(line)
        except ValidationError:
            continue
        found[item.key] = item
    return found


def _guard_stats(backend: Backend, items: Sequence[ItemResult]) -> GuardStats | None:
    if not isinstance(backend, Guard):
        return None
    traces = [i.guard for i in items if i.guard is not None]
    n = len(traces)
    retried = sum(1 for t in traces if t.retries > 0)
    fallbacks = sum(1 for t in traces if t.fallback)
    return GuardStats(
        max_retries=backend.max_retries,
        n=n,
        retried_items=retried,
        retries=sum(t.retries for t in traces),
        fallbacks=fallbacks,
        retry_rate=retried / n if n else None,
        fallback_rate=fallbacks / n if n else None,
    )


def _contract_hash(contract: Any) -> str:
    value = contract.content_hash
    return str(value() if callable(value) else value)


@contextlib.contextmanager
def _open_cache(directory: Path | None) -> Iterator[GenerationCache | None]:
    if directory is None:
        yield None
        return
    with GenerationCache(directory) as cache:
        yield cache


def _chunks(seq: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
