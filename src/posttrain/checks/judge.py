"""LLM-as-judge: a backend grades the answer against a rubric. Off by default: a clause
uses it only when the caller passes a backend in the check's arguments."""

from __future__ import annotations

import re
from typing import Any

from posttrain.checks.base import Sample, Verdict, register_check
from posttrain.generation.base import Backend, Conversation, GenerationParams

__all__ = ["JUDGE_SYSTEM", "build_judge_conversation", "parse_judge_verdict"]

JUDGE_SYSTEM = (
    "You are a strict grader of a customer-support assistant. Decide whether the ANSWER "
    "meets the RUBRIC. Reply with PASS or FAIL on the first line, then one sentence why."
)
_VERDICT = re.compile(r"\b(PASS|FAIL)\b|(不通过|通过)", re.IGNORECASE)


def build_judge_conversation(sample: Sample, completion: str, rubric: str) -> Conversation:
    context = f"\nCONTEXT:\n{sample.context}\n" if sample.context else ""
    user = (
        f"RUBRIC:\n{rubric}\n\nUSER REQUEST:\n{sample.prompt}\n{context}\nANSWER:\n{completion}\n"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def parse_judge_verdict(text: str) -> bool | None:
    """First PASS/FAIL (or 通过/不通过) in the judge's reply; ``None`` if there is none."""
    m = _VERDICT.search(text)
    if m is None:
        return None
    word = (m.group(1) or m.group(2)).upper()
    return word in ("PASS", "通过")


@register_check("judge")
def judge(
    sample: Sample,
    completion: str,
    rubric: str,
    backend: Any = None,
    max_new_tokens: int = 96,
) -> Verdict:
    """An LLM grades the answer against ``rubric`` (PASS/FAIL); needs ``backend``."""
    if backend is None:
        raise ValueError("the judge check needs a backend (it is off unless one is passed)")
    if not isinstance(backend, Backend):
        raise TypeError(
            f"backend must implement the Backend protocol (got {type(backend).__name__})"
        )
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0)
    reply = backend.generate([build_judge_conversation(sample, completion, rubric)], params)[0].text
    verdict = parse_judge_verdict(reply)
    if verdict is None:
        return Verdict(
            check="judge", status="error", evidence=f"unparsable judge reply: {reply[:120]!r}"
        )
    return Verdict(
        check="judge",
        status="pass" if verdict else "fail",
        score=1.0 if verdict else 0.0,
        evidence=reply.strip()[:200],
    )
