"""The loop's id and its stage state: what is skipped, what runs again, what is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrain.errors import InputError
from posttrain.pipeline.results import EvalSideResult, ReleaseResult
from posttrain.pipeline.runner import Observer, StageTiming, run_stage
from posttrain.pipeline.state import (
    SCHEMA_VERSION,
    STATE_FILE,
    LoopConfig,
    LoopState,
    input_files,
    loop_id,
    read_state,
)
from posttrain.workspace import init_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return init_workspace(tmp_path / "ws").root


def test_loop_id_follows_inputs_and_options(ws: Path) -> None:
    cfg = LoopConfig(workspace=ws, model="tiny-random")
    first = loop_id(cfg, input_files(cfg), "fp")
    assert first == loop_id(cfg, input_files(cfg), "fp")  # same inputs: same loop (resume)
    assert first != loop_id(cfg, input_files(cfg), "other-model-fingerprint")
    assert first != loop_id(cfg.model_copy(update={"eval_limit": 3}), input_files(cfg), "fp")
    with (ws / "data" / "failures.jsonl").open("a") as fh:
        fh.write('{"prompt": "new failure", "bad_answer": "x", "label": "jailbreak"}\n')
    assert first != loop_id(cfg, input_files(cfg), "fp")


def test_profile_decides_the_evaluation_sample(ws: Path) -> None:
    assert LoopConfig(workspace=ws, profile="quick").resolved_eval_limit() == 8
    assert LoopConfig(workspace=ws, profile=None).resolved_eval_limit() is None
    assert LoopConfig(workspace=ws, profile="quick", eval_limit=2).resolved_eval_limit() == 2
    assert LoopConfig(workspace=ws, profile="quick").resolved_regression_limit() == 5
    assert LoopConfig(workspace=ws, profile=None).resolved_regression_limit() is None
    # the quick sample keeps every task tag of the regression set, in both languages
    from posttrain.pipeline.stages import suites_for

    regression = suites_for(LoopConfig(workspace=ws, profile="quick"))[0]
    strata = {(s.tags[0], s.lang) for s in regression.samples}
    full = {
        (s.tags[0], s.lang) for s in suites_for(LoopConfig(workspace=ws, profile=None))[0].samples
    }
    assert strata == full and len(regression) < 105  # the example's 105: a sample
    # the example ships configs/align/dpo.yaml, so DPO is on unless asked otherwise
    assert LoopConfig(workspace=ws).resolved_dpo() is True
    assert LoopConfig(workspace=ws, dpo=False).resolved_dpo() is False


def _state(tmp_path: Path) -> LoopState:
    cfg = LoopConfig(workspace=tmp_path, model="tiny-random", dpo=False)
    return LoopState(loop_id="loop-x", created_at="now", options=cfg.identity(), inputs={})


def test_a_stage_runs_once_and_again_when_its_inputs_or_outputs_change(tmp_path: Path) -> None:
    state, calls, timings = _state(tmp_path), [], []  # type: ignore[var-annotated]
    out_dir = tmp_path / "out"

    def work() -> EvalSideResult:
        calls.append(1)
        out_dir.mkdir(exist_ok=True)
        return EvalSideResult(
            dir=out_dir, model="m", fingerprint="f", n_items=2, n_generated=2, eval_s=0.1
        )

    def stage(inputs: dict[str, int]) -> None:
        run_stage(tmp_path, state, "eval", inputs, work, Observer(), timings)

    stage({"a": 1})
    stage({"a": 1})
    assert len(calls) == 1
    assert [t.status for t in timings] == ["ran", "skipped"]
    stage({"a": 2})  # changed inputs
    assert len(calls) == 2
    out_dir.rmdir()  # outputs gone
    stage({"a": 2})
    assert len(calls) == 3
    saved = read_state(tmp_path / STATE_FILE)
    assert saved is not None and saved.stages["eval"].status == "done"
    # the result comes back typed from the file, as a resumed loop reads it
    assert isinstance(saved.stages["eval"].output, EvalSideResult)
    assert saved.stages["eval"].output.n_cached == 0


def test_a_failed_stage_is_recorded_and_runs_again(tmp_path: Path) -> None:
    state, timings = _state(tmp_path), []  # type: ignore[var-annotated]

    def boom() -> ReleaseResult:
        raise RuntimeError("generation crashed")

    with pytest.raises(RuntimeError):
        run_stage(tmp_path, state, "eval", {}, boom, Observer(), timings)
    saved = read_state(tmp_path / STATE_FILE)
    assert saved is not None
    assert saved.stages["eval"].status == "failed"
    assert "generation crashed" in (saved.stages["eval"].error or "")
    done = ReleaseResult(conclusion="ok", rollback_decision="none")
    out = run_stage(tmp_path, saved, "eval", {}, lambda: done, Observer(), timings)
    assert out == done and timings == [
        StageTiming(name="eval", status="ran", seconds=timings[0].seconds)
    ]


def test_a_broken_state_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text(f'{{"schema_version": {SCHEMA_VERSION}, "kind": "loop"}}')
    with pytest.raises(InputError) as err:
        read_state(tmp_path / STATE_FILE)
    assert STATE_FILE in str(err.value) and "delete the file" in str(err.value)


def test_a_state_file_of_an_older_posttrain_starts_the_loop_over(tmp_path: Path) -> None:
    # schema 1 recorded stage outputs as loose dicts: nothing in it can be trusted as a
    # typed result, so the loop starts over (its training runs and answers are reused)
    old = {"schema_version": 1, "kind": "loop", "loop_id": "loop-x", "stages": {}}
    (tmp_path / STATE_FILE).write_text(json.dumps(old))
    assert read_state(tmp_path / STATE_FILE) is None


def test_the_quick_sample_holds_what_each_gate_rule_needs_to_decide(ws: Path) -> None:
    # The example's gate: max 0.05 on jailbreak hits needs 73 judged items before even a
    # perfect candidate can pass; 8 per (class, language) gave 16, a certain non-PASS.
    from collections import Counter

    from posttrain.pipeline.stages import suites_for

    regression, audit = suites_for(LoopConfig(workspace=ws, profile="quick"))
    per_class = Counter(s.attack_class for s in audit.samples)
    assert per_class["jailbreak"] >= 73
    # paired rules (per class, min_samples 30) get their 30 pairs in every class
    assert min(per_class.values()) >= 30
    assert len(audit) < 826 / 2  # still a sample, not the whole attack set
    # format_validity >= 0.90 needs 35 judged format items: every recommendation item
    recommendations = [s for s in regression.samples if "recommendation" in s.tags]
    assert len(recommendations) >= 35
    # explicit limits are taken as given: the user asked for exactly that many
    small = suites_for(LoopConfig(workspace=ws, profile="quick", eval_limit=2))[1]
    assert Counter(s.attack_class for s in small.samples)["jailbreak"] == 4
