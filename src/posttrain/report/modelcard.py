"""The model card of a registered version, under Mitchell et al.'s headings (2019).

Model details, intended use, factors, metrics, evaluation data, training data,
quantitative analyses, ethical considerations, caveats and recommendations; plus the
safety results per attack class and language, and links to the datasheet, the run
report, the training manifests and the gate verdict. Every number comes from the
:class:`~posttrain.report.model.RunReport` of the run that produced the version.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from posttrain.core.fmt import fmt_rate
from posttrain.evaluate.metrics import METRICS
from posttrain.evaluate.suites import ATTACK_CLASSES
from posttrain.report.model import KEY_METRICS, RunReport

__all__ = ["CardContext", "render_model_card", "write_model_card"]

# Licences of the models posttrain knows by name; anything else: "see the base model".
_LICENCES = {
    "smollm2-135m-instruct": "Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct)",
    "tiny-random": "none (a randomly initialised test model)",
}


class CardContext(BaseModel):
    """What the card says beyond the run report: the version and the product."""

    model_config = ConfigDict(extra="forbid")

    version: str
    model_path: str
    fingerprint: str | None = None
    registered_at: str = ""
    product: str = ""
    product_description: str = ""
    base_model: str = ""
    datasheet: str | None = None
    run_report: str | None = None
    # Counts from the data manifest (sft, prefs, buckets, languages) when there is one.
    data_counts: dict[str, Any] = Field(default_factory=dict)
    deid_policy: str | None = None


def _rel(target: str | None, card_dir: Path) -> str | None:
    if not target:
        return None
    try:
        return Path(os.path.relpath(Path(target).resolve(), card_dir.resolve())).as_posix()
    except ValueError:
        return str(target)


def _link(label: str, target: str | None, card_dir: Path) -> str:
    rel = _rel(target, card_dir)
    return f"[{label}]({rel})" if rel else f"{label}: –"


def render_model_card(report: RunReport, ctx: CardContext, *, card_dir: Path) -> str:
    """The card as Markdown; links are relative to ``card_dir`` (where it will be written)."""
    langs = sorted({r.lang for r in report.candidate.metrics.rates if r.lang != "all"})
    classes = [c for c in ATTACK_CLASSES if report.candidate.rate("attack_hit_rate", c) is not None]
    sections = [
        _model_details(report, ctx),
        _intended_use(report, ctx),
        _factors(langs, classes),
        _metrics(),
        _evaluation_data(report),
        _training_data(report, ctx, card_dir),
        _quantitative_analyses(report, langs, classes),
        _ETHICAL_CONSIDERATIONS,
        _caveats_and_recommendations(report),
        _links(report, ctx, card_dir),
    ]
    return "\n".join(line for section in sections for line in section) + "\n"


# -- the sections, in the card's order; each after the first starts with a blank line ------


def _model_details(report: RunReport, ctx: CardContext) -> list[str]:
    product = ctx.product or report.product or "the product"
    base = ctx.base_model or report.baseline.model
    recipes = " → ".join(f"{t.recipe} ({t.config.get('method', 'lora')})" for t in report.training)
    out = [
        f"# Model card: {product} {ctx.version}",
        "",
        f"Written by posttrain for registered version `{ctx.version}` from run "
        f"`{report.run_id}`. Gate decision: **{report.decision}**.",
        "",
        "## Model details",
        "",
        f"- Version: `{ctx.version}`, registered {ctx.registered_at or report.created_at}",
        f"- Model files: `{ctx.model_path}` (fingerprint `{ctx.fingerprint or '–'}`)",
        f"- Base model: `{base}`; licence: {_LICENCES.get(base, 'that of the base model')}",
        f"- Post-training: {recipes or 'none'}",
    ]
    for t in report.training:
        out.append(
            f"- Training run `{t.run_id}` ({t.recipe}, {t.status}): config hash `{t.config_hash}`, "
            f"{t.n_train} training / {t.n_val} validation examples, {t.tokens} tokens, "
            f"{t.wall_s:.0f}s; final loss {t.final_signals.get('loss', '–')}"
        )
    return out


def _intended_use(report: RunReport, ctx: CardContext) -> list[str]:
    return [
        "",
        "## Intended use",
        "",
        "- Primary use: "
        + (ctx.product_description or report.product or "the product the contract describes"),
        "- Primary users: the product's customers, through the product's own front end, under "
        "the behaviour contract's system prompt (the prompt it was evaluated with).",
        "- Out of scope: use without the contract's system prompt; any domain the contract "
        "does not cover (such requests should be handed over to a person); use as a source "
        "of facts about orders or customers without the product's own systems.",
    ]


def _factors(langs: list[str], classes: list[str]) -> list[str]:
    return [
        "",
        "## Factors",
        "",
        f"- Languages evaluated: {', '.join(langs) or '–'}; every rate below is also reported "
        "per language.",
        f"- Attack classes: {', '.join(classes) or '–'} (direct prompt injection and injection "
        "through documents or tool output are measured apart).",
        "- Over-refusal is measured on benign requests that look risky.",
    ]


def _metrics() -> list[str]:
    out = ["", "## Metrics", ""]
    out += [f"- `{metric}`: {METRICS[metric]}" for metric in KEY_METRICS if metric in METRICS]
    out.append(
        "- Rates carry 95% Wilson intervals; candidate-vs-baseline deltas a paired-bootstrap "
        "95% interval and McNemar's exact test. The gate judges thresholds on the interval "
        "bound, not the point estimate."
    )
    return out


def _evaluation_data(report: RunReport) -> list[str]:
    out = [
        "",
        "## Evaluation data",
        "",
        f"- {report.candidate.n_items} items ({report.compare.n_paired} paired with the "
        f"baseline): the workspace's business regression set and the built-in attack and "
        f"over-refusal suites.",
    ]
    sample = report.options.get("eval_limit")
    if sample:
        out.append(
            f"- Attack suites sampled: the first {sample} items of every (class, language) "
            "stratum, the same items for baseline and candidate."
        )
    return out


def _training_data(report: RunReport, ctx: CardContext, card_dir: Path) -> list[str]:
    out = [
        "",
        "## Training data",
        "",
        f"- Data version `{report.data_version or '–'}`; "
        + _link("datasheet", ctx.datasheet, card_dir),
    ]
    counts = ctx.data_counts
    if counts:
        out.append(
            f"- {counts.get('sft', '–')} SFT records, {counts.get('prefs', '–')} preference "
            f"pairs from {counts.get('accepted', '–')} accepted failure samples "
            f"({counts.get('quarantined', 0)} quarantined)"
        )
        if counts.get("buckets"):
            out.append(
                "- Failure classes: "
                + ", ".join(f"{k} {n}" for k, n in sorted(counts["buckets"].items()))
            )
        if counts.get("languages"):
            out.append(
                "- Languages: "
                + ", ".join(f"{k} {n}" for k, n in sorted(counts["languages"].items()))
            )
    if ctx.deid_policy:
        out.append(f"- De-identification: {ctx.deid_policy}; no PII or credentials are trained on.")
    return out


def _quantitative_analyses(report: RunReport, langs: list[str], classes: list[str]) -> list[str]:
    """Key metrics against the baseline, safety per attack class and language, the gate."""
    out = [
        "",
        "## Quantitative analyses",
        "",
        f"| metric | baseline (`{report.baseline.model}`) | this version |",
        "|---|---|---|",
    ]
    for metric in KEY_METRICS:
        b, c = report.baseline.rate(metric), report.candidate.rate(metric)
        if b is not None or c is not None:
            out.append(f"| {metric} | {fmt_rate(b)} | {fmt_rate(c)} |")
    lat = report.candidate.metrics.latency
    if lat.p95_s is not None:
        blat = report.baseline.metrics.latency
        out.append(
            f"| latency P50 / P95 (s) | {blat.p50_s or 0:.2f} / {blat.p95_s or 0:.2f} | "
            f"{lat.p50_s or 0:.2f} / {lat.p95_s:.2f} |"
        )
    out += [
        "",
        "### Safety results per attack class and language",
        "",
        "| class | language | attack hit rate [95% CI] (k/n) | leak rate "
        "| baseline attack hit rate |",
        "|---|---|---|---|---|",
    ]
    for cls in classes:
        for lang in ["all", *langs]:
            row = report.candidate.rate("attack_hit_rate", cls, lang)
            if row is None:
                continue
            out.append(
                f"| {cls} | {lang} | {fmt_rate(row)} | "
                f"{fmt_rate(report.candidate.rate('leak_rate', cls, lang))} | "
                f"{fmt_rate(report.baseline.rate('attack_hit_rate', cls, lang))} |"
            )
    v = report.verdict
    if v is not None:
        out += ["", "### Gate", ""]
        for r in v.rules:
            if r.severity == "hard":
                out.append(f"- `{r.id}` ({r.metric}/{r.group}/{r.lang}): {r.status} — {r.message}")
    return out


_ETHICAL_CONSIDERATIONS = [
    "",
    "## Ethical considerations",
    "",
    "- Training data came from production failures; it was de-identified before any "
    "training and its datasheet records source, time and policy.",
    "- A refusal that is too eager harms users as much as an unsafe answer: over-refusal "
    "is gated next to the attack hit rate.",
    "- The attack suites are fixed and public to the team; a model can overfit them. Keep "
    "red-teaming with fresh attacks and feed new failures back into the pool.",
]


def _caveats_and_recommendations(report: RunReport) -> list[str]:
    out = [
        "",
        "## Caveats and recommendations",
        "",
        "- Results hold for the contract's system prompt and greedy decoding as evaluated; "
        "other prompts or sampling settings need their own evaluation.",
        "- Intervals are wide on small samples; a rate whose interval crosses a threshold is "
        "not evidence either way (the gate says INCONCLUSIVE).",
        "- Release in stages (1% → 5% → 25% → 100%) with live monitoring; roll back with "
        "`posttrain rollback` if a live safety metric regresses.",
    ]
    if report.verdict is not None:
        alerts = [r.id for r in report.verdict.rules if r.status == "alert"]
        if alerts:
            out.append(f"- Soft alerts to investigate: {', '.join(alerts)}.")
    return out


def _links(report: RunReport, ctx: CardContext, card_dir: Path) -> list[str]:
    out = [
        "",
        "## Links",
        "",
        f"- {_link('datasheet', ctx.datasheet, card_dir)}",
        f"- {_link('run report', ctx.run_report, card_dir)}",
        f"- {_link('gate verdict', report.verdict_path, card_dir)}",
    ]
    for t in report.training:
        out.append(
            f"- {_link(f'training run {t.run_id}', str(Path(t.path) / 'manifest.json'), card_dir)}"
        )
    return out


def write_model_card(report: RunReport, ctx: CardContext, path: Path) -> Path:
    """Write the card to ``path`` (e.g. ``reports/posttrain/model-cards/v3.md``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_model_card(report, ctx, card_dir=path.parent), encoding="utf-8")
    return path
