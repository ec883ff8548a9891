"""Structured records: JSON inside a text field, and the values under personal-data keys.

A tool result pasted into ``context`` (``{"recipient": {"name": "Li Wei", "address":
"240 Garden Road, #15-01, Xiamen"}, ...}``) carries personal data that no free-text
recognizer may see: a name is just two words, an address may be written any way, and a
``\\u674e\\u4f1f`` escape hides 李伟 from every pattern. So :func:`find_json` finds the
JSON objects and arrays in a text, and :func:`classify_key` says which keys name personal
data; the de-identifier then replaces every string (or number) under such a key, whatever
it looks like, runs the ordinary recognizers over the decoded values of the other keys,
and writes the JSON back with :func:`dump_like` (valid JSON, the original's separators).

Key rules (``classify_key``; keys are normalised: lower case, camelCase and ``-``/``.``/
spaces split into ``_`` parts):

* a key naming a person (``name``, ``recipient``, ``customer``, ``contact``, ``姓名``,
  ``收件人`` ...) gives ``PERSON``; an address key (``address``, ``street``, ``地址`` ...)
  ``ADDRESS``; ``phone``/``mobile``/``tel``/``电话`` ``PHONE``; ``email``/``邮箱``
  ``EMAIL``; ``id_number``/``身份证``/``passport`` ``ID_CARD``; ``card``/``account``/
  ``iban``/``卡号``/``账号`` ``BANK_CARD``;
* a compound key is read from its last part (``billing_address``, ``customer_phone``),
  and a person prefix (``customer_note``) makes the whole value ``PERSON``;
* bare ``name`` is a person's name unless its object describes something else (siblings
  such as ``sku``, ``price``, ``url``, ``arguments``: a product or a tool call);
* bare ``id`` is personal only in an object that holds other personal keys (a customer
  record's id), not an order's or a request's id;
* the values inside an object or list under a personal key inherit its type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonSpan", "classify_key", "dump_like", "find_json", "scalars", "set_path"]

# last part of a normalised key -> entity type
_LAST: dict[str, str] = {}
for _etype, _words in {
    "PERSON": (
        "name",
        "fullname",
        "firstname",
        "lastname",
        "givenname",
        "familyname",
        "surname",
        "forename",
        "nickname",
        "username",
        "recipient",
        "receiver",
        "consignee",
        "addressee",
        "customer",
        "client",
        "buyer",
        "purchaser",
        "sender",
        "shipper",
        "contact",
        "holder",
        "cardholder",
        "payer",
        "payee",
        "signer",
        "signee",
        "applicant",
        "wechat",
        "weixin",
        "qq",
        "姓名",
        "名字",
        "姓",
        "名",
        "收件人",
        "收货人",
        "联系人",
        "寄件人",
        "签收人",
        "申请人",
        "提货人",
        "取件人",
        "领取人",
        "经办人",
        "客户",
        "顾客",
        "买家",
        "用户名",
        "昵称",
        "持卡人",
        "户名",
        "微信",
    ),
    "ADDRESS": (
        "address",
        "addr",
        "street",
        "streetaddress",
        "line1",
        "line2",
        "addressline1",
        "addressline2",
        "postcode",
        "postalcode",
        "zip",
        "zipcode",
        "地址",
        "收货地址",
        "详细地址",
        "住址",
        "街道",
        "邮编",
    ),
    "PHONE": (
        "phone",
        "phonenumber",
        "mobile",
        "cell",
        "cellphone",
        "tel",
        "telephone",
        "fax",
        "whatsapp",
        "电话",
        "手机",
        "手机号",
        "联系电话",
        "电话号码",
        "手机号码",
    ),
    "EMAIL": ("email", "mail", "emailaddress", "邮箱", "电子邮箱", "邮件"),
    "ID_CARD": (
        "idnumber",
        "idno",
        "idcard",
        "nationalid",
        "passport",
        "passportno",
        "ssn",
        "身份证",
        "身份证号",
        "身份证号码",
        "证件号",
        "证件号码",
    ),
    "BANK_CARD": (
        "card",
        "cardnumber",
        "cardno",
        "pan",
        "account",
        "accountnumber",
        "accountno",
        "iban",
        "bankaccount",
        "银行卡",
        "银行卡号",
        "卡号",
        "账号",
        "账户",
    ),
}.items():
    for _w in _words:
        _LAST[_w] = _etype

# a first part that makes any compound key personal (``customer_note``, ``recipient_city``)
_PERSON_PREFIX = frozenset(
    ("recipient", "receiver", "consignee", "customer", "buyer", "sender", "shipper", "contact")
)
# last parts of a person-prefixed key that hold free text or facts about the record, not
# the person (``customer_comment``: the recognizers still read it as text)
_NOT_PERSONAL = frozenset(
    [
        "comment",
        "comments",
        "note",
        "notes",
        "remark",
        "remarks",
        "message",
        "messages",
        "feedback",
        "review",
        "reason",
        "request",
        "question",
        "type",
        "status",
        "level",
        "tier",
        "segment",
        "since",
        "count",
        "service",
        "support",
        "hotline",
        "rating",
        "score",
        "group",
        "language",
        "lang",
    ]
)
# siblings that make ``name`` the name of a thing, not of a person
_THING_KEYS = frozenset(
    (
        "sku",
        "url",
        "link",
        "price",
        "currency",
        "product_id",
        "item_id",
        "category",
        "brand",
        "model",
        "in_stock",
        "stock",
        "qty",
        "quantity",
        "arguments",
        "parameters",
        "function",
        "tool",
        "version",
        "商品",
        "价格",
    )
)
# parent keys whose objects describe things
_THING_PARENTS = frozenset(
    ("items", "item", "products", "product", "results", "tools", "functions", "function")
)


def _norm_parts(key: str) -> list[str]:
    key = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key.strip())
    return [p for p in re.split(r"[\s_\-.:/]+", key.lower()) if p]


def classify_key(
    key: str, siblings: frozenset[str] = frozenset(), parent: str | None = None
) -> str | None:
    """The entity type the values under ``key`` are (``None``: not personal by key)."""
    parts = _norm_parts(key)
    if not parts:
        return None
    joined = "".join(parts)
    sib = frozenset(k.lower() for k in siblings)
    if joined == "id":
        others = {classify_key(s) for s in siblings if s.lower() != "id"}
        return "ID_CARD" if others - {None} else None
    etype = _LAST.get(joined) or _LAST.get("".join(parts[-2:])) or _LAST.get(parts[-1])
    if etype is None and parts[-1].endswith("s"):  # plurals: phones, addresses, emails
        etype = _LAST.get(parts[-1][:-1]) or _LAST.get(parts[-1].removesuffix("es"))
    if etype is None and len(parts) > 1 and parts[0] in _PERSON_PREFIX:
        if parts[-1] in _NOT_PERSONAL:
            return None
        if parts[-1] in ("id", "no", "number"):
            return "ID_CARD"
        return "PERSON"
    thing = sib & _THING_KEYS or (parent is not None and parent.lower() in _THING_PARENTS)
    if etype == "PERSON" and joined == "name" and thing:
        return None
    return etype


@dataclass(frozen=True)
class JsonSpan:
    """A JSON object or array found in a text: where it is and what it decodes to."""

    start: int
    end: int
    value: Any
    compact: bool  # written without spaces after ``,`` and ``:``


_OPEN = re.compile(r"[\[{]")
_DECODER = json.JSONDecoder()


def find_json(text: str) -> list[JsonSpan]:
    """The top-level JSON objects and arrays in ``text`` (with at least one key/item)."""
    if '"' not in text:
        return []
    out: list[JsonSpan] = []
    pos = 0
    while True:
        m = _OPEN.search(text, pos)
        if m is None:
            return out
        try:
            value, end = _DECODER.raw_decode(text, m.start())
        except ValueError:
            pos = m.start() + 1
            continue
        if isinstance(value, dict | list) and value:
            raw = text[m.start() : end]
            out.append(JsonSpan(m.start(), end, value, compact=not re.search(r"[:,] ", raw)))
        pos = end


def dump_like(value: Any, span: JsonSpan) -> str:
    """``value`` as JSON written the way ``span`` was (compact or with spaces)."""
    seps = (",", ":") if span.compact else (", ", ": ")
    return json.dumps(value, ensure_ascii=False, separators=seps)


def scalars(value: Any) -> Iterator[tuple[tuple[Any, ...], str | None, str]]:
    """(path, entity type or None, text) of every string in ``value``, in document order,
    and of every number under a personal key (given as text).

    ``path`` is the sequence of keys / indexes from the top (for :func:`set_path`).
    """
    yield from _walk(value, (), None, None)


def set_path(value: Any, path: tuple[Any, ...], new: str) -> Any:
    """Replace the scalar at ``path`` in ``value`` (in place; returns ``value``)."""
    if not path:
        return new
    node = value
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = new
    return value


def _walk(
    value: Any, path: tuple[Any, ...], etype: str | None, parent: str | None
) -> Iterator[tuple[tuple[Any, ...], str | None, str]]:
    if isinstance(value, dict):
        keys = frozenset(str(k) for k in value)
        for k, v in value.items():
            own = classify_key(str(k), keys - {str(k)}, parent)
            yield from _walk(v, (*path, k), own or etype, str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i), etype, parent)
    elif isinstance(value, str):
        if value.strip():
            yield path, etype, value
    elif etype is not None and isinstance(value, int | float) and not isinstance(value, bool):
        yield path, etype, str(value)
