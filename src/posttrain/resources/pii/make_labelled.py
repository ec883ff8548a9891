"""Generate the labelled PII test set ``labelled.jsonl`` (deterministic, fixed seed).

    python src/posttrain/resources/pii/make_labelled.py   # rewrites labelled.jsonl

Every value is synthetic: ID numbers have valid checksums and birth dates but random
regions and sequence numbers, cards pass Luhn with random digits, keys are random strings
in the providers' formats. Each line: ``id``, ``lang`` (en/zh), ``text``, ``entities``
(``type``, ``start``, ``end``, ``value``), ``kind`` (``positive`` or
``negative:<what>`` for hard negatives that must not be flagged), ``source`` (the
template family) and ``split``.

Names and addresses (``PERSON``, ``ADDRESS``; :func:`names_and_addresses`) come in free
text, JSON tool results and order notes, English and Chinese, in two splits that share
neither a template family nor a value list: ``tune`` (what the recognizers were adjusted
on) and ``heldout`` (written apart and only ever scored). The values are hand-written
lists, not Faker's (whose lists the recognizers use): a held-out name may still be in
those lists, as real names are. The older entity types were tuned on the whole set;
their items are all ``tune``.
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import base64
import json
import random
import re
import string
from pathlib import Path
from typing import Any

SEED = 20260314
OUT = Path(__file__).with_name("labelled.jsonl")

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(rng: random.Random) -> str:
    region = rng.choice(["110105", "310104", "440305", "510107", "330106", "420111"])
    birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = region + birth + f"{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def luhn_fail(prefix: str, length: int, rng: random.Random) -> str:
    good = luhn_complete(prefix, length, rng)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "186", "177", "199"]) + "".join(
        rng.choice(string.digits) for _ in range(8)
    )


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


AZ09 = string.ascii_uppercase + string.digits
AZaz09 = string.ascii_letters + string.digits


def jwt(rng: random.Random) -> str:
    def b64(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    payload = {
        "sub": str(rng.randint(10**6, 10**7)),
        "iat": rng.randint(1_600_000_000, 1_800_000_000),
    }
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}.{rand(rng, AZaz09 + '-_', 43)}"


def private_key(rng: random.Random) -> str:
    body = "\n".join(rand(rng, AZaz09 + "+/", 64) for _ in range(4))
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", ""])
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


def password(rng: random.Random) -> str:
    return rand(rng, string.ascii_letters, 5) + rand(rng, string.digits, 3) + rng.choice("!#%")


def positives(rng: random.Random) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(lang, text with {0},{1}.. slots, [(type, value)]) for every entity type."""
    out: list[tuple[str, str, list[tuple[str, str]]]] = []

    def add(lang: str, template: str, *ents: tuple[str, str]) -> None:
        out.append((lang, template, list(ents)))

    for i in range(16):
        v = id_number(rng)
        if i % 4 == 3:
            v = v[:6] + " " + v[6:14] + " " + v[14:]
        add(
            "zh",
            rng.choice(
                ["我的身份证号是{0}，请帮我核实。", "身份证{0}", "证件号码：{0} 麻烦尽快处理"]
            ),
            ("ID_CARD", v),
        )
        add(
            "en",
            rng.choice(
                [
                    "My ID number is {0}.",
                    "ID: {0}, please verify",
                    "Chinese ID card {0} was rejected",
                ]
            ),
            ("ID_CARD", id_number(rng)),
        )
    for i in range(14):
        m = mobile(rng)
        fmt = [
            m,
            f"+86 {m}",
            f"+86-{m[:3]}-{m[3:7]}-{m[7:]}",
            f"{m[:3]} {m[3:7]} {m[7:]}",
            f"0086{m}",
            f"(+86){m}",
            f"{m[:3]}-{m[3:7]}-{m[7:]}",
        ][i % 7]
        add(
            "zh",
            rng.choice(
                [
                    "我的手机号{0}，快递到了请打电话",
                    "联系电话：{0}",
                    "请拨打{0}找我",
                    "号码是{0}谢谢",
                ]
            ),
            ("PHONE", fmt),
        )
        add(
            "en",
            rng.choice(["Call me on {0} tomorrow", "my mobile is {0}", "You can reach me at {0}."]),
            ("PHONE", f"+86 {mobile(rng)}" if i % 2 else mobile(rng)),
        )
    for _i in range(6):
        add(
            "en",
            "Please call {0} after 5pm",
            (
                "PHONE",
                f"({rng.randint(201, 989)}) {rng.randint(201, 989)}-{rng.randint(1000, 9999)}",
            ),
        )
        add(
            "en",
            "Phone: {0}",
            ("PHONE", f"+44 20 {rng.randint(7000, 7999)} {rng.randint(1000, 9999)}"),
        )
        add(
            "zh",
            "座机{0}，工作日可以联系",
            (
                "PHONE",
                f"0{rng.choice(['10', '21', '755', '571'])}-{rng.randint(2, 8)}{rng.randint(1000000, 9999999)}",
            ),
        )
    for i in range(16):
        prefix, n = [
            ("622202", 19),
            ("622848", 16),
            ("4", 16),
            ("5", 16),
            ("62", 19),
            ("6217", 19),
            ("4", 16),
            ("35", 16),
        ][i % 8]
        c = luhn_complete(prefix, n, rng)
        grouped = " ".join(c[j : j + 4] for j in range(0, len(c), 4))
        add(
            "zh",
            rng.choice(
                [
                    "卡号{0}请查收",
                    "我的银行卡号是{0}，退款请打到这张卡",
                    "退款到{0}吧",
                    "信用卡 {0} 被扣了两次",
                ]
            ),
            ("BANK_CARD", c if i % 2 else grouped),
        )
        add(
            "en",
            rng.choice(
                ["my card {0} was charged twice", "Refund to {0} please", "Visa {0}, exp 09/27"]
            ),
            ("BANK_CARD", grouped if i % 2 else c),
        )
    for _i in range(4):
        # no Luhn, but the context says card
        add("zh", "银行卡号：{0}", ("BANK_CARD", luhn_fail("6222", 19, rng)))
        add("en", "card number {0}", ("BANK_CARD", luhn_fail("4", 16, rng)))
    names = [
        "zhang.san",
        "li_si88",
        "wang.wu+shop",
        "j.smith",
        "maria.garcia",
        "chen-jie",
        "liu.yang2001",
        "a.b",
    ]
    domains = [
        "example.com",
        "mail.example.cn",
        "qq.com",
        "163.com",
        "corp.example.org",
        "example.co.uk",
    ]
    for i in range(14):
        add(
            "zh",
            rng.choice(["我的邮箱是{0}谢谢", "邮箱{0}，请发发票", "发到{0}就行"]),
            ("EMAIL", f"{rng.choice(names)}{i}@{rng.choice(domains)}"),
        )
        add(
            "en",
            rng.choice(["email me at {0}", "Contact: {0}.", "send it to <{0}> please"]),
            ("EMAIL", f"{rng.choice(names)}{i}@{rng.choice(domains)}"),
        )
    for i in range(14):
        v4 = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        add(
            "en",
            rng.choice(["login from {0} failed", "server IP {0}", "my IP is {0}, am I blocked?"]),
            ("IP", v4),
        )
        if i % 3 == 0:
            v6 = ":".join(f"{rng.randint(0, 65535):x}" for _ in range(8))
            add("en", "IPv6 {0} keeps timing out", ("IP", v6))
        else:
            add(
                "zh",
                rng.choice(["登录IP是{0}", "服务器地址{0}连不上", "我的IP：{0}"]),
                ("IP", f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"),
            )
    keys = [
        lambda: "AKIA" + rand(rng, AZ09, 16),
        lambda: "LTAI" + rand(rng, AZaz09, 20),
        lambda: "AKID" + rand(rng, AZaz09, 32),
        lambda: "sk-" + rand(rng, AZaz09, 48),
        lambda: "sk-proj-" + rand(rng, AZaz09 + "_-", 40),
        lambda: "ghp_" + rand(rng, AZaz09, 36),
        lambda: (
            "xoxb-"
            + str(rng.randint(10**10, 10**11))
            + "-"
            + rand(rng, string.ascii_lowercase + string.digits, 24)
        ),
        lambda: "sk_live_" + rand(rng, AZaz09, 24),
        lambda: "glpat-" + rand(rng, AZaz09, 20),
        lambda: "SG." + rand(rng, AZaz09, 22) + "." + rand(rng, AZaz09, 43),
    ]
    for i in range(20):
        add(
            "en",
            rng.choice(["use key {0} for the API", "ACCESS_KEY_ID={0}", "here is my token: {0}"]),
            ("API_KEY", keys[i % len(keys)]()),
        )
        add(
            "zh",
            rng.choice(["我的AccessKey是{0}，帮我查下", "密钥ID {0} 泄露了吗", "调用时带上{0}"]),
            ("API_KEY", keys[(i + 3) % len(keys)]()),
        )
    for _i in range(12):
        add(
            "en",
            rng.choice(["Authorization: Bearer {0}", "my session token {0}"]),
            ("JWT", jwt(rng)),
        )
        add("zh", "这是我的登录令牌{0}，为什么过期了", ("JWT", jwt(rng)))
    for _i in range(10):
        add("en", "my deploy key:\n{0}\nwhy does it fail?", ("PRIVATE_KEY", private_key(rng)))
        add("zh", "私钥如下\n{0}\n请帮我配置", ("PRIVATE_KEY", private_key(rng)))
    for _i in range(14):
        add(
            "en",
            rng.choice(
                ["password={0}", "my password is {0} and it fails", 'db_password: "{0}"', "PWD={0}"]
            ),
            ("PASSWORD", password(rng)),
        )
        add(
            "zh",
            rng.choice(["我的密码是{0}，登录不上", "密码：{0}", "支付密码为{0}"]),
            ("PASSWORD", password(rng)),
        )
    # several entities in one text
    for _ in range(10):
        add(
            "zh",
            "收件人电话{0}，身份证{1}，邮箱{2}",
            ("PHONE", mobile(rng)),
            ("ID_CARD", id_number(rng)),
            ("EMAIL", f"user{rng.randint(1, 999)}@example.com"),
        )
        add(
            "en",
            "card {0}, phone {1}, key {2}",
            ("BANK_CARD", luhn_complete("4", 16, rng)),
            ("PHONE", f"+86 {mobile(rng)}"),
            ("API_KEY", "AKIA" + rand(rng, AZ09, 16)),
        )
    return out


def negatives(rng: random.Random) -> list[tuple[str, str, str]]:
    """(lang, kind, text) hard negatives: look like PII, are not."""
    out: list[tuple[str, str, str]] = []
    for _ in range(12):
        out.append(
            (
                "en",
                "order_number",
                f"Where is my order SM-{rng.randint(2024, 2026)}-{rng.randint(0, 9999999):07d}?",
            )
        )
        out.append(("zh", "order_number", f"订单号{luhn_complete('3', 19, rng)}还没发货"))
        out.append(("zh", "order_number", f"订单 {rng.randint(10**17, 10**18 - 1)} 申请退款"))
    for _ in range(10):
        out.append(
            (
                "zh",
                "price",
                f"这款手机{rng.randint(999, 9999)}.00元，原价¥{rng.randint(1000, 19999):,}.00",
            )
        )
        out.append(
            (
                "en",
                "price",
                f"It costs ${rng.randint(10, 2999)}.{rng.randint(0, 99):02d}, was ${rng.randint(1000, 9999):,}.99",
            )
        )
    for _ in range(10):
        out.append(("zh", "tracking_number", f"运单号SF{rng.randint(10**12, 10**13 - 1)}，已到站"))
        out.append(
            (
                "en",
                "tracking_number",
                f"Tracking 1Z{rand(rng, AZ09, 6)}{rng.randint(10**9, 10**10 - 1)} shows delivered",
            )
        )
        out.append(("zh", "tracking_number", f"快递单号 {rng.randint(10**13, 10**14 - 1)} 查不到"))
    for _ in range(8):
        y, m, d = rng.randint(2020, 2027), rng.randint(1, 12), rng.randint(1, 28)
        out.append(
            (
                "en",
                "date",
                f"Delivered on {y}-{m:02d}-{d:02d} at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
            )
        )
        out.append(("zh", "date", f"{y}年{m}月{d}日下单，{y}{m:02d}{d:02d}发货"))
    for _ in range(6):
        out.append(
            (
                "en",
                "version",
                f"app version {rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)} crashes",
            )
        )
        out.append(
            (
                "en",
                "version",
                f"firmware v{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)} is out",
            )
        )
    for _ in range(6):
        out.append(("en", "barcode", f"EAN 690{rng.randint(10**9, 10**10 - 1)} is out of stock"))
        out.append(("zh", "sku", f"商品编号{rng.randint(10**11, 10**12 - 1)}，颜色黑色"))
        out.append(
            (
                "en",
                "uuid",
                f"request id {rand(rng, '0123456789abcdef', 8)}-{rand(rng, '0123456789abcdef', 4)}-4{rand(rng, '0123456789abcdef', 3)}-a{rand(rng, '0123456789abcdef', 3)}-{rand(rng, '0123456789abcdef', 12)}",
            )
        )
        out.append(("en", "hash", f"commit {rand(rng, '0123456789abcdef', 40)} fixed it"))
    for text in [
        "I forgot my password, how do I reset it?",
        "The password is incorrect, it says",
        "my token expired again",
        "密码错误怎么办",
        "请输入密码后再试",
        "what's the secret to a good espresso?",
        "Is the API key required for the free plan?",
        "我的账号被锁了，密码忘了",
        "risk-free returns for 30 days",
        "the task-force desk-lamp is broken",
        "Customer service hotline 400-820-8820",
        "客服热线 400-800-8888 或 95588",
        "coordinates 39.9042, 116.4074",
        "Screen 1920x1080, 60Hz, weight 1.35kg",
        "ISBN 978-7-111-54742-6",
        "it is 3.5 stars out of 5, 2.0.1 works",
        "room 1203, building 5, 12:30 pickup",
        "use the code SAVE20 at checkout",
        "reply to @support_team on weibo",
        "the placeholder <PHONE_1> stays as is",
        "discount 8.5折，满300减50",
        "temperature 36.6, heart rate 72",
        "version 10.0.19045.3693 of Windows",
        "I paid 1,299,000 VND",
        "call center opens 09:00-18:00",
        "Model number RTX-4090-24G",
    ]:
        out.append(("zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en", "misc", text))
    return out


# --- names and addresses: two splits with their own templates and values -------------

_SPLITS: dict[str, dict[str, Any]] = {
    "tune": {
        "en_given": [
            "Emily",
            "Daniel",
            "Sophie",
            "Jacob",
            "Olivia",
            "Nathan",
            "Grace",
            "Ryan",
            "Megan",
            "Aaron",
            "Priya",
            "Rahul",
            "Hannah",
            "Lucas",
            "Chloe",
            "Oscar",
        ],
        "en_family": [
            "Carter",
            "Thompson",
            "Walsh",
            "Bennett",
            "Hughes",
            "Patel",
            "Sharma",
            "Foster",
            "Murphy",
            "Reid",
            "Dubois",
            "Rossi",
            "Wong",
            "Tan",
            "Nguyen",
        ],
        "zh_surname": ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙"],
        "zh_given": [
            "芳",
            "伟",
            "娜",
            "静",
            "磊",
            "敏",
            "小燕",
            "建国",
            "丽华",
            "志强",
            "婷婷",
            "海涛",
            "秀英",
            "明",
        ],
        "en_street": [
            "Garden",
            "Maple",
            "Station",
            "Church",
            "Baker",
            "Riverside",
            "Hill",
            "Park",
            "Victoria",
            "Orchard",
        ],
        "en_suffix": ["Road", "Street", "Lane", "Avenue", "Drive", "Terrace"],
        "en_city": ["Shanghai", "Singapore", "Xiamen", "London", "Chengdu", "Manchester"],
        "zh_city": [
            ("上海", "浦东新区", "张杨路"),
            ("深圳", "南山区", "科苑路"),
            ("杭州", "西湖区", "文三路"),
            ("北京", "朝阳区", "建国路"),
            ("成都", "武侯区", "人民南路"),
            ("武汉", "洪山区", "珞喻路"),
        ],
    },
    "heldout": {
        "en_given": [
            "Margaret",
            "Tobias",
            "Aisha",
            "Vikram",
            "Fiona",
            "Gareth",
            "Yusuf",
            "Imogen",
            "Siddharth",
            "Beatrice",
            "Connor",
            "Leila",
            "Mateo",
            "Ingrid",
            "Kwame",
            "Rosalind",
            "Dmitri",
            "Nadia",
        ],
        "en_family": [
            "Okafor",
            "Henderson",
            "Kowalski",
            "Fitzgerald",
            "Iyer",
            "Lindqvist",
            "Abernathy",
            "Morales",
            "Castellano",
            "Whitfield",
            "Osei",
            "Brennan",
            "Takahashi",
            "Haddad",
            "Petrov",
            "Greenwood",
        ],
        "zh_surname": [
            "郭",
            "何",
            "高",
            "林",
            "罗",
            "郑",
            "梁",
            "谢",
            "宋",
            "唐",
            "韩",
            "冯",
            "欧阳",
            "诸葛",
        ],
        "zh_given": [
            "晓峰",
            "雨桐",
            "子涵",
            "俊杰",
            "欣怡",
            "浩然",
            "佳琪",
            "梓萱",
            "宇轩",
            "思远",
            "慧",
            "超",
            "雪梅",
            "国强",
        ],
        "en_street": [
            "Willow",
            "Kingsley",
            "Elm",
            "Harbourview",
            "Chestnut",
            "Queensway",
            "Birchwood",
            "Mill",
            "Ashford",
            "Clement",
        ],
        "en_suffix": ["Crescent", "Close", "Boulevard", "Way", "Rd", "St", "Court", "Place"],
        "en_city": [
            "Kuala Lumpur",
            "Hong Kong",
            "Dublin",
            "Sydney",
            "Toronto",
            "Hangzhou",
            "Boston",
            "Nanjing",
        ],
        "zh_city": [
            ("广州", "天河区", "天河北路"),
            ("南京", "鼓楼区", "中山北路"),
            ("西安", "雁塔区", "长安南路"),
            ("重庆", "渝中区", "解放西路"),
            ("青岛", "市南区", "香港中路"),
            ("苏州", "姑苏区", "干将东路"),
            ("长沙", "岳麓区", "麓山南路"),
            ("厦门", "思明区", "湖滨南路"),
        ],
    },
}

# (source, lang, template): {n} a name, {a} an address, {p} a phone, {t} a title form.
# Each family belongs to one split only.
_TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "tune": [
        ("free.en.1", "en", "My name is {n} and my order hasn't arrived."),
        ("free.en.2", "en", "The parcel for {n} was left at the wrong door."),
        ("free.en.3", "en", "Hi, this is {n}. Where is my refund?"),
        ("free.en.4", "en", "Please ship it to {a} before Friday."),
        ("free.en.5", "en", "I moved, the new address is {a}."),
        ("free.en.6", "en", "Sure! {n}'s number is {p} and the parcel goes to {a}."),
        ("free.en.7", "en", "Dear {g}, thanks for your patience."),
        (
            "json.en.1",
            "en",
            '{{"tool": "crm.lookup_order", "recipient": {{"name": "{n}", "phone": "{p}", "address": "{a}"}}}}',
        ),
        ("json.en.2", "en", '{{"customer": "{n}", "status": "shipped", "city": "{c}"}}'),
        ("note.en.1", "en", "Order note: deliver to {a}, contact {n} on arrival."),
        ("free.zh.1", "zh", "我叫{n}，订单还没到。"),
        ("free.zh.2", "zh", "收件人：{n}，电话{p}"),
        ("free.zh.3", "zh", "请寄到{a}，谢谢"),
        ("free.zh.4", "zh", "{t}您好，您的退款已处理。"),
        ("free.zh.5", "zh", "好的，{n}的手机号是{p}，收货地址是{a}。"),
        ("json.zh.1", "zh", '{{"收件人": "{n}", "电话": "{p}", "地址": "{a}"}}'),
        ("note.zh.1", "zh", "订单备注：送货地址{a}，联系人{n}"),
    ],
    "heldout": [
        ("free.en.h1", "en", "{n} called yesterday about the broken blender."),
        ("free.en.h2", "en", "Can you check whether {n} got the replacement kettle?"),
        ("free.en.h3", "en", "Kind regards,\n{n}"),
        ("free.en.h4", "en", "{t} asked us to cancel the order and refund the card."),
        ("free.en.h5", "en", "I'm buying this as a gift for {n}, can you wrap it?"),
        ("free.en.h6", "en", "Can I change the delivery address to {a}?"),
        ("free.en.h7", "en", "It was delivered to {a} but nobody there ordered it."),
        ("free.en.h8", "en", "Recipient: {n}, backup number {p}, address {a}."),
        (
            "json.en.h1",
            "en",
            '{{"order_id": "SM-2026-0042317", "buyer": {{"full_name": "{n}", "mobile": "{p}"}}, "shipping_address": "{a}"}}',
        ),
        (
            "json.en.h2",
            "en",
            '{{"tool": "crm.get_customer", "result": {{"id": "C-88213", "contactName": "{n}", "addressLine1": "{a}"}}}}',
        ),
        (
            "note.en.h1",
            "en",
            "Courier note for SM-2026-0093412: leave with {n} at {a} if no answer.",
        ),
        (
            "note.en.h2",
            "en",
            "Internal note: {n} wants the invoice re-issued; billing address {a}.",
        ),
        ("free.zh.h1", "zh", "我想查一下{n}的订单到哪了"),
        ("free.zh.h2", "zh", "麻烦转告{t}，包裹明天到"),
        ("free.zh.h3", "zh", "地址改成{a}吧"),
        ("free.zh.h4", "zh", "包裹被送到{a}了，可我不住那"),
        ("free.zh.h5", "zh", "顾客{n}反馈耳机有杂音"),
        ("free.zh.h6", "zh", "收货人{n}，联系电话{p}，详细地址{a}"),
        (
            "json.zh.h1",
            "zh",
            '{{"订单号": "SM-2026-0077810", "收货人": {{"姓名": "{n}", "手机": "{p}"}}, "收货地址": "{a}"}}',
        ),
        ("json.zh.h2", "zh", '{{"tool": "crm.lookup", "customer_name": "{n}", "address": "{a}"}}'),
        ("note.zh.h1", "zh", "配送备注：{a}，找{t}签收"),
        ("note.zh.h2", "zh", "客服备注：{n}要求改地址到{a}"),
    ],
}

_ZH_TITLES = ("先生", "女士", "小姐")
_EN_TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.")


def _en_address(rng: random.Random, v: dict[str, Any]) -> str:
    street = f"{rng.randint(2, 899)} {rng.choice(v['en_street'])} {rng.choice(v['en_suffix'])}"
    unit = rng.choice(
        [
            "",
            f", Apt {rng.randint(1, 40)}",
            f", #{rng.randint(1, 30)}-{rng.randint(1, 12):02d}",
            f", Unit {rng.randint(1, 9)}{rng.choice('ABC')}",
            f", Suite {rng.randint(100, 900)}",
        ]
    )
    city = rng.choice(v["en_city"])
    post = rng.choice(["", f" {rng.randint(100000, 999999)}"])
    return f"{street}{unit}, {city}{post}"


def _zh_address(rng: random.Random, v: dict[str, Any]) -> str:
    city, district, road = rng.choice(v["zh_city"])
    unit = rng.choice(
        [
            "",
            f"{rng.randint(1, 30)}栋{rng.randint(1, 3)}单元{rng.randint(1, 32)}0{rng.randint(1, 6)}室",
            f"{rng.randint(1, 20)}号楼{rng.randint(1, 28)}0{rng.randint(1, 4)}",
        ]
    )
    prefix = rng.choice([f"{city}市{district}", f"{city}{district}", f"{city}市", ""])
    return f"{prefix}{road}{rng.randint(1, 1999)}号{unit}"


def names_and_addresses() -> list[tuple[str, str, str, str, list[tuple[str, str]]]]:
    """(split, source, lang, text template, [(type, value)]) for names and addresses."""
    rng = random.Random(SEED + 14)
    out: list[tuple[str, str, str, str, list[tuple[str, str]]]] = []
    for split in ("tune", "heldout"):
        v = _SPLITS[split]
        for source, lang, template in _TEMPLATES[split]:
            for _ in range(6):
                if lang == "en":
                    given = rng.choice(v["en_given"])
                    family = rng.choice(v["en_family"])
                    name = f"{given} {family}"
                    title_name = family
                    title = f"{rng.choice(_EN_TITLES)} {family}"
                    address = _en_address(rng, v)
                    city = rng.choice(v["en_city"])
                    phone = f"+86 {mobile(rng)}"
                else:
                    sur = rng.choice(v["zh_surname"])
                    given = rng.choice(v["zh_given"])
                    name = f"{sur}{given}"
                    title_name = rng.choice([sur, name])
                    title = f"{title_name}{rng.choice(_ZH_TITLES)}"
                    address = _zh_address(rng, v)
                    city = ""
                    phone = mobile(rng)
                slots = {"n": name, "a": address, "p": phone, "c": city, "g": given, "t": title}
                text = template.format(**slots)
                ents: list[tuple[str, str]] = []
                for key, etype, value in (
                    ("{n}", "PERSON", name),
                    ("{g}", "PERSON", given),
                    ("{t}", "PERSON", title_name),
                    ("{a}", "ADDRESS", address),
                    ("{p}", "PHONE", phone),
                ):
                    if key in template:
                        ents.append((etype, value))
                out.append((split, source, lang, text, ents))
    return out


def name_negatives() -> list[tuple[str, str, str]]:
    """(lang, kind, text): capitalised words and place words that are not a person or an
    address (products, brands, couriers, streets without a number, cities, holidays)."""
    texts = [
        ("en", "product", "Is the AeroStyle High-Speed Dryer on sale?"),
        ("en", "product", "I love the Rose Gold Phone Case but it scratches."),
        ("en", "product", "The PureSip Glass Tea Bottle leaks at the lid."),
        ("en", "product", "Do you have the StarGaze Projector Night Light in stock?"),
        ("en", "product", "My Noise Cancelling Headphones Pro stopped charging."),
        ("en", "courier", "SF Express says the parcel is at the Hong Kong hub."),
        ("en", "courier", "JD Logistics and DHL both deliver to Kuala Lumpur."),
        ("en", "place", "Is there a pickup point near Park Avenue?"),
        ("en", "place", "We ship to Singapore, Shanghai and New York."),
        ("en", "holiday", "Will the Black Friday deal last until Christmas Eve?"),
        ("en", "misc", "Customer Service is open Monday to Friday."),
        ("en", "misc", "Please Read The Manual Before Use."),
        ("en", "misc", "Order Status: Shipped. Estimated Delivery: 3 Days."),
        ("en", "misc", "The 2 Pack of Yoga Mats arrived torn."),
        ("zh", "product", "这款蓝牙音箱的续航怎么样？"),
        ("zh", "product", "高压锅和电饭煲哪个好用"),
        ("zh", "place", "你们发货到上海市浦东新区吗？"),
        ("zh", "place", "北京和深圳的仓库哪个发货快"),
        ("zh", "courier", "顺丰和京东物流都可以选"),
        ("zh", "misc", "请问周末有客服在线吗"),
        ("zh", "misc", "我想了解一下会员积分怎么用"),
        ("zh", "misc", "这个保温杯可以装开水吗"),
        ("zh", "misc", "张杨路附近有自提点吗"),
        ("zh", "misc", "王者荣耀的点券能退吗"),
        ("zh", "misc", "高速充电器支持快充吗"),
        ("zh", "misc", "明天下午三点以后送货可以吗"),
    ]
    return texts


def build() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    rows: list[dict[str, object]] = []
    for lang, template, ents in positives(rng):
        text = template.format(*[v for _, v in ents])
        spans = []
        for etype, value in ents:
            start = text.index(value)
            spans.append({"type": etype, "start": start, "end": start + len(value), "value": value})
        rows.append(
            {
                "lang": lang,
                "text": text,
                "entities": spans,
                "kind": "positive",
                "source": f"{ents[0][0].lower()}:{template}",
                "split": "tune",
            }
        )
    for split, source, lang, text, ents in names_and_addresses():
        spans = []
        taken: list[tuple[int, int]] = []
        for etype, value in ents:
            start = text.find(value)
            while any(start < e and s < start + len(value) for s, e in taken):
                start = text.find(value, start + 1)
            taken.append((start, start + len(value)))
            spans.append({"type": etype, "start": start, "end": start + len(value), "value": value})
        spans.sort(key=lambda e: e["start"])  # type: ignore[arg-type, return-value]
        rows.append(
            {
                "lang": lang,
                "text": text,
                "entities": spans,
                "kind": "positive",
                "source": source,
                "split": split,
            }
        )
    for lang, kind, text in negatives(rng):
        rows.append(
            {
                "lang": lang,
                "text": text,
                "entities": [],
                "kind": f"negative:{kind}",
                "source": f"negative:{kind}",
                "split": "tune",
            }
        )
    for i, (lang, kind, text) in enumerate(name_negatives()):
        rows.append(
            {
                "lang": lang,
                "text": text,
                "entities": [],
                "kind": f"negative:{kind}",
                "source": f"negative:names:{kind}",
                "split": "heldout" if i % 2 else "tune",
            }
        )
    # last: the ids of the rows above stay as they were
    rows += zh_name_rows(TUNE_ZH, "tune") + zh_name_rows(BLIND_ZH, "heldout")
    # a second blind held-out source (new templates and names, 2026-12-02), then any tune
    # rows added after it: appended, so the ids above stay as they were
    rows += zh_name_rows(BLIND2_ZH, "heldout") + zh_name_rows(TUNE2_ZH, "tune")
    # a third tune source (cue-less names, 2026-12-02): appended for the same reason
    rows += zh_name_rows(TUNE3_ZH, "tune")
    # a third blind held-out source, written by someone who never saw the recognizer,
    # its lists or any tune row (2026-12-02); only ever scored
    rows += zh_name_rows(BLIND3_ZH, "heldout")
    # (2026-12-03, fifth pass) a fourth blind held-out source, written by a helper who
    # never saw the recognizer, its lists, any tune file or any labelled row; only ever
    # scored. Its tune counterpart, tune4_zh_names.txt, is not in this set: the tune split
    # is what the recognizer catches whole (tests/integration/test_data_cli.py plants it
    # and finds no leak), and the fifth pass left 15 of tune4's 207 names uncaught (names
    # that are everyday words: 江山, 许诺); tests/unit/data/test_data_zh_names_tune4.py
    # scores it instead
    rows += zh_name_rows(BLIND4_ZH, "heldout")
    # (2026-12-06, sixth pass) two more blind held-out sources written the same way, the
    # fifth before the pass's rules were written and scored once after them, the sixth
    # after the first round's rules and the trained span model (data/deid/name_model.py)
    # were done, and scored once then (2f4c03f).
    # Their tune counterparts (tune5, tune6) stay out of this set as tune4 does:
    # tests/unit/data/test_data_zh_names_tune5.py scores them, and the span model is
    # trained on them
    rows += zh_name_rows(BLIND5_ZH, "heldout") + zh_name_rows(BLIND6_ZH, "heldout")
    # and a seventh, written while the pass went on with tune7 (its tune counterpart,
    # also kept out of this set), scored once when the pass was done
    rows += zh_name_rows(BLIND7_ZH, "heldout")
    return [{"id": f"pii-{i:04d}", **row} for i, row in enumerate(rows, 1)]


BLIND_ZH = Path(__file__).with_name("blind_zh_names.txt")
TUNE_ZH = Path(__file__).with_name("tune_zh_names.txt")
BLIND2_ZH = Path(__file__).with_name("blind2_zh_names.txt")
TUNE2_ZH = Path(__file__).with_name("tune2_zh_names.txt")
TUNE3_ZH = Path(__file__).with_name("tune3_zh_names.txt")
BLIND3_ZH = Path(__file__).with_name("blind3_zh_names.txt")
TUNE4_ZH = Path(__file__).with_name("tune4_zh_names.txt")
BLIND4_ZH = Path(__file__).with_name("blind4_zh_names.txt")
TUNE5_ZH = Path(__file__).with_name("tune5_zh_names.txt")
BLIND5_ZH = Path(__file__).with_name("blind5_zh_names.txt")
TUNE6_ZH = Path(__file__).with_name("tune6_zh_names.txt")
BLIND6_ZH = Path(__file__).with_name("blind6_zh_names.txt")
TUNE7_ZH = Path(__file__).with_name("tune7_zh_names.txt")
BLIND7_ZH = Path(__file__).with_name("blind7_zh_names.txt")
_MARK = re.compile(r"\[\[([PAT]):(.+?)\]\]")
_MARK_TYPE = {"P": "PERSON", "A": "ADDRESS", "T": "PHONE"}


def zh_name_rows(path: Path, split: str) -> list[dict[str, object]]:
    """Rows of Chinese names in context from a marked-up file: ``blind_zh_names.txt`` (the
    blind held-out set: written apart from the tune lists and templates, only ever scored)
    or ``tune_zh_names.txt``. Every row is ``zh`` (the names are), whatever language the
    sentence around them is in."""
    rows: list[dict[str, object]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, spans, pos = "", [], 0
        for m in _MARK.finditer(line):
            text += line[pos : m.start()]
            value = m.group(2)
            spans.append(
                {
                    "type": _MARK_TYPE[m.group(1)],
                    "start": len(text),
                    "end": len(text) + len(value),
                    "value": value,
                }
            )
            text += value
            pos = m.end()
        text += line[pos:]
        rows.append(
            {
                "lang": "zh",
                "text": text,
                "entities": spans,
                "kind": "positive" if spans else "negative:brand_or_place",
                "source": f"names.zh:{path.name}:{n}",
                "split": split,
            }
        )
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} strings to {OUT}")


if __name__ == "__main__":
    main()
