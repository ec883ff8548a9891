"""The guard, rung 1 of the ladder: prompt + constraints around any backend.

:class:`Guard` is itself a :class:`~posttrain.generation.base.Backend`. For every
conversation it makes sure the contract's system prompt leads, validates the answer
against the contract's *format* clauses (through the checks), asks again with the
validation error fed back up to ``max_retries`` times, and finally falls back to a safe
template: a polite hand-over to a human, or, where a clause demands JSON, a valid empty
instance of its schema. What it did for each conversation is kept in
:attr:`Guard.last_traces` and summed in :attr:`Guard.totals`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import jsonschema

from posttrain.checks import Sample, run_check
from posttrain.evaluate.results import GuardTrace
from posttrain.generation.base import (
    Conversation,
    Generation,
    GenerationParams,
    ProgressCallback,
)

__all__ = ["HANDOVER", "Guard", "minimal_instance"]

HANDOVER = {
    "en": (
        "I'm sorry, I can't give you a reliable answer to this right now. "
        "I'm handing your request over to a human agent, who will get back to you shortly."
    ),
    "zh": "抱歉，我暂时无法可靠地回答这个问题。我已将您的请求转交人工客服，他们会尽快与您联系。",
}
_RETRY = {
    "en": (
        "Your previous answer did not follow the required output format: {error}. "
        "Answer the same request again and follow the format exactly."
    ),
    "zh": "你上一次的回答不符合规定的输出格式：{error}。请重新回答同一个请求，并严格遵守格式。",
}
# String fields of a JSON fallback that carry the hand-over message to the user.
_MESSAGE_FIELDS = ("message", "reply", "answer", "text", "response", "note", "summary")
_GUARD_VERSION = 1


class Guard:
    """Wrap ``backend`` so that every answer satisfies ``contract``'s format clauses or is
    replaced by a safe fallback. ``max_retries`` is the number of regenerations after the
    first attempt."""

    def __init__(self, backend: Any, contract: Any, *, max_retries: int = 2) -> None:
        if max_retries < 0:
            from posttrain.errors import UsageError

            raise UsageError(f"max_retries must be >= 0 (got {max_retries})")
        self.backend = backend
        self.contract = contract
        self.max_retries = max_retries
        self.name = f"guard+{backend.name}"
        self.last_traces: list[GuardTrace] = []
        self.totals = {"conversations": 0, "retries": 0, "retried": 0, "fallbacks": 0}

    @property
    def fingerprint(self) -> str:
        value = self.contract.content_hash
        contract_hash = value() if callable(value) else value
        blob = (
            f"guard-v{_GUARD_VERSION}|{self.backend.fingerprint}|{contract_hash}|{self.max_retries}"
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
        samples: Sequence[Sample] | None = None,
    ) -> list[Generation]:
        """Guarded generations, one per conversation, in order.

        ``samples`` (one per conversation) say which clauses apply; without them each
        conversation's last user turn stands for the sample. Backend errors propagate.
        """
        if samples is not None and len(samples) != len(conversations):
            raise ValueError("samples and conversations differ in length")
        convs = [self._with_system_prompt(c) for c in conversations]
        subjects = (
            list(samples)
            if samples is not None
            else [_as_sample(c, i) for i, c in enumerate(convs)]
        )
        clauses = [
            [c for c in self.contract.clauses_for(s) if str(c.dimension) == "format"]
            for s in subjects
        ]
        n = len(convs)
        final: list[Generation | None] = [None] * n
        spent = [_Spend() for _ in range(n)]
        errors: list[list[str]] = [[] for _ in range(n)]
        pending = list(range(n))
        current = list(convs)
        for attempt in range(self.max_retries + 1):
            if not pending:
                break
            gens = self.backend.generate([current[i] for i in pending], params)
            still: list[int] = []
            for i, gen in zip(pending, gens, strict=True):
                spent[i].add(gen)
                problem = _validate(clauses[i], subjects[i], gen.text)
                if problem is None:
                    final[i] = spent[i].result(gen.text, gen.finish_reason)
                    if on_progress is not None:
                        on_progress(1)
                    continue
                errors[i].append(problem)
                if attempt < self.max_retries:
                    retry = _RETRY.get(subjects[i].lang, _RETRY["en"]).format(error=problem)
                    current[i] = [
                        *current[i],
                        {"role": "assistant", "content": gen.text},
                        {"role": "user", "content": retry},
                    ]
                still.append(i)
            pending = still
        for i in pending:
            final[i] = spent[i].result(self._fallback(clauses[i], subjects[i]), "stop")
            if on_progress is not None:
                on_progress(1)
        self.last_traces = [
            GuardTrace(
                attempts=spent[i].attempts,
                retries=spent[i].attempts - 1,
                fallback=i in pending,
                errors=errors[i],
            )
            for i in range(n)
        ]
        self.totals["conversations"] += n
        self.totals["retries"] += sum(t.retries for t in self.last_traces)
        self.totals["retried"] += sum(1 for t in self.last_traces if t.retries)
        self.totals["fallbacks"] += len(pending)
        return [g for g in final if g is not None]

    def _with_system_prompt(self, conversation: Conversation) -> Conversation:
        if conversation and conversation[0]["role"] == "system":
            return list(conversation)
        system = self.contract.render_system_prompt()
        return [{"role": "system", "content": system}, *conversation]

    def _fallback(self, clauses: list[Any], sample: Sample) -> str:
        message = HANDOVER.get(sample.lang, HANDOVER["en"])
        for clause in clauses:
            if clause.check.name != "json_schema":
                continue
            schema = dict(clause.check.args).get("schema")
            if not isinstance(schema, dict):
                continue
            instance = minimal_instance(schema, message)
            try:
                jsonschema.validate(instance, schema)
            except jsonschema.ValidationError:
                continue
            return json.dumps(instance, ensure_ascii=False)
        return message


class _Spend:
    """Tokens and time summed over a conversation's attempts."""

    def __init__(self) -> None:
        self.attempts = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.latency_s = 0.0

    def add(self, gen: Generation) -> None:
        self.attempts += 1
        self.prompt_tokens += gen.prompt_tokens
        self.completion_tokens += gen.completion_tokens
        self.latency_s += gen.latency_s

    def result(self, text: str, finish: Any) -> Generation:
        return Generation(
            text=text,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            latency_s=self.latency_s,
            finish_reason=finish,
        )


def _validate(clauses: list[Any], sample: Sample, text: str) -> str | None:
    """The first format problem of ``text``, or None when every format clause passes.
    A check that errors counts as a problem: an unvalidated answer is never let through."""
    for clause in clauses:
        verdict = run_check(clause.check.name, sample, text, dict(clause.check.args))
        if verdict.status != "pass":
            detail = verdict.evidence or verdict.status
            return f"{clause.id}: {detail}"
    return None


def _as_sample(conversation: Conversation, index: int) -> Sample:
    user = next((m["content"] for m in reversed(conversation) if m["role"] == "user"), "")
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in user) else "en"
    return Sample(id=f"guard-{index}", prompt=user or "(empty)", lang=lang)


def minimal_instance(schema: dict[str, Any], message: str = "") -> Any:
    """The smallest value of ``schema``: required object fields only, empty arrays,
    zero numbers, the first enum value; string fields named like a message carry
    ``message`` (so an empty recommendation still tells the user what happens next)."""
    return _minimal(schema, message, field=None)


def _minimal(schema: dict[str, Any], message: str, field: str | None) -> Any:
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return _minimal(schema[key][0], message, field)
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties", {})
        return {
            name: _minimal(props.get(name, {}), message, name)
            for name in schema.get("required", [])
        }
    if kind == "array":
        count = int(schema.get("minItems", 0))
        item = schema.get("items", {})
        return [_minimal(item if isinstance(item, dict) else {}, message, None)] * count
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    text = message if field in _MESSAGE_FIELDS else ""
    return text.ljust(int(schema.get("minLength", 0)), "-")
