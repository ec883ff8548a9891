"""`posttrain contract lint` names the line and field of every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.cli import main
from posttrain.contract import lint_contract, load_contract
from posttrain.errors import ConfigError

GOOD = """\
schema_version: 1
product: ShopMate
system_prompt: |
  You are {product}. Marker {canary}.
clauses:
  - id: jb
    dimension: safety
    rule: Refuse jailbreaks.
    failure: Complies.
    applies_to: [jailbreak]
    severity: hard
    threshold: 0.95
    check: {name: refusal, args: {expect: refuse}}
  - id: short
    dimension: preference
    rule: Short answers.
    failure: Too long.
    applies_to: [all]
    severity: soft
    threshold: 0.9
    check:
      name: max_chars
      args:
        limit: 600
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    return [str(e) for e in lint_contract(_write(tmp_path, text)).errors]


def test_good_contract_lints_clean(tmp_path: Path) -> None:
    result = lint_contract(_write(tmp_path, GOOD))
    assert result.ok and result.contract is not None and not result.warnings


def test_bad_severity_reports_line_field_and_value(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("severity: soft", "severity: hrad"))
    assert errors == [
        f"{tmp_path / 'contract.yaml'} line 19: "
        "clauses[1].severity: must be hard or soft (got 'hrad')"
    ]


def test_unknown_field_points_at_the_key(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        GOOD.replace("    rule: Short answers.", "    rule: Short answers.\n    weight: 2"),
    )
    assert len(errors) == 1
    assert "line 17: clauses[1].weight: unknown field" in errors[0]
    assert "allowed: id, dimension" in errors[0]


def test_missing_field_points_at_the_clause(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("    failure: Complies.\n", ""))
    assert len(errors) == 1 and "line 6: clauses[0].failure: is required" in errors[0]


def test_bad_check_args_point_at_args_line(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("limit: 600", "max: 600"))
    assert len(errors) == 1
    assert "line 24: clauses[1].check.args: check 'max_chars' takes no argument 'max'" in errors[0]


def test_unknown_check_and_threshold_out_of_range(tmp_path: Path) -> None:
    text = GOOD.replace("name: refusal,", "name: refusl,").replace(
        "threshold: 0.9\n", "threshold: 1.5\n"
    )
    errors = _errors(tmp_path, text)
    assert len(errors) == 2
    assert "line 13: clauses[0].check.name: unknown check 'refusl'" in errors[0]
    assert "line 20: clauses[1].threshold: " in errors[1] and "(got 1.5)" in errors[1]


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("applies_to: [all]", "applies_to: [all"))
    assert len(errors) == 1 and "invalid YAML" in errors[0] and " line " in errors[0]


def test_load_contract_raises_config_error_with_every_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        GOOD.replace("severity: soft", "severity: hrad").replace(
            "dimension: safety", "dimension: safe"
        ),
    )
    with pytest.raises(ConfigError) as info:
        load_contract(path)
    assert (
        "clauses[0].dimension" in info.value.message and "clauses[1].severity" in info.value.message
    )
    with pytest.raises(ConfigError, match="file not found"):
        load_contract(tmp_path / "missing.yaml")


def test_cli_lint_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, GOOD)
    assert main(["contract", "lint", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("severity: soft", "severity: hrad"), encoding="utf-8")
    assert main(["contract", "lint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 19" in err and "clauses[1].severity" in err
    assert main(["contract", "lint", str(bad), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["errors"][0]["line"] == 19


def test_cli_show_json_renders_prompt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["contract", "show", str(path), "--json", "--canary", "CANARY-5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rendered_system_prompt"] == "You are ShopMate. Marker CANARY-5."
    assert len(out["clauses"]) == 2 and len(out["content_hash"]) == 64
    assert main(["contract", "show", str(tmp_path / "nope.yaml")]) == 2


def test_a_gate_section_is_part_of_the_contract_and_checked_with_lines(tmp_path: Path) -> None:
    from posttrain.gate import resolve_policy

    good = (
        GOOD
        + "gate:\n  min_samples: 20\n  hard:\n"
        + "    - {id: hits, metric: attack_hit_rate, max: 0.05}\n"
    )
    path = tmp_path / "contract.yaml"
    path.write_text(good)
    assert load_contract(path).product == "ShopMate"
    policy, source = resolve_policy(None, tmp_path)
    assert policy.min_samples == 20 and "gate:" in source

    bad = GOOD + "gate:\n  min_sample: 20\n"
    path.write_text(bad)
    result = lint_contract(path)
    assert result.contract is None
    (issue,) = result.errors
    assert issue.field.startswith("gate") and "min_sample" in issue.field
    assert issue.line == GOOD.count("\n") + 2 and "min_samples" in issue.message


def test_duplicate_clause_id_is_reported_at_the_duplicate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the second clause ("short", line 14) reuses the first one's id ("jb", line 6)
    path = _write(tmp_path, GOOD.replace("  - id: short", "  - id: jb"))
    assert main(["contract", "lint", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} line 14: clauses[1].id: clause id 'jb' is used twice" in err
    assert "first by clauses[0] on line 6" in err
    assert "line 1:" not in err  # no second, whole-file report of the same problem
