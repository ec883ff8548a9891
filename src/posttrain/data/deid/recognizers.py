"""Offline PII and credential recognizers, as Presidio recognizers.

Every recognizer here is a Presidio :class:`~presidio_analyzer.PatternRecognizer` (so it
plugs into an ``AnalyzerEngine``/``RecognizerRegistry`` like any predefined one), but scores
its matches itself: a regex finds candidates, a validator (ID checksum, Luhn, IP parse)
and the words just before the match (context) raise or lower the score. Presidio's own
context enhancer needs NLP tokens, which the offline engine does not produce.

Entity types (the placeholder names of the de-identification policy):

* ``ID_CARD``     mainland resident ID numbers (18 characters, birth date and checksum)
* ``PHONE``       mainland mobiles with or without +86, landlines, +CC and US numbers
* ``BANK_CARD``   16-19 digit cards, grouped or not, also glued to Chinese text
* ``EMAIL``, ``IP``
* ``API_KEY``     cloud access keys (AKIA/ASIA, LTAI, AKID), ``sk-`` keys, tokens found by
                  the detect-secrets plugins (GitHub, GitLab, Slack, Stripe, ...)
* ``JWT``, ``PRIVATE_KEY``, ``PASSWORD`` (the value of ``password=``-style assignments)
* ``PERSON``, ``ADDRESS``  names and postal addresses, English and Chinese
                  (:mod:`.names`, :mod:`.addresses`)

Each recognizer names the cheap *trigger* groups of :data:`TRIGGERS` its patterns need;
:mod:`posttrain.data.deid.engine` scans a text once for all triggers and runs only the
recognizers whose trigger fired.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from posttrain.data.deid.entities import ENTITY_TYPES

__all__ = [
    "ENTITY_TYPES",
    "TRIGGERS",
    "ScoredPatternRecognizer",
    "default_recognizers",
    "id_card_checksum_ok",
    "luhn_ok",
]


# Cheap scans that every candidate of a recognizer must contain; the engine scans a text
# for these and runs only the recognizers whose trigger fired (most texts fire none).
# A trigger fires when any of its alternatives does; an alternative is (a literal every
# match contains, a regex): the literal is checked first (``in`` is far cheaper than a
# regex scan) and a missing regex means the literal alone decides. Alternatives are
# scanned separately because Python's ``re`` scans an alternation of character classes
# several times slower than its parts one by one.
TRIGGERS: dict[str, tuple[tuple[str | None, str | None], ...]] = {
    "digits": ((None, r"\d{3}[ .\-]?\d{4}"), ("+", r"\+\d")),
    "at": (("@", None),),
    "ip": ((".", r"\d\.\d{1,3}\.\d"), (":", r"[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:")),
    # every token the secret recognizers know has a run of 16 token characters (keys, JWT
    # parts, key bodies); a plain character-class run is ~6x cheaper to scan for than the
    # alternation of the providers' prefixes
    "secret": (
        (None, r"[A-Za-z0-9_\-]{16}"),
        ("PRIVATE KEY", None),
        ("PuTTY", None),
        ("hooks.slack", None),
        (":", r"\d{8,10}:"),
    ),
    # names and addresses (:mod:`.names`, :mod:`.addresses`): a capitalised word, a CJK
    # character, a house number before a capitalised word, a Chinese road / estate / unit
    # (two capitalised words, one after a lower-case word, a title, a possessive: not
    # the capital of a sentence's first word, which is most English texts' only one)
    "cap": (
        (None, r"[A-Z][a-z]+[ \t]+(?:[A-Z]\.[ \t]+)?[A-Z][a-z]"),
        (None, r"[a-z,;:][ \t]+[A-Z][a-z]"),
        (None, r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+[A-Z]"),
        ("s", r"[A-Z][a-z]+['’]s(?![a-z])"),
    ),
    "han": ((None, "[\u4e00-\u9fff]"),),
    "num_cap": ((None, r"\d,?\s+[A-Z]"), ("Box", None)),
    "mil": (("PO ", r"[AFD]PO [A-Z]{2} \d"),),
    "zh_addr": (
        (None, "[路街道巷弄胡同][0-9０-９一二三四五六七八九十A-Za-z]"),
        (None, "[区苑园寓厦村心场城院里][0-9０-９A-Z]"),
        # an estate's phase or gate before the building (万科城二期8栋, 小区南门2号楼)
        (None, "(?:期|门)[0-9０-９]+(?:栋|幢|号楼|座)"),
    ),
    # searched in the lower-cased text (keywords of password-style assignments)
    "keyword": (
        (
            None,
            r"pass|pwd|secret|token|api.?key|access.?key|credential|aws|merchant.?id|client.?id|"
            r"app.?id|密码|口令|密钥",
        ),
    ),
}

# Characters that may not touch a number on either side. CJK characters may: a card number
# glued to Chinese text (卡号6222021234567890请查收) is still a card number.
_NB = r"(?<![0-9A-Za-z_])"
_NA = r"(?![0-9A-Za-z_])"


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a digit string (separators already removed)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_checksum_ok(value: str) -> bool:
    """GB 11643 checksum of an 18-character mainland resident ID number."""
    s = re.sub(r"\s", "", value).upper()
    if len(s) != 18 or not s[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17]


@dataclass(frozen=True)
class _Spec:
    """One regex of a recognizer: its base score and an optional per-match scorer."""

    name: str
    regex: str
    score: float
    flags: int = 0


class ScoredPatternRecognizer(PatternRecognizer):
    """A Presidio pattern recognizer that scores matches with validation and context.

    ``analyze`` returns :class:`RecognizerResult` objects like every Presidio recognizer;
    a named group ``v`` in a pattern narrows the span to the value (``password=<v>``).
    Subclasses set ``ENTITY``, ``TRIGGER_GROUPS``, ``SPECS`` and optionally the context
    words and :meth:`adjust`.
    """

    ENTITY: ClassVar[str]
    TRIGGER_GROUPS: ClassVar[tuple[str, ...]]
    SPECS: ClassVar[tuple[_Spec, ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_BOOST: ClassVar[float] = 0.3
    NEGATIVE_PENALTY: ClassVar[float] = 0.4
    CONTEXT_WINDOW: ClassVar[int] = 16

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language=supported_language,
            patterns=[Pattern(s.name, s.regex, s.score) for s in self.SPECS],
            context=list(self.CONTEXT),
        )
        self._compiled = [(s, re.compile(s.regex, s.flags)) for s in self.SPECS]
        self._ctx = _word_regex(self.CONTEXT)
        self._neg = _word_regex(self.NEGATIVE_CONTEXT)

    def adjust(self, value: str, score: float) -> float | None:
        """Validate ``value``; return a new score, or ``None`` to reject the match."""
        return score

    def analyze(
        self,
        text: str,
        entities: Sequence[str] | None = None,
        nlp_artifacts: object = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for spec, rx in self._compiled:
            for m in rx.finditer(text):
                if "v" in rx.groupindex and m.group("v"):
                    start, end = m.span("v")
                else:
                    start, end = m.span()
                value = text[start:end]
                if not value.strip():
                    continue
                score = self.adjust(value, spec.score)
                if score is None:
                    continue
                before = text[max(0, m.start() - self.CONTEXT_WINDOW) : m.start()]
                if self._ctx is not None and self._ctx.search(before):
                    score += self.CONTEXT_BOOST
                if self._neg is not None and self._neg.search(before):
                    score -= self.NEGATIVE_PENALTY
                score = max(0.0, min(1.0, score))
                if score <= 0.0:
                    continue
                out.append(
                    RecognizerResult(
                        entity_type=self.ENTITY,
                        start=start,
                        end=end,
                        score=round(score, 4),
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                            "pattern": spec.name,
                        },
                    )
                )
        return out


def _word_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    # ASCII words match whole words only ("ref" must not fire on "Refund"); CJK words match
    # anywhere, as Chinese has no spaces between words.
    parts = [
        rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if w.isascii() else re.escape(w) for w in words
    ]
    return re.compile("|".join(parts), re.IGNORECASE)


_ORDERISH = (
    "订单",
    "单号",
    "运单",
    "快递",
    "物流",
    "order",
    "tracking",
    "waybill",
    "invoice",
    "sku",
    "编号",
    "批次",
    "ref",
)


class IdCardRecognizer(ScoredPatternRecognizer):
    ENTITY = "ID_CARD"
    TRIGGER_GROUPS = ("digits",)
    _DATE = r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    SPECS = (
        _Spec("cn_id", _NB + r"[1-9]\d{5}" + _DATE + r"\d{3}[\dXx]" + _NA, 0.4),
        _Spec("cn_id_spaced", _NB + r"[1-9]\d{5} " + _DATE + r" \d{3}[\dXx]" + _NA, 0.4),
    )
    CONTEXT = ("身份证", "证件", "id card", "id number", "identity", "公民身份")

    def adjust(self, value: str, score: float) -> float | None:
        # A valid checksum makes an 18-digit number with a valid birth date an ID number.
        return 1.0 if id_card_checksum_ok(value) else None


class PhoneRecognizer(ScoredPatternRecognizer):
    ENTITY = "PHONE"
    TRIGGER_GROUPS = ("digits",)
    SPECS = (
        _Spec(
            "cn_mobile",
            r"(?<![0-9A-Za-z_+])(?:(?:\+|00)86[ \-]?|\(\+?86\) ?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)",
            0.7,
        ),
        _Spec("cn_landline", _NB + r"(?:\(0\d{2,3}\)|0\d{2,3}-)[ ]?[2-9]\d{6,7}(?!\d)", 0.55),
        _Spec(
            "intl",
            r"(?<![0-9A-Za-z_])\+(?!86)[1-9]\d{0,2}[ \-]?\(?\d{1,4}\)?(?:[ \-]?\d{2,4}){2,4}(?!\d)",
            0.6,
        ),
        _Spec(
            "us",
            r"(?<![0-9A-Za-z_+])(?:(?:\+?1|001)[ .\-])?\(?[2-9]\d{2}\)?[ .\-]?[2-9]\d{2}[ .\-]\d{4}"
            r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?(?!\d)",
            0.55,
        ),
        # ten digits in a row: a US number only where the words before say phone
        _Spec("us_plain", _NB + r"[2-9]\d{2}[2-9]\d{6}(?:x\d{1,6})?(?!\d)", 0.3),
    )
    CONTEXT = (
        "手机",
        "电话",
        "联系",
        "致电",
        "phone",
        "mobile",
        "call",
        "call me on",
        "number is",
        "tel",
        "whatsapp",
        "号码",
    )
    NEGATIVE_CONTEXT = _ORDERISH

    def adjust(self, value: str, score: float) -> float | None:
        digits = re.sub(r"\D", "", re.sub(r"\s?(?:x|ext\.?)\s?\d+$", "", value))
        if digits[:3] in ("400", "800") and len(digits) == 10:
            return None  # a company hotline (400/800 numbers), not a person's phone
        return score if 7 <= len(digits) <= 15 else None


class BankCardRecognizer(ScoredPatternRecognizer):
    ENTITY = "BANK_CARD"
    TRIGGER_GROUPS = ("digits",)
    SPECS = (
        _Spec("card_plain", _NB + r"[2-6]\d{15,18}" + _NA, 0.3),
        _Spec("card_grouped", _NB + r"[2-6]\d{3}(?:[ \-]\d{4}){3}(?:[ \-]?\d{1,3})?" + _NA, 0.35),
    )
    CONTEXT = (
        "卡号",
        "银行卡",
        "信用卡",
        "借记卡",
        "储蓄卡",
        "card",
        "visa",
        "mastercard",
        "unionpay",
        "银联",
        "账号",
        "account",
    )
    NEGATIVE_CONTEXT = _ORDERISH

    def adjust(self, value: str, score: float) -> float | None:
        digits = re.sub(r"\D", "", value)
        if not 16 <= len(digits) <= 19:
            return None
        return score + 0.55 if luhn_ok(digits) else score


class EmailRecognizer(ScoredPatternRecognizer):
    ENTITY = "EMAIL"
    TRIGGER_GROUPS = ("at",)
    SPECS = (
        _Spec(
            "email",
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
            r"\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])",
            0.9,
        ),
    )


class IpRecognizer(ScoredPatternRecognizer):
    ENTITY = "IP"
    TRIGGER_GROUPS = ("ip",)
    _OCT = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    SPECS = (
        _Spec("ipv4", r"(?<![\d.vV])(?:" + _OCT + r"\.){3}" + _OCT + r"(?!\d|\.\d)", 0.6),
        _Spec(
            "ipv6",
            r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}:?(?::?[0-9A-Fa-f]{1,4}){1,7}"
            r"(?![0-9A-Fa-f:])",
            0.6,
        ),
    )
    CONTEXT = ("ip", "地址", "address", "host", "server", "服务器", "登录")
    NEGATIVE_CONTEXT = ("version", "版本", "build", "固件", "firmware")
    CONTEXT_WINDOW = 10

    def adjust(self, value: str, score: float) -> float | None:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return None
        return score


class CloudKeyRecognizer(ScoredPatternRecognizer):
    ENTITY = "API_KEY"
    TRIGGER_GROUPS = ("secret",)
    SPECS = (
        _Spec("aws_access_key", _NB + r"(?:AKIA|ASIA)[0-9A-Z]{16}" + _NA, 0.95),
        _Spec("aliyun_access_key", _NB + r"LTAI[0-9A-Za-z]{12,24}" + _NA, 0.95),
        _Spec("tencent_secret_id", _NB + r"AKID[0-9A-Za-z]{13,40}" + _NA, 0.95),
        _Spec("sk_key", _NB + r"sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,}" + _NA, 0.95),
    )


class JwtRecognizer(ScoredPatternRecognizer):
    ENTITY = "JWT"
    TRIGGER_GROUPS = ("secret",)
    SPECS = (
        _Spec(
            "jwt",
            r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{8,}",
            0.95,
        ),
    )


class PrivateKeyRecognizer(ScoredPatternRecognizer):
    ENTITY = "PRIVATE_KEY"
    TRIGGER_GROUPS = ("secret",)
    SPECS = (
        _Spec(
            "pem_private_key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            1.0,
        ),
    )


# A value that is a plain word ("the password is incorrect") is not a secret.
_PLAIN_WORD = re.compile(r"[a-z]+|[A-Z][a-z]+")


class PasswordAssignmentRecognizer(ScoredPatternRecognizer):
    ENTITY = "PASSWORD"
    TRIGGER_GROUPS = ("keyword",)
    _KEY = (
        r"(?:(?i:password|passwd|passcode|pwd|pass|secret(?:[_\-]?key)?|api[_\-]?key|"
        r"access[_\-]?key(?:[_\-]?secret)?|auth[_\-]?token|access[_\-]?token|token|credentials?|"
        # the ids that go with a gateway's secret (PAY_GATEWAY_MERCHANT_ID=8396...)
        r"merchant[_\-]?id|client[_\-]?id|app[_\-]?id)"
        r"|密码|口令|密钥|登录密码|支付密码)"
    )
    _VAL = r"[^\s'\"“”‘’,;，。；、)\]}\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]{4,200}"
    SPECS = (
        _Spec(
            "quoted", _KEY + r"\s*(?:[:=：]|(?i:is|was)|是|为)\s*['\"“‘](?P<v>" + _VAL + r")", 0.75
        ),
        _Spec("assign", _KEY + r"[\"']?\s*(?:[:=：]|是|为)\s*(?P<v>" + _VAL + r")", 0.75),
        _Spec("is", _KEY + r"\s+(?i:is|was)\s+(?P<v>" + _VAL + r")", 0.7),
    )

    def adjust(self, value: str, score: float) -> float | None:
        value = value.rstrip(".!?")
        if _PLAIN_WORD.fullmatch(value) or value.startswith("<"):
            # a word or one of our own placeholders, not a secret value
            return None
        return score


def _detect_secrets_specs() -> tuple[_Spec, ...]:
    """The regexes of the detect-secrets plugins we trust on free text, as specs.

    Left out: high-entropy strings and keyword plugins (they flag hashes and prose; our
    password recognizer covers assignments), IP (ours is an entity of its own),
    Artifactory / IBM / SoftLayer / Cloudant (their broad keyword regexes flag product codes).
    """
    from detect_secrets.plugins import (
        aws,
        azure_storage_key,
        basic_auth,
        discord,
        github_token,
        gitlab_token,
        jwt,
        mailchimp,
        npm,
        openai,
        private_key,
        pypi_token,
        sendgrid,
        slack,
        square_oauth,
        stripe,
        telegram_token,
        twilio,
    )

    plugins: list[type[Any]] = [
        aws.AWSKeyDetector,
        azure_storage_key.AzureStorageKeyDetector,
        basic_auth.BasicAuthDetector,
        discord.DiscordBotTokenDetector,
        github_token.GitHubTokenDetector,
        gitlab_token.GitLabTokenDetector,
        jwt.JwtTokenDetector,
        mailchimp.MailchimpDetector,
        npm.NpmDetector,
        openai.OpenAIDetector,
        private_key.PrivateKeyDetector,
        pypi_token.PypiTokenDetector,
        sendgrid.SendGridDetector,
        slack.SlackDetector,
        square_oauth.SquareOAuthDetector,
        stripe.StripeDetector,
        telegram_token.TelegramBotTokenDetector,
        twilio.TwilioKeyDetector,
    ]
    specs = []
    for plugin in plugins:
        for i, rx in enumerate(plugin().denylist):
            specs.append(_Spec(f"detect_secrets.{plugin.__name__}.{i}", rx.pattern, 0.9, rx.flags))
    return tuple(specs)


class DetectSecretsRecognizer(ScoredPatternRecognizer):
    """Tokens found by the regexes of detect-secrets' plugins (one recognizer for all).

    Where a plugin's regex captures only part of the token, the whole match is redacted:
    wider than the secret, therefore still safe.
    """

    ENTITY = "API_KEY"
    TRIGGER_GROUPS = ("secret", "at", "keyword")
    SPECS = _detect_secrets_specs()


RECOGNIZER_CLASSES: tuple[Callable[[str], ScoredPatternRecognizer], ...] = (
    IdCardRecognizer,
    PhoneRecognizer,
    BankCardRecognizer,
    EmailRecognizer,
    IpRecognizer,
    CloudKeyRecognizer,
    JwtRecognizer,
    PrivateKeyRecognizer,
    PasswordAssignmentRecognizer,
    DetectSecretsRecognizer,
)


def default_recognizers(language: str = "en") -> list[ScoredPatternRecognizer]:
    """One instance of every recognizer, for ``language`` (they are language-agnostic)."""
    from posttrain.data.deid.addresses import ChineseAddressRecognizer, EnglishAddressRecognizer
    from posttrain.data.deid.names import ChineseNameRecognizer, EnglishNameRecognizer

    classes = (
        *RECOGNIZER_CLASSES,
        EnglishNameRecognizer,
        ChineseNameRecognizer,
        EnglishAddressRecognizer,
        ChineseAddressRecognizer,
    )
    return [cls(language) for cls in classes]
