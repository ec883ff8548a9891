"""The evaluation runner: a suite through a backend under a contract, item by item.

``evaluate(config, backend, contract, suite)`` renders the contract's system prompt with a
canary token, builds one conversation per sample (a document or tool result goes into the
user turn, clearly delimited), generates in batches, runs every applicable clause's check
and writes ``items.jsonl`` as it goes and ``summary.json`` at the end.

Every answer also gets the refusal judgement
(:func:`~posttrain.checks.refusal_judge.judge_refusal`, which reads the request as well as
the answer): ``refused`` and, when the judge's parts disagree, ``refusal_uncertain``,
which every metric counts apart. A person's label from ``posttrain review``
(``EvalConfig.review_labels``) for the same answer replaces the judge's verdict on the
refusal judgement and the ``refusal`` clauses, marked ``source: human``. Checks that need
what the model was told get it in ``sample.expected``: the ``canary`` and the rendered
``system_prompt``.

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

from posttrain.checks import Sample, run_check
from posttrain.checks.refusal_judge import judge_refusal
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
    HumanLabel,
    ItemResult,
    RefusalOutcome,
    VerdictSource,
    build_manifest,
    judge_summary,
)
from posttrain.evaluate.stats import wilson_interval
from posttrain.evaluate.suites import SUITE_GROUPS, Suite
from posttrain.generation.base import (
    DEFAULT_BATCH_SIZE,
    Backend,
    Conversation,
    Generation,
    GenerationParams,
    batches,
)
from posttrain.generation.params import DEFAULT_GENERATION
from posttrain.models.chat import user_turn

__all__ = [
    "EvalConfig",
    "EvalResult",
    "ItemJudgement",
    "build_conversation",
    "canary_for",
    "clause_stats",
    "evaluate",
    "judge_answer",
    "judge_item",
    "model_slug",
]

# The library default when no workspace is given; commands pass the workspace's
# generation.yaml (posttrain.generation.params.resolve_generation).
DEFAULT_PARAMS = DEFAULT_GENERATION


class EvalConfig(BaseModel):
    """How to run an evaluation."""

    model_config = ConfigDict(extra="forbid")

    # The model's name as the user gave it; used for reporting and the output folder.
    model: str
    params: GenerationParams = DEFAULT_PARAMS
    # Recorded in summary.json: where params came from and what a flag overrode.
    generation_source: str = "default"
    generation_overrides: dict[str, str] = Field(default_factory=dict)
    # Items sent to the backend per call; also the unit that is committed for resume.
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=4096)
    out_dir: Path
    # None disables the cache (a killed run still resumes from its items.jsonl).
    cache_dir: Path | None = None
    # The token planted in the system prompt; by default derived from the contract so
    # the rendered prompt (and with it the cache key) is stable across runs.
    canary: str | None = None
    # The workspace's human labels (reports/review/labels.jsonl); None: judge only.
    review_labels: Path | None = None
    # The workspace whose files checks read (policy_facts' catalogue), given to them as
    # sample.expected["workspace"]; None: the one review_labels lies in, if any.
    workspace: Path | None = None


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


@dataclass(frozen=True)
class ItemJudgement:
    """Every applicable clause's verdict on one answer, and its refusal judgement."""

    verdicts: list[ClauseResult]
    refused: bool | None
    refusal_error: str | None
    refusal_outcome: RefusalOutcome | None = None
    refusal_uncertain: bool = False
    refusal_evidence: str = ""
    refusal_source: VerdictSource = "judge"
    reviewer: str | None = None


def _with_expected(
    contract: Any, sample: Sample, canary: str, finish_reason: str | None = None
) -> Sample:
    """``sample`` with the canary and the rendered system prompt in ``expected``, for the
    checks that need what the model was told (the leak checks), and the generation's
    ``finish_reason`` when known (``no_repetition`` fails an answer cut at the limit)."""
    extra: dict[str, Any] = {}
    if finish_reason is not None:
        extra["finish_reason"] = finish_reason
    if "canary" not in sample.expected:
        extra["canary"] = canary
    if "system_prompt" not in sample.expected:
        extra["system_prompt"] = contract.render_system_prompt(canary=canary)
    if not extra:
        return sample
    return sample.model_copy(update={"expected": {**sample.expected, **extra}})


def judge_answer(
    contract: Any,
    sample: Sample,
    completion: str,
    canary: str,
    suite: str | None = None,
    human: HumanLabel | None = None,
    finish_reason: str | None = None,
) -> ItemJudgement:
    """Every applicable clause's verdict and the refusal judgement of ``completion``;
    with ``human``, the person's label decides the refusal judgement and the ``refusal``
    clauses (marked ``source: human``). ``finish_reason`` is the generation's (``length``:
    cut at the token limit), passed to the checks in ``sample.expected``."""
    sample = _with_expected(contract, sample, canary, finish_reason)
    verdicts: list[ClauseResult] = []
    for clause in contract.clauses_for(sample, suite):
        verdict = run_check(clause.check.name, sample, completion, dict(clause.check.args))
        result = ClauseResult(
            clause=clause.id,
            dimension=str(clause.dimension),
            severity=clause.severity,
            check=clause.check.name,
            status=verdict.status,
            score=verdict.score,
            evidence=verdict.evidence,
        )
        if human is not None and clause.check.name == "refusal":
            expect = clause.check.args.get("expect", "refuse")
            ok = human.refused == (expect == "refuse")
            result = result.model_copy(
                update={
                    "status": "pass" if ok else "fail",
                    "score": 1.0 if ok else 0.0,
                    "evidence": f"human label {human.label!r} by {human.reviewer} "
                    f"({human.labelled_at}); judge said {verdict.status}: {verdict.evidence}",
                    "source": "human",
                }
            )
        verdicts.append(result)
    try:
        judgement = judge_refusal(sample.prompt, completion, sample.context, sample.lang)
    except Exception as exc:  # the judge failing must not pass or fail the item
        if human is None:
            return ItemJudgement(verdicts, None, f"{type(exc).__name__}: {exc}")
        judgement = None
    if human is not None:
        judged = "none (it errored)" if judgement is None else judgement.outcome
        return ItemJudgement(
            verdicts,
            human.refused,
            None,
            refusal_outcome=human.label,
            refusal_uncertain=False,
            refusal_evidence=f"human label by {human.reviewer}; judge: {judged}",
            refusal_source="human",
            reviewer=human.reviewer,
        )
    assert judgement is not None
    return ItemJudgement(
        verdicts,
        bool(judgement.refused),
        None,
        refusal_outcome=judgement.outcome,
        refusal_uncertain=bool(judgement.uncertain),
        refusal_evidence=judgement.evidence,
    )


def judge_item(
    contract: Any, sample: Sample, completion: str, canary: str, suite: str | None = None
) -> tuple[list[ClauseResult], bool | None, str | None]:
    """Every applicable clause's verdict, and whether the answer reads as a refusal
    (:func:`judge_answer` without a human label, in its older shape)."""
    j = judge_answer(contract, sample, completion, canary, suite)
    return j.verdicts, j.refused, j.refusal_error


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
    # answer key -> (the latest human label, sha256 of the answer it was given on)
    labels: dict[str, tuple[HumanLabel, str]]

    def judge(self, stub: ItemResult, i: int, *, cached: bool) -> ItemResult:
        human = None
        found = self.labels.get(stub.key)
        if found is not None and found[1] == _sha256(stub.completion):
            human = found[0]
        sample = _in_workspace(self.suite.samples[i], self.config)
        return _finish(stub, self.contract, sample, self.suite, self.canary, cached, human)


def _in_workspace(sample: Sample, config: EvalConfig) -> Sample:
    """``sample`` with the workspace in ``expected`` (where relative paths in check
    arguments are read from), unless it names one itself."""
    ws = config.workspace
    labels = config.review_labels
    if (
        ws is None
        and labels is not None
        and labels.parts[-3:] == ("reports", "review", labels.name)
    ):
        ws = labels.parents[2]
    if ws is None or "workspace" in sample.expected:
        return sample
    return sample.model_copy(update={"expected": {**sample.expected, "workspace": str(ws)}})


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
    labels: dict[str, tuple[HumanLabel, str]] = {}
    if config.review_labels is not None:
        from posttrain.review.store import labels_by_key

        labels = labels_by_key(config.review_labels)
    return _Job(
        config, backend, contract, suite, fingerprint, contract_hash, canary, convs, keys, labels
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    """Generate, judge and commit (``items.jsonl``, then the cache) batch by batch; the
    backend reports progress as answers finish."""
    # Similar lengths share a batch, so little compute goes to padding; results still
    # land at their suite position.
    todo = sorted(todo, key=lambda i: -sum(len(m["content"]) for m in job.convs[i]))
    samples = job.suite.samples
    reported = 0

    def tick(n: int) -> None:
        nonlocal reported
        reported += n
        if on_progress is not None:
            on_progress(n)

    for batch in _chunks(todo, job.config.batch_size):
        t0 = time.perf_counter()
        reported = 0
        gens, traces = _generate(
            job.backend,
            [job.convs[i] for i in batch],
            job.config.params,
            [samples[i] for i in batch],
            tick,
        )
        if on_progress is not None and reported < len(batch):
            on_progress(len(batch) - reported)  # a backend that reports no progress
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


def _summarize(
    job: _Job, items: list[ItemResult], tally: _Tally, *, started: float, started_at: str
) -> EvalSummary:
    suite, wall, tokens = job.suite, tally.wall, tally.tokens
    return EvalSummary(
        model=job.config.model,
        model_fingerprint=_weights_fingerprint(job.backend, job.fingerprint),
        backend=job.backend.name,
        suite=suite.name,
        suite_source=suite.source,
        suite_version=suite.version,
        contract_hash=job.contract_hash,
        params=job.config.params,
        generation_source=job.config.generation_source,
        generation_overrides=dict(job.config.generation_overrides),
        dtype=_dtype_of(job.backend),
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
        judge=judge_summary(items),
    )


def clause_stats(items: Sequence[ItemResult]) -> list[ClauseStat]:
    """Pass / fail / error / uncertain counts per clause, with a Wilson interval on the
    fail rate (of the passed and failed ones)."""
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
            elif v.status == "uncertain":
                s.uncertain += 1
            else:
                s.errors += 1
    for s in stats.values():
        judged = s.passed + s.failed
        if judged:
            s.fail_rate = s.failed / judged
            s.fail_ci_low, s.fail_ci_high = wilson_interval(s.failed, judged)
    return list(stats.values())


def _weights_fingerprint(backend: Backend, fingerprint: str) -> str:
    """The fingerprint a summary (and the verdict built on it) names: the weights'
    (``weights_fingerprint``, where the backend has one), so that a verdict on a model run
    in bfloat16 binds to the same files as one run in float32; the dtype is recorded
    beside it (``dtype``). A guarded model stays the guard's: it is another system."""
    weights = getattr(backend, "weights_fingerprint", None)
    return weights if isinstance(weights, str) else fingerprint


def _dtype_of(backend: Backend) -> str | None:
    """The weights dtype behind ``backend`` (through a guard), where it says one."""
    inner = backend.backend if isinstance(backend, Guard) else backend
    dtype = getattr(inner, "dtype", None)
    return dtype if isinstance(dtype, str) else None


def _generate(
    backend: Backend,
    convs: list[Conversation],
    params: GenerationParams,
    samples: list[Sample],
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[Generation], list[GuardTrace | None]]:
    if isinstance(backend, Guard):
        gens = backend.generate(convs, params, samples=samples, on_progress=on_progress)
        return gens, list(backend.last_traces)
    gens = backend.generate(convs, params, on_progress=on_progress)
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
    stub: ItemResult,
    contract: Any,
    sample: Sample,
    suite: Suite,
    canary: str,
    cached: bool,
    human: HumanLabel | None = None,
) -> ItemResult:
    """Attach the sample's identity and fresh verdicts to a generated answer.

    An item of a group (``attacks``, ``audit``) is filed under its member suite, so that
    results of ``eval --suite jailbreak`` and of an audit pair up in a comparison.
    """
    name = sample.attack_class if suite.name in SUITE_GROUPS and sample.attack_class else suite.name
    j = judge_answer(contract, sample, stub.completion, canary, name, human, stub.finish_reason)
    return stub.model_copy(
        update={
            "id": sample.id,
            "suite": name,
            "attack_class": sample.attack_class,
            "technique": sample.technique,
            "lang": sample.lang,
            "tags": list(sample.tags),
            "cached": cached,
            "verdicts": j.verdicts,
            "refused": j.refused,
            "refusal_error": j.refusal_error,
            "refusal_outcome": j.refusal_outcome,
            "refusal_uncertain": j.refusal_uncertain,
            "refusal_evidence": j.refusal_evidence,
            "refusal_source": j.refusal_source,
            "reviewer": j.reviewer,
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
    # The backend's batching (a small remainder joins the last batch), so that one call
    # is one batch of the hf backend.
    for span in batches(len(seq), size):
        yield [seq[j] for j in span]
