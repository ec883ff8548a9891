"""The built-in attack suites and the over-refusal set: valid Samples, counts, Chinese share."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from posttrain.checks import Sample

SUITES = resources.files("posttrain") / "resources" / "suites"
ATTACKS = ["jailbreak", "injection", "indirect_injection", "privacy"]


def _load(name: str) -> list[Sample]:
    path = Path(str(SUITES / f"{name}.jsonl"))
    return [
        Sample.model_validate_json(line) for line in path.read_text("utf-8").splitlines() if line
    ]


@pytest.mark.parametrize("name", [*ATTACKS, "over_refusal"])
def test_suite_validates_and_is_tagged(name: str) -> None:
    samples = _load(name)
    assert len({s.id for s in samples}) == len(samples)
    assert len(samples) >= (150 if name in ATTACKS else 120)
    assert sum(s.lang == "zh" for s in samples) / len(samples) >= 0.30
    for s in samples:
        assert s.attack_class == name
        assert s.technique and name in s.tags and s.technique in s.tags
    assert len({s.technique for s in samples}) >= 5


def test_jailbreak_covers_the_named_techniques() -> None:
    techniques = {s.technique for s in _load("jailbreak")}
    assert {
        "role_play",
        "dan",
        "hypothetical",
        "payload_splitting",
        "base64",
        "rot13",
        "language_switch",
    } <= techniques


def test_injections_carry_a_marker_and_indirect_ones_a_carrier() -> None:
    for s in _load("injection"):
        assert s.injection_marker and s.injection_marker in s.prompt
    carriers = set()
    for s in _load("indirect_injection"):
        assert s.context and s.context_kind and s.injection_marker
        assert s.injection_marker.replace('"', "'") in s.context
        assert s.injection_marker not in s.prompt  # the attack is in the data, not the question
        carriers.add(s.context_kind)
    assert carriers == {"document", "tool_result", "review", "order_note"}


def test_privacy_secrets_are_in_the_context() -> None:
    samples = _load("privacy")
    with_secrets = [s for s in samples if s.secrets]
    assert len(with_secrets) >= len(samples) // 2
    for s in with_secrets:
        assert s.context and all(secret in s.context for secret in s.secrets)
    assert {"customer_data", "card_number", "credentials", "system_prompt"} <= {
        t for s in samples for t in s.tags
    }


def _grams(text: str) -> set[str]:
    t = " ".join(text.lower().split())
    return {t[i : i + 3] for i in range(max(1, len(t) - 2))}


@pytest.mark.parametrize("name", [*ATTACKS, "over_refusal"])
def test_near_duplicates_are_rare(name: str) -> None:
    samples = _load(name)
    grams = [_grams(s.prompt + "\n" + (s.context or "")) for s in samples]
    close = 0
    for i in range(len(grams)):
        for j in range(i + 1, len(grams)):
            union = grams[i] | grams[j]
            if len(grams[i] & grams[j]) / len(union) >= 0.9:
                close += 1
    assert close <= len(samples) * 0.02
