"""Training configs: one pydantic model per method = the YAML file = ``key=value`` overrides.

A config file holds the fields of its method's model at the top level, plus an optional
``profiles:`` mapping of named override sets (``quick`` for a CPU run)::

    model: smollm2-135m-instruct
    seq_len: 384
    lr: 2.0e-4
    profiles:
      quick: {max_steps: 60, limit: 300}

:func:`load_config` applies the profile, then the command-line overrides, and validates
eagerly: an unknown key, a wrong type or an out-of-range value raises a
:class:`~posttrain.errors.ConfigError` naming the file, the field and the bad value.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from posttrain.errors import ConfigError

__all__ = [
    "METHODS",
    "DPOTrainConfig",
    "PPOTrainConfig",
    "RewardTrainConfig",
    "SFTTrainConfig",
    "SafetyProbeConfig",
    "TrainConfig",
    "config_class",
    "config_hash",
    "load_config",
    "parse_overrides",
    "profile_fields",
]

Method = Literal["lora", "qlora", "full"]
METHODS: tuple[str, ...] = ("sft", "dpo", "reward", "ppo")


class SafetyProbeConfig(BaseModel):
    """Run a slice of the attack suite through the evaluation engine every ``every`` steps
    and stop when the attack hit rate exceeds the base model's by more than ``margin``."""

    model_config = ConfigDict(extra="forbid")

    every: int = Field(default=20, ge=1)
    suite: str = "attacks"
    # Samples per attack class (the suite's ``head``), to keep a probe to seconds.
    limit: int = Field(default=4, ge=1)
    margin: float = Field(default=0.10, ge=0.0, le=1.0)
    max_new_tokens: int = Field(default=48, ge=1, le=4096)
    contract: Path = Path("contract.yaml")


class TrainConfig(BaseModel):
    """The control panel every recipe shares."""

    model_config = ConfigDict(extra="forbid")

    model: str = "smollm2-135m-instruct"
    # The data stage's output folder (holds manifest.json, sft.jsonl, prefs.jsonl).
    data: Path = Path("data")
    method: Method = "lora"
    seq_len: int = Field(default=384, ge=16, le=131072)
    micro_batch: int = Field(default=4, ge=1, le=4096)
    grad_accum: int = Field(default=1, ge=1, le=4096)
    lora_r: int = Field(default=16, ge=1, le=1024)
    lora_alpha: int = Field(default=32, ge=1, le=4096)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    lr: float = Field(default=2e-4, gt=0.0)
    # Linear warm-up: a fraction of the total steps when < 1, else a number of steps.
    warmup: float = Field(default=0.0, ge=0.0)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    weight_decay: float = Field(default=0.0, ge=0.0)
    max_grad_norm: float = Field(default=1.0, gt=0.0)
    epochs: float = Field(default=1.0, gt=0.0)
    # When set, overrides ``epochs``.
    max_steps: int | None = Field(default=None, ge=1)
    seed: int = 0
    # Use only the first ``limit`` records (after the split); None = all.
    limit: int | None = Field(default=None, ge=1)
    # Held-out validation split: a fraction of the records, chosen by a hash of their id.
    val_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    val_max: int = Field(default=64, ge=0)
    # Signals every ``log_every`` steps; validation loss (and checkpoints) every ``eval_every``.
    log_every: int = Field(default=1, ge=1)
    eval_every: int = Field(default=20, ge=1)
    save_every: int | None = Field(default=None, ge=1)
    keep_checkpoints: int = Field(default=3, ge=1)
    # Early stopping on validation loss; None disables it.
    patience: int | None = Field(default=None, ge=1)
    min_delta: float = Field(default=0.0, ge=0.0)
    gradient_checkpointing: bool = False
    # Compute precision: "auto" = bf16 autocast where the hardware has native bf16
    # (a GPU that supports it, a CPU with AVX-512 BF16 / AMX), else fp32; "bf16" forces
    # the autocast (emulated, and slower than fp32, on an AVX2-only CPU); "fp32" never.
    # The weights (and LoRA's trainable ones) stay fp32 either way.
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    # Pad each batch's length to a multiple of this (the padding carries no label and no
    # attention, so the loss is the same). "auto": 32 on a CPU under bf16 autocast, where
    # oneDNN builds and keeps a kernel per matrix shape, so that an unbounded number of
    # batch lengths made memory grow at every step (issue 17); None elsewhere.
    pad_to_multiple_of: int | Literal["auto"] | None = Field(default="auto")
    # "contract": train under the system prompt evaluation uses (rendered from the
    # workspace contract), so training text == evaluation text; "data": as the data has it.
    system_prompt: Literal["contract", "data"] = "contract"
    contract: Path = Path("contract.yaml")
    safety_probe: SafetyProbeConfig | None = None
    # Train on data whose quality rules failed; the reason is recorded in the run manifest.
    allow_failed_quality: str | None = None
    threads: int | None = Field(default=None, ge=1)
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.warmup >= 1 and self.warmup != int(self.warmup):
            raise ValueError(
                f"warmup={self.warmup}: use a fraction in [0, 1) or a whole number of steps"
            )
        if isinstance(self.pad_to_multiple_of, int) and self.pad_to_multiple_of < 1:
            raise ValueError(
                f"pad_to_multiple_of={self.pad_to_multiple_of}: use a positive whole number, "
                "auto, or null (no rounding)"
            )
        if self.allow_failed_quality is not None and not self.allow_failed_quality.strip():
            raise ValueError("allow_failed_quality needs a reason (a non-empty sentence)")
        return self

    # The recipe this config is for ("sft", "dpo", ...).
    kind: ClassVar[str] = ""


class SFTTrainConfig(TrainConfig):
    """Supervised fine-tuning on ``data/sft.jsonl`` (chat ``messages``)."""

    # Pack several short examples into one ``seq_len`` row (padding-free; best with a
    # variable-length attention kernel on a GPU). Off: length-grouped batches instead.
    packing: bool = False

    kind: ClassVar[str] = "sft"


class DPOTrainConfig(TrainConfig):
    """Direct preference optimisation on ``data/prefs.jsonl`` (prompt / chosen / rejected)."""

    lr: float = Field(default=5e-5, gt=0.0)
    beta: float = Field(default=0.1, gt=0.0)
    loss_type: Literal["sigmoid", "ipo", "hinge", "robust", "apo_zero", "apo_down"] = "sigmoid"
    # Compute the reference log-probs once before training instead of at every step.
    precompute_ref: bool = True
    # Start from an SFT run's adapter (a run folder or an adapter folder); the reference
    # is then that SFT model, with the DPO adapter disabled.
    init_adapter: Path | None = None

    kind: ClassVar[str] = "dpo"


class RewardTrainConfig(TrainConfig):
    """A reward model (sequence classifier with one score) on the preference pairs."""

    lr: float = Field(default=1e-4, gt=0.0)

    kind: ClassVar[str] = "reward"


class PPOTrainConfig(TrainConfig):
    """On-policy RL with a KL penalty (TRL's RLOO) against a reward model run."""

    lr: float = Field(default=1e-5, gt=0.0)
    # A reward run folder (its ``reward_model/``), or a model path.
    reward_model: Path
    kl_coef: float = Field(default=0.05, ge=0.0)
    num_generations: int = Field(default=2, ge=2, le=64)
    max_new_tokens: int = Field(default=48, ge=1, le=4096)
    temperature: float = Field(default=1.0, gt=0.0, le=5.0)
    # Start from an SFT run's adapter, as DPO does: the policy and its KL reference are
    # then that SFT model (the reference with the RL adapter disabled).
    init_adapter: Path | None = None

    kind: ClassVar[str] = "ppo"


_CLASSES: dict[str, type[TrainConfig]] = {
    "sft": SFTTrainConfig,
    "dpo": DPOTrainConfig,
    "reward": RewardTrainConfig,
    "ppo": PPOTrainConfig,
}


def config_class(method: str) -> type[TrainConfig]:
    """The config model of a recipe; raises :class:`ConfigError` for an unknown one."""
    try:
        return _CLASSES[method]
    except KeyError:
        raise ConfigError(
            f"unknown training method {method!r}", hint=f"use one of: {', '.join(METHODS)}"
        ) from None


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["lr=1e-4", "safety_probe.every=5"]`` -> a nested dict; values are parsed as YAML
    scalars (``1e-4`` a float, ``null`` None, ``[a, b]`` a list)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"override {item!r} is not key=value", hint="write e.g. lr=1e-4 max_steps=20"
            )
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and any(c in value for c in ".eE"):
            # YAML 1.1 reads "1e-4" as a string; a number is what was meant.
            with contextlib.suppress(ValueError):
                value = float(value)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", hint="pass --config FILE")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of fields")
    return data


def _format_error(exc: ValidationError, source: str, cls: type[BaseModel]) -> ConfigError:
    lines = []
    hint = None
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = list(cls.model_fields)
            close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            lines.append(f'unknown field "{where}"')
            hint = (f"did you mean {close[0]!r}? " if close else "") + (
                f"known fields: {', '.join(known)}"
            )
        else:
            lines.append(f'field "{where}": {err["msg"]} (got {err.get("input")!r})')
    return ConfigError(f"{source}: " + "; ".join(lines), hint=hint)


def _split_profiles(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Pop the ``profiles:`` mapping off a config file's fields."""
    profiles = data.pop("profiles", None) or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{source}: profiles must map a profile name to overrides")
    return profiles


def _profile(profiles: Mapping[str, Any], profile: str, source: str) -> dict[str, Any]:
    if profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"{source}: no profile {profile!r}", hint=f"profiles defined here: {known}"
        )
    fields = profiles[profile] or {}
    if not isinstance(fields, Mapping):
        raise ConfigError(f"{source}: profile {profile!r} must map fields to values")
    return dict(fields)


def profile_fields(path: Path, profile: str) -> dict[str, Any]:
    """The fields the profile ``profile`` of the config file ``path`` sets (and only those).

    Raises :class:`ConfigError` for an unreadable file or a profile it does not define.
    """
    return _profile(_split_profiles(_read_yaml(path), str(path)), profile, str(path))


def load_config(
    method: str,
    path: Path | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    *,
    profile: str | None = None,
    base: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> TrainConfig:
    """Read, profile, override and validate a training config.

    Layers, each over the one before: ``base`` (a run's saved config, for ``--resume``),
    the fields of the file ``path``, its profile ``profile``, then ``overrides``.
    ``source`` names the config in error messages (default: the file).

    Raises :class:`ConfigError` (file, field, bad value) for anything that does not validate,
    and for a profile the file does not define.
    """
    cls = config_class(method)
    source = source or (str(path) if path is not None else "config")
    data: dict[str, Any] = _read_yaml(path) if path is not None else {}
    profiles = _split_profiles(data, source)
    data = _merge(dict(base or {}), data)
    if profile is not None:
        data = _merge(data, _profile(profiles, profile, source))
    extra = parse_overrides(list(overrides)) if not isinstance(overrides, Mapping) else overrides
    data = _merge(data, extra)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _format_error(exc, source, cls) from None


def config_hash(config: TrainConfig) -> str:
    """A hash of the resolved config, without ``run_id`` (16 hex digits)."""
    payload = config.model_dump(mode="json", exclude={"run_id"})
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
