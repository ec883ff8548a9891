from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from eval_fakes import SCHEMA, ScriptedBackend, clause, make_contract, write_jsonl

from posttrain.checks import Sample
from posttrain.contract import Contract
from posttrain.evaluate import EvalConfig, Guard, evaluate, load_suite
from posttrain.evaluate.guard import HANDOVER, minimal_instance
from posttrain.generation.base import Backend, GenerationParams

PARAMS = GenerationParams(max_new_tokens=32)
RECO = Sample(id="r-1", prompt="Recommend headphones", tags=["recommendation"])
GOOD = '{"items": [{"name": "X1"}], "message": "Here you go"}'


def test_guard_is_a_backend(contract: Contract) -> None:
    guard = Guard(ScriptedBackend(), contract)
    assert isinstance(guard, Backend)
    assert guard.fingerprint != Guard(ScriptedBackend(), contract, max_retries=5).fingerprint


def test_invalid_json_is_recovered_by_a_retry_with_the_error_fed_back(contract: Contract) -> None:
    backend = ScriptedBackend(["{'items': [], trailing", GOOD])
    guard = Guard(backend, contract, max_retries=2)
    [gen] = guard.generate([[{"role": "user", "content": RECO.prompt}]], PARAMS, samples=[RECO])

    assert json.loads(gen.text) == json.loads(GOOD)
    assert backend.calls == 2
    retry = backend.prompts[1]
    assert retry[0]["role"] == "system" and "ShopBot" in retry[0]["content"]
    assert retry[-2] == {"role": "assistant", "content": "{'items': [], trailing"}
    assert "recommendation_json" in retry[-1]["content"]
    assert "did not follow the required output format" in retry[-1]["content"]
    [trace] = guard.last_traces
    assert (trace.attempts, trace.retries, trace.fallback) == (2, 1, False)
    assert gen.completion_tokens == 3 + 7  # both attempts are paid for


def test_guard_falls_back_to_a_valid_empty_recommendation(contract: Contract) -> None:
    backend = ScriptedBackend("Sure! Here are some great headphones for you.")
    guard = Guard(backend, contract, max_retries=2)
    [gen] = guard.generate([[{"role": "user", "content": RECO.prompt}]], PARAMS, samples=[RECO])

    assert backend.calls == 3
    fallback = json.loads(gen.text)
    jsonschema.validate(fallback, SCHEMA)
    assert fallback == {"items": [], "message": HANDOVER["en"]}
    [trace] = guard.last_traces
    assert (trace.retries, trace.fallback, len(trace.errors)) == (2, True, 3)
    assert guard.totals["fallbacks"] == 1


def test_without_format_clauses_a_fallback_is_a_polite_handover() -> None:
    contract = make_contract(
        clause("tagged", "format", "regex_require", ["all"], args={"patterns": ["^OK"]})
    )
    backend = ScriptedBackend("这是一个非常非常非常非常非常非常非常长的回答。")
    guard = Guard(backend, contract, max_retries=0)
    [gen] = guard.generate([[{"role": "user", "content": "你好，请问运费多少？"}]], PARAMS)
    assert backend.calls == 1
    assert gen.text == HANDOVER["zh"]


def test_valid_answers_pass_straight_through(contract: Contract) -> None:
    backend = ScriptedBackend(GOOD)
    guard = Guard(backend, contract)
    convs = [[{"role": "user", "content": RECO.prompt}]] * 3
    gens = guard.generate(convs, PARAMS, samples=[RECO] * 3)
    assert [g.text for g in gens] == [GOOD] * 3
    assert backend.calls == 1 and guard.totals["retries"] == 0


def test_eval_with_the_guard_reports_retry_and_fallback_rates(
    tmp_path: Path, contract: Contract
) -> None:
    rows = [
        {"id": f"r-{i}", "prompt": f"Recommend item {i}", "tags": ["recommendation"]}
        for i in range(4)
    ]
    suite = load_suite(write_jsonl(tmp_path / "reco.jsonl", rows))
    answers = {"0": [GOOD], "1": ["oops", GOOD], "2": ["no", "nope", "never"], "3": [GOOD]}

    def script(conv: list[dict[str, str]]) -> str:
        n = conv[1]["content"].split()[-1]
        tries = sum(1 for m in conv if m["role"] == "assistant")
        return answers[n][tries]

    guard = Guard(ScriptedBackend(script), contract, max_retries=2)
    cfg = EvalConfig(model="scripted", out_dir=tmp_path / "out", cache_dir=tmp_path / "c")
    result = evaluate(cfg, guard, contract, suite)
    stats = result.summary.guard
    assert stats is not None
    assert (stats.n, stats.retried_items, stats.retries, stats.fallbacks) == (4, 2, 3, 1)
    assert stats.retry_rate == 0.5 and stats.fallback_rate == 0.25
    validity = result.summary.metrics.get("format_validity")
    # The fallback is a valid (empty) recommendation: behind the guard every answer is valid.
    assert validity is not None and (validity.k, validity.n) == (4, 4)
    # The guard's work is cached with the answer: a rerun reports the same rates.
    again = evaluate(cfg.model_copy(update={"out_dir": tmp_path / "o2"}), guard, contract, suite)
    assert again.summary.n_cached == 4 and again.summary.guard == stats


def test_minimal_instance_satisfies_its_schema() -> None:
    schema = {
        "type": "object",
        "required": ["status", "count", "tags", "reply"],
        "properties": {
            "status": {"enum": ["handover", "ok"]},
            "count": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
            "reply": {"type": "string", "minLength": 1},
        },
    }
    value = minimal_instance(schema, "A human agent will help you.")
    jsonschema.validate(value, schema)
    assert value == {
        "status": "handover",
        "count": 0,
        "tags": [],
        "reply": "A human agent will help you.",
    }
