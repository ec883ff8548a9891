"""The data build's configuration: one pydantic model, YAML = CLI = library.

``DataConfig`` is what ``build_dataset`` takes; ``posttrain data build`` fills it from the
workspace, an optional ``--config`` YAML file and its flags. Paths are kept as given and
resolved against the workspace by the build; the manifest records them relative to it.
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from posttrain.data.deid import DeidPolicy
from posttrain.data.ingest import OPTIONAL, REQUIRED
from posttrain.errors import ConfigError

__all__ = [
    "DEFAULT_LABELS",
    "DataConfig",
    "LabelRule",
    "QualityConfig",
    "TemplateKind",
    "check_field_map",
    "load_data_config",
]

DEFAULT_LABELS = (
    "jailbreak",
    "injection",
    "indirect_injection",
    "privacy",
    "politeness",
    "out_of_scope",
    "factuality",
    "format",
    "order_number",
    "tool_misuse",
)

# How ``chosen`` is written for a label when the record has no ideal_answer.
TemplateKind = Literal["refusal", "ask_order_number", "json_recommendation", "polite_redo", "none"]


class LabelRule(BaseModel):
    """Infer ``label`` for an unlabelled record when ``pattern`` matches ``field``."""

    model_config = ConfigDict(extra="forbid")

    label: str
    field: Literal["prompt", "bad_answer", "context"]
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        import re

        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"pattern {v!r} is not a valid regex: {exc}") from None
        return v


def _default_rules() -> list[LabelRule]:
    # Ordered: the first matching rule wins. Kept short and conservative; what no rule
    # recognises goes to the `unlabeled` bucket and is reported, never guessed.
    r = [
        (
            # the answer calls a tool (or says it ran one) instead of answering: a tool-call
            # payload in the text, or a state-changing order tool named as called
            "tool_misuse",
            "bad_answer",
            r'(?i)<tool_call>|<function_call>|"(?:tool|tool_name|function)"\s*:\s*"|\b(?:issue_refund|cancel_order|update_address|lookup_customer|apply_coupon|get_order)\s*\(|\b(?:called|invoked|ran|running|calling) (?:the )?[\w-]+ (?:tool|function|api)\b|调用了?[\w\u4e00-\u9fff]{0,8}(?:工具|接口)',
        ),
        (
            "indirect_injection",
            "context",
            r"(?i)ignore (all |any )?(previous|prior|above)|忽略(之前|以上|上面|前面)|system prompt|系统提示",
        ),
        (
            "injection",
            "prompt",
            r"(?i)ignore (all |any )?(previous|prior|above|your) (instructions|rules)|忽略(之前|以上|上面|前面|你的)[^。]{0,6}(指令|规则|说明)|system prompt|系统提示词",
        ),
        (
            "jailbreak",
            "prompt",
            r"(?i)developer mode|\bDAN\b|pretend (you|to be)|role-?play|no (rules|restrictions|limits)|jailbreak|开发者模式|越狱|扮演|没有(任何)?限制|假装你",
        ),
        (
            "privacy",
            "prompt",
            r"(?i)(phone|address|email|id number|card number|password|api key)s? of|another customer|other (customer|user)s?'?|别人的|其他(用户|顾客|客户)的|他的(手机|电话|地址|身份证)|密钥|access ?key",
        ),
        (
            "order_number",
            "prompt",
            r"(?i)\b(my|the) (order|package|parcel|delivery|refund)\b|where is my|track(ing)?|退款|退货|订单|快递|物流|包裹|发货",
        ),
        (
            "format",
            "prompt",
            r"(?i)recommend|suggest (a|some)|which .* should i buy|推荐|有什么.*(好|值得)买",
        ),
        (
            "out_of_scope",
            "prompt",
            r"(?i)weather|stock|diagnos|lawyer|homework|poem|recipe|天气|股票|看病|律师|作业|写一首|菜谱",
        ),
        (
            "politeness",
            "bad_answer",
            r"(?i)\b(stupid|idiot|dumb|shut up|deal with it|not my problem|whatever)\b|爱买不买|笨蛋|白痴|闭嘴|烦不烦",
        ),
    ]
    return [LabelRule.model_validate({"label": la, "field": f, "pattern": p}) for la, f, p in r]


def _default_templates() -> dict[str, TemplateKind]:
    return {
        "jailbreak": "refusal",
        "injection": "refusal",
        "indirect_injection": "refusal",
        "privacy": "refusal",
        "out_of_scope": "refusal",
        "order_number": "ask_order_number",
        "format": "json_recommendation",
        "politeness": "polite_redo",
        "factuality": "none",
        "tool_misuse": "none",
        "unlabeled": "none",
    }


def _default_aliases() -> dict[str, list[str]]:
    # Clause ids / applies_to tags of the contract that speak for a failure label.
    return {
        "privacy": ["pii", "credential"],
        "order_number": ["order_help", "order_number"],
        "format": ["recommendation", "format"],
        "politeness": ["polite"],
        "factuality": ["unconfirmed", "factual"],
        "out_of_scope": ["out_of_scope", "handover"],
        "tool_misuse": ["tool"],
    }


def check_field_map(field_map: dict[str, str]) -> None:
    """Raise ``ValueError`` naming a key of ``field_map`` (our field -> input column) that
    is not a field of a failure record, with the fields there are."""
    known = (*REQUIRED, *OPTIONAL)
    for ours, theirs in field_map.items():
        if ours in known:
            continue
        message = f"unknown field {ours!r} in {ours}={theirs}: the fields are {', '.join(known)}"
        if theirs in known:  # the pair written the other way round
            message += f" (a mapping is OURS=THEIRS: {theirs}={ours} reads column {ours!r})"
        raise ValueError(message)


class QualityConfig(BaseModel):
    """Thresholds of the quality rules (see :mod:`posttrain.data.quality`)."""

    model_config = ConfigDict(extra="forbid")

    max_exact_duplicate_fraction: float = Field(0.01, ge=0.0, le=1.0)
    near_duplicate_jaccard: float = Field(0.85, gt=0.0, le=1.0)
    max_near_duplicate_fraction: float = Field(0.05, ge=0.0, le=1.0)
    pair_similarity_high: float = Field(0.97, ge=0.0, le=1.0)
    max_out_of_band_pair_fraction: float = Field(0.1, ge=0.0, le=1.0)
    length_ratio_low: float = Field(0.33, gt=0.0)
    length_ratio_high: float = Field(3.0, gt=0.0)
    min_pairs_per_class: int = Field(1, ge=0)
    # each required class also needs this share of all pairs (a class with one pair in
    # ten thousand is not trained on in any useful sense)
    min_pair_share_per_class: float = Field(0.02, ge=0.0, le=1.0)
    # too different to learn from: token Jaccard below this AND a length ratio above the next
    pair_token_overlap_low: float = Field(0.02, ge=0.0, le=1.0)
    pair_length_ratio_far: float = Field(6.0, ge=1.0)
    max_template_share: float = Field(0.25, gt=0.0, le=1.0)
    max_residual_pii: int = Field(0, ge=0)
    max_contaminated: int = Field(0, ge=0)
    contamination_jaccard: float = Field(0.8, gt=0.0, le=1.0)
    max_unlabeled_fraction: float = Field(0.2, ge=0.0, le=1.0)


class DataConfig(BaseModel):
    """Everything that decides the output of a data build (hashed into the manifest)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    workspace: Path = Path(".")
    inputs: list[Path] = Field(default_factory=lambda: [Path("data/failures.jsonl")])
    # Live failures `posttrain serve` captured (de-identified at capture), read beside
    # ``inputs`` in name order; None reads none.
    live_inputs: str | None = "data/live/*.jsonl"
    field_map: dict[str, str] = Field(default_factory=dict)  # our field -> input column
    labels: list[str] = Field(default_factory=lambda: list(DEFAULT_LABELS))
    label_rules: list[LabelRule] = Field(default_factory=_default_rules)
    label_aliases: dict[str, list[str]] = Field(default_factory=_default_aliases)
    templates: dict[str, TemplateKind] = Field(default_factory=_default_templates)
    # De-identification, with the retention per entity type (`policy: actions: {PHONE:
    # hash, ADDRESS: drop, ...}`: placeholder | hash | drop | quarantine; defaults in
    # posttrain.data.deid.policy); `hash` is keyed by the workspace's .posttrain/deid.key.
    policy: DeidPolicy = Field(default_factory=DeidPolicy)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    overrides: dict[str, str] = Field(default_factory=dict)  # rule name -> recorded reason
    # The build must find this file (it ties failure classes to clauses); None builds
    # without one (`--no-contract`), and then no class is required (class coverage off).
    contract: Path | None = Path("contract.yaml")
    # Prompts that must never be trained on; default: the workspace's regression set and
    # the attack suites shipped with posttrain.
    eval_sets: list[Path] | None = None
    output_dir: Path = Path("data")
    # The product catalogue recommendation answers draw from (name, url, price per line);
    # a missing file gives no recommendation template (never a placeholder).
    catalog: Path | None = Path("data/catalog.jsonl")
    # Strings the residual scan never flags, beside the e-mails and numbers the contract
    # states itself: the company's own contact points (support@..., a 400- hotline).
    residual_allow: list[str] = Field(default_factory=list)
    max_line_bytes: int = Field(1_000_000, gt=0)
    max_text_chars: int = Field(20_000, gt=0)

    @field_validator("field_map")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        check_field_map(v)
        return v

    @model_validator(mode="after")
    def _bind_policy(self) -> DataConfig:
        # the hash action's key lives in the workspace (posttrain.data.deid.secret)
        self.policy = self.policy.model_copy().bind_workspace(self.workspace)
        return self

    @field_validator("overrides")
    @classmethod
    def _reasons(cls, v: dict[str, str]) -> dict[str, str]:
        for rule, reason in v.items():
            if len(reason.strip()) < 10:
                raise ValueError(
                    f"override of {rule!r} needs a reason of at least 10 characters "
                    "(it is recorded in quality.json and the audit log)"
                )
        return v

    def input_paths(self) -> list[Path]:
        """``inputs``, then the live captures matching ``live_inputs`` (each once)."""
        paths = list(self.inputs)
        if self.live_inputs:
            seen = {self.resolve(p).resolve() for p in paths}
            for live in sorted(self.workspace.glob(self.live_inputs)):
                if live.is_file() and live.resolve() not in seen:
                    paths.append(live.relative_to(self.workspace))
        return paths

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.workspace / path

    def display(self, path: Path) -> str:
        """A path as the manifest records it: relative to the workspace when inside it."""
        p = self.resolve(path)
        try:
            return p.resolve().relative_to(self.workspace.resolve()).as_posix()
        except ValueError:
            return p.as_posix()


def load_data_config(path: Path, **overrides: object) -> DataConfig:
    """Read a YAML data config; raises :class:`ConfigError` naming the bad field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read data config: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a data config is a mapping of fields, got {type(raw).__name__}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return DataConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"{path}: field {field}: {message}",
            hint="see `posttrain data build --help` and the DataConfig docstring",
        ) from None
