"""Training inputs: the data stage's output folder, checked, split and rendered as text.

The data stage writes ``manifest.json`` (:class:`posttrain.data.Manifest`: the data
version, the de-identification policy, ...), ``quality.json``
(:class:`posttrain.data.QualityReport`: named quality rules with their verdicts),
``sft.jsonl`` (chat ``messages``) and ``prefs.jsonl`` (TRL's ``prompt`` / ``chosen`` /
``rejected``); the first two are read through those models. This module refuses data
whose quality rules failed (unless the config gives a reason, which the run manifest
records), splits a deterministic held-out validation set by a hash of each record's id,
and renders every example with
:func:`posttrain.models.chat.render_prompt_completion` - the one rendering function
generation uses - so a model is trained on exactly the text it is prompted with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from posttrain.errors import InputError
from posttrain.generation.base import ChatMessage
from posttrain.models.chat import render_prompt_completion

__all__ = [
    "DataInfo",
    "Preference",
    "PromptCompletion",
    "load_prefs",
    "load_sft",
    "read_data_info",
    "read_jsonl",
    "split_ids",
    "split_key",
    "to_prompt_completion",
]

MANIFEST = "manifest.json"
QUALITY = "quality.json"


class DataInfo(BaseModel):
    """What a run records about its data."""

    model_config = ConfigDict(extra="forbid")

    folder: str
    data_version: str | None = None
    contract_hash: str | None = None
    deid_policy_version: str | None = None
    quality_passed: bool | None = None
    failed_rules: list[str] = []
    # Set when failed quality rules were overridden.
    quality_override_reason: str | None = None


class PromptCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    completion: str
    # What the train/validation split hashes: the failure the record was built from
    # (``ids.failure``), so SFT and DPO hold out the same failures; else the record id.
    split_key: str


class Preference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    chosen: str
    rejected: str
    split_key: str  # as in PromptCompletion


_Row = TypeVar("_Row", PromptCompletion, Preference)


def read_data_info(folder: Path, *, allow_failed_quality: str | None = None) -> DataInfo:
    """Read the data stage's manifest (:class:`posttrain.data.Manifest`) and quality
    verdicts (:class:`posttrain.data.QualityReport`) in ``folder``.

    Raises :class:`InputError` when the manifest is missing, or either file is unreadable
    or does not validate, or when quality rules failed and ``allow_failed_quality`` (the
    reason for training anyway) is not given.
    """
    from posttrain.data import Manifest, QualityReport

    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(
            f"no data manifest in {folder}",
            path=str(manifest_path),
            hint="build the training data first: `posttrain data build` (or point data= at "
            "the folder that holds manifest.json)",
        )
    manifest = _read_model(manifest_path, Manifest)
    info = DataInfo(
        folder=str(folder),
        data_version=manifest.data_version,
        contract_hash=manifest.contract.sha256,
        deid_policy_version=f"{manifest.policy.policy_id} v{manifest.policy.version}",
    )
    quality_path = folder / QUALITY
    if quality_path.is_file():
        failed = _read_model(quality_path, QualityReport).failing
        info.failed_rules = failed
        info.quality_passed = not failed
        if failed and allow_failed_quality is None:
            raise InputError(
                f"the data's quality rules failed: {', '.join(failed)}",
                path=str(quality_path),
                hint="fix the data and rebuild it, or train anyway with "
                'allow_failed_quality="<reason>" (the reason is recorded in the run manifest)',
            )
        if failed:
            info.quality_override_reason = allow_failed_quality
    return info


_Model = TypeVar("_Model", bound=BaseModel)


def _read_model(path: Path, model: type[_Model]) -> _Model:
    """``path`` as the data stage's ``model``; an :class:`InputError` naming the file and
    the first field that does not validate otherwise."""
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InputError(
            f"does not validate as posttrain.data.{model.__name__}: {err['msg']}{more}",
            path=str(path),
            field=field,
            hint="training reads the files `posttrain data build` writes; rebuild the "
            "training data with it",
        ) from None


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError(
            "file not found",
            path=str(path),
            hint="build the training data first: `posttrain data build`",
        )
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"not valid JSON: {exc.msg}", path=str(path), line=lineno
                ) from None
            if not isinstance(row, dict):
                raise InputError("each line must be a JSON object", path=str(path), line=lineno)
            rows.append((lineno, row))
    if not rows:
        raise InputError("no records", path=str(path), hint="the data build produced nothing")
    return rows


def _record_id(row: dict[str, Any]) -> str:
    if row.get("id") not in (None, ""):
        return str(row["id"])
    return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()[:16]


def split_key(row: dict[str, Any]) -> str:
    """The failure a data-stage record was built from (``ids.failure``), else its id: SFT
    records and preference pairs of one failure fall on the same side of the split."""
    ids = row.get("ids")
    if isinstance(ids, dict) and isinstance(ids.get("failure"), str) and ids["failure"]:
        return str(ids["failure"])
    return _record_id(row)


def split_ids(ids: Sequence[str], *, fraction: float, max_val: int, seed: int) -> set[str]:
    """The held-out validation ids: the ``fraction`` of ids with the smallest hash (at
    most ``max_val``). Stable when records are added, and independent of file order."""
    if fraction <= 0 or max_val == 0:
        return set()
    n_val = min(max_val, max(1, round(len(ids) * fraction)))
    if n_val >= len(ids):
        n_val = len(ids) - 1
    ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return set(ranked[:n_val])


def to_prompt_completion(
    tokenizer: Any, messages: Sequence[ChatMessage], completion: str
) -> tuple[str, str]:
    """Prompt and completion text exactly as generation sees them.

    The completion ends at the end-of-turn token: what a chat template writes after it (a
    newline) is never generated, and TRL appends the EOS token to a completion that does
    not end with it, which would train a doubled end-of-turn.
    """
    prompt, rest = render_prompt_completion(tokenizer, messages, completion)
    eos = tokenizer.eos_token or ""
    if eos and eos in rest and not rest[rest.rindex(eos) + len(eos) :].strip():
        rest = rest[: rest.rindex(eos) + len(eos)]
    return prompt, rest


def _messages(value: Any, where: str, path: Path, line: int) -> list[ChatMessage]:
    if isinstance(value, str):
        return [ChatMessage(role="user", content=value)]
    if not isinstance(value, list) or not value:
        raise InputError(
            "must be a non-empty list of chat messages or a string",
            path=str(path),
            line=line,
            field=where,
        )
    out: list[ChatMessage] = []
    for msg in value:
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), str):
            raise InputError(
                "each message needs a role and a string content",
                path=str(path),
                line=line,
                field=where,
            )
        out.append(ChatMessage(role=msg.get("role", "user"), content=msg["content"]))
    return out


def _assistant_text(value: Any, where: str, path: Path, line: int) -> str:
    if isinstance(value, str):
        return value
    msgs = _messages(value, where, path, line)
    if msgs[-1]["role"] != "assistant":
        raise InputError(
            "must end with an assistant message", path=str(path), line=line, field=where
        )
    return msgs[-1]["content"]


def _with_system(messages: list[ChatMessage], system: str | None) -> list[ChatMessage]:
    if system is None or messages[0]["role"] == "system":
        return messages
    return [ChatMessage(role="system", content=system), *messages]


def load_sft(
    folder: Path,
    tokenizer: Any,
    *,
    val_fraction: float,
    val_max: int,
    seed: int,
    system: str | None = None,
) -> tuple[list[PromptCompletion], list[PromptCompletion]]:
    """``sft.jsonl`` as rendered (train, validation) examples; ``system`` is put first in
    every conversation that has no system message of its own."""
    path = folder / "sft.jsonl"
    examples = []
    for line, row in read_jsonl(path):
        if "messages" in row:
            msgs = _messages(row["messages"], "messages", path, line)
            if msgs[-1]["role"] != "assistant":
                raise InputError(
                    "the conversation must end with the assistant's answer",
                    path=str(path),
                    line=line,
                    field="messages",
                )
            context, answer = msgs[:-1], msgs[-1]["content"]
        elif "prompt" in row and "completion" in row:
            context = _messages(row["prompt"], "prompt", path, line)
            answer = _assistant_text(row["completion"], "completion", path, line)
        else:
            raise InputError(
                f"needs 'messages' (or 'prompt' and 'completion'); got keys {sorted(row)}",
                path=str(path),
                line=line,
            )
        context = _with_system(context, system)
        prompt, completion = to_prompt_completion(tokenizer, context, answer)
        examples.append(
            PromptCompletion(
                id=_record_id(row), prompt=prompt, completion=completion, split_key=split_key(row)
            )
        )
    return _split(examples, val_fraction, val_max, seed)


def load_prefs(
    folder: Path,
    tokenizer: Any,
    *,
    val_fraction: float,
    val_max: int,
    seed: int,
    system: str | None = None,
) -> tuple[list[Preference], list[Preference]]:
    """``prefs.jsonl`` as rendered (train, validation) preference pairs (``system`` as in
    :func:`load_sft`)."""
    path = folder / "prefs.jsonl"
    pairs = []
    for line, row in read_jsonl(path):
        missing = [k for k in ("prompt", "chosen", "rejected") if k not in row]
        if missing:
            raise InputError(
                f"missing {', '.join(missing)} (got keys {sorted(row)})", path=str(path), line=line
            )
        context = _with_system(_messages(row["prompt"], "prompt", path, line), system)
        chosen = _assistant_text(row["chosen"], "chosen", path, line)
        rejected = _assistant_text(row["rejected"], "rejected", path, line)
        prompt, chosen_text = to_prompt_completion(tokenizer, context, chosen)
        _, rejected_text = to_prompt_completion(tokenizer, context, rejected)
        pairs.append(
            Preference(
                id=_record_id(row),
                prompt=prompt,
                chosen=chosen_text,
                rejected=rejected_text,
                split_key=split_key(row),
            )
        )
    return _split(pairs, val_fraction, val_max, seed)


def _split(
    rows: list[_Row], fraction: float, max_val: int, seed: int
) -> tuple[list[_Row], list[_Row]]:
    keys = sorted({r.split_key for r in rows})
    val_keys = split_ids(keys, fraction=fraction, max_val=max_val, seed=seed)
    train = [r for r in rows if r.split_key not in val_keys]
    val = [r for r in rows if r.split_key in val_keys]
    return train, val


def group_by_length(
    rows: Sequence[_Row], lengths: Sequence[int], batch: int, seed: int
) -> list[_Row]:
    """Order ``rows`` so each run of ``batch`` rows has similar lengths (little padding),
    with the batches themselves in a seeded random order. Deterministic, so a resumed run
    sees the same order; train it with sequential sampling."""
    import random

    if batch <= 1:
        return list(rows)
    order = sorted(range(len(rows)), key=lambda i: lengths[i])
    batches = [order[i : i + batch] for i in range(0, len(order), batch)]
    random.Random(seed).shuffle(batches)
    return [rows[i] for b in batches for i in b]


def drop_too_long(
    tokenizer: Any, pairs: list[Preference], seq_len: int, where: str
) -> list[Preference]:
    """The pairs that fit in ``seq_len`` tokens (a reward model cannot truncate a pair
    without changing what it compares). Says how many were dropped; raises
    :class:`InputError` when none fit."""
    kept = [
        p
        for p in pairs
        if len(tokenizer(p.prompt + max(p.chosen, p.rejected, key=len))["input_ids"]) <= seq_len
    ]
    if pairs and not kept:
        raise InputError(
            f"every {where} pair is longer than seq_len={seq_len} tokens",
            field="seq_len",
            hint="raise seq_len",
        )
    if len(kept) < len(pairs):
        from posttrain.core.console import err_console

        err_console.print(
            f"[yellow]warning:[/] {len(pairs) - len(kept)} of {len(pairs)} {where} pairs are "
            f"longer than seq_len={seq_len} tokens and are left out"
        )
    return kept
