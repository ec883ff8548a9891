"""``posttrain run``: the whole loop on a workspace, resumable stage by stage.

Read top to bottom, this is the loop::

    data build -> SFT -> DPO (when asked) -> export the candidate
      -> evaluate the base (from the cache when unchanged) and the candidate
      -> gate -> register and promote on PASS -> HTML report, experiment log, model card

The state of every stage lives in ``runs/<loop_id>/loop.json`` (see :mod:`.state`): a
stage whose inputs hash as before and whose outputs still exist is skipped, so running
the same command again after a failure resumes where it stopped. Training runs are
reused across loops when a finished run has the same config hash and data version, and
answers come from the workspace's generation cache, so nothing is computed twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from posttrain.gate.verdict import EXIT_CODES, read_verdict
from posttrain.pipeline import stages as st
from posttrain.pipeline.state import (
    STATE_FILE,
    LoopConfig,
    LoopState,
    StageRecord,
    input_files,
    loop_id,
    now_iso,
    read_state,
    stable_hash,
    write_state,
)

__all__ = [
    "STAGES",
    "LoopResult",
    "Observer",
    "StageTiming",
    "evaluate_model",
    "find_loop",
    "open_loop",
    "regenerate_reports",
    "run_loop",
    "run_stage",
]

STAGES = (
    "data",
    "sft",
    "dpo",
    "export",
    "eval_base",
    "eval_candidate",
    "gate",
    "release",
    "report",
)
REPORTS_DIR = Path("reports") / "posttrain"
EXPERIMENT_LOG = "experiment-log.md"


class Observer:
    """What the loop tells its caller; the CLI draws it with rich, tests ignore it."""

    def stage_started(self, name: str, detail: str) -> None:
        """A stage begins (``detail``: what it is about to do)."""

    def stage_finished(self, name: str, status: str, seconds: float, detail: str) -> None:
        """A stage ended: ``status`` is ``ran`` or ``skipped``."""

    def eval_progress(self, total: int) -> Callable[[int], None] | None:
        """A callback advanced by finished items, or None for no progress display."""
        return None

    def eval_done(self) -> None:
        """The evaluation whose progress callback was last handed out is over."""

    @property
    def show_training(self) -> bool:
        return False


class StageTiming(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    status: str
    seconds: float


class LoopResult(BaseModel):
    """What ``posttrain run`` did; ``--json`` prints it."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    kind: str = "loop_result"
    loop_id: str
    loop_dir: str
    workspace: str
    decision: str
    verdict_path: str | None = None
    blocking: list[str] = Field(default_factory=list)
    report: str | None = None
    experiment_log: str | None = None
    model_card: str | None = None
    version: str | None = None
    promoted: bool = False
    stages: list[StageTiming] = Field(default_factory=list)
    total_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.decision, 0)


def open_loop(cfg: LoopConfig) -> tuple[Path, LoopState]:
    """The loop folder for these options and inputs, and its state (new or resumed)."""
    from posttrain.models import fingerprint

    inputs = input_files(cfg)
    lid = loop_id(cfg, inputs, fingerprint(cfg.model))
    loop_dir = cfg.ws.runs.resolve() / lid
    state = read_state(loop_dir / STATE_FILE) or LoopState(
        loop_id=lid, created_at=now_iso(), options=cfg.identity(), inputs=inputs
    )
    write_state(loop_dir / STATE_FILE, state)
    return loop_dir, state


def _outputs_exist(outputs: dict[str, Any]) -> bool:
    for key, value in outputs.items():
        is_path = key.endswith("_dir") or key.endswith("_path") or key == "dir"
        if is_path and value and not Path(value).exists():
            return False
    return True


def run_stage(
    loop_dir: Path,
    state: LoopState,
    name: str,
    inputs: Any,
    fn: Callable[[], dict[str, Any]],
    observer: Observer,
    timings: list[StageTiming],
    detail: str = "",
) -> dict[str, Any]:
    """Run ``fn`` as stage ``name`` unless it is done with the same inputs; record it."""
    digest = stable_hash(inputs)
    rec = state.stages.get(name)
    if (
        rec is not None
        and rec.status == "done"
        and rec.input_hash == digest
        and _outputs_exist(rec.outputs)
    ):
        observer.stage_finished(name, "skipped", 0.0, "up to date")
        timings.append(StageTiming(name=name, status="skipped", seconds=0.0))
        return rec.outputs
    observer.stage_started(name, detail)
    started = time.perf_counter()
    try:
        outputs = fn()
    except BaseException as exc:
        state.stages[name] = StageRecord(
            name=name,
            status="failed",
            input_hash=digest,
            seconds=round(time.perf_counter() - started, 2),
            finished_at=now_iso(),
            error=f"{type(exc).__name__}: {exc}",
        )
        write_state(loop_dir / STATE_FILE, state)
        raise
    seconds = round(time.perf_counter() - started, 2)
    state.stages[name] = StageRecord(
        name=name,
        status="done",
        input_hash=digest,
        outputs=outputs,
        seconds=seconds,
        finished_at=now_iso(),
    )
    write_state(loop_dir / STATE_FILE, state)
    observer.stage_finished(name, "ran", seconds, _summary(name, outputs))
    timings.append(StageTiming(name=name, status="ran", seconds=seconds))
    return outputs


def _summary(name: str, out: dict[str, Any]) -> str:
    if name == "data":
        version = str(out.get("data_version"))[:19]
        return f"data version {version}…: {out.get('sft')} SFT, {out.get('prefs')} pairs"
    if name in ("sft", "dpo", "ladder_reward", "ladder_ppo"):
        how = "reused" if out.get("reused") else "trained"
        return f"{how} {out.get('run_id')} ({out.get('tokens')} tokens)"
    if name == "export":
        return str(out.get("model_path", ""))
    if name.startswith("eval"):
        return f"{out.get('n_items')} items ({out.get('n_cached')} cached)"
    if name == "gate":
        return str(out.get("decision"))
    if name == "release":
        return str(out.get("conclusion", ""))
    return ""


def evaluate_model(
    cfg: LoopConfig, model_name: str, backend: Any, out_dir: Path, observer: Observer
) -> dict[str, Any]:
    callback = observer.eval_progress(st.eval_size(cfg))
    try:
        return st.evaluate_side(cfg, model_name, backend, out_dir, on_progress=callback)
    finally:
        observer.eval_done()


def run_loop(
    cfg: LoopConfig, *, observer: Observer | None = None, stop_after: str | None = None
) -> LoopResult:
    """Run (or resume) the loop; see the module docstring.

    ``stop_after`` ends after that stage (the ladder stops after ``gate``). Raises the
    stages' errors: :class:`~posttrain.errors.InputError` / ``ConfigError`` for unusable
    inputs, :class:`~posttrain.pipeline.stages.LoopStopped` for a blocked data build or a
    training run that did not finish, ``BackendError`` when generation fails.
    """
    from posttrain.evaluate.lazy import LazyBackend

    obs = observer or Observer()
    started = time.perf_counter()
    loop_dir, state = open_loop(cfg)
    timings: list[StageTiming] = []

    def stage(
        name: str, inputs: Any, fn: Callable[[], dict[str, Any]], detail: str = ""
    ) -> dict[str, Any]:
        return run_stage(loop_dir, state, name, inputs, fn, obs, timings, detail)

    def done(name: str) -> bool:
        return stop_after == name

    data = stage(
        "data", state.inputs, lambda: st.run_data(cfg), "build the dataset from data/failures.jsonl"
    )
    dv = data["data_version"]
    sft_cfg = st.training_config(cfg, "sft")
    sft = stage(
        "sft",
        {"data": dv, "config": sft_cfg.model_dump(mode="json")},
        lambda: st.run_training(cfg, "sft", dv, sft_cfg, obs.show_training),
        f"SFT on {cfg.model} (profile {cfg.profile})",
    )
    final = sft
    if cfg.resolved_dpo():
        dpo_cfg = st.training_config(cfg, "dpo", [f"init_adapter={sft['run_dir']}"])
        final = stage(
            "dpo",
            {"data": dv, "config": dpo_cfg.model_dump(mode="json")},
            lambda: st.run_training(cfg, "dpo", dv, dpo_cfg, obs.show_training),
            "DPO on top of the SFT adapter",
        )
    export = stage(
        "export",
        {"run": final["run_id"]},
        lambda: st.export_candidate(Path(final["run_dir"])),
        f"merge {final['run_id']} into its base (fp32)",
    )
    sample = {"options": cfg.identity(), "contract": state.inputs.get("contract.yaml")}
    base = stage(
        "eval_base",
        {**sample, "model": cfg.model},
        lambda: evaluate_model(
            cfg,
            cfg.model,
            LazyBackend("hf", cfg.model, batch_size=cfg.batch_size),
            loop_dir / "eval" / "base",
            obs,
        ),
        f"evaluate the base model on {st.eval_size(cfg)} items",
    )
    cand_model = export["model_path"]
    cand = stage(
        "eval_candidate",
        {**sample, "model": export["fingerprint"]},
        lambda: evaluate_model(
            cfg,
            cand_model,
            LazyBackend("hf", cand_model, batch_size=cfg.batch_size),
            loop_dir / "eval" / "candidate",
            obs,
        ),
        f"evaluate the candidate on {st.eval_size(cfg)} items",
    )
    verdict = stage(
        "gate",
        {
            "base": base,
            "candidate": cand,
            "policy": state.inputs.get("gate.yaml"),
            "options": cfg.identity(),
        },
        lambda: st.run_gate(cfg, Path(base["dir"]), Path(cand["dir"]), loop_dir / "verdict.json"),
        "judge the candidate against the base",
    )
    result = LoopResult(
        loop_id=state.loop_id,
        loop_dir=str(loop_dir),
        workspace=str(cfg.workspace),
        decision=verdict["decision"],
        verdict_path=verdict["verdict_path"],
        blocking=list(verdict.get("blocking", [])),
    )
    if done("gate"):
        result.stages = timings
        result.total_s = round(time.perf_counter() - started, 2)
        return result
    release = stage(
        "release",
        {"verdict": verdict, "promote": cfg.promote},
        lambda: _release(cfg, state.loop_id, verdict, export, final),
        "register and promote on PASS",
    )
    training_dirs = [sft["run_dir"]] + ([final["run_dir"]] if final is not sft else [])
    reports = stage(
        "report",
        {"now": time.time()},  # always written: it shows this invocation's stage times
        lambda: _reports(cfg, state, loop_dir, data, training_dirs, base, cand, verdict, release),
        "HTML report, experiment log, model card",
    )
    result.version = release.get("version")
    result.promoted = bool(release.get("promoted"))
    result.report = reports["report_path"]
    result.experiment_log = reports["log_path"]
    result.model_card = reports.get("card_path")
    result.stages = timings
    result.total_s = round(time.perf_counter() - started, 2)
    return result


def _release(
    cfg: LoopConfig,
    lid: str,
    verdict: dict[str, Any],
    export: dict[str, Any],
    final: dict[str, Any],
) -> dict[str, Any]:
    from posttrain.release.registry import Registry

    ws = cfg.ws
    registry = Registry(ws.registry, audit_log=ws.audit_log)
    champion = registry.state().aliases.get("champion")
    decision = verdict["decision"]
    if decision != "PASS":
        failed = _few(verdict.get("failed", []))
        unsure = _few(verdict.get("inconclusive", []))
        if decision == "BLOCK":
            conclusion = f"BLOCK: hard rule(s) broken: {failed}" + (
                f"; too few samples to judge {unsure}" if unsure != "none" else ""
            )
        else:
            conclusion = (
                f"INCONCLUSIVE: too few samples to judge {unsure}; evaluate on more items "
                "(--eval-limit) before a person decides"
            )
        keep = (
            f"champion stays {champion}"
            if champion
            else "no champion: the base model stays in service"
        )
        return {
            "version": None,
            "promoted": False,
            "previous_champion": champion,
            "conclusion": conclusion,
            "rollback_decision": f"not released; {keep}; nothing to roll back.",
        }
    mv = registry.register(
        export["model_path"],
        fingerprint=export["fingerprint"],
        run=Path(final["run_dir"]),
        verdict=Path(verdict["verdict_path"]),
        note=f"posttrain run {lid}",
    )
    promoted = False
    if cfg.promote:
        registry.promote(mv.version, reason=f"gate PASS in {lid}")
        promoted = True
    target = champion or "the base model"
    return {
        "version": mv.version,
        "promoted": promoted,
        "previous_champion": champion,
        "conclusion": f"PASS: every hard rule holds; registered {mv.version}"
        + (" and promoted it to champion." if promoted else " (not promoted: --no-promote)."),
        "rollback_decision": f"release in stages; if a live safety metric regresses, roll back to "
        f"{target} (`posttrain rollback`).",
    }


def _few(ids: list[str], n: int = 4) -> str:
    if not ids:
        return "none"
    more = f" and {len(ids) - n} more" if len(ids) > n else ""
    return ", ".join(ids[:n]) + more


def _reports(
    cfg: LoopConfig,
    state: LoopState,
    loop_dir: Path,
    data: dict[str, Any],
    training_dirs: list[str],
    base: dict[str, Any],
    cand: dict[str, Any],
    verdict: dict[str, Any],
    release: dict[str, Any],
) -> dict[str, Any]:
    from posttrain.report import ReleaseInfo, collect_report, upsert_entry, write_html_report

    ws = cfg.ws
    seconds = {
        name: rec.seconds
        for name, rec in state.stages.items()
        if rec.status == "done" and name != "report"
    }
    report = collect_report(
        state.loop_id,
        workspace=ws.root,
        baseline=Path(base["dir"]),
        candidate=Path(cand["dir"]),
        verdict=read_verdict(Path(verdict["verdict_path"])),
        verdict_path=Path(verdict["verdict_path"]),
        training_runs=[Path(d) for d in training_dirs],
        data_version=data["data_version"],
        options=cfg.identity(),
        stage_seconds=seconds,
        release=ReleaseInfo(
            registered_version=release.get("version"),
            promoted=bool(release.get("promoted")),
            previous_champion=release.get("previous_champion"),
            conclusion=release.get("conclusion", ""),
            rollback_decision=release.get("rollback_decision", ""),
        ),
        product=_product(ws.contract),
        baseline_label="base",
        candidate_label="candidate",
    )
    out_dir = ws.root.resolve() / REPORTS_DIR
    html = write_html_report(report, out_dir / state.loop_id / "report.html")
    (out_dir / state.loop_id / "report.json").write_text(
        report.model_dump_json(indent=2), encoding="utf-8"
    )
    log = upsert_entry(out_dir / EXPERIMENT_LOG, report, report_path=html)
    outputs: dict[str, Any] = {"report_path": str(html), "log_path": str(log)}
    if release.get("version"):
        outputs["card_path"] = str(_model_card(cfg, report, release["version"], html, out_dir))
    return outputs


def _product(contract: Path) -> str:
    try:
        from posttrain.contract import load_contract

        return load_contract(contract).product
    except Exception:  # the report must not fail on a contract that changed meanwhile
        return ""


def _model_card(cfg: LoopConfig, report: Any, version: str, html: Path, out_dir: Path) -> Path:
    from posttrain.release.registry import Registry
    from posttrain.report import CardContext, write_model_card

    ws = cfg.ws
    mv = Registry(ws.registry, audit_log=ws.audit_log).get(version)
    counts: dict[str, Any] = {}
    policy = None
    manifest = ws.data / "manifest.json"
    if manifest.is_file():
        from posttrain.data import Manifest

        try:
            dm = Manifest.model_validate_json(manifest.read_text(encoding="utf-8"))
            counts = dm.counts.model_dump()
            policy = f"{dm.policy.label} (sha256 {dm.policy.sha256[:12]})"
        except ValueError:
            pass
    description = ""
    try:
        from posttrain.contract import load_contract

        description = load_contract(ws.contract).description
    except Exception:
        description = ""
    sheet = ws.data / "DATASHEET.md"
    ctx = CardContext(
        version=version,
        model_path=mv.model,
        fingerprint=mv.fingerprint,
        registered_at=mv.created_at,
        product=report.product,
        product_description=description,
        base_model=cfg.model,
        datasheet=str(sheet) if sheet.is_file() else None,
        run_report=str(html),
        data_counts=counts,
        deid_policy=policy,
    )
    return write_model_card(report, ctx, out_dir / "model-cards" / f"{version}.md")


def find_loop(workspace: Path, loop: str | None = None) -> Path:
    """The folder of loop ``loop`` (an id or a path), or of the newest loop in the
    workspace. Raises :class:`~posttrain.errors.UsageError` when there is none."""
    from posttrain.errors import UsageError

    runs = Path(workspace) / "runs"
    if loop is not None:
        for candidate in (Path(loop), runs / loop):
            if (candidate / STATE_FILE).is_file():
                return candidate.resolve()
        raise UsageError(
            f"no loop {loop!r} in {runs}", hint="see the runs/loop-* folders, or omit the id"
        )
    found = sorted(runs.glob(f"loop-*/{STATE_FILE}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise UsageError(
            f"no loop has run in {workspace}", hint="run `posttrain run` on the workspace first"
        )
    return found[-1].parent.resolve()


def regenerate_reports(workspace: Path, loop: str | None = None) -> dict[str, Any]:
    """Write the HTML report, the experiment-log entry and the model card of a loop
    again from its state file. Raises :class:`~posttrain.errors.UsageError` when the
    loop has not reached its release stage."""
    from posttrain.errors import UsageError

    loop_dir = find_loop(workspace, loop)
    state = read_state(loop_dir / STATE_FILE)
    assert state is not None  # find_loop checked the file
    needed = ("data", "sft", "eval_base", "eval_candidate", "gate", "release")
    missing = [n for n in needed if n not in state.stages or state.stages[n].status != "done"]
    if missing:
        raise UsageError(
            f"loop {state.loop_id} has not finished stage(s) {', '.join(missing)}",
            hint="run `posttrain run` with the same options to finish it",
        )
    cfg = LoopConfig(workspace=Path(workspace), **state.options)
    out = {n: r.outputs for n, r in state.stages.items()}
    sft = out["sft"]
    training = [sft["run_dir"]] + ([out["dpo"]["run_dir"]] if "dpo" in out else [])
    return _reports(
        cfg,
        state,
        loop_dir,
        out["data"],
        training,
        out["eval_base"],
        out["eval_candidate"],
        out["gate"],
        out["release"],
    )
