"""One rendering function serves training and generation."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.errors import UsageError
from posttrain.models import load_tokenizer, render, render_prompt_completion
from posttrain.models.chat import ChatMessage

CONVERSATION = [
    ChatMessage(role="system", content="You are ShopMate."),
    ChatMessage(role="user", content="我的订单到哪了？"),
]


def test_training_prompt_is_exactly_the_generation_prompt(tiny_backend) -> None:  # type: ignore[no-untyped-def]
    tokenizer = tiny_backend.tokenizer
    prompt, completion = render_prompt_completion(tokenizer, CONVERSATION, "请提供订单号。")
    # What generation feeds the model is what training conditions on.
    assert tiny_backend.render(CONVERSATION) == prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert completion == "请提供订单号。<|im_end|>\n"
    full = render(
        tokenizer,
        [*CONVERSATION, ChatMessage(role="assistant", content="请提供订单号。")],
        add_generation_prompt=False,
    )
    assert full == prompt + completion


def test_tokenizer_without_template_is_refused(tiny_model_dir: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = None
    with pytest.raises(UsageError, match="no chat template"):
        render(tokenizer, CONVERSATION, add_generation_prompt=True)
