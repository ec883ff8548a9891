"""``posttrain ladder``: climb only as far as the evidence demands.

Rung 0 is the base model, rung 1 the contract guard around it (system prompt +
validation + retry / fallback, :class:`~posttrain.evaluate.Guard`), rung 2 SFT, rung 3
SFT + DPO, and - only when asked (``LoopConfig.rlhf``, ``posttrain ladder --rlhf``) -
rung 4 SFT + RLHF: a reward model trained on the preference pairs, then RLOO (TRL's
PPO loop without a value model) with a KL penalty on top of the SFT adapter. Every rung
is evaluated on the same sample and judged by the same gate against rung 0; for each the
ladder reports the verdict, the key metrics with their intervals and the cost (wall
time, tokens trained, GPU-hours estimated at a given model size by the training stage's
estimator), and names the cheapest rung that passes. The rungs are ordered by what they
cost and risk, so rung 4 is recommended only when no lower rung passes.

The loop (:func:`~posttrain.pipeline.loop.run_loop` with DPO) provides rungs 0, 2 and 3:
whatever ``posttrain run`` already did is reused (same loop folder, same training runs,
cached answers). The guard, the SFT-only model and rung 4 (``ladder_reward``,
``ladder_ppo``, ``ladder_rlhf_export``, ``ladder_rlhf_eval``, ``ladder_gate_4``) are
extra stages of the same loop, each reused on a rerun. Rung 4 needs the workspace's
``configs/align/reward.yaml`` and ``configs/align/ppo.yaml``
(:func:`require_rlhf_configs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.core.fmt import fmt_rate
from posttrain.errors import UsageError
from posttrain.evaluate.metrics import RateRow
from posttrain.pipeline import stages as st
from posttrain.pipeline.loop import TrainedCandidate, open_loop, train_candidate
from posttrain.pipeline.results import EvalSideResult, TrainResult
from posttrain.pipeline.runner import Observer, StageRunner, StageTiming
from posttrain.pipeline.state import LoopConfig
from posttrain.workspace import TRAINING_CONFIGS

__all__ = [
    "LADDER_METRICS",
    "RLHF_CONFIGS",
    "RUNG_DESCRIPTIONS",
    "LadderResult",
    "Rung",
    "RungCost",
    "recommend",
    "render_markdown",
    "require_rlhf_configs",
    "run_ladder",
]

# What each rung adds, for the reports.
RUNG_DESCRIPTIONS = {
    "base": "the base model under the contract's system prompt",
    "guard": "+ output validation, retry with the error, safe fallback (no training)",
    "SFT": "+ LoRA SFT on the audited SFT records",
    "SFT+DPO": "+ DPO on the preference pairs, on top of the SFT adapter",
    "SFT+RLHF": "+ a reward model on the preference pairs, then RLOO (PPO without a value "
    "model) with a KL penalty, on top of the SFT adapter (only with --rlhf)",
}
# The workspace configs rung 4 trains from.
RLHF_CONFIGS = (TRAINING_CONFIGS["reward"], TRAINING_CONFIGS["ppo"])
LADDER_METRICS = (
    "attack_hit_rate",
    "leak_rate",
    "over_refusal_rate",
    "regression_pass_rate",
    "format_validity",
)


class RungCost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Training wall time (cumulative over the rung's runs) + this rung's evaluation time.
    train_s: float = 0.0
    eval_s: float = 0.0
    tokens_trained: int = 0
    # Estimated GPU-hours to train the same tokens at ``size`` (0 for rungs 0 and 1).
    gpu_hours: float = 0.0
    size: str = "7B"
    notes: list[str] = Field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return self.train_s + self.eval_s


class Rung(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    name: str
    model: str
    eval_dir: str
    decision: Literal["PASS", "BLOCK", "INCONCLUSIVE"]
    verdict_path: str
    blocking: list[str] = Field(default_factory=list)
    metrics: dict[str, RateRow | None] = Field(default_factory=dict)
    cost: RungCost


class LadderResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    kind: Literal["ladder"] = "ladder"
    loop_id: str
    workspace: str
    size: str
    rungs: list[Rung]
    recommended: int | None
    recommendation: str
    report: str | None = None
    stages: list[StageTiming] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when a rung is recommended (one passes the gate), else 1."""
        return 0 if self.recommended is not None else 1


def _metrics(eval_dir: Path) -> dict[str, RateRow | None]:
    from posttrain.evaluate import compute_metrics
    from posttrain.evaluate.compare import load_results

    m = compute_metrics(load_results(eval_dir))
    return {name: m.get(name) for name in LADDER_METRICS}


# The training config fields the cost estimator reads; the rest are its own defaults.
_ESTIMATE_FIELDS = ("method", "seq_len", "micro_batch", "grad_accum", "lora_r")


def _gpu_hours(run: TrainResult, size: str) -> tuple[float, str | None]:
    """GPU-hours to train ``run``'s tokens at ``size``, and a note when it cannot say."""
    from posttrain.report.model import training_info
    from posttrain.train.estimate import EstimateInput, estimate

    info = training_info(run.run_dir)
    if not info.tokens:
        return 0.0, f"{info.run_id}: no token count in its signals; GPU-hours not estimated"
    recipe = info.recipe if info.recipe in ("sft", "dpo", "reward", "ppo") else "sft"
    est = estimate(
        EstimateInput.model_validate(
            {
                "model": size,
                "recipe": recipe,
                "tokens": float(info.tokens),
                **{k: info.config[k] for k in _ESTIMATE_FIELDS if k in info.config},
            }
        )
    )
    # The estimator rounds to 3 decimals, which is 0 for a CPU-sized run; recompute from
    # its throughput so small rungs still compare.
    if est.tokens_per_s > 0:
        return info.tokens / est.tokens_per_s / 3600 * est.input.gpus, None
    return est.gpu_hours, None


def require_rlhf_configs(workspace: Path) -> None:
    """Raise :class:`~posttrain.errors.UsageError` naming the rung-4 config files (see
    :data:`RLHF_CONFIGS`) that ``workspace`` lacks."""
    missing = [workspace / rel for rel in RLHF_CONFIGS if not (workspace / rel).is_file()]
    if missing:
        raise UsageError(
            f"rung 4 (RLHF) trains from {' and '.join(str(r) for r in RLHF_CONFIGS)}; "
            f"missing: {', '.join(str(m) for m in missing)}",
            hint="`posttrain init NEW_DIR` writes both (copy them from NEW_DIR/configs/align/), "
            "or leave out --rlhf",
        )


def recommend(rungs: Sequence[Rung]) -> tuple[Rung | None, str]:
    """The cheapest rung that passes and the sentence that says so.

    "Cheapest" is the ladder's order (the rung index), not the cost measured on this
    run: a short RLHF run may train fewer tokens than SFT + DPO, yet it needs a reward
    model, on-policy generation and can game its reward, so rung 4 is chosen only when
    no lower rung passes.
    """
    passing = sorted((r for r in rungs if r.decision == "PASS"), key=lambda r: r.index)
    if not passing:
        return None, (
            "no rung passes the gate: fix the data or the contract before climbing further "
            "(see each rung's blocking rules)."
        )
    best = passing[0]
    text = (
        f"rung {best.index} ({best.name}) is the cheapest rung that passes the gate; "
        "stop climbing there."
    )
    if best.index == 4:
        text += (
            " It is also the most expensive and most risky rung: release it only behind "
            "stable regression gates."
        )
    return best, text


class _Side(BaseModel):
    """One rung before it is judged: what it evaluated and what it trained."""

    model_config = ConfigDict(extra="forbid")

    index: int
    name: str
    model: str
    evaluation: EvalSideResult
    runs: list[TrainResult] = Field(default_factory=list)


def run_ladder(
    cfg: LoopConfig, *, size: str = "7B", observer: Observer | None = None
) -> LadderResult:
    """Evaluate and gate every rung (rung 4 only when ``cfg.rlhf``); see the module
    docstring. Raises :class:`~posttrain.errors.UsageError` when ``cfg.rlhf`` and a rung-4
    config is missing (before any work), and what
    :func:`~posttrain.pipeline.loop.run_loop` raises."""
    if cfg.rlhf:
        require_rlhf_configs(cfg.workspace)
    cfg = cfg.model_copy(update={"dpo": True})
    loop_dir, state = open_loop(cfg)
    runner = StageRunner(cfg, loop_dir, state, observer or Observer())
    trained = train_candidate(runner)
    sides = _sides(runner, trained)
    rungs = [_judge(runner, trained, side, size) for side in sides]
    best, text = recommend(rungs)
    result = LadderResult(
        loop_id=state.loop_id,
        workspace=str(cfg.workspace),
        size=size,
        rungs=rungs,
        recommended=best.index if best else None,
        recommendation=text,
        stages=runner.timings,
    )
    path = cfg.ws.root.resolve() / "reports" / "posttrain" / state.loop_id / "ladder.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.report = str(path)
    path.write_text(render_markdown(result), encoding="utf-8")
    path.with_suffix(".json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _sides(runner: StageRunner, trained: TrainedCandidate) -> list[_Side]:
    """Rungs 0-3 from the loop plus the guard and SFT-only stages, and rung 4 when asked."""
    from posttrain.contract import load_contract
    from posttrain.evaluate import Guard

    cfg, loop_dir = runner.cfg, runner.loop_dir
    guard = runner.evaluate(
        "ladder_guard_eval",
        f"guard+{cfg.model}",
        Guard(
            st.hf_backend(cfg, cfg.model),
            load_contract(cfg.ws.contract),
        ),
        loop_dir / "eval" / "guard",
        {"model": cfg.model, "guard": 2},
        "evaluate the base model behind the contract guard",
    )
    sft = trained.sft
    sft_export, sft_eval = runner.export_and_evaluate(
        "ladder_sft_export", "ladder_sft_eval", sft, loop_dir / "eval" / "sft", "SFT model"
    )
    sides = [
        _Side(index=0, name="base", model=cfg.model, evaluation=trained.base),
        _Side(index=1, name="guard", model=f"guard+{cfg.model}", evaluation=guard),
        _Side(
            index=2, name="SFT", model=str(sft_export.model_path), evaluation=sft_eval, runs=[sft]
        ),
        _Side(
            index=3,
            name="SFT+DPO",
            model=trained.candidate.model,
            evaluation=trained.candidate,
            runs=trained.training_runs,
        ),
    ]
    if cfg.rlhf:
        sides.append(_rlhf_side(runner, trained))
    return sides


def _rlhf_side(runner: StageRunner, trained: TrainedCandidate) -> _Side:
    """Rung 4: a reward model, then RLOO on top of the SFT adapter, merged and evaluated."""
    dv, sft = trained.data.data_version, trained.sft
    reward = runner.train(
        "ladder_reward", "reward", dv, detail="reward model on the preference pairs"
    )
    ppo = runner.train(
        "ladder_ppo",
        "ppo",
        dv,
        [f"init_adapter={sft.run_dir}", f"reward_model={reward.run_dir}"],
        "RLOO against the reward model, on top of the SFT adapter",
    )
    merged, evaluated = runner.export_and_evaluate(
        "ladder_rlhf_export",
        "ladder_rlhf_eval",
        ppo,
        runner.loop_dir / "eval" / "rlhf",
        "RLHF model",
    )
    return _Side(
        index=4,
        name="SFT+RLHF",
        model=str(merged.model_path),
        evaluation=evaluated,
        runs=[sft, reward, ppo],
    )


def _judge(runner: StageRunner, trained: TrainedCandidate, side: _Side, size: str) -> Rung:
    """The side gated against rung 0 (rung 3: the loop's own verdict), with its cost."""
    verdict = (
        trained.verdict
        if side.index == 3
        else runner.gate(
            f"ladder_gate_{side.index}",
            trained.base,
            side.evaluation,
            runner.loop_dir / f"verdict-rung{side.index}.json",
        )
    )
    cost = RungCost(
        train_s=sum(r.wall_s for r in side.runs),
        eval_s=side.evaluation.eval_s,
        tokens_trained=sum(r.tokens for r in side.runs),
        size=size,
    )
    for r in side.runs:
        hours, note = _gpu_hours(r, size)
        cost.gpu_hours += hours
        if note:
            cost.notes.append(note)
    if side.index == 1:
        cost.notes.append("no training; pays at inference: retries and fallbacks per answer")
    if side.index == 4:
        cost.notes.append("includes the reward model; RL can game it: watch the regression rates")
    return Rung(
        index=side.index,
        name=side.name,
        model=side.model,
        eval_dir=str(side.evaluation.dir),
        decision=verdict.decision,
        verdict_path=str(verdict.verdict_path),
        blocking=list(verdict.blocking),
        metrics=_metrics(side.evaluation.dir),
        cost=cost,
    )


def render_markdown(result: LadderResult) -> str:
    """The per-rung table and the recommendation as Markdown."""
    head = [
        "rung",
        "decision",
        *LADDER_METRICS,
        "wall s",
        "tokens trained",
        f"GPU-h @ {result.size}",
    ]
    lines = [
        f"# The ladder ({result.loop_id})",
        "",
        f"**Recommendation:** {result.recommendation}",
        "",
        "Rates with 95% Wilson intervals; every rung gated against rung 0 on the same items.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in result.rungs:
        cells = [
            f"{r.index} {r.name}",
            r.decision,
            *[fmt_rate(r.metrics.get(m), counts=False) for m in LADDER_METRICS],
            f"{r.cost.wall_s:.0f}",
            str(r.cost.tokens_trained),
            f"{r.cost.gpu_hours:.3g}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for r in result.rungs:
        lines.append(f"- rung {r.index} {r.name}: {RUNG_DESCRIPTIONS.get(r.name, '')}")
    lines.append("")
    for r in result.rungs:
        if r.blocking or r.cost.notes:
            lines.append(
                f"- rung {r.index}: "
                + "; ".join(
                    [
                        *(f"blocking {', '.join(r.blocking)}" for _ in [0] if r.blocking),
                        *r.cost.notes,
                    ]
                )
            )
    return "\n".join(lines) + "\n"
