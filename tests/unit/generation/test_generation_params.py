"""One set of generation parameters per workspace: generation.yaml, read by eval, the
audit, the loop and serve; an override is explicit and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.errors import ConfigError
from posttrain.generation.base import Generation, GenerationParams
from posttrain.generation.params import (
    DEFAULT_GENERATION,
    load_generation,
    parse_generation,
    resolve_generation,
)
from posttrain.workspace import example_dir, init_workspace


def _asks_for_the_order_number(n: int) -> list[Generation]:
    """A scripted backend's answers: the example's regression items pass on it."""
    return [
        Generation(
            text="Could you share your order number?",
            prompt_tokens=1,
            completion_tokens=1,
            latency_s=0.0,
            finish_reason="stop",
        )
        for _ in range(n)
    ]


def _ws(tmp_path: Path, text: str | None) -> Path:
    if text is not None:
        (tmp_path / "generation.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_example_workspace_has_one_and_init_copies_it(tmp_path: Path) -> None:
    shipped = load_generation(example_dir())
    assert shipped.source.endswith("generation.yaml")
    assert shipped.params == GenerationParams(max_new_tokens=128, temperature=0.0)
    new = init_workspace(tmp_path / "ws")
    assert load_generation(new.root).params == shipped.params


def test_a_workspace_without_the_file_gets_the_defaults(tmp_path: Path) -> None:
    got = load_generation(tmp_path)
    assert got.source == "default" and got.params == DEFAULT_GENERATION


def test_the_file_sets_every_field(tmp_path: Path) -> None:
    ws = _ws(
        tmp_path,
        "generation:\n  max_new_tokens: 64\n  temperature: 0.7\n  top_p: 0.9\n"
        "  seed: 3\n  stop: ['###']\n",
    )
    p = load_generation(ws).params
    assert (p.max_new_tokens, p.temperature, p.top_p, p.seed, p.stop) == (64, 0.7, 0.9, 3, ("###",))


def test_a_bad_value_names_file_line_and_field(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "generation:\n  max_new_tokens: 0\n")
    with pytest.raises(
        ConfigError, match=r"generation.yaml line 2: field generation.max_new_tokens"
    ):
        load_generation(ws)
    with pytest.raises(ConfigError, match=r"line 2: field generation.temprature"):
        parse_generation("generation:\n  temprature: 0.5\n")
    with pytest.raises(ConfigError, match="one section, generation:"):
        parse_generation("max_new_tokens: 64\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_generation("generation: [\n")


def test_a_flag_equal_to_the_workspace_is_no_override(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "generation:\n  max_new_tokens: 96\n")
    same = resolve_generation(ws, max_new_tokens=96, temperature=None)
    assert same.params.max_new_tokens == 96 and same.overrides == {}
    other = resolve_generation(ws, max_new_tokens=32)
    assert other.params.max_new_tokens == 32
    assert other.overrides == {"max_new_tokens": "96 -> 32"}
    assert "OVERRIDDEN" in other.describe()


def test_evaluate_records_params_source_and_overrides(tmp_path: Path) -> None:
    from posttrain.checks import Sample
    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, evaluate
    from posttrain.evaluate.suites import Suite

    class Echo:
        name = "scripted"
        fingerprint = "echo-1"

        def __init__(self) -> None:
            self.seen: list[GenerationParams] = []

        def generate(self, convs, params, *, on_progress=None):  # type: ignore[no-untyped-def]
            self.seen.append(params)
            return _asks_for_the_order_number(len(convs))

    ws = _ws(tmp_path, "generation:\n  max_new_tokens: 40\n")
    gen = resolve_generation(ws, max_new_tokens=20)
    suite = Suite(
        name="regression",
        source="x",
        version="v",
        samples=[Sample(id="r1", prompt="Where is my order?", tags=["order_help"])],
    )
    backend = Echo()
    result = evaluate(
        EvalConfig(
            model="m",
            params=gen.params,
            generation_source=gen.source,
            generation_overrides=gen.overrides,
            out_dir=tmp_path / "out",
        ),
        backend,
        load_contract(example_dir() / "contract.yaml"),
        suite,
    )
    assert backend.seen[0].max_new_tokens == 20
    s = result.summary
    assert s.params.max_new_tokens == 20
    assert s.generation_source == str(ws / "generation.yaml")
    assert s.generation_overrides == {"max_new_tokens": "40 -> 20"}


def test_the_loop_reads_the_workspace_file(tmp_path: Path) -> None:
    from posttrain.pipeline import LoopConfig
    from posttrain.pipeline.state import input_files

    ws = init_workspace(tmp_path / "ws").root
    cfg = LoopConfig(workspace=ws)
    assert cfg.max_new_tokens is None  # the workspace's value, not a loop default
    before = input_files(cfg)["generation.yaml"]
    assert before is not None
    (ws / "generation.yaml").write_text("generation:\n  max_new_tokens: 64\n", encoding="utf-8")
    # A changed generation.yaml is a changed input: the loop re-evaluates.
    assert input_files(cfg)["generation.yaml"] != before


def test_serve_defaults_to_the_workspace_and_logs_an_override(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from posttrain.serve.config import parse_serve_config
    from posttrain.serve.server import _generation

    ws = _ws(tmp_path, "generation:\n  max_new_tokens: 80\n  seed: 5\n")
    plain, dtype = _generation(ws, parse_serve_config(""))
    assert plain.max_new_tokens == 80 and plain.seed == 5 and dtype == "float32"
    with caplog.at_level("WARNING", logger="posttrain.serve"):
        over, _ = _generation(ws, parse_serve_config("limits: {default_max_tokens: 200}"))
    assert over.max_new_tokens == 200 and over.seed == 5
    assert any("overrides the workspace's generation" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError, match=r"above serve\.yaml limits\.max_tokens_cap"):
        _generation(ws, parse_serve_config("limits: {max_tokens_cap: 50}"))


def test_dtype_is_one_workspace_setting_and_auto_follows_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrain.models import loading

    assert load_generation(tmp_path).dtype == "float32"  # no file: float32 as before
    ws = _ws(tmp_path, "generation:\n  max_new_tokens: 64\n  dtype: auto\n")
    got = load_generation(ws)
    assert got.dtype == "auto" and got.params.max_new_tokens == 64
    for native, expect in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(loading, "native_bf16", lambda cpuinfo=None, n=native: n)
        resolved = resolve_generation(ws)
        assert resolved.dtype == expect and resolved.overrides == {}
        assert f"dtype={expect}" in resolved.describe()
    # a flag that resolves to another dtype is an override, recorded like the others
    other = resolve_generation(ws, dtype="bfloat16")
    assert other.dtype == "bfloat16" and other.overrides == {"dtype": "'float32' -> 'bfloat16'"}
    assert resolve_generation(ws, dtype="float32").overrides == {}


def test_a_bad_dtype_names_file_line_and_field(tmp_path: Path) -> None:
    from posttrain.errors import UsageError

    ws = _ws(tmp_path, "generation:\n  seed: 1\n  dtype: bf16\n")
    with pytest.raises(ConfigError, match=r"generation.yaml line 3: field generation.dtype") as e:
        load_generation(ws)
    assert "auto" in str(e.value.hint)
    with pytest.raises(UsageError, match="unknown dtype"):
        resolve_generation(tmp_path / "elsewhere", dtype="int3")


def test_the_loop_evaluates_in_the_workspace_dtype(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrain.models import loading
    from posttrain.pipeline import LoopConfig
    from posttrain.pipeline import stages as st

    monkeypatch.setattr(loading, "native_bf16", lambda cpuinfo=None: True)
    ws = init_workspace(tmp_path / "ws").root
    (ws / "generation.yaml").write_text("generation:\n  dtype: auto\n", encoding="utf-8")
    cfg = LoopConfig(workspace=ws)
    backend = st.hf_backend(cfg, "some-model")
    assert backend.dtype == "bfloat16" and backend.options["batch_size"] == cfg.batch_size
    (ws / "generation.yaml").write_text("generation:\n  dtype: float32\n", encoding="utf-8")
    assert st.hf_backend(cfg, "some-model").dtype == "float32"


def test_an_evaluation_records_the_dtype_it_ran_in(tmp_path: Path) -> None:
    from posttrain.checks import Sample
    from posttrain.contract import load_contract
    from posttrain.evaluate import EvalConfig, Guard, evaluate
    from posttrain.evaluate.suites import Suite

    class Answers:
        name = "scripted"
        fingerprint = "answers-1-bf16"  # the cache identity, dtype mixed in
        weights_fingerprint = "answers-1"
        dtype = "bfloat16"

        def generate(self, convs, params, *, on_progress=None):  # type: ignore[no-untyped-def]
            return _asks_for_the_order_number(len(convs))

    suite = Suite(
        name="regression",
        source="x",
        version="v",
        samples=[Sample(id="r1", prompt="Where is my order?", tags=["order_help"])],
    )
    contract = load_contract(example_dir() / "contract.yaml")
    for i, backend in enumerate([Answers(), Guard(Answers(), contract)]):
        result = evaluate(
            EvalConfig(model="m", out_dir=tmp_path / str(i)), backend, contract, suite
        )
        assert result.summary.dtype == "bfloat16"


def test_serve_loads_the_workspace_dtype_unless_serve_yaml_says_otherwise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from posttrain.serve.config import HFUpstreamConfig, OpenAIUpstreamConfig
    from posttrain.serve.server import _with_dtype

    assert _with_dtype(HFUpstreamConfig(), "bfloat16").dtype == "bfloat16"
    with caplog.at_level("WARNING", logger="posttrain.serve"):
        kept = _with_dtype(HFUpstreamConfig(dtype="float32"), "bfloat16")
    assert kept.dtype == "float32"
    assert any(
        "overrides the workspace's generation.yaml" in r.getMessage() for r in caplog.records
    )
    remote = OpenAIUpstreamConfig(kind="openai", base_url="http://127.0.0.1:9")
    assert _with_dtype(remote, "bfloat16") is remote
