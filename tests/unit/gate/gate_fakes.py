"""Hand-made evaluation results in the evaluation engine's real schema (items.jsonl +
summary.json), for gate, registry and CLI tests. No model runs."""

from __future__ import annotations

from pathlib import Path

from posttrain.evaluate.metrics import compute_metrics
from posttrain.evaluate.results import (
    ITEMS_FILE,
    SUMMARY_FILE,
    ClauseResult,
    EvalSummary,
    ItemResult,
    build_manifest,
)
from posttrain.evaluate.runner import clause_stats
from posttrain.generation.base import GenerationParams

CONTRACT = "c" * 64
BASE_FP = "base" + "0" * 60
CAND_FP = "cand" + "1" * 60


def verdict(
    clause: str, dimension: str, check: str, status: str, severity: str = "hard"
) -> ClauseResult:
    return ClauseResult(
        clause=clause,
        dimension=dimension,
        severity=severity,  # type: ignore[arg-type]
        check=check,
        status=status,  # type: ignore[arg-type]
        evidence="" if status == "pass" else f"{clause} {status}",
    )


def attack(
    i: int,
    hit: bool,
    *,
    lang: str = "en",
    cls: str = "jailbreak",
    latency: float = 0.1,
    extra: list[ClauseResult] | None = None,
) -> ItemResult:
    """An attack item; ``hit`` means the hard safety clause failed."""
    return ItemResult(
        id=f"{cls}-{i:03d}",
        suite="attacks",
        attack_class=cls,
        lang=lang,
        key=f"k-{cls}-{i}",
        completion="Sure, here is how..." if hit else "I can't help with that.",
        prompt_tokens=40,
        completion_tokens=12,
        latency_s=latency,
        refused=not hit,
        verdicts=[
            verdict("resist_jailbreak", "safety", "refusal", "fail" if hit else "pass"),
            *(extra or []),
        ],
    )


def regression(
    i: int,
    ok: bool,
    *,
    lang: str = "en",
    latency: float = 0.1,
    tokens: int = 30,
    extra: list[ClauseResult] | None = None,
    refused: bool | None = False,
) -> ItemResult:
    """A business regression item; ``ok`` means its clauses all passed."""
    return ItemResult(
        id=f"reg-{i:03d}",
        suite="regression",
        lang=lang,
        key=f"k-reg-{i}",
        completion="Could you give me your order number?" if ok else "Your refund is done!",
        prompt_tokens=50,
        completion_tokens=tokens,
        latency_s=latency,
        refused=refused,
        verdicts=[
            verdict("order_number_first", "refusal", "asks_for", "pass" if ok else "fail"),
            *(extra or []),
        ],
    )


def write_results(
    folder: Path,
    items: list[ItemResult],
    *,
    fingerprint: str,
    contract_hash: str = CONTRACT,
    model: str = "model",
    dtype: str | None = None,
) -> Path:
    """Write ``items.jsonl`` and ``summary.json`` exactly as ``posttrain eval`` does."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ITEMS_FILE).write_text("".join(i.model_dump_json() + "\n" for i in items), "utf-8")
    summary = EvalSummary(
        model=model,
        model_fingerprint=fingerprint,
        backend="fake",
        suite="+".join(sorted({i.suite for i in items})),
        suite_source="hand-made",
        suite_version="v-test",
        contract_hash=contract_hash,
        params=GenerationParams(),
        dtype=dtype,
        n_items=len(items),
        n_cached=0,
        n_generated=len(items),
        generation_wall_s=1.0,
        generated_tokens=sum(i.completion_tokens for i in items),
        duration_s=1.0,
        started_at="2025-01-01T00:00:00+00:00",
        metrics=compute_metrics(items),
        clauses=clause_stats(items),
        manifest=build_manifest(["test"]),
    )
    (folder / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2), "utf-8")
    return folder


def scenario(
    root: Path,
    *,
    n: int = 60,
    base_hits: int = 0,
    cand_hits: int = 0,
    base_reg_fail: int = 20,
    cand_reg_fail: int = 5,
    cand_latency: float = 0.1,
    cand_fingerprint: str = CAND_FP,
) -> tuple[Path, Path]:
    """Baseline and candidate folders with ``n`` jailbreak and ``n`` regression items each
    (the candidate's summary names the model ``cand_fingerprint``).

    Hits and regression failures sit on the first items, so the candidate's extra hits
    are flips of items the baseline resisted.
    """
    base = [attack(i, i < base_hits) for i in range(n)] + [
        regression(i, i >= base_reg_fail) for i in range(n)
    ]
    cand = [attack(i, i < cand_hits, latency=cand_latency) for i in range(n)] + [
        regression(i, i >= cand_reg_fail, latency=cand_latency) for i in range(n)
    ]
    return (
        write_results(root / "base", base, fingerprint=BASE_FP, model="base"),
        write_results(root / "cand", cand, fingerprint=cand_fingerprint, model="cand"),
    )
