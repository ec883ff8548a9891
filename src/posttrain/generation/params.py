"""The workspace's one set of generation parameters (``generation.yaml``).

Evaluation, the safety audit, the loop and serving all generate with the parameters in
the workspace's ``generation.yaml``::

    generation:
      max_new_tokens: 128
      temperature: 0.0      # 0 = greedy
      top_p: 1.0
      seed: 0
      stop: []
      stop_on_loop: 0       # stop an answer whose last N+ tokens repeat one block 3x
      dtype: float32        # the hf backend's weights: float32 | bfloat16 | float16 | auto

so that a model is judged with the settings it is served with, and base and candidate
with the same ones - never a different set chosen to flatter one of them. A workspace
without the file uses :data:`DEFAULT_GENERATION` (the same values). A command-line flag
(``--max-new-tokens``) or a ``serve.yaml`` ``generation:`` section that differs from the
workspace's is an explicit override: :func:`resolve_generation` names every overridden
field, the CLI prints it and the result records it (``summary.json``'s ``params`` and
``generation_overrides``).

``dtype`` is a property of the loaded model rather than of one call, so it sits beside
the parameters (:attr:`WorkspaceGeneration.dtype`), not in them; ``auto`` is bfloat16
where the CPU computes it natively (:func:`posttrain.models.loading.native_bf16`), else
float32. It changes answers (BENCHMARKS.md: bf16 agreement), so it too is one setting
for evaluation and serving, and the model's fingerprint mixes in the dtype it ran in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posttrain.errors import ConfigError
from posttrain.generation.base import GenerationParams

__all__ = [
    "DEFAULT_DTYPE",
    "DEFAULT_GENERATION",
    "GENERATION_FILE",
    "ResolvedGeneration",
    "WorkspaceGeneration",
    "load_generation",
    "parse_generation",
    "resolve_generation",
]

GENERATION_FILE = "generation.yaml"
DEFAULT_GENERATION = GenerationParams(max_new_tokens=128)
DEFAULT_DTYPE = "float32"


class WorkspaceGeneration(BaseModel):
    """The workspace's generation parameters and where they came from."""

    model_config = ConfigDict(extra="forbid")

    params: GenerationParams
    # The generation.yaml read, or "default" when the workspace has none.
    source: str
    # The hf backend's weights dtype as written (``auto`` included; see resolve_dtype).
    dtype: str = DEFAULT_DTYPE


class ResolvedGeneration(BaseModel):
    """The parameters a command generates with: the workspace's, plus explicit overrides."""

    model_config = ConfigDict(extra="forbid")

    params: GenerationParams
    source: str
    # The dtype the hf backend loads in, resolved (never ``auto``).
    dtype: str = DEFAULT_DTYPE
    # field -> "workspace value -> used value", for every field that differs.
    overrides: dict[str, str] = Field(default_factory=dict)

    def describe(self) -> str:
        """One line for the console: the source and any override."""
        p = self.params
        line = (
            f"generation ({self.source}): max_new_tokens={p.max_new_tokens}, "
            f"temperature={p.temperature:g}, top_p={p.top_p:g}, seed={p.seed}, "
            f"stop_on_loop={p.stop_on_loop}, dtype={self.dtype}"
        )
        if self.overrides:
            shown = ", ".join(f"{k} {v}" for k, v in self.overrides.items())
            line += f"; OVERRIDDEN on the command line: {shown}"
        return line


def parse_generation(text: str, path: str = GENERATION_FILE) -> GenerationParams:
    """Validate ``generation.yaml`` text; raises :class:`ConfigError` naming the file, line
    and field of every problem. An empty file or section is the defaults."""
    return _parse(text, path)[0]


def _parse(text: str, path: str) -> tuple[GenerationParams, str]:
    """The parameters and the dtype of ``generation.yaml`` text."""
    from posttrain.contract.loader import field_name, line_of, read_yaml
    from posttrain.models.loading import DTYPES

    root, data = read_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict) or set(data) - {"generation"}:
        extra = sorted(set(data) - {"generation"}) if isinstance(data, dict) else data
        raise ConfigError(
            f"{path} line 1: the file holds one section, generation: (got {extra!r})",
            hint="put max_new_tokens, temperature, top_p, seed and stop under generation:",
        )
    section: Any = data.get("generation") or {}
    if not isinstance(section, dict):
        raise ConfigError(
            f"{path} line {line_of(root, ('generation',))}: generation: is a mapping of "
            f"fields (got {type(section).__name__})"
        )
    dtype = section.get("dtype", DEFAULT_DTYPE)
    if dtype not in DTYPES:
        raise ConfigError(
            f"{path} line {line_of(root, ('generation', 'dtype'))}: field generation.dtype: "
            f"{dtype!r} is not a dtype",
            hint=f"use one of {', '.join(DTYPES)}",
        )
    section = {k: v for k, v in section.items() if k != "dtype"}
    if isinstance(section.get("stop"), list):
        section = {**section, "stop": tuple(section["stop"])}
    try:
        return GenerationParams.model_validate(section), str(dtype)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ("generation", *err["loc"])
            line = line_of(root, loc, key=err["type"] == "extra_forbidden")
            problems.append(f"{path} line {line}: field {field_name(loc)}: {err['msg']}")
        fields = ", ".join([*GenerationParams.model_fields, "dtype"])
        raise ConfigError("; ".join(problems), hint=f"generation: takes {fields}") from None


def load_generation(workspace: Path) -> WorkspaceGeneration:
    """The workspace's ``generation.yaml`` (or the defaults when it has none)."""
    path = Path(workspace) / GENERATION_FILE
    if not path.is_file():
        return WorkspaceGeneration(params=DEFAULT_GENERATION, source="default")
    params, dtype = _parse(path.read_text(encoding="utf-8"), str(path))
    return WorkspaceGeneration(params=params, source=str(path), dtype=dtype)


def resolve_generation(
    workspace: Path, *, dtype: str | None = None, **given: Any
) -> ResolvedGeneration:
    """The workspace's parameters with the fields in ``given`` that are not None set on
    top; each one that changes a value is listed in ``overrides``. ``dtype`` (None: the
    workspace's) is resolved (``auto`` → what this CPU runs natively); a resolved dtype
    other than the workspace's is an override too. Raises :class:`UsageError` for an
    unknown dtype."""
    from posttrain.models.loading import resolve_dtype

    ws = load_generation(workspace)
    ws_dtype = resolve_dtype(ws.dtype)
    used_dtype = resolve_dtype(dtype) if dtype is not None else ws_dtype
    changes = {k: v for k, v in given.items() if v is not None}
    unknown = sorted(set(changes) - set(GenerationParams.model_fields))
    if unknown:
        raise ValueError(f"not a generation parameter: {', '.join(unknown)}")
    if "stop" in changes:
        changes["stop"] = tuple(changes["stop"])
    base = ws.params.model_dump()
    params = GenerationParams.model_validate({**base, **changes})
    used = params.model_dump()
    overrides = {k: f"{base[k]!r} -> {used[k]!r}" for k in changes if base[k] != used[k]}
    if used_dtype != ws_dtype:
        overrides["dtype"] = f"{ws_dtype!r} -> {used_dtype!r}"
    return ResolvedGeneration(
        params=params, source=ws.source, dtype=used_dtype, overrides=overrides
    )
