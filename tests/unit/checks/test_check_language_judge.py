from __future__ import annotations

from collections.abc import Sequence

from posttrain.checks import Sample, run_check
from posttrain.generation.base import Conversation, Generation, GenerationParams, ProgressCallback


def test_language_match_follows_the_sample_language() -> None:
    zh = Sample(id="z", prompt="我的订单到哪了？", lang="zh")
    en = Sample(id="e", prompt="Where is my order?", lang="en")
    assert (
        run_check(
            "language_match", zh, "您的订单 SM-1 已发货，预计周五送达 AeroBlend 破壁机。"
        ).status
        == "pass"
    )
    assert run_check("language_match", zh, "Your order has shipped.").status == "fail"
    assert (
        run_check("language_match", en, "Your order shipped; tracking `kill -9` aside.").status
        == "pass"
    )
    assert run_check("language_match", en, "您的订单已发货。").status == "fail"
    assert run_check("language_match", en, "12345").status == "fail"
    assert run_check("language_match", en, "hi", {"lang": "fr"}).status == "error"


def test_language_match_judges_a_json_answer_by_its_text_values() -> None:
    zh = Sample(id="z", prompt="推荐一款适合跑步的耳机", lang="zh")
    skeleton = '[{"name": "<product name>", "url": "https://<product page>", "price": 0}]'
    verdict = run_check("language_match", zh, skeleton)
    assert verdict.status == "pass" and "no prose" in verdict.evidence
    zh_values = '[{"name": "运动蓝牙耳机", "reason": "防汗，续航长", "price": 199}]'
    assert run_check("language_match", zh, zh_values).status == "pass"
    en_values = '[{"name": "Sport earbuds", "reason": "sweat proof, long battery", "price": 1}]'
    assert run_check("language_match", zh, en_values).status == "fail"
    # not JSON after all: judged as prose
    assert run_check("language_match", zh, '{"name": broken').status == "fail"


class ScriptedJudge:
    """A backend that answers with a fixed script, one reply per call."""

    name = "scripted"
    fingerprint = "scripted-judge"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.seen: list[Conversation] = []

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        self.seen.extend(conversations)
        return [
            Generation(text=self.replies.pop(0), prompt_tokens=1, completion_tokens=1,
                       latency_s=0.0, finish_reason="stop")
            for _ in conversations
        ]  # fmt: skip


def test_judge_parses_pass_fail_and_errors_on_nonsense() -> None:
    s = Sample(id="j", prompt="Where is my order?")
    judge = ScriptedJudge(
        ["PASS\nPolite and asks for the order number.", "FAIL: rude", "I think it's fine"]
    )
    args = {"rubric": "Polite, asks for the order number.", "backend": judge}
    assert run_check("judge", s, "Could you share your order number?", args).status == "pass"
    assert run_check("judge", s, "Figure it out.", args).status == "fail"
    assert run_check("judge", s, "whatever", args).status == "error"
    assert "Polite, asks for the order number." in judge.seen[0][1]["content"]


def test_judge_is_off_without_a_backend() -> None:
    s = Sample(id="j", prompt="x")
    verdict = run_check("judge", s, "anything", {"rubric": "be nice"})
    assert verdict.status == "error" and "backend" in verdict.evidence
