"""The package layers hold: read every import in ``src/posttrain`` (those inside functions
and under ``TYPE_CHECKING`` too) and fail on one that reaches up."""

from __future__ import annotations

import ast
from pathlib import Path

import posttrain

SRC = Path(posttrain.__file__).resolve().parent
# What posttrain.core may import besides itself: the modules below every stage.
CORE_MAY_IMPORT = ("posttrain.errors", "posttrain.paths", "posttrain.workspace")
# (importer, imported): a module in the first package must not import the second.
FORBIDDEN = (
    ("posttrain.contract", "posttrain.gate"),
    ("posttrain.models", "posttrain.generation"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _imports(text: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``text``, the source of ``module``;
    ``from a import b`` gives ``a.b`` too, since ``b`` may be a submodule
    (``from posttrain import cli``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _all_imports() -> list[tuple[str, str, int, str]]:
    """(importer module, file, line, imported) for every posttrain import in the source."""
    rows = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        text = path.read_text(encoding="utf-8")
        for line, name in _imports(text, module, path.name == "__init__.py"):
            if _within(name, "posttrain"):
                rows.append((module, str(path.relative_to(SRC.parent)), line, name))
    return rows


def _violations(rule: str, bad: list[tuple[str, str, int, str]]) -> str:
    return f"{rule}:\n" + "\n".join(f"  {f}:{line} imports {name}" for _, f, line, name in bad)


def test_the_source_is_found() -> None:
    rows = _all_imports()
    assert len(rows) > 100
    assert any(m == "posttrain.cli" for m, *_ in rows)


def test_no_module_outside_the_cli_imports_the_cli() -> None:
    bad = [
        r
        for r in _all_imports()
        if not _within(r[0], "posttrain.cli") and _within(r[3], "posttrain.cli")
    ]
    assert not bad, _violations("the CLI is the top layer", bad)


def test_core_imports_no_stage_package() -> None:
    allowed = (*CORE_MAY_IMPORT, "posttrain.core")
    bad = [
        r
        for r in _all_imports()
        if _within(r[0], "posttrain.core")
        and r[3] not in ("posttrain", "posttrain.__version__")
        and not any(_within(r[3], ok) for ok in allowed)
    ]
    assert not bad, _violations("posttrain.core is the low layer", bad)


def test_forbidden_upward_imports() -> None:
    for importer, imported in FORBIDDEN:
        bad = [r for r in _all_imports() if _within(r[0], importer) and _within(r[3], imported)]
        assert not bad, _violations(f"{importer} must not import {imported}", bad)


def test_a_relative_import_and_one_inside_a_function_are_seen() -> None:
    # The checker itself, on the kinds of import that are easy to miss.
    text = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from . import chat\n"
        "def f():\n    from ..generation import base\n    import posttrain.cli\n"
    )
    names = {name for _, name in _imports(text, "posttrain.models.probe", False)}
    assert {
        "posttrain.models.chat",
        "posttrain.generation",
        "posttrain.generation.base",
        "posttrain.cli",
    } <= names
