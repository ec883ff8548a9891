"""Record factory shared by the data-stage tests."""

from __future__ import annotations

PROMPTS = [
    "Where is my parcel? It was due on Monday and the tracking page has not moved.",
    "I want to return the blender I bought last week, the lid is cracked.",
    "Can I change the delivery address of my order to my office instead?",
    "Why was I charged twice for the same pair of running shoes?",
    "The headphones arrived without the charging cable, what now?",
    "Please cancel my order, I found the lamp cheaper somewhere else.",
]
ANSWERS = [
    "Your refund has been approved and will arrive today, enjoy code STAFF10!",
    "It shipped yesterday with courier 17 and will arrive tomorrow morning for sure.",
    "Done, I have changed the address and upgraded you to express for free.",
    "That is not my problem, talk to your bank about double charges.",
]


def record(i: int, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": f"r-{i:03d}",
        "prompt": PROMPTS[i % len(PROMPTS)],
        "bad_answer": ANSWERS[i % len(ANSWERS)],
        "label": "order_number",
        "source": "production_log",
        "ts": "2026-08-01T07:20:17+08:00",
    }
    base.update(over)
    return base
