"""The loop's id and its stage state: what is skipped, what runs again, what is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.errors import InputError
from posttrain.pipeline.loop import Observer, StageTiming, run_stage
from posttrain.pipeline.state import (
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
    assert strata == full and len(regression) < 60
    # the example ships configs/align/dpo.yaml, so DPO is on unless asked otherwise
    assert LoopConfig(workspace=ws).resolved_dpo() is True
    assert LoopConfig(workspace=ws, dpo=False).resolved_dpo() is False


def _state(tmp_path: Path) -> LoopState:
    return LoopState(loop_id="loop-x", created_at="now", options={}, inputs={})


def test_a_stage_runs_once_and_again_when_its_inputs_or_outputs_change(tmp_path: Path) -> None:
    state, calls, timings = _state(tmp_path), [], []  # type: ignore[var-annotated]
    out_dir = tmp_path / "out"

    def work() -> dict[str, str]:
        calls.append(1)
        out_dir.mkdir(exist_ok=True)
        return {"out_dir": str(out_dir)}

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


def test_a_failed_stage_is_recorded_and_runs_again(tmp_path: Path) -> None:
    state, timings = _state(tmp_path), []  # type: ignore[var-annotated]

    def boom() -> dict[str, str]:
        raise RuntimeError("generation crashed")

    with pytest.raises(RuntimeError):
        run_stage(tmp_path, state, "eval", {}, boom, Observer(), timings)
    saved = read_state(tmp_path / STATE_FILE)
    assert saved is not None
    assert saved.stages["eval"].status == "failed"
    assert "generation crashed" in (saved.stages["eval"].error or "")
    out = run_stage(tmp_path, saved, "eval", {}, lambda: {"ok": "yes"}, Observer(), timings)
    assert out == {"ok": "yes"} and timings == [
        StageTiming(name="eval", status="ran", seconds=timings[0].seconds)
    ]


def test_a_broken_state_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"schema_version": 1, "kind": "loop"}')
    with pytest.raises(InputError) as err:
        read_state(tmp_path / STATE_FILE)
    assert STATE_FILE in str(err.value) and "delete the file" in str(err.value)
