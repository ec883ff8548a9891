"""The llamacpp backend: its message when llama-cpp-python is absent, model resolution, and
the mapping to and from llama-cpp-python's API (through a scripted stand-in module, since
the real package has no wheel on PyPI and compiling it is too slow for unit tests).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from posttrain.errors import BackendError, MissingDependencyError, ModelNotFoundError
from posttrain.generation.base import Backend, Conversation, GenerationParams
from posttrain.generation.llamacpp import LlamaCppBackend, resolve_gguf

QUESTION: Conversation = [{"role": "user", "content": "What is the capital of France?"}]


class ScriptedLlama:
    """Stands in for ``llama_cpp.Llama``: records its arguments, answers from a script."""

    instances: ClassVar[list[ScriptedLlama]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.init = kwargs
        self.calls: list[dict[str, Any]] = []
        ScriptedLlama.instances.append(self)

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        prompt = kwargs["messages"][-1]["content"]
        if prompt == "too long":
            raise ValueError("Requested tokens (5000) exceed context window of 4096")
        finish = "length" if kwargs["max_tokens"] < 4 else "stop"
        return {
            "choices": [
                {
                    "message": {"role": "assistant", "content": f"re: {prompt}"},
                    "finish_reason": finish,
                }
            ],
            "usage": {"prompt_tokens": len(prompt), "completion_tokens": 2, "total_tokens": 0},
        }


@pytest.fixture
def fake_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedLlama]:
    module = types.ModuleType("llama_cpp")
    module.Llama = ScriptedLlama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    ScriptedLlama.instances = []
    return ScriptedLlama


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    path = tmp_path / "shopmate.Q4_K_M.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return path


def test_missing_llama_cpp_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, gguf_file: Path
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(MissingDependencyError) as info:
        LlamaCppBackend(str(gguf_file))
    assert "llama-cpp-python" in info.value.message
    hint = info.value.hint or ""
    assert ".venv/bin/pip install 'posttrain[llamacpp]'" in hint
    assert "pip install llama-cpp-python" in hint
    assert info.value.exit_code == 2


def test_a_build_with_llama_cpps_amx_kernels_is_refused_before_it_can_segfault(
    fake_llama_cpp: type[ScriptedLlama], gguf_file: Path
) -> None:
    module = sys.modules["llama_cpp"]
    info = b"CPU : AVX512 = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | REPACK = 1 | "
    module.llama_print_system_info = lambda: info  # type: ignore[attr-defined]
    with pytest.raises(BackendError) as err:
        LlamaCppBackend(str(gguf_file))
    assert "AMX" in err.value.message and "-mno-amx-int8" in (err.value.hint or "")
    assert fake_llama_cpp.instances == []  # refused before the model was loaded
    module.llama_print_system_info = lambda: info.replace(b"AMX_INT8 = 1 | ", b"")  # type: ignore[attr-defined]
    LlamaCppBackend(str(gguf_file))
    assert len(fake_llama_cpp.instances) == 1


def test_embedded_name_resolves_to_the_packaged_gguf() -> None:
    path = resolve_gguf("smollm2-135m-instruct")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert path.read_bytes()[:4] == b"GGUF"


def test_unknown_model_and_hf_folder_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="smollm2-135m-instruct"):
        resolve_gguf("no-such-model")
    with pytest.raises(ModelNotFoundError, match=r"not a \.gguf file") as info:
        resolve_gguf(str(tmp_path))
    assert "--backend hf" in (info.value.hint or "")


def test_generation_maps_params_keeps_order_and_reports_usage(
    fake_llama_cpp: type[ScriptedLlama], gguf_file: Path
) -> None:
    backend = LlamaCppBackend(str(gguf_file), n_threads=2, n_ctx=2048)
    assert isinstance(backend, Backend)
    (llm,) = fake_llama_cpp.instances
    assert llm.init["model_path"] == str(gguf_file) and llm.init["n_threads"] == 2
    assert llm.init["n_ctx"] == 2048
    assert llm.init["chat_format"] is None  # the GGUF's own chat template

    conversations: list[Conversation] = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"q{i}"}]
        for i in range(3)
    ]
    ticks: list[int] = []
    params = GenerationParams(max_new_tokens=40, temperature=0.8, top_p=0.9, seed=7, stop=("##",))
    out = backend.generate(conversations, params, on_progress=ticks.append)

    assert [g.text for g in out] == ["re: q0", "re: q1", "re: q2"]
    assert [(g.prompt_tokens, g.completion_tokens) for g in out] == [(2, 2)] * 3
    assert all(g.finish_reason == "stop" for g in out)
    assert ticks == [1, 1, 1]
    call = llm.calls[0]
    assert call["messages"] == [dict(m) for m in conversations[0]]
    assert (call["max_tokens"], call["temperature"], call["top_p"], call["seed"]) == (
        40,
        0.8,
        0.9,
        7,
    )
    assert call["stop"] == ["##"]


def test_length_finish_and_llama_errors_surface_as_backend_errors(
    fake_llama_cpp: type[ScriptedLlama], gguf_file: Path
) -> None:
    backend = LlamaCppBackend(str(gguf_file))
    (out,) = backend.generate([QUESTION], GenerationParams(max_new_tokens=2))
    assert out.finish_reason == "length"
    with pytest.raises(BackendError, match="exceed context window") as info:
        backend.generate([[{"role": "user", "content": "too long"}]], GenerationParams())
    assert "n_ctx" in (info.value.hint or "")


def test_fingerprint_follows_the_file_content(
    fake_llama_cpp: type[ScriptedLlama], gguf_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF" + b"\1" * 60)
    first = LlamaCppBackend(str(gguf_file)).fingerprint
    assert first == LlamaCppBackend(str(gguf_file)).fingerprint
    assert first != LlamaCppBackend(str(other)).fingerprint


@pytest.mark.slow
def test_real_llama_cpp_answers_on_the_embedded_model() -> None:
    # `make test` installs the llamacpp extra (compiled from source), so this runs in CI.
    pytest.importorskip("llama_cpp")
    backend = LlamaCppBackend("smollm2-135m-instruct", n_threads=2, n_ctx=512)
    params = GenerationParams(max_new_tokens=8)
    (out,) = backend.generate([QUESTION], params)
    # llama.cpp's quantised kernels on the Q4_1 file do not say "Paris" here (the hf
    # backend, on the float32 checkpoint converted from the same file, does), so the
    # content is not asserted: the real run is, and greedy decoding repeats itself.
    assert out.text.strip() and out.finish_reason == "length"
    assert out.completion_tokens == 8
    # the GGUF's own chat template: its default system turn + the question, 37 tokens
    assert out.prompt_tokens == 37
    assert backend.generate([QUESTION], params)[0].text == out.text
