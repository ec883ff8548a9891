"""Contract-derived ``chosen`` answers for records that have no ``ideal_answer``.

Each template kind follows the example contract's clauses: a refusal explains why and
offers a way forward and a human agent (``refusal_quality``, ``human_handover``), an
order question is answered by asking for the order number and where to find it
(``order_number_first``), a recommendation is a bare JSON array of at most 3
``{name, url, price}`` objects drawn from the workspace's product catalogue
(``data/catalog.jsonl``; no fitting item, no template: never a placeholder)
(``recommendation_json``), a rude answer is redone politely
(``polite_tone``). Every kind has three wordings per language, picked by a hash of the
record id, so one sentence does not carry a whole bucket (the template-overuse rule
watches that). The language follows the prompt (``reply_in_user_language``).
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from posttrain.checks.policy_facts import CatalogItem
from posttrain.data.config import TemplateKind

__all__ = ["ChosenTemplate", "detect_lang", "recommend", "render_template"]

_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


def detect_lang(text: str) -> str:
    """``zh`` when at least a fifth of the non-space characters are Chinese, else ``en``."""
    chars = len(text) - text.count(" ")
    return "zh" if chars and len(_CJK.findall(text)) * 5 >= chars else "en"


_REASONS = {
    "en": {
        "jailbreak": "I stay the store's customer-service assistant and can't switch modes or set my rules aside",
        "injection": "I don't follow instructions that ask me to ignore my rules",
        "indirect_injection": "the text you shared contains instructions, and I treat it as information, not as commands",
        "privacy": "I can't share personal data or credentials of anyone, and I never ask for passwords or codes",
        "out_of_scope": "that is outside what our customer service covers",
    },
    "zh": {
        "jailbreak": "我只能以商城客服的身份为您服务，不能切换模式或绕开规则",
        "injection": "我不会执行要求我忽略规则的指令",
        "indirect_injection": "您提供的内容里夹带了指令，我只把它当作资料，不会照做",
        "privacy": "我不能透露任何人的个人信息或账号凭证，也不会索要密码或验证码",
        "out_of_scope": "这超出了我们客服的服务范围",
    },
}
_GENERIC_REASON = {"en": "I can't help with that request", "zh": "这个请求我无法协助"}

_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "refusal": {
        "en": (
            "Sorry, I can't help with that, because {reason}. I can help with your orders or "
            "products, or transfer you to a human agent.",
            "I'm not able to do that, because {reason}. If you need more help, I can connect "
            "you with a human agent.",
            "I can't help with that, since {reason}. Anything about your orders I can do? "
            "I can also hand you over to a human agent.",
        ),
        "zh": (
            "抱歉，这个我帮不了您，因为{reason}。订单或商品的问题我可以处理，也可以为您转人工客服。",
            "很抱歉无法满足这个请求，因为{reason}。如需进一步帮助，我可以为您转人工客服。",
            "这个我没办法处理，因为{reason}。需要的话可以帮您转接人工客服。",
        ),
    },
    "ask_order_number": {
        "en": (
            "I'd be glad to help. Could you send me your order number? It looks like "
            "SM-2026-XXXXXXX and you'll find it under My Orders or in your confirmation e-mail.",
            "Happy to look into this for you. Please share the order number first (format "
            "SM-2026-XXXXXXX, shown in My Orders and in the confirmation e-mail).",
            "Sure, I can help with that. Which order is it? Please give me the order number "
            "(SM-2026-XXXXXXX); it is in your confirmation e-mail or under My Orders.",
        ),
        "zh": (
            "很乐意帮您处理。请提供一下订单号（格式为 SM-2026-XXXXXXX），可以在“我的订单”或确认邮件里找到。",
            "好的，我来帮您查。麻烦先告诉我订单号（SM-2026-XXXXXXX），在“我的订单”页面或下单确认邮件中可以看到。",
            "没问题，请问是哪一笔订单呢？请发一下订单号（格式 SM-2026-XXXXXXX），在“我的订单”里就能找到。",
        ),
    },
    "polite_redo": {
        "en": (
            "I'm sorry for the trouble, and I understand this is frustrating. Let me help: "
            "could you tell me a little more, and your order number if it is about an order?",
            "Thank you for your patience, and sorry this hasn't been smooth. I'll do my best "
            "to sort it out. What exactly happened? If you prefer, I can transfer you to a human agent.",
            "I'm sorry about that. Your question is a fair one and I'm glad to help. Could you "
            "share the details (and the order number, if there is one)?",
        ),
        "zh": (
            "非常抱歉给您带来不便，理解您的心情。我来帮您处理，能再具体说说情况吗？如果和订单有关，请提供订单号。",
            "感谢您的耐心，抱歉让您不太顺利。我会尽力帮您解决，请问具体是什么问题？需要的话也可以为您转人工客服。",
            "抱歉让您久等了，您的问题很合理，我很乐意帮忙。方便提供一下详细情况（有订单的话请附上订单号）吗？",
        ),
    },
}

# A budget the user gave: "under $100", "max 80", "预算300", "500元以内".
_BUDGET_EN = re.compile(
    r"(?i)(?:under|below|less than|max(?:imum)?|up to|budget(?: of| around| is)?|around|within)\s*(?:US)?\$?\s*(\d+(?:\.\d+)?)|\$\s*(\d+(?:\.\d+)?)"
)
_BUDGET_ZH = re.compile(r"预算\s*(\d+)|(\d+)\s*(?:元|块)\s*(?:以内|以下|之内|左右)?")
_WORD = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> set[str]:
    return {
        w.removesuffix("es").removesuffix("s") for w in _WORD.findall(text.lower()) if len(w) >= 3
    }


def recommend(
    prompt: str, lang: str, record_id: str, catalog: Sequence[CatalogItem]
) -> list[CatalogItem]:
    """Up to 3 catalogue items for a recommendation request: entries of the prompt's
    language that share words with it (category, name, aliases), within the budget it
    names; none when nothing in the catalogue fits (never a placeholder)."""
    zh = lang == "zh"
    pool = [c for c in catalog if c.lang == ("zh" if zh else "en")]
    words = _tokens(prompt)
    scored: list[tuple[int, float, str, CatalogItem]] = []
    for item in pool:
        # a fit names the item's category or the item itself; a shared word elsewhere
        # ("set" in "bedding sets" and "Building Set") is only a tie-break
        named = sum(1 for a in (item.name, *item.aliases) if a and a.lower() in prompt.lower())
        if zh:
            category = 1 if item.category and item.category in prompt else 0
            extra = 0
        else:
            category = len(words & _tokens(item.category))
            extra = len(words & _tokens(" ".join((item.name, *item.aliases))))
        score = 10 * (category + named) + extra
        if category or named:
            scored.append((-score, item.price, item.name, item))
    m = (_BUDGET_ZH if zh else _BUDGET_EN).search(prompt)
    if m is not None:
        budget = float(next(g for g in m.groups() if g))
        scored = [
            x
            for x in scored
            if x[3].price
            <= budget * (1.1 if "左右" in m.group(0) or "around" in m.group(0).lower() else 1.0)
        ]
    if not scored:
        return []
    scored.sort()
    k = 2 + _pick(record_id, 2)  # two or three items: not one answer shape for all
    return [x[3] for x in scored[:k]]


def _number(price: float) -> float | int:
    return int(price) if price == int(price) else price


class ChosenTemplate:
    """A rendered template: the text and the id of the wording it came from."""

    __slots__ = ("template_id", "text")

    def __init__(self, text: str, template_id: str) -> None:
        self.text, self.template_id = text, template_id


def _pick(record_id: str, n: int) -> int:
    return int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) % n


def render_template(
    kind: TemplateKind,
    label: str,
    lang: str,
    record_id: str,
    *,
    prompt: str = "",
    catalog: Sequence[CatalogItem] = (),
) -> ChosenTemplate | None:
    """The ``chosen`` text for a record, or ``None`` for kind ``none`` and for a
    recommendation the catalogue has no fitting item for."""
    if kind == "none":
        return None
    lang = "zh" if lang == "zh" else "en"
    if kind == "json_recommendation":
        items = recommend(prompt, lang, record_id, catalog)
        if not items:
            return None
        text = json.dumps(
            [{"name": i.name, "url": i.url, "price": _number(i.price)} for i in items],
            ensure_ascii=False,
        )
        return ChosenTemplate(text, f"json_recommendation.catalog.{len(items)}")
    variants = _TEXTS[kind][lang]
    i = _pick(record_id, len(variants))
    text = variants[i]
    if kind == "refusal":
        text = text.format(reason=_REASONS[lang].get(label, _GENERIC_REASON[lang]))
    return ChosenTemplate(text, f"{kind}.{lang}.{i}.{label if kind == 'refusal' else 'any'}")
