"""One function per stage of the loop, each a thin call into the stage's own package.

Each returns a JSON-able dict of outputs (recorded in the loop's state file) and records
what it did in the workspace's audit log. They raise the stages' own errors; a data build
blocked by a quality rule or a training run that did not finish raises
:class:`LoopStopped` (exit 1).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from posttrain.errors import PosttrainError
from posttrain.pipeline.state import LoopConfig
from posttrain.release.auditlog import append_event

__all__ = [
    "FINISHED",
    "TRAINING_CONFIGS",
    "LoopStopped",
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
# Each recipe's config file in a workspace (reward and ppo: the ladder's rung 4).
TRAINING_CONFIGS = {
    "sft": Path("configs/sft.yaml"),
    "dpo": Path("configs/align/dpo.yaml"),
    "reward": Path("configs/align/reward.yaml"),
    "ppo": Path("configs/align/ppo.yaml"),
}


class LoopStopped(PosttrainError):
    """A stage ended in a state the loop cannot go on from (blocked data, a stopped run)."""

    exit_code = 1


# -- data ---------------------------------------------------------------------------------


def run_data(cfg: LoopConfig) -> dict[str, Any]:
    """Build the dataset (:func:`posttrain.data.build_dataset`) from the workspace."""
    from posttrain.data import DataConfig, build_dataset

    ws = cfg.ws
    result = build_dataset(DataConfig(workspace=ws.root))
    append_event(
        ws.audit_log,
        "data_build",
        {
            "status": result.status,
            "data_version": result.data_version,
            "counts": {"sft": result.counts.sft, "prefs": result.counts.prefs},
            "failing_rules": result.failing_rules,
            "by": "posttrain run",
        },
    )
    if result.status != "built":
        raise LoopStopped(
            f"the data build is blocked by quality rule(s) {', '.join(result.failing_rules)}",
            hint=f"see {result.data_dir}/quality.json; fix data/failures.jsonl or override with "
            '`posttrain data build --override RULE="reason"`, then run again',
        )
    return {
        "data_version": result.data_version,
        "data_dir": result.data_dir,
        "sft": result.counts.sft,
        "prefs": result.counts.prefs,
        "seconds": result.seconds,
    }


# -- training -----------------------------------------------------------------------------


def training_config(cfg: LoopConfig, method: str, extra: list[str] | None = None) -> Any:
    """The workspace's config for ``method`` under the loop's profile and overrides."""
    from posttrain.train import load_config

    path = cfg.workspace / TRAINING_CONFIGS[method]
    overrides = [f"model={cfg.model}", *(extra or []), *cfg.train_overrides]
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
    cfg: LoopConfig, method: str, data_version: str, train_cfg: Any, show: bool
) -> dict[str, Any]:
    """Reuse a finished run with the same config and data, or train one."""
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
        append_event(
            ws.audit_log,
            "training_run",
            {
                "run_id": manifest.run_id,
                "recipe": method,
                "status": manifest.status,
                "data_version": manifest.data_version,
                "config_hash": chash,
                "manifest_sha256": hashlib.sha256(
                    (run_dir / "manifest.json").read_bytes()
                ).hexdigest(),
                "by": "posttrain run",
            },
        )
    info = training_info(run_dir)
    return {
        "run_id": info.run_id,
        "run_dir": str(run_dir),
        "config_hash": chash,
        "status": info.status,
        "reused": reused,
        "wall_s": info.wall_s,
        "tokens": info.tokens,
    }


def export_candidate(run_dir: Path) -> dict[str, Any]:
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
            result = None
    if result is None or not any(
        m.dtype == "fp32" and Path(m.path).is_dir() for m in result.models
    ):
        result = export_run(run_dir, dtypes=["fp32"])
    model = next(m for m in result.models if m.dtype == "fp32")
    return {
        "model_path": model.path,
        "fingerprint": fingerprint(model.path),
        "run_dir": str(run_dir),
    }


# -- evaluation ---------------------------------------------------------------------------


def suites_for(cfg: LoopConfig) -> list[Any]:
    """The evaluation sample: the regression set and the attack + over-refusal suites,
    each cut to the first N items of every (class, language) stratum."""
    from posttrain.evaluate import load_suite

    suites = []
    if cfg.ws.regression.is_file():
        suites.append(load_suite(cfg.ws.regression).head(cfg.resolved_regression_limit()))
    suites.append(load_suite("audit").head(cfg.resolved_eval_limit()))
    return suites


def evaluate_side(
    cfg: LoopConfig, model_name: str, backend: Any, out_dir: Path, on_progress: Any = None
) -> dict[str, Any]:
    """Every suite of the sample through ``backend`` into ``out_dir/<suite>/``."""
    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate
    from posttrain.generation.base import GenerationParams

    ws = cfg.ws
    contract = load_contract(ws.contract)
    params = GenerationParams(max_new_tokens=cfg.max_new_tokens)
    started = time.perf_counter()
    n = generated = 0
    suites = suites_for(cfg)
    for suite in suites:
        result = evaluate(
            EvalConfig(
                model=model_name,
                params=params,
                batch_size=cfg.batch_size,
                out_dir=out_dir / suite.name,
                cache_dir=ws.cache / "cache",
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
                "items_sha256": hashlib.sha256(
                    (result.out_dir / "items.jsonl").read_bytes()
                ).hexdigest(),
            },
        )
    return {
        "dir": str(out_dir),
        "model": model_name,
        "fingerprint": backend.fingerprint,
        "n_items": n,
        "n_generated": generated,
        "n_cached": n - generated,
        "eval_s": round(time.perf_counter() - started, 2),
    }


def eval_size(cfg: LoopConfig) -> int:
    return sum(len(s) for s in suites_for(cfg))


# -- gate ---------------------------------------------------------------------------------


def run_gate(cfg: LoopConfig, baseline: Path, candidate: Path, out: Path) -> dict[str, Any]:
    """Judge ``candidate`` against ``baseline`` (:func:`posttrain.gate.gate`)."""
    from posttrain.gate import gate, write_verdict

    ws = cfg.ws
    verdict = gate(baseline, candidate, policy=cfg.policy, workspace=ws.root, waivers=cfg.waivers)
    path = write_verdict(verdict, out)
    append_event(
        ws.audit_log,
        "gate_verdict",
        {
            "verdict_id": verdict.id,
            "decision": verdict.decision,
            "decision_without_waivers": verdict.decision_without_waivers,
            "path": str(path),
            "verdict_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "policy_source": verdict.policy_source,
            "policy_hash": verdict.policy_hash,
            "baseline": verdict.baseline.model_dump(),
            "candidate": verdict.candidate.model_dump(),
        },
    )
    blocking = list(dict.fromkeys(r.id for r in verdict.rules if r.blocking and not r.waived_by))
    return {
        "decision": verdict.decision,
        "verdict_id": verdict.id,
        "verdict_path": str(path),
        "blocking": blocking,
        "failed": list(
            dict.fromkeys(r.id for r in verdict.rules if r.status == "fail" and not r.waived_by)
        ),
        "inconclusive": list(
            dict.fromkeys(
                r.id for r in verdict.rules if r.status == "inconclusive" and r.severity == "hard"
            )
        ),
        "alerts": [r.id for r in verdict.rules if r.status == "alert"],
    }
