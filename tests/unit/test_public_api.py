"""Each package's public names are exactly its ``__all__``.

The rule, for every module under ``posttrain`` whose source defines ``__all__``:

* ``__all__`` lists each name once, and every name it lists exists (names a package loads
  lazily through ``__getattr__`` included).

and, for packages (an ``__init__.py``), the other way round:

* every public (non-underscore) name the package binds when imported, whether defined
  there or imported into it, is in ``__all__``. Modules are not names of the API
  (submodules such as ``posttrain.train.config``, or ``logging`` imported to configure
  it), nor is ``from __future__ import annotations``. A name a package needs only for
  annotations goes under ``if typing.TYPE_CHECKING:``, so it is not bound at runtime.

So ``from posttrain.X import *`` gives exactly what ``dir(posttrain.X)`` shows a user,
and nothing becomes public by accident (an import added for one function's body).
"""

from __future__ import annotations
import __future__

import importlib
import re
import types
from pathlib import Path

import pytest

import posttrain

SRC = Path(posttrain.__file__).parent
_DEFINES_ALL = re.compile(r"^__all__\s*[:=]", re.MULTILINE)


def _modules() -> list[tuple[str, bool]]:
    """(dotted name, is a package) of every module whose source defines ``__all__``."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if not _DEFINES_ALL.search(path.read_text(encoding="utf-8")):
            continue
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        package = parts[-1] == "__init__"
        found.append((".".join(parts[:-1] if package else parts), package))
    return found


MODULES = [name for name, _ in _modules()]
PACKAGES = [name for name, package in _modules() if package]
# Packages outside this change's files that break the rule; their owners fix them, and
# strict xfail turns into a failure the day they do, so the mark cannot outlive the bug.
KNOWN_VIOLATIONS: dict[str, str] = {}


def _public_bindings(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and value is not __future__.annotations
    }


def test_every_package_defines_all() -> None:
    packages = {".".join(p.parent.relative_to(SRC.parent).parts) for p in SRC.rglob("__init__.py")}
    assert packages and packages <= set(PACKAGES), sorted(packages - set(PACKAGES))


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_exists(name: str) -> None:
    module = importlib.import_module(name)
    listed = list(module.__all__)
    assert all(isinstance(n, str) for n in listed)
    assert len(listed) == len(set(listed)), f"{name}.__all__ lists a name twice"
    missing = [n for n in listed if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not have: {missing}"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_VIOLATIONS[n], strict=True))
        if n in KNOWN_VIOLATIONS
        else n
        for n in PACKAGES
    ],
)
def test_every_public_name_of_a_package_is_in_all(name: str) -> None:
    module = importlib.import_module(name)
    unlisted = sorted(_public_bindings(module) - set(module.__all__))
    assert not unlisted, (
        f"{name} makes public names it does not list in __all__: {unlisted} "
        "(add them to __all__, or import them under a leading underscore, inside the "
        "function that needs them, or under `if typing.TYPE_CHECKING:`)"
    )
