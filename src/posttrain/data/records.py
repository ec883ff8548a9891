"""The records the data stage writes: bucketed failures, SFT records, preference pairs.

All text in them is de-identified. ``SftRecord.messages`` is the conversational form TRL's
``SFTTrainer`` reads; ``PrefPair.trl`` holds ``prompt``/``chosen``/``rejected`` as chat
messages, the conversational form of TRL's ``DPOTrainer``
(``dataset.map(lambda r: r["trl"], remove_columns=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from posttrain.checks.policy_facts import CatalogItem
from posttrain.data._construct import construct
from posttrain.data.config import TemplateKind
from posttrain.data.labels import ContractInfo
from posttrain.data.templates import render_template
from posttrain.models.chat import user_turn as chat_user_turn

__all__ = [
    "BucketedRecord",
    "Message",
    "PrefPair",
    "SftRecord",
    "TrlPair",
    "jsonl_line",
    "make_pair",
    "make_sft",
]


class BucketedRecord(BaseModel):
    """A de-identified failure in ``data/buckets/<label>/failures.jsonl``."""

    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    label_source: str  # given | rule | none
    lang: str
    prompt: str
    bad_answer: str
    ideal_answer: str | None = None
    context: str | None = None
    source: str
    ts: str
    file: str
    line: int
    pii: dict[str, int] = Field(default_factory=dict)  # entity type -> spans replaced


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    content: str


class SftRecord(BaseModel):
    """A line of ``data/sft.jsonl``."""

    model_config = ConfigDict(extra="forbid")

    id: str
    instruction: str
    input: str
    output: str
    why: str
    ids: dict[str, str]
    tags: list[str]
    lang: str
    messages: list[Message]


class TrlPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]


class PrefPair(BaseModel):
    """A line of ``data/prefs.jsonl``; ``tags[0]`` is the bucket."""

    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    chosen: str
    rejected: str
    reason: str
    tags: list[str]
    source: str
    ts: str
    lang: str
    chosen_from: str  # ideal_answer | template:<id>
    ids: dict[str, str]
    trl: TrlPair


def _msg(role: str, content: str) -> Message:
    # a plain dict in the Message slot: serialised the same, 20x cheaper to make (written
    # with warnings=False; readers validate the lines into Message models)
    return {"role": role, "content": content}  # type: ignore[return-value]


def jsonl_line(item: BaseModel) -> str:
    """``item`` as one line of a ``.jsonl`` output (newline included)."""
    # warnings=False: plain dicts stand where chat Message models go (see _msg)
    return item.model_dump_json(warnings=False) + "\n"


def user_turn(rec: BucketedRecord) -> str:
    """The user message: the prompt, then any document or tool output it carried,
    delimited exactly as evaluation delimits it (:func:`posttrain.models.chat.user_turn`)."""
    return chat_user_turn(rec.prompt, rec.context, lang=rec.lang)


def _first_sentence(text: str, limit: int = 180) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    text = text if cut < 0 else text[: cut + 1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chosen(
    rec: BucketedRecord, kind: TemplateKind, catalog: Sequence[CatalogItem]
) -> tuple[str, str] | None:
    if rec.ideal_answer:
        return rec.ideal_answer, "ideal_answer"
    tpl = render_template(kind, rec.label, rec.lang, rec.id, prompt=rec.prompt, catalog=catalog)
    if tpl is None:
        return None
    return tpl.text, f"template:{tpl.template_id}"


def _why(rec: BucketedRecord, clauses: list[str], contract: ContractInfo, origin: str) -> str:
    rules = {c.id: c.rule for c in contract.clauses}
    basis = f"; clause {clauses[0]}: {_first_sentence(rules[clauses[0]])}" if clauses else ""
    src = "the reviewed ideal answer" if origin == "ideal_answer" else f"the contract {origin}"
    return (
        f"The observed answer failed as {rec.label} "
        f"({', '.join(clauses) if clauses else 'no contract clause'}); {src} follows the "
        f"contract instead{basis}"
    )


def make_pair(
    rec: BucketedRecord,
    kind: TemplateKind,
    clauses: list[str],
    contract: ContractInfo,
    catalog: Sequence[CatalogItem] = (),
) -> PrefPair | None:
    """The preference pair of a record, or ``None`` when no ``chosen`` can be written
    (recommendation templates draw their items from ``catalog``)."""
    got = _chosen(rec, kind, catalog)
    if got is None:
        return None
    chosen, origin = got
    user = user_turn(rec)
    # construct (model_construct, cheaper): every field comes from validated records;
    # validating 100k nested models again would cost seconds for nothing
    return construct(
        PrefPair,
        id=f"pref-{rec.id}",
        prompt=user,
        chosen=chosen,
        rejected=rec.bad_answer,
        reason=_why(rec, clauses, contract, origin),
        tags=[
            rec.label,
            *clauses,
            f"lang:{rec.lang}",
            "chosen:ideal" if origin == "ideal_answer" else "chosen:template",
        ],
        source=rec.source,
        ts=rec.ts,
        lang=rec.lang,
        chosen_from=origin,
        ids={"failure": rec.id},
        trl={  # plain dicts where TrlPair/Message go: serialised the same
            "prompt": [_msg("user", user)],
            "chosen": [_msg("assistant", chosen)],
            "rejected": [_msg("assistant", rec.bad_answer)],
        },
    )


def make_sft(rec: BucketedRecord, pair: PrefPair) -> SftRecord:
    """The SFT record of a record whose preference pair exists (same ``chosen``)."""
    return construct(
        SftRecord,
        id=f"sft-{rec.id}",
        instruction=rec.prompt,
        input=rec.context or "",
        output=pair.chosen,
        why=pair.reason,
        ids={"failure": rec.id, "pair": pair.id},
        tags=pair.tags,
        lang=rec.lang,
        messages=[_msg("user", pair.prompt), _msg("assistant", pair.chosen)],
    )
