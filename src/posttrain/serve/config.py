"""``serve.yaml``: how ``posttrain serve`` runs, one pydantic model, validated eagerly.

A workspace without ``serve.yaml`` gets the defaults. Every problem is reported with its
line, the way the contract's loader does it (the YAML is composed to nodes, whose marks
give the line of each value): ``serve.yaml line 7: limits.max_tokens_cap: Input should be
greater than or equal to 1 (got 0)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from posttrain.contract.loader import field_name, line_of, read_yaml  # line numbers
from posttrain.data.deid import DeidPolicy
from posttrain.errors import ConfigError

__all__ = [
    "SERVE_FILE",
    "AuthConfig",
    "CaptureConfig",
    "GuardConfig",
    "HFUpstreamConfig",
    "LimitsConfig",
    "OpenAIUpstreamConfig",
    "ServeConfig",
    "StubReply",
    "StubUpstreamConfig",
    "UpstreamConfig",
    "VersionConfig",
    "load_serve_config",
    "parse_serve_config",
]

SERVE_FILE = "serve.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HFUpstreamConfig(_Strict):
    """The model in this process (transformers), behind a small dynamic batcher: requests
    that arrive within ``batch_wait_ms`` of each other share one ``generate`` call of up
    to ``batch_size`` conversations."""

    kind: Literal["hf"] = "hf"
    batch_size: int = Field(8, ge=1, le=256)
    # 50 ms: one answer takes seconds on a CPU, so the wait costs a lone request ~1%,
    # and it lets the clients one batch answered (all at once) rejoin the next batch;
    # at 5 ms they straggled into batches of 1-3 (bench/bench_batching.py: 2.2x -> 3x+).
    batch_wait_ms: float = Field(50.0, ge=0.0, le=1000.0)
    # None: the workspace generation.yaml's dtype, as evaluation used; a value that
    # resolves otherwise is an override the server logs.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = None
    num_threads: int | None = Field(None, ge=1)


class OpenAIUpstreamConfig(_Strict):
    """Any OpenAI-compatible engine by URL (vLLM, TGI, Ollama, llama.cpp server)."""

    kind: Literal["openai"]
    base_url: str = Field(min_length=1, pattern=r"^https?://")
    # The model name the engine knows; default: the served model.
    served_model: str | None = None
    # The name of an environment variable holding the engine's key (never the key).
    api_key_env: str | None = None
    # Deadline of one upstream call, connection included.
    timeout_s: float = Field(60.0, gt=0.0, le=3600.0)
    max_connections: int = Field(64, ge=1, le=4096)


class StubReply(_Strict):
    """A scripted answer: ``reply`` when ``match`` (a regex) finds the last user turn."""

    match: str = Field(min_length=1)
    reply: str

    @model_validator(mode="after")
    def _compiles(self) -> StubReply:
        import re

        try:
            re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"match {self.match!r} is not a valid regex: {exc}") from None
        return self


class StubUpstreamConfig(_Strict):
    """A scripted upstream that answers at once (tests, demos, the gateway benchmark)."""

    kind: Literal["stub"]
    replies: list[StubReply] = Field(default_factory=list)
    default: str = "Happy to help. Could you send me your order number?"
    delay_ms: float = Field(0.0, ge=0.0, le=600_000.0)
    # When streamed: the pause before each further word (a token-by-token engine).
    word_delay_ms: float = Field(0.0, ge=0.0, le=60_000.0)


UpstreamConfig = Annotated[
    HFUpstreamConfig | OpenAIUpstreamConfig | StubUpstreamConfig, Field(discriminator="kind")
]


class GuardConfig(_Strict):
    """The runtime guard (:mod:`posttrain.serve.guard`), a hook around every upstream call.

    ``mode``: ``enforce`` acts on each grade (regenerate, fall back, redact, replace,
    refuse); ``monitor`` judges, records and captures but delivers the first answer
    unchanged (a shadow guard); ``off`` calls the upstream once and judges nothing.
    """

    mode: Literal["enforce", "monitor", "off"] = "enforce"
    # Regenerations after a format failure, before the contract's fallback.
    max_retries: int = Field(2, ge=0, le=10)
    # Clause ids the guard does not judge at runtime (e.g. one whose check needs what only
    # an evaluation suite knows); each must be a clause of the contract.
    skip_clauses: list[str] = Field(default_factory=list)
    # The canary planted in the system prompt; default: the one evaluation and training
    # derive from the contract, so the version is served the prompt it was gated with.
    canary: str | None = Field(None, min_length=8)
    # A client "system" message: `reject` answers 400; `as_user` passes its text on as
    # user-supplied context (data, not instructions) inside the user turn.
    client_system: Literal["reject", "as_user"] = "reject"
    # An answer that repeats this many words of the system prompt in runs of 8 or more
    # leaks it (one policy line quoted to a customer is ~12 words, and is fine).
    prompt_leak_words: int = Field(30, ge=8)
    # `stream: true` requests. `hold` (default): the whole answer is generated and judged
    # before its first byte is sent, so a client never sees text the guard withdraws.
    # `cut`: text is sent as the upstream produces it, `cut_lag_chars` behind, while the
    # checks that a prefix can already fail (leaks, the canary, forbidden patterns) run
    # on it; when one fails, or the judgement of the whole answer fails, the stream stops
    # with a final event saying why (grade `cut`). The price: text sent before the
    # failure stays with the client, and a format failure cannot be regenerated. Requests
    # the input side flags as attacks are always held. Guard mode `enforce` only.
    stream: Literal["hold", "cut"] = "hold"
    cut_lag_chars: int = Field(64, ge=0, le=10_000)


class LimitsConfig(_Strict):
    """What one request and one key may use."""

    max_body_bytes: int = Field(1_000_000, ge=1024)
    max_messages: int = Field(256, ge=1)
    max_message_chars: int = Field(32_000, ge=1)
    # A request asking for more than the cap gets 400; one asking for nothing gets the
    # workspace's generation.yaml max_new_tokens (what the gate judged). A number here
    # overrides it explicitly: the server logs the override when it starts.
    max_tokens_cap: int = Field(1024, ge=1, le=32768)
    default_max_tokens: int | None = Field(None, ge=1, le=32768)
    # Deadline of a whole request: every upstream attempt and the guard together.
    request_timeout_s: float = Field(120.0, gt=0.0, le=3600.0)
    # Per API key: a token bucket of `burst` requests refilled at `rate_per_minute`.
    rate_per_minute: float = Field(600.0, gt=0.0)
    burst: int = Field(60, ge=1)

    @model_validator(mode="after")
    def _default_under_cap(self) -> LimitsConfig:
        if self.default_max_tokens is not None and self.default_max_tokens > self.max_tokens_cap:
            raise ValueError(
                f"default_max_tokens ({self.default_max_tokens}) is above max_tokens_cap "
                f"({self.max_tokens_cap})"
            )
        return self


class AuthConfig(_Strict):
    # false: no key needed (a loopback demo); every request is then treated as `chat`.
    required: bool = True


class CaptureConfig(_Strict):
    """Live failure capture: guard interventions and flagged answers, de-identified."""

    enabled: bool = True
    path: Path = Path("data/live/failures.jsonl")
    # The de-identification policy (the data build's, by default).
    policy: DeidPolicy = Field(default_factory=DeidPolicy)
    # Answered requests kept in memory so that POST /v1/feedback can name them.
    remember: int = Field(10_000, ge=0)


class VersionConfig(_Strict):
    """What serves one registry version, when it is not serve.yaml's ``upstream`` on the
    version's own model folder (an engine by URL per version, a scripted one in tests)."""

    upstream: UpstreamConfig


class ServeConfig(_Strict):
    """Everything ``posttrain serve`` reads from ``serve.yaml``."""

    schema_version: Literal[1] = 1
    # A model name or folder; default: the registry's champion, else the base model.
    model: str | None = None
    contract: Path = Path("contract.yaml")
    upstream: UpstreamConfig = Field(default_factory=HFUpstreamConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    # Log prompts and answers (never keys); `--log-content` turns it on too.
    log_content: bool = False
    # Per registry version (v1, v2...): its own upstream (see VersionConfig).
    versions: dict[str, VersionConfig] = Field(default_factory=dict)
    # The staged rollout (.posttrain/rollout/state.json) routes the traffic either way.
    # `manual`: its steps are taken by `posttrain release step|auto`; `auto`: the gateway
    # itself asks the analysis, at most every `rollout_tick_s`, after recording a request
    # (it advances a step that passes with enough traffic, aborts one that fails).
    rollout: Literal["manual", "auto"] = "manual"
    rollout_tick_s: float = Field(10.0, gt=0.0, le=86_400.0)
    # Live measurements queued for .posttrain/live.sqlite; beyond this many waiting, new
    # ones are dropped (counted in posttrain_serve_live_dropped), never the request.
    live_queue: int = Field(10_000, ge=1, le=1_000_000)
    # The share of answers the refusal judge sees (about 3 ms of CPU each, in a process of
    # its own); the refusal rate is over the judged ones. 0 turns it off.
    live_refusal_sample: float = Field(1.0, ge=0.0, le=1.0)


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_not_found":
        return "needs a kind: hf, openai or stub"
    if kind == "union_tag_invalid":
        return f"must be one of {err['ctx']['expected_tags']} (got {err['ctx']['tag']!r})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    if kind in ("value_error", "assertion_error") or isinstance(got, dict | list):
        return msg
    return f"{msg} (got {got!r})"


def _loc(err: Any) -> tuple[int | str, ...]:
    # A discriminated union puts the tag in the location (upstream.stub.delay_ms); the
    # YAML has no such level.
    loc = tuple(err["loc"])
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return (*loc, "kind")
    for i in range(len(loc) - 1):  # serve.yaml's upstream, or a version's
        if loc[i] == "upstream" and loc[i + 1] in ("hf", "openai", "stub"):
            return (*loc[: i + 1], *loc[i + 2 :])
    return loc


def parse_serve_config(text: str, path: str = SERVE_FILE) -> ServeConfig:
    """Validate ``serve.yaml`` text; raises :class:`ConfigError` listing every problem
    with its line. An empty file is the defaults."""
    root, data = read_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        got = type(data).__name__
        raise ConfigError(f"{path} line 1: serve.yaml is a mapping of fields (got {got})")
    try:
        return ServeConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _loc(err)
            line = line_of(root, loc, key=err["type"] == "extra_forbidden")
            field = field_name(loc)
            where = path + (f" line {line}" if line is not None else "")
            problems.append((line or 0, f"{where}: {field + ': ' if field else ''}{_message(err)}"))
        problems.sort()
        allowed = ", ".join(ServeConfig.model_fields)
        raise ConfigError(
            "\n".join(p for _, p in problems),
            hint=f"fix the field(s) above (top-level fields: {allowed})",
        ) from None


def load_serve_config(workspace: Path) -> ServeConfig:
    """``<workspace>/serve.yaml`` validated, or the defaults when there is none."""
    file = Path(workspace) / SERVE_FILE
    if not file.is_file():
        return ServeConfig()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    return parse_serve_config(text, path=str(file))
