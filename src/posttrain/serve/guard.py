"""The runtime guard: the contract enforced on every answer the gateway serves.

A hook on both sides of the upstream call, in one of three named modes (``enforce``,
``monitor``, ``off``; see :class:`~posttrain.serve.config.GuardConfig`):

* **before** (:meth:`RuntimeGuard.prepare`): the client's turns are checked and put
  behind the contract's system prompt, rendered here with its canary (clients never send
  it); the request is classified with the data stage's label rules
  (:class:`~posttrain.data.labels.LabelInferer` on the default
  :class:`~posttrain.data.config.DataConfig` rules), which flag jailbreaks, injections
  and privacy probes and tag the request for the contract's clauses.
* **around** (:meth:`RuntimeGuard.run`): rung 1's :class:`~posttrain.evaluate.guard.Guard`
  calls the upstream, validates the answer against the contract's *format* clauses,
  regenerates with the error up to ``max_retries`` times and then falls back.
* **after**: every other clause that applies is judged through :mod:`posttrain.checks`,
  and the answer graded (see :data:`~posttrain.serve.protocol.Grade`):

  ``replaced``  the canary, or ``prompt_leak_words`` words of the system prompt, leaked:
                the answer is replaced (the refusal for an attack, else the hand-over);
  ``refused``   an attack-flagged request got an answer that fails a safety or refusal
                clause: the contract's refusal template (reason plus hand-over);
  ``redacted``  PII or a credential that is not in the user's own turns: masked;
  ``fallback``  / ``retried``: the format guard's doing;
  ``flagged``   a hard clause failed that the guard has no action for: delivered, recorded;
  ``pass``      delivered as generated (soft failures are still listed).

At runtime the leak clauses (``no_pii_leak``, ``no_secret_leak``) mean "no PII- or
credential-shaped value in the answer that the user did not write": a customer's own
e-mail read back to them is fine, anybody else's is not. Checks that need what only an
evaluation suite knows (``injection_followed`` without a marker, ``judge``) are not run;
the decision lists them as skipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from posttrain.checks import Sample, run_check
from posttrain.checks.leaks import find_pii, find_secrets, leaked
from posttrain.contract import Clause, Contract
from posttrain.data.config import DataConfig
from posttrain.data.labels import ClauseInfo, ContractInfo, LabelInferer, clauses_for
from posttrain.data.templates import detect_lang, render_template
from posttrain.errors import ConfigError
from posttrain.evaluate.guard import HANDOVER, Guard
from posttrain.evaluate.runner import canary_for
from posttrain.generation.base import Conversation, Generation, GenerationParams
from posttrain.models.chat import ChatMessage, user_turn
from posttrain.serve.config import GuardConfig, LimitsConfig
from posttrain.serve.protocol import APIError, FinishReason, Grade, RequestMessage

__all__ = [
    "ATTACK_CLASSES",
    "GuardOutcome",
    "InputView",
    "Judgement",
    "NeedsUpstream",
    "RuntimeGuard",
]

# Labels of the data stage that are attacks (the rest are ordinary requests).
ATTACK_CLASSES = ("jailbreak", "injection", "indirect_injection", "privacy")
# Checks that cannot judge a live answer: they need a suite's marker or a judge model.
_NEEDS_SUITE = frozenset({"judge"})
_LEAK_CHECKS = frozenset({"no_pii_leak", "no_secret_leak"})
# Checks a prefix of an answer can already fail for good (what it found stays in every
# longer text): the ones stream-and-cut mode runs while the text is being sent.
_PREFIX_CHECKS = frozenset({"no_pii_leak", "no_secret_leak", "canary_leak", "regex_forbid"})
_REDACTED = "[redacted]"
# Client turns with a pasted document, in the delimiters evaluation and training use.
_CONTEXT = re.compile(r"\n\n<<<([^<>\n]{1,40})>>>\n(.*)\n<<<end \1>>>\s*$", re.DOTALL)
_WORD = re.compile(r"\w+", re.UNICODE)
_SHINGLE = 8


@dataclass(frozen=True)
class InputView:
    """What the input side saw in a request."""

    prompt: str  # the last user turn, without a pasted document
    context: str | None  # a document pasted into it between delimiters
    user_text: str  # everything the user wrote (their own turns)
    lang: str
    label: str | None  # the data stage's label for it (None: no rule matched)
    attack_class: str | None  # one of ATTACK_CLASSES, or None
    sample: Sample


@dataclass
class Judgement:
    """The clauses an answer failed after the format guard, and what they found."""

    failed: list[Clause] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    leaked_values: list[str] = field(default_factory=list)
    prompt_leak: bool = False
    evidence: dict[str, str] = field(default_factory=dict)

    def failed_ids(self) -> list[str]:
        return [c.id for c in self.failed]


@dataclass
class GuardOutcome:
    """The result of one guarded call."""

    text: str
    grade: Grade
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    failed_checks: list[str]
    skipped_checks: list[str]
    guard_ms: float
    upstream_ms: float
    # The answer the guard intervened on (captured as bad_answer); None on pass.
    bad_answer: str | None
    # The data label the failure belongs to (from the failed clause), or None.
    label: str | None
    evidence: dict[str, str] = field(default_factory=dict)

    @property
    def intervened(self) -> bool:
        return self.grade in ("retried", "fallback", "redacted", "replaced", "refused", "cut")


class NeedsUpstream(Exception):
    """Raised by a ``call`` that cannot reach the upstream from where the guard runs (on
    the event loop): the caller runs the guard again in a worker thread."""


class _Attempts:
    """The backend the format guard calls: the first attempt may be given (fetched by
    the caller), the others go to ``call``; each text and the upstream time are kept."""

    name = "serve"
    fingerprint = "serve"

    def __init__(
        self,
        call: Callable[[Conversation, GenerationParams], Generation],
        first: tuple[Generation, float] | None = None,
    ) -> None:
        self.call = call
        self.first = first
        self.texts: list[str] = []
        self.upstream_s = first[1] if first else 0.0

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: Any = None,
    ) -> list[Generation]:
        out = []
        for conversation in conversations:
            if self.first is not None:
                gen, self.first = self.first[0], None
                self.texts.append(gen.text)
                out.append(gen)
                continue
            started = time.perf_counter()
            try:
                gen = self.call(conversation, params)
            finally:
                self.upstream_s += time.perf_counter() - started
            self.texts.append(gen.text)
            out.append(gen)
        return out


class RuntimeGuard:
    """The contract at runtime for one served version (see the module docstring).

    Raises :class:`ConfigError` when ``config.skip_clauses`` names a clause the contract
    does not have.
    """

    def __init__(
        self, contract: Contract, config: GuardConfig, limits: LimitsConfig | None = None
    ) -> None:
        known = {c.id for c in contract.clauses}
        unknown = [c for c in config.skip_clauses if c not in known]
        if unknown:
            raise ConfigError(
                f"serve.yaml: guard.skip_clauses names no clause of the contract: "
                f"{', '.join(unknown)}",
                hint=f"clauses: {', '.join(sorted(known))}",
            )
        kept = [c for c in contract.clauses if c.id not in config.skip_clauses]
        # A contract needs one clause; skipping all of them leaves the format guard idle.
        self.contract = contract.model_copy(update={"clauses": kept}) if kept else contract
        self._skip_all = not kept
        self.config = config
        self.limits = limits or LimitsConfig()
        self.contract_hash = contract.content_hash
        self.canary = config.canary or canary_for(self.contract_hash)
        self.system_prompt = contract.render_system_prompt(canary=self.canary)
        data = DataConfig()
        self._inferer = LabelInferer(data.label_rules)
        self._aliases = data.label_aliases
        self._clause_labels = _labels_of_clauses(contract, data)
        self._shingles = _shingles(contract.render_system_prompt(canary=None))

    # -- before ---------------------------------------------------------------------------

    def prepare(
        self, messages: Sequence[RequestMessage], request_id: str
    ) -> tuple[Conversation, InputView]:
        """The conversation to send upstream (the contract's system prompt first, then
        the client's turns) and what the input side saw; raises :class:`APIError` (400)
        for turns the gateway does not accept."""
        if len(messages) > self.limits.max_messages:
            raise APIError(
                400,
                f"{len(messages)} messages is more than this server accepts "
                f"({self.limits.max_messages})",
                param="messages",
                code="too_many_messages",
            )
        turns: list[ChatMessage] = []
        pending_context: list[str] = []
        for i, message in enumerate(messages):
            text = message.text()
            if len(text) > self.limits.max_message_chars:
                raise APIError(
                    400,
                    f"messages[{i}] has {len(text)} characters; the limit is "
                    f"{self.limits.max_message_chars}",
                    param=f"messages[{i}].content",
                    code="message_too_long",
                )
            if message.role in ("system", "developer"):
                if self.config.client_system == "reject":
                    raise APIError(
                        400,
                        f"messages[{i}]: this server renders the system prompt from its "
                        f"behaviour contract; send only user and assistant turns",
                        param=f"messages[{i}].role",
                        code="system_message_not_allowed",
                    )
                pending_context.append(text)
                continue
            if message.role == "user" and pending_context:
                # A client's system text is passed on as data inside the user turn, in
                # the delimiters the model was trained to treat as not-instructions.
                text = user_turn(text, "\n\n".join(pending_context), kind="document")
                pending_context = []
            role: Literal["user", "assistant"] = "user" if message.role == "user" else "assistant"
            turns.append(ChatMessage(role=role, content=text))
        if not turns or turns[-1]["role"] != "user":
            raise APIError(
                400,
                "the last message must be a user turn",
                param=f"messages[{len(messages) - 1}].role",
                code="last_message_not_user",
            )
        view = self.classify(turns, request_id)
        return [ChatMessage(role="system", content=self.system_prompt), *turns], view

    def classify(self, turns: Sequence[ChatMessage], request_id: str) -> InputView:
        """The input side: split off a pasted document, infer the label, flag attacks."""
        last = turns[-1]["content"]
        prompt, context = last, None
        m = _CONTEXT.search(last)
        if m:
            prompt, context = last[: m.start()], m.group(2)
        inferred = self._inferer.infer(prompt, "", context)
        label = None if inferred == "unlabeled" else inferred
        attack = label if label in ATTACK_CLASSES else None
        lang = "zh" if detect_lang(prompt or last) == "zh" else "en"
        tags = [label, *self._aliases.get(label, [])] if label else []
        sample = Sample(
            id=request_id,
            prompt=prompt.strip() or last or "(empty)",
            context=context,
            context_kind="document" if context else None,
            lang=lang,
            tags=tags,
            attack_class=attack,
            expected={"canary": self.canary},
        )
        user_text = "\n".join(t["content"] for t in turns if t["role"] == "user")
        return InputView(prompt, context, user_text, lang, label, attack, sample)

    # -- around and after -----------------------------------------------------------------

    def run(
        self,
        call: Callable[[Conversation, GenerationParams], Generation],
        conversation: Conversation,
        view: InputView,
        params: GenerationParams,
        first: tuple[Generation, float] | None = None,
        *,
        retries: int | None = None,
    ) -> GuardOutcome:
        """One guarded answer. ``call`` sends one conversation upstream (blocking); its
        errors propagate. ``first`` is the first attempt's answer and upstream seconds
        when the caller already has them (the gateway fetches it on the event loop and
        runs the guard there, with a ``call`` that raises :class:`NeedsUpstream` should a
        retry be needed). ``retries`` overrides ``max_retries`` (0 for an answer already
        streamed)."""
        started = time.perf_counter() - (first[1] if first else 0.0)
        attempts = _Attempts(call, first)
        mode = self.config.mode
        if mode == "off" or self._skip_all:
            gen = attempts.generate([conversation], params)[0]
            return self._outcome(
                gen,
                gen.text,
                "unguarded" if mode == "off" else "pass",
                [],
                Judgement(),
                attempts,
                started,
                None,
                view,
            )
        if retries is None:
            retries = self.config.max_retries
        guard = Guard(attempts, self.contract, max_retries=retries if mode == "enforce" else 0)
        gen = guard.generate([conversation], params, samples=[view.sample])[0]
        trace = guard.last_traces[0]
        format_failed = list(dict.fromkeys(e.split(":", 1)[0] for e in trace.errors))
        # The model's own last answer is judged (a fallback is safe by construction, and
        # its failures are not the model's); in monitor mode there is one attempt.
        answer = attempts.texts[-1] if mode == "enforce" else attempts.texts[0]
        judged = self.judge(view, answer)
        grade, text = self._grade(view, answer, judged, trace.retries > 0, gen.text, trace.fallback)
        bad = None
        if grade in ("retried", "fallback"):
            bad = attempts.texts[0]
        elif grade in ("redacted", "replaced", "refused"):
            bad = answer
        delivered = text if mode == "enforce" else attempts.texts[0]
        failed = list(dict.fromkeys([*format_failed, *judged.failed_ids()]))
        out = self._outcome(gen, delivered, grade, failed, judged, attempts, started, bad, view)
        if bad is not None:
            out.label = self._label(_acting(grade, format_failed, judged), view, grade)
        return out

    def judge(self, view: InputView, text: str) -> Judgement:
        """Every non-format clause that applies to the request, on ``text``."""
        out = Judgement()
        for clause in self.contract.clauses_for(view.sample):
            if clause.dimension == "format":
                continue  # the format guard judged these, and acted
            name, args = clause.check.name, dict(clause.check.args)
            if name in _NEEDS_SUITE or (
                name == "injection_followed"
                and not args.get("marker")
                and not args.get("action_patterns")
                and not view.sample.injection_marker
            ):
                out.skipped.append(clause.id)
                continue
            if name in _LEAK_CHECKS:
                values = self._runtime_leaks(name, args, view, text)
                if values:
                    out.failed.append(clause)
                    out.leaked_values += values
                    out.evidence[clause.id] = f"{len(values)} value(s) not from the user"
                continue
            verdict = run_check(name, view.sample, text, args)
            leak = name == "canary_leak" and (
                verdict.status == "fail" or self._repeats_prompt(text)
            )
            if leak:
                out.prompt_leak = True
                out.failed.append(clause)
                out.evidence[clause.id] = verdict.evidence or "system prompt repeated"
            elif verdict.status != "pass":  # an error never passes
                out.failed.append(clause)
                out.evidence[clause.id] = verdict.evidence or verdict.status
        out.leaked_values = list(dict.fromkeys(out.leaked_values))
        return out

    def judge_prefix(self, view: InputView, text: str) -> Judgement:
        """The clauses a prefix of the answer already fails for good (leaks, the canary,
        the system prompt repeated, forbidden patterns): what stream-and-cut mode checks
        while the text is being sent."""
        out = Judgement()
        for clause in self.contract.clauses_for(view.sample):
            name, args = clause.check.name, dict(clause.check.args)
            if name not in _PREFIX_CHECKS:
                continue
            if name in _LEAK_CHECKS:
                values = self._runtime_leaks(name, args, view, text)
                if values:
                    out.failed.append(clause)
                    out.leaked_values += values
                    out.evidence[clause.id] = f"{len(values)} value(s) not from the user"
                continue
            verdict = run_check(name, view.sample, text, args)
            if name == "canary_leak" and (verdict.status == "fail" or self._repeats_prompt(text)):
                out.prompt_leak = True
                out.failed.append(clause)
                out.evidence[clause.id] = verdict.evidence or "system prompt repeated"
            elif name == "regex_forbid" and verdict.status == "fail":
                out.failed.append(clause)
                out.evidence[clause.id] = verdict.evidence or "forbidden pattern"
        return out

    def sendable(self, text: str) -> int:
        """How much of a growing answer stream-and-cut mode may send now: all but the last
        ``cut_lag_chars``, back to a whitespace, so a value still being written (an
        e-mail, the canary) is judged whole before any of it goes out."""
        end = len(text) - self.config.cut_lag_chars
        if end <= 0:
            return 0
        cut = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
        return cut + 1 if cut >= 0 else 0

    def cut_label(self, failed: list[str], view: InputView) -> str | None:
        """The data label of a stream cut for ``failed`` clauses."""
        return self._label(failed, view, "cut")

    def _runtime_leaks(
        self, check: str, args: dict[str, Any], view: InputView, text: str
    ) -> list[str]:
        """Values of the clause's kinds in the answer that the user did not write, and any
        of the clause's protected ``extra`` values."""
        kinds = args.get("kinds")
        found = find_pii(text, kinds) if check == "no_pii_leak" and kinds else []
        if check == "no_pii_leak" and not kinds:
            found = find_pii(text)
        if check == "no_secret_leak":
            found = find_secrets(text, kinds) if kinds else find_secrets(text)
        own = [v for v in found if not leaked(v, view.user_text)]
        extra = [v for v in args.get("extra") or [] if leaked(v, text)]
        return [*own, *extra]

    def _repeats_prompt(self, text: str) -> bool:
        words = [w.lower() for w in _WORD.findall(text)]
        covered: set[int] = set()
        for i in range(len(words) - _SHINGLE + 1):
            if tuple(words[i : i + _SHINGLE]) in self._shingles:
                covered.update(range(i, i + _SHINGLE))
        return len(covered) >= self.config.prompt_leak_words

    def _grade(
        self,
        view: InputView,
        answer: str,
        judged: Judgement,
        retried: bool,
        fallback_text: str,
        fallback: bool,
    ) -> tuple[Grade, str]:
        # Unsafe: a leak, or a hard safety or refusal clause failed (a soft one, such as a
        # refusal that gives no reason, is recorded but not replaced).
        unsafe = (
            judged.prompt_leak
            or bool(judged.leaked_values)
            or any(
                c.dimension in ("safety", "refusal") and c.severity == "hard" for c in judged.failed
            )
        )
        if judged.prompt_leak:
            return "replaced", self._refusal(view) if view.attack_class else self._handover(view)
        if view.attack_class and unsafe:
            return "refused", self._refusal(view)
        if fallback:
            return "fallback", fallback_text
        if judged.leaked_values:
            text = answer
            for value in sorted(judged.leaked_values, key=len, reverse=True):
                text = text.replace(value, _REDACTED)
            if any(leaked(v, text) for v in judged.leaked_values):
                return "replaced", self._handover(view)  # not an exact substring
            return "redacted", text
        if retried:
            return "retried", answer
        if any(c.severity == "hard" for c in judged.failed):
            return "flagged", answer
        return "pass", answer

    def _refusal(self, view: InputView) -> str:
        template = render_template("refusal", view.attack_class or "", view.lang, view.sample.id)
        return template.text if template is not None else self._handover(view)

    def _handover(self, view: InputView) -> str:
        return HANDOVER.get(view.lang, HANDOVER["en"])

    def _label(self, failed: list[str], view: InputView, grade: Grade) -> str | None:
        if grade == "refused" and view.attack_class:
            return view.attack_class
        for clause_id in failed:
            labels = self._clause_labels.get(clause_id, [])
            if view.label in labels:
                return view.label
            if labels:
                return labels[0]
        return None

    def _outcome(
        self,
        gen: Generation,
        text: str,
        grade: Grade,
        failed: list[str],
        judged: Judgement,
        attempts: _Attempts,
        started: float,
        bad: str | None,
        view: InputView,
    ) -> GuardOutcome:
        total = time.perf_counter() - started
        replaced = grade in ("redacted", "replaced", "refused") and self.config.mode == "enforce"
        return GuardOutcome(
            text=text,
            grade=grade,
            # A loop stop is a cut, as far as an OpenAI client is concerned.
            finish_reason="content_filter"
            if replaced
            else ("length" if gen.finish_reason == "loop" else gen.finish_reason),
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            attempts=len(attempts.texts),
            failed_checks=failed,
            skipped_checks=judged.skipped,
            guard_ms=max(0.0, total - attempts.upstream_s) * 1000,
            upstream_ms=attempts.upstream_s * 1000,
            bad_answer=bad,
            label=None,
            evidence=judged.evidence,
        )


def _acting(grade: Grade, format_failed: list[str], judged: Judgement) -> list[str]:
    """The clauses behind an intervention (what the captured failure is a failure of)."""
    if grade == "replaced":
        return [c.id for c in judged.failed if c.check.name == "canary_leak"]
    if grade == "redacted":
        return [c.id for c in judged.failed if c.check.name in _LEAK_CHECKS]
    if grade == "refused":
        return [c.id for c in judged.failed if c.severity == "hard"]
    return format_failed


def _labels_of_clauses(contract: Contract, data: DataConfig) -> dict[str, list[str]]:
    """clause id -> the data labels whose failures it speaks for (the data stage's own
    label-to-clause mapping, read backwards)."""
    info = ContractInfo(
        product=contract.product,
        clauses=[
            ClauseInfo(id=c.id, dimension=str(c.dimension), rule=c.rule, applies_to=c.applies_to)
            for c in contract.clauses
        ],
    )
    out: dict[str, list[str]] = {}
    for label in data.labels:
        for clause_id in clauses_for(label, info, data.label_aliases):
            out.setdefault(clause_id, []).append(label)
    return out


def _shingles(system_prompt: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(system_prompt)]
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}
