"""Training signals and the actions they trigger, as one ``TrainerCallback``.

Every ``log_every`` steps a line goes to ``runs/<run_id>/signals.jsonl`` and to a live line
on screen: step, loss, learning rate, tokens/s, ETA, peak memory, wall time; validation
loss when it is measured; for DPO the reward accuracy (the preference win rate) and
margins. The actions:

* **divergence**: a NaN or infinite loss (or gradient norm) stops the run before anything
  is saved, so the last checkpoint is the last good one; the recipe then exits non-zero.
* **early stop**: validation loss that has not improved by ``min_delta`` for ``patience``
  evaluations stops the run; the trainer restores the best checkpoint.
* **safety probe**: every N steps a probe function (a slice of the attack suite through the
  evaluation engine, see :mod:`posttrain.train.probe`) measures the attack hit rate; above
  the base model's rate plus a margin the run stops and exits non-zero.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from posttrain.errors import SafetyStopError, TrainingDivergedError

__all__ = [
    "SIGNALS_FILE",
    "Probe",
    "SafetyStopError",
    "Signal",
    "SignalsCallback",
    "TrainingDivergedError",
    "peak_rss_mb",
    "read_signals",
]

SIGNALS_FILE = "signals.jsonl"
SCHEMA_VERSION = 1

# A probe returns the attack hit rate in [0, 1] of the model as it is now.
Probe = Callable[[Any, Any], float]

# Keys of the trainer's logs, renamed for the signals file.
_RENAMES = {
    "loss": "loss",
    "learning_rate": "lr",
    "grad_norm": "grad_norm",
    "eval_loss": "val_loss",
    "rewards/accuracies": "reward_accuracy",
    "rewards/margins": "reward_margin",
    "eval_rewards/accuracies": "val_reward_accuracy",
    "eval_rewards/margins": "val_reward_margin",
    "accuracy": "reward_accuracy",
    "eval_accuracy": "val_reward_accuracy",
    "margin": "reward_margin",
    "eval_margin": "val_reward_margin",
    "kl": "kl",
    "reward": "reward",
    "objective/kl": "kl",
}


class Signal(BaseModel):
    """One line of ``signals.jsonl``."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    # "train", "eval", "probe" or "event" (a stop, a restore).
    kind: str
    step: int
    epoch: float | None = None
    wall_s: float
    peak_rss_mb: float
    peak_gpu_mb: float | None = None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _peak_gpu_mb() -> float | None:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return None


def read_signals(path: Path) -> list[dict[str, Any]]:
    """The lines of a ``signals.jsonl`` file (an empty list when it does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class SignalsCallback(TrainerCallback):
    """Write signals, show the live line, and stop on divergence, early stop or the probe.

    ``path`` is the ``signals.jsonl`` to append to (only the main process writes).
    After training, :attr:`stop_reason` says why the run stopped early (``None``: it
    finished), and :attr:`last` holds the latest value of every signal.
    """

    def __init__(
        self,
        path: Path,
        *,
        log_every: int = 1,
        patience: int | None = None,
        min_delta: float = 0.0,
        probe: Probe | None = None,
        probe_every: int = 20,
        probe_margin: float = 0.1,
        show: bool = True,
    ) -> None:
        self.path = path
        self.log_every = log_every
        self.patience = patience
        self.min_delta = min_delta
        self.probe = probe
        self.probe_every = probe_every
        self.probe_margin = probe_margin
        self.show = show
        self.stop_reason: str | None = None
        self.last: dict[str, Any] = {}
        self.best_val: float | None = None
        self.best_step: int | None = None
        self.base_hit_rate: float | None = None
        self.probe_rates: list[tuple[int, float]] = []
        self._bad_evals = 0
        self._t0 = time.perf_counter()
        self._last_t = self._t0
        self._last_tokens = 0
        self._last_step = 0
        self._model: Any = None
        self._tokenizer: Any = None
        self._live: Any = None
        self._task: Any = None
        self._main = True

    # -- plumbing ---------------------------------------------------------------------

    def _emit(self, kind: str, state: TrainerState, **values: Any) -> None:
        signal = Signal(
            kind=kind,
            step=state.global_step,
            epoch=round(state.epoch, 4) if state.epoch is not None else None,
            wall_s=round(time.perf_counter() - self._t0, 3),
            peak_rss_mb=round(peak_rss_mb(), 1),
            peak_gpu_mb=_peak_gpu_mb(),
            **values,
        )
        row = signal.model_dump(exclude_none=True)
        self.last.update({k: v for k, v in row.items() if k not in ("kind", "schema_version")})
        if not self._main:
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    def _say(self, text: str) -> None:
        if self._main and self.show:
            from posttrain.core.console import err_console

            if self._live is not None:
                self._live.console.print(text)
            else:
                err_console.print(text)

    # -- callback events --------------------------------------------------------------

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self._main = state.is_world_process_zero
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._t0 = self._last_t = time.perf_counter()
        self._last_step = state.global_step
        self._last_tokens = int(state.num_input_tokens_seen or 0)
        self._model = kw.get("model")
        self._tokenizer = kw.get("processing_class")
        if self._main and self.show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from posttrain.core.console import err_console

            self._live = Progress(
                TextColumn("[bold]train[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=err_console,
                transient=False,
            )
            self._live.start()
            self._task = self._live.add_task(
                "", total=state.max_steps or None, completed=state.global_step
            )
        if self.probe is not None and self._model is not None:
            self.base_hit_rate = self._run_probe()
            self._emit("probe", state, attack_hit_rate=self.base_hit_rate, base=True)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kw: Any,
    ) -> None:
        logs = logs or {}
        values = {_RENAMES[k]: float(v) for k, v in logs.items() if k in _RENAMES}
        for key in ("loss", "grad_norm"):
            value = values.get(key)
            if value is not None and not math.isfinite(value):
                # Stop before this step's state is saved: the last checkpoint stays good.
                self.stop_reason = f"diverged: {key} is {value} at step {state.global_step}"
                control.should_training_stop = True
                control.should_save = False
                control.should_evaluate = False
                self._emit("event", state, event="diverged", **{key: str(value)})
                self._say(f"[bold red]stopped:[/] {self.stop_reason}")
                return
        if "val_loss" in values:
            self._emit("eval", state, **values)
            self._early_stop(values["val_loss"], state, control)
            return
        if "loss" not in values and "reward" not in values:
            return
        now = time.perf_counter()
        tokens = int(state.num_input_tokens_seen or 0)
        steps = state.global_step - self._last_step
        dt = now - self._last_t
        tok_s = (tokens - self._last_tokens) / dt if dt > 0 and tokens else None
        step_s = dt / steps if steps > 0 else None
        eta = step_s * (state.max_steps - state.global_step) if step_s else None
        if state.global_step % self.log_every == 0 or state.global_step >= state.max_steps:
            self._emit(
                "train",
                state,
                tokens=tokens,
                tokens_per_s=round(tok_s, 1) if tok_s else None,
                eta_s=round(eta, 1) if eta is not None else None,
                **values,
            )
        self._last_t, self._last_tokens, self._last_step = now, tokens, state.global_step
        if self._live is not None:
            parts = [f"loss {values['loss']:.4f}" if "loss" in values else ""]
            parts.append(f"lr {values['lr']:.2e}" if "lr" in values else "")
            parts.append(f"{tok_s:.0f} tok/s" if tok_s else "")
            parts.append(f"ETA {eta:.0f}s" if eta is not None else "")
            if self.last.get("val_loss") is not None:
                parts.append(f"val {self.last['val_loss']:.4f}")
            if "reward_accuracy" in values:
                parts.append(f"win {values['reward_accuracy']:.2f}")
            parts.append(f"rss {peak_rss_mb():.0f}MB")
            self._live.update(
                self._task,
                completed=state.global_step,
                description="  ".join(p for p in parts if p),
            )

    def _early_stop(self, val: float, state: TrainerState, control: TrainerControl) -> None:
        if self.best_val is None or val < self.best_val - self.min_delta:
            self.best_val, self.best_step, self._bad_evals = val, state.global_step, 0
            return
        self._bad_evals += 1
        if self.patience is not None and self._bad_evals >= self.patience:
            self.stop_reason = (
                f"early stop: val loss has not improved for {self._bad_evals} evaluations "
                f"(best {self.best_val:.4f} at step {self.best_step})"
            )
            control.should_training_stop = True
            self._emit("event", state, event="early_stop", best_step=self.best_step)
            self._say(f"[yellow]{self.stop_reason}[/]")

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if self.probe is None or self.base_hit_rate is None or self._model is None:
            return
        if state.global_step % self.probe_every != 0:
            return
        rate = self._run_probe()
        self.probe_rates.append((state.global_step, rate))
        limit = self.base_hit_rate + self.probe_margin
        self._emit("probe", state, attack_hit_rate=rate, limit=round(limit, 4))
        if rate > limit:
            self.stop_reason = (
                f"safety probe: attack hit rate {rate:.2f} at step {state.global_step} is above "
                f"the base model's {self.base_hit_rate:.2f} + margin {self.probe_margin:.2f}"
            )
            control.should_training_stop = True
            control.should_save = False
            self._emit("event", state, event="safety_stop")
            self._say(f"[bold red]stopped:[/] {self.stop_reason}")

    def _run_probe(self) -> float:
        assert self.probe is not None  # checked by the callers
        model = self._model
        was_training = model.training
        side = getattr(self._tokenizer, "padding_side", None)
        model.eval()
        try:
            return float(self.probe(model, self._tokenizer))
        finally:
            if was_training:
                model.train()
            if side is not None:
                self._tokenizer.padding_side = side

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
