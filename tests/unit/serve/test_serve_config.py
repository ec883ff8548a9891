"""serve.yaml: defaults without a file, and every problem with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.errors import ConfigError
from posttrain.serve.config import (
    OpenAIUpstreamConfig,
    ServeConfig,
    StubUpstreamConfig,
    load_serve_config,
    parse_serve_config,
)


def test_a_workspace_without_serve_yaml_gets_the_defaults(tmp_path: Path) -> None:
    config = load_serve_config(tmp_path)
    assert config == ServeConfig()
    assert config.upstream.kind == "hf"
    assert config.guard.mode == "enforce" and config.auth.required


def test_an_empty_file_is_the_defaults() -> None:
    assert parse_serve_config("") == ServeConfig()


def test_upstream_kinds_parse_into_their_models() -> None:
    stub = parse_serve_config("upstream:\n  kind: stub\n  replies:\n    - {match: hi, reply: yo}\n")
    assert isinstance(stub.upstream, StubUpstreamConfig)
    assert stub.upstream.replies[0].reply == "yo"
    url = parse_serve_config("upstream: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}")
    assert isinstance(url.upstream, OpenAIUpstreamConfig)


def test_errors_name_the_file_line_and_field() -> None:
    text = "guard:\n  mode: enforce\nlimits:\n  max_tokens_cap: 0\n  colour: red\n"
    with pytest.raises(ConfigError) as err:
        parse_serve_config(text, path="serve.yaml")
    message = err.value.message
    assert "serve.yaml line 4: limits.max_tokens_cap: " in message
    assert "(got 0)" in message
    assert "serve.yaml line 5: limits.colour: unknown field" in message


def test_a_wrong_upstream_kind_and_a_bad_regex_are_explained() -> None:
    with pytest.raises(ConfigError, match=r"line 2: upstream.kind: must be one of"):
        parse_serve_config("upstream:\n  kind: vllm\n")
    with pytest.raises(ConfigError, match="needs a kind"):
        parse_serve_config("upstream:\n  batch_size: 4\n")
    with pytest.raises(ConfigError, match=r"line 4: upstream.replies\[0\]: .*not a valid regex"):
        parse_serve_config("upstream:\n  kind: stub\n  replies:\n    - {match: '(', reply: x}\n")


def test_a_default_above_the_cap_and_invalid_yaml_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"default_max_tokens .* above max_tokens_cap"):
        parse_serve_config("limits: {max_tokens_cap: 10, default_max_tokens: 20}")
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_serve_config("guard: [unclosed\n")
    with pytest.raises(ConfigError, match="is a mapping"):
        parse_serve_config("- a\n- b\n")
