"""``build_dataset``: failures -> de-identified buckets, SFT records, preference pairs.

Read top to bottom, this is the whole stage: ingest (quarantine what is unusable),
de-identify, bucket, write chosen answers, run the quality rules, then write the
datasets, datasheet, manifest and an audit record. A failing rule (not overridden)
blocks the build: ``quality.json``, ``quarantine.jsonl`` and the audit record are
written, the datasets and the manifest are not (a stale manifest is removed, so no later
stage trains on a dataset this build refused).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.checks.policy_facts import CatalogError, CatalogItem, load_catalog
from posttrain.core.auditlog import append_event
from posttrain.core.provenance import package_versions, provenance
from posttrain.data._workers import (
    PairHead,
    RecordHead,
    RecordOut,
    RecordWorkers,
    StageSpec,
    auto_workers,
)
from posttrain.data.config import DataConfig
from posttrain.data.ingest import IngestResult, QuarantineItem, ingest
from posttrain.data.labels import (
    UNLABELED,
    ContractInfo,
    clauses_for,
    load_contract_info,
    required_classes,
)
from posttrain.data.pairs import PairQuarantineItem, PairVerdict
from posttrain.data.quality import (
    RULES,
    EvalPrompt,
    PairFeatures,
    PiiScan,
    QualityInput,
    QualityReport,
    RecordFeatures,
    residual_scan_result,
    run_rules,
)
from posttrain.data.records import jsonl_line
from posttrain.data.report import (
    AuditRecord,
    BuildCounts,
    ContractRef,
    EvalSetInfo,
    Manifest,
    PolicyInfo,
    data_version,
    render_datasheet,
)
from posttrain.data.residual import ResidualHit, allowlist
from posttrain.errors import InputError
from posttrain.workspace import Workspace

__all__ = ["DatasetBuild", "build_dataset"]

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class DatasetBuild(BaseModel):
    """The result of :func:`build_dataset` (also what ``--json`` prints)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    status: Literal["built", "blocked"]
    data_version: str | None
    workspace: str
    data_dir: str
    counts: BuildCounts
    quality_passed: bool
    failing_rules: list[str]
    overridden_rules: dict[str, str]
    outputs: dict[str, str]  # name -> path
    seconds: dict[str, float] = Field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 built, 1 blocked by a quality rule."""
        return 0 if self.status == "built" else 1


def build_dataset(
    cfg: DataConfig, *, on_progress: Progress | None = None, workers: int = 0
) -> DatasetBuild:
    """Run the data stage on ``cfg``; see the module docstring.

    ``workers`` processes de-identify the records (0: one per core for inputs of a few
    MB and more, else 1 = in this process); the outputs do not depend on it.

    Raises :class:`~posttrain.errors.InputError` / ``ConfigError`` for unusable input
    files or config, a contract file that is not there (``cfg.contract=None`` builds
    without one) and inputs with no records (never for a bad record: those are
    quarantined).
    """
    # The build holds ~10 objects per record; the cyclic GC would traverse all of them
    # again and again as more are made (a third of the run time), and none of them form
    # cycles. Paused for the build (and in the workers, which fork from here).
    with _gc_paused():
        return _build(cfg, on_progress, workers)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(cfg: DataConfig, on_progress: Progress | None, workers: int) -> DatasetBuild:
    progress = on_progress or (lambda stage, done, total: None)
    timer = _Timer()
    data_dir = cfg.resolve(cfg.output_dir)
    inputs = [(cfg.resolve(p), cfg.display(p)) for p in cfg.input_paths()]

    # the contract first: the workers need it, and they start before the ingest
    contract_path = cfg.resolve(cfg.contract) if cfg.contract else None
    if cfg.contract is not None and not (contract_path and contract_path.is_file()):
        # Without its clauses no failure class is required: never switch that off quietly.
        raise InputError(
            "contract not found: the build ties failure classes to its clauses",
            path=cfg.display(cfg.contract),
            hint="create one with `posttrain init`, give its path as `contract:` in the data "
            "config, or build without one with --no-contract (class coverage is not checked)",
        )
    contract = load_contract_info(
        contract_path, cfg.display(cfg.contract) if cfg.contract else None
    )
    spec = _stage_spec(cfg, contract, contract_path)
    n_workers = workers or auto_workers(sum(_size(p) for p, _ in inputs))
    with RecordWorkers(spec, n_workers) as pool:
        # 1. ingest (while the workers start; each chunk of records goes to them as soon
        # as it is read)
        progress("read", 0, 1)
        feed = pool.feed()
        got = ingest(
            inputs,
            field_map=cfg.field_map,
            labels=cfg.labels,
            max_line_bytes=cfg.max_line_bytes,
            max_text_chars=cfg.max_text_chars,
            append_only=_live_names(cfg),
            on_record=feed.add,
        )
        timer.lap("ingest")

        # 2. de-identification, buckets, preference pairs and SFT records
        made = _deidentify(pool, feed.results(), got, progress)
        timer.lap("deidentify")

        # 3. quality rules
        evals, eval_infos = _eval_prompts(cfg, pool.redact)
        required = required_classes(contract, cfg.labels, cfg.label_aliases)
        rendered = _Rendered(made)  # rendered while a forked process runs a rule
        quality = _check_quality(
            cfg, made, evals, required, pool, n_workers, progress, rendered.render
        )
        timer.lap("quality")

        # 4. count; every output rendered in memory and read by the independent residual
        # scan before anything is written (a hit blocks: no dataset, no new data version)
        progress("residual scan", 0, 1)
        built = _Checked(
            got=got,
            made=made,
            counts=_count(got, made),
            quality=quality,
            contract=contract,
            required=required,
            eval_infos=eval_infos,
        )
        config_json, config_sha = _config_record(cfg)
        files, hits, shas = rendered.result()
        hits = hits + pool.scan_files(
            [
                (n, files[n])
                for n in ("quarantine.jsonl", "pairs_quarantine.jsonl", "buckets/index.json")
            ]
        )
        built, paperwork, version = _scan_paperwork(
            cfg, built, files, shas, hits, pool, config_json, config_sha
        )
        progress("residual scan", 1, 1)
        timer.lap("residual_scan")

    # 5. write: the datasets and their paperwork only when every rule passed
    quality = built.quality
    overridden = {
        r.name: r.override_reason or "" for r in quality.rules if r.status == "overridden"
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    outputs["quarantine"] = _write_text(data_dir / "quarantine.jsonl", files["quarantine.jsonl"])
    outputs["pairs_quarantine"] = _write_text(
        data_dir / "pairs_quarantine.jsonl", files["pairs_quarantine.jsonl"]
    )
    outputs["quality"] = _write_text(data_dir / "quality.json", paperwork["quality.json"])
    if quality.passed:
        outputs |= _write_datasets(data_dir, files)
        outputs["datasheet"] = _write_text(data_dir / "DATASHEET.md", paperwork["DATASHEET.md"])
        outputs["manifest"] = _write_text(data_dir / "manifest.json", paperwork["manifest.json"])
    else:
        version = None
        (data_dir / "manifest.json").unlink(missing_ok=True)
    timer.lap("write")
    outputs["audit"] = _append_audit(cfg, data_dir, built, version, config_sha, overridden)

    return DatasetBuild(
        status="built" if quality.passed else "blocked",
        data_version=version,
        workspace=str(cfg.workspace),
        data_dir=str(data_dir),
        counts=built.counts,
        quality_passed=quality.passed,
        failing_rules=quality.failing,
        overridden_rules=overridden,
        outputs={k: str(v) for k, v in sorted(outputs.items())},
        seconds=timer.laps,
    )


# --- steps -------------------------------------------------------------------------------


@dataclass
class _Deidentified:
    """What step 2 makes of the ingested records, in input order."""

    quarantine: list[QuarantineItem]
    records: list[RecordHead] = field(default_factory=list)
    pairs: list[PairHead] = field(default_factory=list)
    lines: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # RecordOut
    # the written texts in which the workers' rescan found PII (the residual-PII rule):
    # (record or pair id, text), and the entity types found, by text
    rescan: list[tuple[str, str]] = field(default_factory=list)
    rescanned: dict[str, list[str]] = field(default_factory=dict)
    features: list[RecordFeatures] = field(default_factory=list)
    pair_feats: list[PairFeatures] = field(default_factory=list)
    pii: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # records the policy drops (quarantined)
    # the residual scan of each accepted record's written lines (bucket, prefs, sft)
    residual: list[tuple[list[tuple[str, str, str]], ...]] = field(default_factory=list)
    # pairs the contract's checks found no better than their rejected answer
    pair_quarantine: list[PairQuarantineItem] = field(default_factory=list)
    pairs_judged: int = 0
    pairs_unconfirmed: int = 0  # no check found the rejected answer failing
    pair_unjudged: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Checked:
    """Steps 1-4 done: what the outputs of step 5 are written from."""

    got: IngestResult
    made: _Deidentified
    counts: BuildCounts
    quality: QualityReport
    contract: ContractInfo
    required: list[str]
    eval_infos: list[EvalSetInfo]


def _stage_spec(cfg: DataConfig, contract: ContractInfo, contract_path: Path | None) -> StageSpec:
    clause_map = {label: clauses_for(label, contract, cfg.label_aliases) for label in cfg.labels}
    clause_map[UNLABELED] = []
    contract_text = contract_path.read_text(encoding="utf-8") if contract_path else None
    return StageSpec(
        policy=cfg.policy,
        label_rules=cfg.label_rules,
        templates=cfg.templates,
        clause_map=clause_map,
        contract=contract,
        catalog=_read_catalog(cfg),
        contract_path=contract_path,
        workspace=cfg.workspace,
        residual_allow=allowlist(contract_text, cfg.residual_allow),
    )


def _read_catalog(cfg: DataConfig) -> tuple[CatalogItem, ...]:
    """The product catalogue (none when the config names none or the file is absent)."""
    if cfg.catalog is None:
        return ()
    path = cfg.resolve(cfg.catalog)
    if not path.is_file():
        return ()
    try:
        return tuple(load_catalog(path))
    except CatalogError as exc:
        raise InputError(
            exc.message,
            path=cfg.display(cfg.catalog),
            line=exc.line,
            field=exc.field,
            hint='each line is one product: {"name": ..., "url": "https://...", '
            '"price": a number > 0} (optional: lang, category, aliases, properties)',
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read the catalogue: {exc}", path=cfg.display(cfg.catalog)
        ) from None


def _deidentify(
    pool: RecordWorkers, chunks: Iterable[list[RecordOut]], got: IngestResult, progress: Progress
) -> _Deidentified:
    """Step 2: every ingested record through the workers (``chunks``: what they made of
    ``got.records``, in order); the quarantine's reasons too."""
    made = _Deidentified(quarantine=list(got.quarantine))
    n, total = 0, len(got.records)
    progress("de-identify", 0, total)
    for chunk in chunks:
        for out in chunk:
            if isinstance(out.item, QuarantineItem):
                made.quarantine.append(out.item)
                made.dropped += 1
                continue
            made.records.append(out.item)
            made.lines.append(out.lines)
            made.residual.append(out.residual)
            _note_pair_check(made, out.item, out.pair_check)
            made.pii.update(out.item.pii)
            for rid, text, types in out.rescan_hits:
                made.rescan.append((rid, text))
                made.rescanned[text] = types
            assert out.features is not None  # set for every accepted record
            made.features.append(out.features)
            if out.pair is not None and out.pair_feats is not None:
                made.pairs.append(out.pair)
                made.pair_feats.append(out.pair_feats)
        n += len(chunk)
        progress("de-identify", n, total)
    # reasons can quote input (an unknown label, a duplicate id): de-identify them too
    reasons = pool.redact([q.reason for q in made.quarantine])
    made.quarantine = [
        q.model_copy(update={"reason": r}) for q, r in zip(made.quarantine, reasons, strict=True)
    ]
    made.quarantine.sort(key=lambda q: (q.file, q.line))
    return made


def _note_pair_check(made: _Deidentified, rec: RecordHead, check: PairVerdict | None) -> None:
    if check is None:
        return
    made.pairs_judged += 1
    made.pair_unjudged.update(check.unjudged)
    if not check.rejected_failed:
        made.pairs_unconfirmed += 1
    if not check.problems:
        return
    ideal = check.chosen_from == "ideal_answer"
    made.pair_quarantine.append(
        PairQuarantineItem(
            file=rec.file,
            line=rec.line,
            id=rec.id,
            label=rec.label,
            chosen_from=check.chosen_from,
            clauses=check.problems,
            reason=f"the chosen answer does not pass {', '.join(check.problems)} "
            f"({check.evidence}); a chosen answer must pass every clause its rejected answer "
            "failed and every hard clause",
            hint="fix or remove the record's ideal_answer"
            if ideal
            else f"the {check.chosen_from} answer fails the contract: fix the template or "
            "give the record an ideal_answer",
        )
    )


def _record_hits(made: _Deidentified) -> list[ResidualHit]:
    """The workers' residual-scan findings in the record lines, as file and line."""
    hits: list[ResidualHit] = []
    in_bucket: Counter[str] = Counter()
    n_prefs = n_sft = 0
    for r, (_, p, s), found in zip(made.records, made.lines, made.residual, strict=True):
        in_bucket[r.label] += 1
        places = [(f"buckets/{r.label}/failures.jsonl", in_bucket[r.label])]
        if p:
            n_prefs += 1
            places.append(("prefs.jsonl", n_prefs))
        if s:
            n_sft += 1
            places.append(("sft.jsonl", n_sft))
        for (name, line), got in zip(
            places, (found[0], found[1] if p else [], found[2] if s else []), strict=False
        ):
            hits += [
                ResidualHit(file=name, line=line, field=f, kind=k, detector=d) for f, k, d in got
            ]
    return hits


class _Rendered:
    """The datasets rendered from step 2's lines (with the quarantine files) and the
    workers' residual findings in them as file and line, and the files' hashes: nothing
    the quality rules decide,
    so the build does it while a forked process still runs the slowest rule."""

    def __init__(self, made: _Deidentified) -> None:
        self.made = made
        self._done: tuple[dict[str, str], list[ResidualHit], dict[str, str]] | None = None

    def render(self) -> None:
        if self._done is not None:
            return
        made = self.made
        files = _render_datasets(made.records, made.lines)
        files["quarantine.jsonl"] = "".join(jsonl_line(i) for i in made.quarantine)
        files["pairs_quarantine.jsonl"] = "".join(jsonl_line(i) for i in made.pair_quarantine)
        self._done = files, _record_hits(made), {n: _sha(t) for n, t in files.items()}

    def result(self) -> tuple[dict[str, str], list[ResidualHit], dict[str, str]]:
        """The files, the findings and each file's sha256."""
        self.render()
        assert self._done is not None  # set by render
        return self._done


def _with_scan(
    quality: QualityReport, hits: list[ResidualHit], overrides: dict[str, str], files: int
) -> QualityReport:
    rule = residual_scan_result(hits, overrides, files)
    rules = [r for r in quality.rules if r.name != "residual_scan"] + [rule]
    return QualityReport(passed=all(r.status != "fail" for r in rules), rules=rules)


def _scan_paperwork(
    cfg: DataConfig,
    built: _Checked,
    files: dict[str, str],
    shas: dict[str, str],
    hits: list[ResidualHit],
    pool: RecordWorkers,
    config_json: dict[str, object],
    config_sha: str,
) -> tuple[_Checked, dict[str, str], str | None]:
    """The datasheet, manifest and quality.json rendered with the scan's verdict, and read
    by the scan too; returns the build, the rendered paperwork and the data version."""
    n_files = len(files) + 3
    quality = _with_scan(built.quality, hits, cfg.overrides, n_files)
    version: str | None = None
    paperwork: dict[str, str] = {}
    for _ in range(2):  # a hit in the paperwork changes the verdict it states: once more
        built = replace(built, quality=quality)
        paperwork = {}
        if quality.passed:
            version, paperwork = _render_paperwork(cfg, shas, built, config_json, config_sha)
        paperwork["quality.json"] = quality.model_dump_json(indent=2) + "\n"
        more = pool.scan_files(sorted(paperwork.items()))
        if not more:
            break
        hits = hits + [h for h in more if h not in hits]
        quality = _with_scan(built.quality, hits, cfg.overrides, n_files)
    return built, paperwork, version


def _check_quality(
    cfg: DataConfig,
    made: _Deidentified,
    evals: list[EvalPrompt],
    required: list[str],
    pool: RecordWorkers,
    processes: int,
    progress: Progress,
    meanwhile: Callable[[], None] | None = None,
) -> QualityReport:
    """Step 3: every quality rule on what step 2 made (``meanwhile``: see ``run_rules``)."""
    q_in = QualityInput(
        records=made.records,
        pairs=made.pairs,
        output_texts=made.rescan + list(_output_texts(made.quarantine)),
        eval_prompts=evals,
        required_classes=required,
        scan=_scan_known(made.rescanned, pool.scan),
        features=made.features,
        pair_feats=made.pair_feats,
    )
    rules_total = len(RULES)
    done = iter(range(1, rules_total + 1))
    return run_rules(
        q_in,
        cfg.quality,
        cfg.overrides,
        on_rule=lambda name: progress("quality", next(done), rules_total),
        processes=processes,
        meanwhile=meanwhile,
    )


def _scan_known(known: dict[str, list[str]], scan: PiiScan) -> PiiScan:
    """``scan``, answering from what the workers already found where it can (the same
    analyzer and threshold): only the other texts (quarantine reasons) go to ``scan``."""

    def scan_texts(texts: Sequence[str]) -> list[list[str]]:
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        got = dict(zip(missing, scan(missing), strict=True)) if missing else {}
        return [known[t] if t in known else got[t] for t in texts]

    return scan_texts


def _live_names(cfg: DataConfig) -> frozenset[str]:
    """Display names of the inputs that are live captures (append-only files)."""
    if not cfg.live_inputs:
        return frozenset()
    return frozenset(cfg.display(p) for p in cfg.workspace.glob(cfg.live_inputs) if p.is_file())


def _count(got: IngestResult, made: _Deidentified) -> BuildCounts:
    """Step 4: the build's counts; accepted + quarantined == read, or the build stops."""
    records, pairs, quarantine = made.records, made.pairs, made.quarantine
    counts = BuildCounts(
        read=got.read,
        accepted=len(records),
        quarantined=len(quarantine),
        dropped_by_policy=made.dropped,
        buckets=dict(sorted(Counter(r.label for r in records).items())),
        label_sources=dict(sorted(Counter(r.label_source for r in records).items())),
        languages=dict(sorted(Counter(r.lang for r in records).items())),
        sft=len(pairs),  # one SFT record per pair
        prefs=len(pairs),
        no_chosen=len(records) - len(pairs) - len(made.pair_quarantine),
        pairs_judged=made.pairs_judged,
        pairs_quarantined=len(made.pair_quarantine),
        pair_quarantine_clauses=dict(
            sorted(Counter(c for q in made.pair_quarantine for c in q.clauses).items())
        ),
        pairs_unconfirmed=made.pairs_unconfirmed,
        pair_unjudged_clauses=dict(sorted(made.pair_unjudged.items())),
        pii_replaced=dict(sorted(made.pii.items())),
        quarantine_reasons=dict(
            sorted(Counter(_reason_kind(q.reason) for q in quarantine).items())
        ),
        torn_live_lines=len(got.torn),
    )
    # accepted + quarantined == read is the ingest invariant; keep it honest here
    if counts.accepted + counts.quarantined != counts.read:  # pragma: no cover
        raise RuntimeError(f"record accounting broken: {counts}")
    return counts


def _config_record(cfg: DataConfig) -> tuple[dict[str, object], str]:
    """The config as the manifest records it, and its hash."""
    config_json = json.loads(cfg.model_dump_json())
    config_json["workspace"] = "."  # the manifest describes the build, not where it ran
    config_sha = hashlib.sha256(json.dumps(config_json, sort_keys=True).encode()).hexdigest()
    return config_json, config_sha


def _policy_info(cfg: DataConfig) -> PolicyInfo:
    return PolicyInfo(
        label=cfg.policy.label,
        policy_id=cfg.policy.policy_id,
        version=cfg.policy.version,
        sha256=cfg.policy.content_hash(),
        score_threshold=cfg.policy.score_threshold,
        actions=dict(sorted(cfg.policy.actions.items())),
    )


def _render_paperwork(
    cfg: DataConfig,
    shas: dict[str, str],
    built: _Checked,
    config_json: dict[str, object],
    config_sha: str,
) -> tuple[str, dict[str, str]]:
    """The data version, and the datasheet and manifest that describe the datasets whose
    sha256 by file name is ``shas`` (rendered, not written)."""
    records, quality = built.made.records, built.quality
    overridden = {
        r.name: r.override_reason or "" for r in quality.rules if r.status == "overridden"
    }
    dataset = {n: shas[n] for n in sorted(shas) if n not in _NOT_DATASET}
    policy_info = _policy_info(cfg)
    version = data_version(dataset, policy_info.sha256)
    contract = built.contract
    contract_ref = ContractRef(
        path=contract.path,
        sha256=contract.sha256,
        clauses=[c.id for c in contract.clauses],
        required_classes=built.required,
    )
    ts = sorted(r.ts for r in records)
    sheet = render_datasheet(
        product=contract.product,
        version=version,
        counts=built.counts,
        inputs=built.got.files,
        sources=dict(Counter(r.source for r in records)),
        ts_range=(ts[0], ts[-1]) if ts else None,
        policy=policy_info,
        quality=quality,
        contract=contract_ref,
        eval_sets=built.eval_infos,
    )
    listed = {
        **shas,
        "DATASHEET.md": _sha(sheet),
        "quality.json": _sha(quality.model_dump_json(indent=2) + "\n"),
    }
    manifest = Manifest(
        data_version=version,
        packages=package_versions(),
        policy=policy_info,
        counts=built.counts,
        inputs=built.got.files,
        contract=contract_ref,
        eval_sets=built.eval_infos,
        files=dict(sorted(listed.items())),
        config=config_json,
        config_sha256=config_sha,
        quality={r.name: r.status for r in quality.rules},
        overrides=overridden,
    )
    return version, {
        "DATASHEET.md": sheet,
        "manifest.json": manifest.model_dump_json(indent=2) + "\n",
    }


# files the data version does not hash (it hashes the datasets)
_NOT_DATASET = ("quarantine.jsonl", "pairs_quarantine.jsonl")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _append_audit(
    cfg: DataConfig,
    data_dir: Path,
    built: _Checked,
    version: str | None,
    config_sha: str,
    overridden: dict[str, str],
) -> Path:
    """One line in ``audit.jsonl`` for this build, built or blocked, and the same record as
    a ``data_build`` event in the workspace's hash-chained audit log (the record that
    ``posttrain log verify`` checks; ``audit.jsonl`` stays for the datasheet's readers)."""
    counts, quality = built.counts, built.quality
    audit = AuditRecord(
        status="built" if quality.passed else "blocked",
        data_version=version,
        config_sha256=config_sha,
        policy=cfg.policy.label,
        inputs={f.path: f.sha256 for f in built.got.files},
        counts={
            "read": counts.read,
            "accepted": counts.accepted,
            "quarantined": counts.quarantined,
            "sft": counts.sft,
            "prefs": counts.prefs,
        },
        failing_rules=quality.failing,
        overrides=overridden,
        provenance=provenance(cfg.workspace),
    )
    path = data_dir / "audit.jsonl"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(audit.model_dump_json() + "\n")
    append_event(
        Workspace(cfg.workspace).audit_log,
        "data_build",
        {**audit.model_dump(mode="json"), "data_dir": cfg.display(cfg.output_dir)},
    )
    return path


def _default_eval_sets(cfg: DataConfig) -> list[Path]:
    paths = [cfg.resolve(Path("data/regression.jsonl"))]
    suites = resources.files("posttrain.resources").joinpath("suites")
    if suites.is_dir():
        paths += sorted(Path(str(p)) for p in suites.iterdir() if p.name.endswith(".jsonl"))
    return paths


def _eval_prompts(
    cfg: DataConfig, redact: Callable[[list[str]], list[str]]
) -> tuple[list[EvalPrompt], list[EvalSetInfo]]:
    """Prompts no training record may contain (read leniently: they are not our input)."""
    paths = (
        [cfg.resolve(p) for p in cfg.eval_sets]
        if cfg.eval_sets is not None
        else _default_eval_sets(cfg)
    )
    found: list[tuple[str, str, str]] = []  # set, id, prompt (before redaction)
    infos: list[EvalSetInfo] = []
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        name = _display_eval(cfg, path)
        n = bad = 0
        for i, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                prompt = obj["prompt"]
                if not isinstance(prompt, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            found.append((name, str(obj.get("id", i)), prompt))
            n += 1
        infos.append(
            EvalSetInfo(
                path=name, sha256=hashlib.sha256(data).hexdigest(), prompts=n, unreadable_lines=bad
            )
        )
    redacted = redact([prompt for _, _, prompt in found])
    prompts = [
        EvalPrompt(set=name, id=pid, prompt=text)
        for (name, pid, _), text in zip(found, redacted, strict=True)
    ]
    return prompts, infos


def _display_eval(cfg: DataConfig, path: Path) -> str:
    pkg = Path(str(resources.files("posttrain.resources")))
    try:
        return "posttrain:resources/" + path.resolve().relative_to(pkg.resolve()).as_posix()
    except ValueError:
        return cfg.display(path)


def _output_texts(quarantine: list[QuarantineItem]) -> Iterable[tuple[str, str]]:
    """Written texts neither de-identification nor the workers' rescan analysed (the
    quarantine's reasons and hints): rescanned for residual PII here."""
    for q in quarantine:
        yield f"{q.file}:{q.line}", q.reason + (f" {q.hint}" if q.hint else "")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # ingest reports it


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0].split(" at byte")[0].split(" at column")[0]


def _render_datasets(
    records: list[RecordHead], lines: list[tuple[str, str | None, str | None]]
) -> dict[str, str]:
    """Buckets, their index, sft.jsonl and prefs.jsonl (path in the data folder -> text)
    from the lines the workers serialised."""
    out: dict[str, str] = {}
    by_label: dict[str, list[str]] = {}
    for r, (bucket_line, _, _) in zip(records, lines, strict=True):
        by_label.setdefault(r.label, []).append(bucket_line)
    for label, texts in sorted(by_label.items()):
        out[f"buckets/{label}/failures.jsonl"] = "".join(texts)
    out["buckets/index.json"] = (
        json.dumps({k: len(v) for k, v in sorted(by_label.items())}, indent=2) + "\n"
    )
    out["sft.jsonl"] = "".join(s for _, _, s in lines if s)
    out["prefs.jsonl"] = "".join(p for _, p, _ in lines if p)
    return out


def _write_datasets(data_dir: Path, files: dict[str, str]) -> dict[str, Path]:
    """Write the rendered datasets (a bucket that vanished must not linger)."""
    buckets_dir = data_dir / "buckets"
    if buckets_dir.exists():
        shutil.rmtree(buckets_dir)  # our own output
    out: dict[str, Path] = {}
    for name, text in files.items():
        if name in _NOT_DATASET:
            continue
        key = (
            "buckets_index"
            if name == "buckets/index.json"
            else f"bucket:{name.split('/')[1]}"
            if name.startswith("buckets/")
            else name.removesuffix(".jsonl")
        )
        out[key] = _write_text(data_dir / name, text)
    return out


def _write_jsonl(path: Path, items: Iterable[BaseModel]) -> Path:
    return _write_text(path, "".join(jsonl_line(i) for i in items))


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


class _Timer:
    def __init__(self) -> None:
        self._t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._t, 3)
        self._t = now
