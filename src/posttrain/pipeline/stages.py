"""One function per stage of the loop, each a thin call into the stage's own package.

Each returns its typed result (:mod:`.results`), recorded in the loop's state file. The
audit log gets each event from one layer only: the data build and the evaluations
here, training runs from :func:`posttrain.train.train`, verdicts from
:func:`posttrain.gate.record_verdict`, releases from the registry. They raise the
stages' own errors; a data build blocked by a quality rule or a training run that did
not finish raises :class:`~posttrain.errors.LoopStopped` (exit 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from posttrain.core.auditlog import append_event
from posttrain.core.hashing import file_sha256
from posttrain.errors import LoopStopped
from posttrain.pipeline.results import (
    DataResult,
    EvalSideResult,
    GateResult,
    MergeResult,
    TrainResult,
)
from posttrain.pipeline.state import LoopConfig
from posttrain.workspace import TRAINING_CONFIGS

if TYPE_CHECKING:
    from posttrain.evaluate.lazy import LazyBackend
    from posttrain.evaluate.suites import Suite
    from posttrain.generation.base import Backend
    from posttrain.train.config import TrainConfig

__all__ = [
    "FINISHED",
    "LoopStopped",
    "eval_size",
    "evaluate_side",
    "export_candidate",
    "find_training_run",
    "run_data",
    "run_gate",
    "run_training",
    "suites_for",
    "training_config",
]

# Training run statuses whose output is a usable model.
FINISHED = ("finished", "early_stopped")
_BUG = "this is a bug in posttrain: please report it with the workspace's data/manifest.json"


# -- data ---------------------------------------------------------------------------------


def run_data(cfg: LoopConfig) -> DataResult:
    """Build the dataset (:func:`posttrain.data.build_dataset`) from the workspace."""
    from posttrain.data import DataConfig, build_dataset

    ws = cfg.ws
    # the build records its own `data_build` event in the audit log
    result = build_dataset(DataConfig(workspace=ws.root))
    if result.status != "built":
        raise LoopStopped(
            f"the data build is blocked by quality rule(s) {', '.join(result.failing_rules)}",
            hint=f"see {result.data_dir}/quality.json; fix data/failures.jsonl or override with "
            '`posttrain data build --override RULE="reason"`, then run again',
        )
    if result.data_version is None:  # a built dataset always has its version
        raise LoopStopped("the data build finished without a data version", hint=_BUG)
    return DataResult(
        data_version=result.data_version,
        data_dir=Path(result.data_dir),
        sft=result.counts.sft,
        prefs=result.counts.prefs,
        seconds=result.seconds,
    )


# -- training -----------------------------------------------------------------------------


def training_config(cfg: LoopConfig, method: str, extra: Sequence[str] = ()) -> TrainConfig:
    """The workspace's config for ``method`` under the loop's profile and overrides."""
    from posttrain.train import load_config

    path = cfg.workspace / TRAINING_CONFIGS[method]
    overrides = [f"model={cfg.model}", *extra, *cfg.train_overrides]
    return load_config(
        method,
        path if path.is_file() else None,
        overrides,
        profile=cfg.profile if path.is_file() else None,
    )


def find_training_run(
    workspace: Path, recipe: str, config_hash: str, data_version: str
) -> Path | None:
    """The newest finished run of ``recipe`` with this config hash on this data version."""
    from posttrain.train.manifest import RunManifest

    found: list[tuple[str, Path]] = []
    for manifest_path in (workspace / "runs").glob("*/manifest.json"):
        try:
            m = RunManifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            m.recipe == recipe
            and m.status in FINISHED
            and m.config_hash == config_hash
            and m.data_version == data_version
            and m.output
            and Path(m.output).exists()
        ):
            found.append((m.finished_at or m.started_at, manifest_path.parent))
    return max(found)[1] if found else None


def run_training(
    cfg: LoopConfig, method: str, data_version: str, train_cfg: TrainConfig, show: bool
) -> TrainResult:
    """Reuse a finished run with the same config and data, or train one (which records
    its own ``training_run`` audit event)."""
    from posttrain.report.model import training_info
    from posttrain.train import train
    from posttrain.train.config import config_hash

    ws = cfg.ws
    chash = config_hash(train_cfg)
    run_dir = find_training_run(ws.root.resolve(), method, chash, data_version)
    reused = run_dir is not None
    if run_dir is None:
        manifest = train(train_cfg, ws.root, show=show)
        run_dir = ws.root.resolve() / "runs" / manifest.run_id
        if manifest.status not in FINISHED:
            raise LoopStopped(
                f"{method} run {manifest.run_id} ended {manifest.status}: {manifest.stop_reason}",
                hint=f"see runs/{manifest.run_id}/signals.jsonl; fix the config and run again",
            )
    info = training_info(run_dir)
    return TrainResult(
        run_id=info.run_id,
        run_dir=run_dir,
        config_hash=chash,
        status=info.status,
        reused=reused,
        wall_s=info.wall_s,
        tokens=info.tokens,
    )


def export_candidate(run_dir: Path) -> MergeResult:
    """The run merged into its base as an fp32 folder the ``hf`` backend loads (reused
    when ``export.json`` already lists it)."""
    from posttrain.models import fingerprint
    from posttrain.train.export import ExportResult, export_run

    record = run_dir / "export" / "export.json"
    result: ExportResult | None = None
    if record.is_file():
        try:
            result = ExportResult.model_validate_json(record.read_text(encoding="utf-8"))
        except ValueError:
            result = None  # a stale or partial record: export again
    if result is None or not any(
        m.dtype == "fp32" and Path(m.path).is_dir() for m in result.models
    ):
        result = export_run(run_dir, dtypes=["fp32"])
    model = next(m for m in result.models if m.dtype == "fp32")
    return MergeResult(
        model_path=Path(model.path), fingerprint=fingerprint(model.path), run_dir=run_dir
    )


# -- evaluation ---------------------------------------------------------------------------


def suites_for(cfg: LoopConfig) -> list[Suite]:
    """The evaluation sample: the regression set and the attack + over-refusal suites,
    each cut to the first N items of every (class, language) stratum. A sample the
    profile chose (no explicit limit) is then topped up so that every rule of the gate
    policy has the items it needs to decide (:func:`posttrain.gate.power.size_samples`);
    explicit limits are taken as they are."""
    from posttrain.evaluate import load_suite

    full = []
    if cfg.ws.regression.is_file():
        full.append((load_suite(cfg.ws.regression), cfg.resolved_regression_limit()))
    full.append((load_suite("audit"), cfg.resolved_eval_limit()))
    sample = [suite.head(limit) for suite, limit in full]
    explicit = cfg.eval_limit is not None or cfg.regression_limit is not None
    if explicit or all(limit is None for _, limit in full):
        return sample
    from posttrain.contract import load_contract
    from posttrain.gate import resolve_policy
    from posttrain.gate.power import size_samples

    policy, _ = resolve_policy(cfg.policy, cfg.workspace)
    return size_samples(
        [suite for suite, _ in full], sample, load_contract(cfg.ws.contract), policy
    )


def generation_dtype(cfg: LoopConfig) -> str:
    """The dtype the loop's models generate in: the workspace generation.yaml's, resolved
    on this machine (``auto`` differs between CPUs, so it is part of what an evaluation's
    reuse is keyed on)."""
    from posttrain.generation.params import resolve_generation

    return resolve_generation(cfg.workspace).dtype


def hf_backend(cfg: LoopConfig, model: str) -> LazyBackend:
    """``model`` on the hf backend as the loop evaluates it: its batch size, the
    workspace's dtype; loaded only when an item has to be generated."""
    from posttrain.evaluate.lazy import LazyBackend

    return LazyBackend("hf", model, batch_size=cfg.batch_size, dtype=generation_dtype(cfg))


def eval_size(cfg: LoopConfig) -> int:
    """How many items :func:`evaluate_side` generates answers for."""
    return sum(len(s) for s in suites_for(cfg))


def evaluate_side(
    cfg: LoopConfig,
    model_name: str,
    backend: Backend,
    out_dir: Path,
    on_progress: Callable[[int], None] | None = None,
) -> EvalSideResult:
    """Every suite of the sample through ``backend`` into ``out_dir/<suite>/``."""
    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate
    from posttrain.generation.params import resolve_generation

    ws = cfg.ws
    contract = load_contract(ws.contract)
    # Base and candidate with the same parameters: the workspace's generation.yaml.
    gen = resolve_generation(cfg.workspace, max_new_tokens=cfg.max_new_tokens)
    started = time.perf_counter()
    n = generated = 0
    for suite in suites_for(cfg):
        result = evaluate(
            EvalConfig(
                model=model_name,
                params=gen.params,
                generation_source=gen.source,
                generation_overrides=gen.overrides,
                batch_size=cfg.batch_size,
                out_dir=out_dir / suite.name,
                cache_dir=ws.cache / "cache",
                review_labels=ws.reports / "review" / "labels.jsonl",  # people's labels win
            ),
            backend,
            contract,
            suite,
            on_progress=on_progress,
        )
        s = result.summary
        n += s.n_items
        generated += s.n_generated
        append_event(
            ws.audit_log,
            "evaluation",
            {
                "model": model_name,
                "fingerprint": s.model_fingerprint,
                "suite": s.suite,
                "suite_version": s.suite_version,
                "n_items": s.n_items,
                "n_generated": s.n_generated,
                "contract_hash": s.contract_hash,
                "out_dir": str(result.out_dir),
                "items_sha256": file_sha256(result.out_dir / "items.jsonl"),
            },
        )
    return EvalSideResult(
        dir=out_dir,
        model=model_name,
        fingerprint=backend.fingerprint,
        n_items=n,
        n_generated=generated,
        eval_s=round(time.perf_counter() - started, 2),
    )


# -- gate ---------------------------------------------------------------------------------


def run_gate(cfg: LoopConfig, baseline: Path, candidate: Path, out: Path) -> GateResult:
    """Judge ``candidate`` against ``baseline`` (:func:`posttrain.gate.gate`) and record
    the verdict (:func:`posttrain.gate.record_verdict`)."""
    from posttrain.gate import gate, record_verdict

    ws = cfg.ws
    verdict = gate(baseline, candidate, policy=cfg.policy, workspace=ws.root, waivers=cfg.waivers)
    path = record_verdict(verdict, out, ws.audit_log)
    live = [r for r in verdict.rules if not r.waived_by]
    return GateResult(
        decision=verdict.decision,
        verdict_id=verdict.id,
        verdict_path=path,
        blocking=_unique(r.id for r in live if r.blocking),
        failed=_unique(r.id for r in live if r.status == "fail"),
        inconclusive=_unique(
            r.id for r in verdict.rules if r.status == "inconclusive" and r.severity == "hard"
        ),
        alerts=[r.id for r in verdict.rules if r.status == "alert"],
    )


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))
