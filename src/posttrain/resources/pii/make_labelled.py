"""Generate the labelled PII test set ``labelled.jsonl`` (deterministic, fixed seed).

    python src/posttrain/resources/pii/make_labelled.py   # rewrites labelled.jsonl

Every value is synthetic: ID numbers have valid checksums and birth dates but random
regions and sequence numbers, cards pass Luhn with random digits, keys are random strings
in the providers' formats. Each line: ``id``, ``lang`` (en/zh), ``text``, ``entities``
(``type``, ``start``, ``end``, ``value``) and ``kind`` (``positive`` or
``negative:<what>`` for hard negatives that must not be flagged).
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

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


def build() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    rows: list[dict[str, object]] = []
    for lang, template, ents in positives(rng):
        text = template.format(*[v for _, v in ents])
        spans = []
        for etype, value in ents:
            start = text.index(value)
            spans.append({"type": etype, "start": start, "end": start + len(value), "value": value})
        rows.append({"lang": lang, "text": text, "entities": spans, "kind": "positive"})
    for lang, kind, text in negatives(rng):
        rows.append({"lang": lang, "text": text, "entities": [], "kind": f"negative:{kind}"})
    return [{"id": f"pii-{i:04d}", **row} for i, row in enumerate(rows, 1)]


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} strings to {OUT}")


if __name__ == "__main__":
    main()
