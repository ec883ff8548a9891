"""The one function that renders a conversation with a model's chat template.

Training (SFT/DPO data formatting) and generation (every backend that tokenises locally)
both call :func:`render`, so the text a model is trained on and the text it is prompted
with can never drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from posttrain.errors import UsageError

__all__ = ["CONTEXT_LABELS", "ChatMessage", "render", "render_prompt_completion", "user_turn"]


class ChatMessage(TypedDict):
    """One turn of a conversation, in the OpenAI / transformers chat format."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str


# How a document, tool result, review or order note is delimited in the user turn.
CONTEXT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "document": "Document",
        "tool_result": "Tool result",
        "review": "Product review",
        "order_note": "Order note",
    },
    "zh": {
        "document": "文档",
        "tool_result": "工具返回结果",
        "review": "商品评价",
        "order_note": "订单备注",
    },
}


def user_turn(
    prompt: str, context: str | None = None, *, kind: str | None = None, lang: str = "en"
) -> str:
    """The user message: the request, then any document or tool result it carries between
    explicit delimiters, so the model can tell data from instructions. Evaluation and the
    data stage's training records both build the user turn here."""
    if not context:
        return prompt
    labels = CONTEXT_LABELS.get(lang, CONTEXT_LABELS["en"])
    label = labels.get(kind or "document", labels["document"])
    return f"{prompt}\n\n<<<{label}>>>\n{context}\n<<<end {label}>>>"


def render(tokenizer: Any, messages: Sequence[ChatMessage], *, add_generation_prompt: bool) -> str:
    """Render ``messages`` as text with the tokenizer's chat template.

    With ``add_generation_prompt`` the text ends where the assistant's answer begins
    (generation); without it, the conversation is rendered as it stands (training on a
    conversation that ends with the assistant's answer). Raises :class:`UsageError` when
    the tokenizer has no chat template.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise UsageError(
            "the model's tokenizer has no chat template",
            hint="use an instruction-tuned model, or set tokenizer.chat_template",
        )
    text = tokenizer.apply_chat_template(
        [dict(m) for m in messages], tokenize=False, add_generation_prompt=add_generation_prompt
    )
    if not isinstance(text, str):  # pragma: no cover - transformers always returns str here
        raise TypeError(f"chat template rendered {type(text).__name__}, expected str")
    return text


def render_prompt_completion(
    tokenizer: Any, messages: Sequence[ChatMessage], completion: str
) -> tuple[str, str]:
    """Split a training example into (prompt text, completion text).

    The prompt is exactly what generation feeds the model (``render(...,
    add_generation_prompt=True)``); the completion is the rest of the rendered full
    conversation, so it carries the template's end-of-turn token. Raises
    :class:`UsageError` when the template does not render the prompt as a prefix of the
    full conversation (such a template cannot be trained on safely).
    """
    prompt = render(tokenizer, messages, add_generation_prompt=True)
    full = render(
        tokenizer,
        [*messages, ChatMessage(role="assistant", content=completion)],
        add_generation_prompt=False,
    )
    if not full.startswith(prompt):
        raise UsageError(
            "the chat template does not render the prompt as a prefix of the full "
            "conversation; training and generation would see different text",
        )
    return prompt, full[len(prompt) :]
