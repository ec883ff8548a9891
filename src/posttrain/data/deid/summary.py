"""Short non-identifying summaries for the ``drop`` retention action.

A dropped value leaves a phrase that keeps what a support conversation needs from it and
nothing that singles a person out: ``an address in Shanghai`` (the city, when it is one
of the well-known cities of :func:`~.lexicon.cities`), ``一个上海的地址``, ``a person``,
``a phone number``. The language follows the text the value sat in.
"""

from __future__ import annotations

from posttrain.data.deid.lexicon import city_in

__all__ = ["summary"]

_EN = {
    "PERSON": "a person",
    "ADDRESS": "an address",
    "PHONE": "a phone number",
    "EMAIL": "an e-mail address",
    "ID_CARD": "an ID number",
    "BANK_CARD": "a card number",
    "IP": "an IP address",
    "API_KEY": "an API key",
    "JWT": "a token",
    "PRIVATE_KEY": "a private key",
    "PASSWORD": "a password",
}
_ZH = {
    "PERSON": "某人",
    "ADDRESS": "一个地址",
    "PHONE": "一个电话号码",
    "EMAIL": "一个邮箱地址",
    "ID_CARD": "一个证件号码",
    "BANK_CARD": "一个卡号",
    "IP": "一个IP地址",
    "API_KEY": "一个密钥",
    "JWT": "一个令牌",
    "PRIVATE_KEY": "一个私钥",
    "PASSWORD": "一个密码",
}


def summary(etype: str, value: str, zh: bool) -> str:
    """The phrase that replaces a dropped ``value`` of type ``etype``."""
    if etype == "ADDRESS":
        city = city_in(value, zh)
        if city:
            return f"一个{city}的地址" if zh else f"an address in {city}"
    return (_ZH if zh else _EN).get(etype, "某个信息" if zh else "a personal detail")
