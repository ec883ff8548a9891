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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrain.errors import UsageError
from posttrain.evaluate.metrics import RateRow
from posttrain.pipeline import stages as st
from posttrain.pipeline.loop import (
    Observer,
    StageTiming,
    evaluate_model,
    open_loop,
    run_loop,
    run_stage,
)
from posttrain.pipeline.state import LoopConfig

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
RLHF_CONFIGS = (st.TRAINING_CONFIGS["reward"], st.TRAINING_CONFIGS["ppo"])
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


def _metrics(eval_dir: Path) -> dict[str, RateRow | None]:
    from posttrain.evaluate import compute_metrics
    from posttrain.evaluate.compare import load_results

    m = compute_metrics(load_results(eval_dir))
    return {name: m.get(name) for name in LADDER_METRICS}


def _gpu_hours(run: dict[str, Any], size: str) -> tuple[float, str | None]:
    from posttrain.report.model import training_info
    from posttrain.train.estimate import estimate

    info = training_info(Path(run["run_dir"]))
    if not info.tokens:
        return 0.0, f"{info.run_id}: no token count in its signals; GPU-hours not estimated"
    c = info.config
    recipe = info.recipe if info.recipe in ("sft", "dpo", "reward", "ppo") else "sft"
    est = estimate(
        {
            "model": size,
            "method": c.get("method", "lora"),
            "recipe": recipe,
            "seq_len": c.get("seq_len", 2048),
            "micro_batch": c.get("micro_batch", 1),
            "grad_accum": c.get("grad_accum", 1),
            "lora_r": c.get("lora_r", 16),
            "tokens": float(info.tokens),
        }
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


def run_ladder(
    cfg: LoopConfig, *, size: str = "7B", observer: Observer | None = None
) -> LadderResult:
    """Evaluate and gate every rung (rung 4 only when ``cfg.rlhf``); see the module
    docstring. Raises :class:`~posttrain.errors.UsageError` when ``cfg.rlhf`` and a rung-4
    config is missing (before any work), and what
    :func:`~posttrain.pipeline.loop.run_loop` raises."""
    from posttrain.contract import load_contract
    from posttrain.evaluate import Guard
    from posttrain.evaluate.lazy import LazyBackend

    if cfg.rlhf:
        require_rlhf_configs(cfg.workspace)
    obs = observer or Observer()
    cfg = cfg.model_copy(update={"dpo": True})
    loop = run_loop(cfg, observer=obs, stop_after="gate")
    loop_dir, state = open_loop(cfg)
    timings: list[StageTiming] = list(loop.stages)
    out = state.stages

    def stage(name: str, inputs: Any, fn: Any, detail: str = "") -> dict[str, Any]:
        return run_stage(loop_dir, state, name, inputs, fn, obs, timings, detail)

    base, cand = out["eval_base"].outputs, out["eval_candidate"].outputs
    sft, dpo = out["sft"].outputs, out["dpo"].outputs
    base_dir = Path(base["dir"])
    sample = {"options": cfg.identity(), "contract": state.inputs.get("contract.yaml")}

    # rung 1: the guard around the base model
    guard = stage(
        "ladder_guard_eval",
        {**sample, "model": cfg.model, "guard": 2},
        lambda: evaluate_model(
            cfg,
            f"guard+{cfg.model}",
            Guard(
                LazyBackend("hf", cfg.model, batch_size=cfg.batch_size),
                load_contract(cfg.ws.contract),
            ),
            loop_dir / "eval" / "guard",
            obs,
        ),
        "evaluate the base model behind the contract guard",
    )

    def export_and_eval(key: str, run: dict[str, Any], what: str) -> tuple[Any, Any]:
        """Stages ``ladder_<key>_export`` and ``ladder_<key>_eval``: merge ``run``'s
        adapter into its base, then evaluate it on the loop's sample."""
        exported = stage(
            f"ladder_{key}_export",
            {"run": run["run_id"]},
            lambda: st.export_candidate(Path(run["run_dir"])),
            f"merge {run['run_id']} into its base (fp32)",
        )
        evaluated = stage(
            f"ladder_{key}_eval",
            {**sample, "model": exported["fingerprint"]},
            lambda: evaluate_model(
                cfg,
                exported["model_path"],
                LazyBackend("hf", exported["model_path"], batch_size=cfg.batch_size),
                loop_dir / "eval" / key,
                obs,
            ),
            f"evaluate the {what} model",
        )
        return exported, evaluated

    # rung 2: the SFT model alone
    sft_export, sft_eval = export_and_eval("sft", sft, "SFT")
    sides = [
        (0, "base", cfg.model, base, []),
        (1, "guard", f"guard+{cfg.model}", guard, []),
        (2, "SFT", sft_export["model_path"], sft_eval, [sft]),
        (3, "SFT+DPO", cand["model"], cand, [sft, dpo]),
    ]
    # rung 4 (when asked): a reward model, then RLOO on top of the SFT adapter
    if cfg.rlhf:
        dv = out["data"].outputs["data_version"]
        reward_cfg = st.training_config(cfg, "reward")
        reward = stage(
            "ladder_reward",
            {"data": dv, "config": reward_cfg.model_dump(mode="json")},
            lambda: st.run_training(cfg, "reward", dv, reward_cfg, obs.show_training),
            "reward model on the preference pairs",
        )
        ppo_cfg = st.training_config(
            cfg, "ppo", [f"init_adapter={sft['run_dir']}", f"reward_model={reward['run_dir']}"]
        )
        ppo = stage(
            "ladder_ppo",
            {"data": dv, "config": ppo_cfg.model_dump(mode="json")},
            lambda: st.run_training(cfg, "ppo", dv, ppo_cfg, obs.show_training),
            "RLOO against the reward model, on top of the SFT adapter",
        )
        rlhf_export, rlhf_eval = export_and_eval("rlhf", ppo, "RLHF")
        sides.append((4, "SFT+RLHF", rlhf_export["model_path"], rlhf_eval, [sft, reward, ppo]))
    rungs: list[Rung] = []
    for index, name, model, ev, runs in sides:
        verdict = (
            out["gate"].outputs
            if index == 3
            else stage(
                f"ladder_gate_{index}",
                {"base": base, "rung": ev, "policy": state.inputs.get("gate.yaml")},
                lambda ev=ev, index=index: st.run_gate(
                    cfg, base_dir, Path(ev["dir"]), loop_dir / f"verdict-rung{index}.json"
                ),
            )
        )
        cost = RungCost(
            train_s=sum(float(r.get("wall_s", 0.0)) for r in runs),
            eval_s=float(ev.get("eval_s", 0.0)),
            tokens_trained=sum(int(r.get("tokens", 0)) for r in runs),
            size=size,
        )
        for r in runs:
            hours, note = _gpu_hours(r, size)
            cost.gpu_hours += hours
            if note:
                cost.notes.append(note)
        if index == 1:
            cost.notes.append("no training; pays at inference: retries and fallbacks per answer")
        if index == 4:
            cost.notes.append(
                "includes the reward model; RL can game it: watch the regression rates"
            )
        rungs.append(
            Rung(
                index=index,
                name=name,
                model=model,
                eval_dir=ev["dir"],
                decision=verdict["decision"],
                verdict_path=verdict["verdict_path"],
                blocking=list(verdict.get("blocking", [])),
                metrics=_metrics(Path(ev["dir"])),
                cost=cost,
            )
        )
    best, text = recommend(rungs)
    result = LadderResult(
        loop_id=state.loop_id,
        workspace=str(cfg.workspace),
        size=size,
        rungs=rungs,
        recommended=best.index if best else None,
        recommendation=text,
        stages=timings,
    )
    path = cfg.ws.root.resolve() / "reports" / "posttrain" / state.loop_id / "ladder.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.report = str(path)
    path.write_text(render_markdown(result), encoding="utf-8")
    path.with_suffix(".json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _fmt(row: RateRow | None) -> str:
    if row is None or row.rate is None:
        return "–"
    return f"{row.rate:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


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
            *[_fmt(r.metrics.get(m)) for m in LADDER_METRICS],
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
