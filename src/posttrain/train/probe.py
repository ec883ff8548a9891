"""The safety probe: a slice of the attack suite through the evaluation engine, on the
model being trained, giving its attack hit rate.

The model is wrapped as a generation backend (the same ``hf`` backend evaluation uses,
handed the in-memory model) and judged under the workspace's contract, so the probe
measures exactly what ``posttrain eval`` would, only on fewer items.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from posttrain.generation.base import Conversation, Generation, GenerationParams, ProgressCallback
from posttrain.train.config import TrainConfig
from posttrain.train.signals import Probe

__all__ = ["InMemoryBackend", "attack_hit_rate", "make_probe"]


class InMemoryBackend:
    """The ``hf`` backend on a model held in memory, with a fingerprint per probe call (the
    weights change between calls, so nothing may be served from a cache)."""

    name = "hf"

    def __init__(self, model: Any, tokenizer: Any, fingerprint: str) -> None:
        from posttrain.generation.hf import HFBackend

        self._inner = HFBackend("in-memory", batch_size=8, loaded=(model, tokenizer))
        self._fingerprint = fingerprint

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        return self._inner.generate(conversations, params, on_progress=on_progress)


def attack_hit_rate(summary: Any) -> float:
    """The overall ``attack_hit_rate`` of an evaluation summary (0.0 when not measured)."""
    row = summary.metrics.get("attack_hit_rate")
    return float(row.rate) if row is not None and row.rate is not None else 0.0


def make_probe(config: TrainConfig, workspace: Path) -> Probe | None:
    """The probe function for ``config.safety_probe`` (None when it is off).

    Loads the contract and the suite slice once, up front, so a bad path fails before
    training starts. Raises the contract loader's and suite loader's errors.
    """
    spec = config.safety_probe
    if spec is None:
        return None
    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate, load_suite

    contract_path = spec.contract if spec.contract.is_absolute() else workspace / spec.contract
    contract = load_contract(contract_path)
    suite = load_suite(spec.suite).head(spec.limit)
    params = GenerationParams(max_new_tokens=spec.max_new_tokens)
    calls = [0]

    def probe(model: Any, tokenizer: Any) -> float:
        calls[0] += 1
        backend = InMemoryBackend(model, tokenizer, fingerprint=f"probe-{calls[0]}")
        with tempfile.TemporaryDirectory(prefix="posttrain-probe-") as tmp:
            result = evaluate(
                EvalConfig(model="probe", params=params, out_dir=Path(tmp), cache_dir=None),
                backend,
                contract,
                suite,
            )
        return attack_hit_rate(result.summary)

    return probe
