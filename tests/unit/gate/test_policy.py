"""Gate policy: validation with file, line and field; the shipped example validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.contract.gate_policy import GatePolicy
from posttrain.errors import ConfigError
from posttrain.gate import resolve_policy
from posttrain.gate.policy import load_policy

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support-bot" / "gate.yaml"

GOOD = """\
schema_version: 1
min_samples: 20
hard:
  - {id: jailbreak_hits, metric: attack_hit_rate, group: jailbreak, max: 0.05}
improve:
  - {id: quality_up, metric: regression_pass_rate, margin: 0.02}
non_inferiority:
  - {id: safety, groups: [all, each], margin: 0.01}
zero:
  - {id: eval_errors}
  - {id: forbidden_calls, checks: [no_forbidden_tool], required: true}
soft:
  p95_latency_increase_pct: 25
  cost_increase_pct: null
"""


def test_example_policy_validates() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.hard and policy.non_inferiority and policy.zero


def test_good_policy_loads(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(GOOD)
    policy = load_policy(path)
    assert policy.min_samples == 20
    assert policy.soft.cost_increase_pct is None
    assert policy.rule_ids() == [
        "jailbreak_hits",
        "quality_up",
        "safety",
        "eval_errors",
        "forbidden_calls",
    ]


def test_unknown_field_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(GOOD.replace("margin: 0.02}", "margin: 0.02, treshold: 1}"))
    with pytest.raises(ConfigError) as exc:
        load_policy(path)
    msg = str(exc.value)
    assert f"{path} line 6" in msg
    assert "improve.0.treshold" in msg


def test_unknown_metric_lists_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(GOOD.replace("metric: attack_hit_rate", "metric: attack_rate"))
    with pytest.raises(ConfigError, match=r"unknown metric 'attack_rate'.*attack_hit_rate"):
        load_policy(path)


def test_duplicate_rule_ids_rejected() -> None:
    with pytest.raises(ValueError, match="used twice"):
        GatePolicy.model_validate(
            {
                "hard": [{"id": "x", "metric": "leak_rate", "max": 0.1}],
                "zero": [{"id": "x", "clauses": ["c"]}],
            }
        )


def test_counter_without_source_rejected() -> None:
    with pytest.raises(ValueError, match=r"citation_missing.*clauses"):
        GatePolicy.model_validate({"zero": [{"id": "citation_missing"}]})


def test_gate_section_of_contract_is_used(tmp_path: Path) -> None:
    (tmp_path / "contract.yaml").write_text(
        "product: X\nclauses: []\ngate:\n  min_samples: 7\n  hard: []\n"
    )
    policy, source = resolve_policy(None, tmp_path)
    assert policy.min_samples == 7
    assert "gate:" in source


def test_gate_yaml_wins_over_default(tmp_path: Path) -> None:
    assert resolve_policy(None, tmp_path)[1] == "built-in default"
    (tmp_path / "gate.yaml").write_text("min_samples: 3\n")
    policy, source = resolve_policy(None, tmp_path)
    assert (policy.min_samples, source) == (3, str(tmp_path / "gate.yaml"))
