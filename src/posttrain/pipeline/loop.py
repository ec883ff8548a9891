"""``posttrain run``: the whole loop on a workspace, resumable stage by stage.

Read top to bottom, this is the loop::

    data build -> SFT -> DPO (when asked)
      -> evaluate the base (from the cache when unchanged)
      -> export the candidate and evaluate it
      -> gate -> register and promote on PASS -> HTML report, experiment log, model card

The state of every stage lives in ``runs/<loop_id>/loop.json`` (see :mod:`.state`): a
stage whose inputs hash as before and whose outputs still exist is skipped, so running
the same command again after a failure resumes where it stopped. Training runs are
reused across loops when a finished run has the same config hash and data version, and
answers come from the workspace's generation cache, so nothing is computed twice. Each
stage returns a typed result (:mod:`.results`); :class:`~.runner.StageRunner` runs them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from posttrain.errors import ConfigError, InputError, UsageError
from posttrain.gate.verdict import EXIT_CODES, read_verdict
from posttrain.pipeline import stages as st
from posttrain.pipeline.results import (
    DataResult,
    EvalSideResult,
    GateResult,
    MergeResult,
    ReleaseResult,
    ReportResult,
    TrainResult,
)
from posttrain.pipeline.runner import Observer, StageRunner, StageTiming
from posttrain.pipeline.state import (
    STATE_FILE,
    LoopConfig,
    LoopState,
    input_files,
    loop_id,
    now_iso,
    read_state,
    write_state,
)

if TYPE_CHECKING:
    from posttrain.report import RunReport

__all__ = [
    "LoopResult",
    "TrainedCandidate",
    "find_loop",
    "open_loop",
    "regenerate_reports",
    "run_loop",
    "train_candidate",
]

REPORTS_DIR = Path("reports") / "posttrain"
EXPERIMENT_LOG = "experiment-log.md"


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
        """0 PASS, 1 BLOCK, 4 INCONCLUSIVE (the gate's codes)."""
        return EXIT_CODES.get(self.decision, 0)


class TrainedCandidate(BaseModel):
    """The loop up to its gate: the data, the runs, both evaluations and the verdict."""

    model_config = ConfigDict(extra="forbid")

    data: DataResult
    sft: TrainResult
    dpo: TrainResult | None
    export: MergeResult
    base: EvalSideResult
    candidate: EvalSideResult
    verdict: GateResult

    @property
    def final(self) -> TrainResult:
        """The run the candidate was merged from."""
        return self.dpo or self.sft

    @property
    def training_runs(self) -> list[TrainResult]:
        return [self.sft] + ([self.dpo] if self.dpo else [])


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


def train_candidate(runner: StageRunner) -> TrainedCandidate:
    """Stages ``data`` through ``gate``: build, train, evaluate both sides, judge."""
    cfg, loop_dir = runner.cfg, runner.loop_dir
    data = runner.run(
        "data",
        runner.state.inputs,
        lambda: st.run_data(cfg),
        "build the dataset from data/failures.jsonl",
    )
    dv = data.data_version
    sft = runner.train("sft", "sft", dv, detail=f"SFT on {cfg.model} (profile {cfg.profile})")
    dpo = None
    if cfg.resolved_dpo():
        dpo = runner.train(
            "dpo", "dpo", dv, [f"init_adapter={sft.run_dir}"], "DPO on top of the SFT adapter"
        )
    base = runner.evaluate(
        "eval_base",
        cfg.model,
        st.hf_backend(cfg, cfg.model),
        loop_dir / "eval" / "base",
        cfg.model,
        f"evaluate the base model on {st.eval_size(cfg)} items",
    )
    export, cand = runner.export_and_evaluate(
        "export", "eval_candidate", dpo or sft, loop_dir / "eval" / "candidate", "candidate"
    )
    verdict = runner.gate(
        "gate", base, cand, loop_dir / "verdict.json", "judge the candidate against the base"
    )
    return TrainedCandidate(
        data=data, sft=sft, dpo=dpo, export=export, base=base, candidate=cand, verdict=verdict
    )


def run_loop(cfg: LoopConfig, *, observer: Observer | None = None) -> LoopResult:
    """Run (or resume) the loop; see the module docstring.

    Raises the stages' errors: :class:`~posttrain.errors.InputError` / ``ConfigError``
    for unusable inputs, :class:`~posttrain.errors.LoopStopped` for a blocked data build
    or a training run that did not finish, ``BackendError`` when generation fails.
    """
    started = time.perf_counter()
    loop_dir, state = open_loop(cfg)
    runner = StageRunner(cfg, loop_dir, state, observer or Observer())
    trained = train_candidate(runner)
    result = LoopResult(
        loop_id=state.loop_id,
        loop_dir=str(loop_dir),
        workspace=str(cfg.workspace),
        decision=trained.verdict.decision,
        verdict_path=str(trained.verdict.verdict_path),
        blocking=list(trained.verdict.blocking),
    )
    release = runner.run(
        "release",
        {"verdict": trained.verdict.model_dump(mode="json"), "promote": cfg.promote},
        lambda: _release(cfg, state.loop_id, trained),
        "register and promote on PASS",
    )
    reports = runner.run(
        "report",
        {"now": time.time()},  # always written: it shows this invocation's stage times
        lambda: _reports(cfg, state, trained, release),
        "HTML report, experiment log, model card",
    )
    result.version = release.version
    result.promoted = release.promoted
    result.report = str(reports.report_path)
    result.experiment_log = str(reports.log_path)
    result.model_card = str(reports.card_path) if reports.card_path else None
    result.stages = runner.timings
    result.total_s = round(time.perf_counter() - started, 2)
    return result


def _release(cfg: LoopConfig, lid: str, trained: TrainedCandidate) -> ReleaseResult:
    """Register (and promote) the candidate on PASS; otherwise say why it stays out."""
    from posttrain.release.registry import Registry

    ws = cfg.ws
    registry = Registry(ws.registry, audit_log=ws.audit_log)
    champion = registry.state().aliases.get("champion")
    verdict = trained.verdict
    if verdict.decision != "PASS":
        keep = (
            f"champion stays {champion}"
            if champion
            else "no champion: the base model stays in service"
        )
        return ReleaseResult(
            previous_champion=champion,
            conclusion=_not_released(verdict),
            rollback_decision=f"not released; {keep}; nothing to roll back.",
        )
    mv = registry.register(
        str(trained.export.model_path),
        fingerprint=trained.export.fingerprint,
        run=trained.final.run_dir,
        verdict=verdict.verdict_path,
        note=f"posttrain run {lid}",
    )
    # A PASS under another policy or contract than the workspace's (`--policy lax.yaml`)
    # registers, but only a person with a signed waiver promotes it.
    ok, why, _ = registry.check_promotion(mv.version) if cfg.promote else (False, "", [])
    if ok:
        registry.promote(mv.version, reason=f"gate PASS in {lid}")
    if not cfg.promote:
        outcome = " (not promoted: --no-promote)."
    else:
        outcome = " and promoted it to champion." if ok else f", not promoted: {why}."
    target = champion or "the base model"
    return ReleaseResult(
        version=mv.version,
        promoted=ok,
        previous_champion=champion,
        conclusion=f"PASS: every hard rule holds; registered {mv.version}" + outcome,
        rollback_decision=f"release in stages; if a live safety metric regresses, roll back to "
        f"{target} (`posttrain rollback`).",
    )


def _not_released(verdict: GateResult) -> str:
    failed, unsure = _few(verdict.failed), _few(verdict.inconclusive)
    if verdict.decision == "BLOCK":
        return f"BLOCK: hard rule(s) broken: {failed}" + (
            f"; too few samples to judge {unsure}" if unsure != "none" else ""
        )
    return (
        f"INCONCLUSIVE: too few samples to judge {unsure}; evaluate on more items "
        "(--eval-limit) before a person decides"
    )


def _few(ids: list[str], n: int = 4) -> str:
    if not ids:
        return "none"
    more = f" and {len(ids) - n} more" if len(ids) > n else ""
    return ", ".join(ids[:n]) + more


def _reports(
    cfg: LoopConfig, state: LoopState, trained: TrainedCandidate, release: ReleaseResult
) -> ReportResult:
    """The HTML report, the experiment-log entry and, when released, the model card."""
    from posttrain.report import ReleaseInfo, collect_report, upsert_entry, write_html_report

    ws = cfg.ws
    seconds = {
        name: rec.seconds
        for name, rec in state.stages.items()
        if rec.status == "done" and name != "report"
    }
    verdict_path = trained.verdict.verdict_path
    report = collect_report(
        state.loop_id,
        workspace=ws.root,
        baseline=trained.base.dir,
        candidate=trained.candidate.dir,
        verdict=read_verdict(verdict_path),
        verdict_path=verdict_path,
        training_runs=[r.run_dir for r in trained.training_runs],
        data_version=trained.data.data_version,
        options=cfg.identity().model_dump(),
        stage_seconds=seconds,
        release=ReleaseInfo(
            registered_version=release.version,
            promoted=release.promoted,
            previous_champion=release.previous_champion,
            conclusion=release.conclusion,
            rollback_decision=release.rollback_decision,
        ),
        product=_contract_text(ws.contract).product,
        baseline_label="base",
        candidate_label="candidate",
    )
    out_dir = ws.root.resolve() / REPORTS_DIR
    html = write_html_report(report, out_dir / state.loop_id / "report.html")
    (out_dir / state.loop_id / "report.json").write_text(
        report.model_dump_json(indent=2), encoding="utf-8"
    )
    log = upsert_entry(out_dir / EXPERIMENT_LOG, report, report_path=html)
    card = _model_card(cfg, report, release.version, html, out_dir) if release.version else None
    return ReportResult(report_path=html, log_path=log, card_path=card)


class _ContractText(BaseModel):
    product: str = ""
    description: str = ""


def _contract_text(path: Path) -> _ContractText:
    """The contract's product name and description for the reports; empty when the
    contract no longer loads (edited since the loop ran): the report must still be
    written, and the contract's own lint says what is wrong with it."""
    from posttrain.contract import load_contract

    try:
        contract = load_contract(path)
    except (ConfigError, InputError, OSError):
        return _ContractText()
    return _ContractText(product=contract.product, description=contract.description)


def _model_card(
    cfg: LoopConfig, report: RunReport, version: str, html: Path, out_dir: Path
) -> Path:
    from posttrain.data import Manifest
    from posttrain.release.registry import Registry
    from posttrain.report import CardContext, write_model_card

    ws = cfg.ws
    mv = Registry(ws.registry, audit_log=ws.audit_log).get(version)
    counts: dict[str, int] = {}
    policy = None
    manifest = ws.data / "manifest.json"
    if manifest.is_file():
        try:
            dm = Manifest.model_validate_json(manifest.read_text(encoding="utf-8"))
        except ValueError:
            dm = None  # a hand-edited manifest: the card goes without its counts
        if dm is not None:
            counts = dm.counts.model_dump()
            policy = f"{dm.policy.label} (sha256 {dm.policy.sha256[:12]})"
    sheet = ws.data / "DATASHEET.md"
    ctx = CardContext(
        version=version,
        model_path=mv.model,
        fingerprint=mv.fingerprint,
        registered_at=mv.created_at,
        product=report.product,
        product_description=_contract_text(ws.contract).description,
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


def regenerate_reports(workspace: Path, loop: str | None = None) -> ReportResult:
    """Write the HTML report, the experiment-log entry and the model card of a loop
    again from its state file. Raises :class:`~posttrain.errors.UsageError` when the
    loop has not reached its release stage."""
    loop_dir = find_loop(workspace, loop)
    state = read_state(loop_dir / STATE_FILE)
    if state is None:
        raise UsageError(
            f"loop {loop_dir.name} was recorded by an older posttrain",
            hint="run `posttrain run` with the same options to record it again",
        )
    cfg = LoopConfig.from_identity(Path(workspace), state.options)
    runner = StageRunner(cfg, loop_dir, state)
    try:
        trained = TrainedCandidate(
            data=runner.result("data", DataResult),
            sft=runner.result("sft", TrainResult),
            dpo=runner.result("dpo", TrainResult) if "dpo" in state.stages else None,
            export=runner.result("export", MergeResult),
            base=runner.result("eval_base", EvalSideResult),
            candidate=runner.result("eval_candidate", EvalSideResult),
            verdict=runner.result("gate", GateResult),
        )
        release = runner.result("release", ReleaseResult)
    except KeyError as missing:
        raise UsageError(
            f"loop {state.loop_id} has not finished stage {missing.args[0]}",
            hint="run `posttrain run` with the same options to finish it",
        ) from None
    return _reports(cfg, state, trained, release)
