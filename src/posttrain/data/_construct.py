"""A cheaper ``BaseModel.model_construct`` for the build's per-record loops.

``model_construct`` resolves aliases, defaults and the set of given fields on every call:
~10 us, three to four times per record, which is seconds over a 100k-record build. Here
that per-class work is done once; the instance is the one ``model_construct`` makes (same
``__dict__``, fields-set, no extra, no private attributes), checked by a test.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["construct"]

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__
_MISSING = object()


_Plan = tuple[tuple[str, Callable[[], Any] | None, Any], ...]


@cache
def _plan(cls: type[BaseModel]) -> _Plan:
    if cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"construct() does not handle {cls.__name__}: use model_construct")
    plan: list[tuple[str, Callable[[], Any] | None, Any]] = []
    for name, field in cls.model_fields.items():
        if field.alias not in (None, name) or field.default_factory_takes_validated_data:
            raise TypeError(f"construct() does not handle {cls.__name__}.{name}")
        factory = field.default_factory
        plan.append((name, factory, field.default if factory is None else _MISSING))  # type: ignore[arg-type]
    return tuple(plan)


def construct(cls: type[M], **values: Any) -> M:
    """``cls.model_construct(**values)``: no validation, fields not given take defaults."""
    plan = _plan(cls)
    data: dict[str, Any] = {}
    for name, factory, default in plan:
        if name in values:
            data[name] = values[name]
        elif factory is not None:
            data[name] = factory()
        else:
            data[name] = default
    if len(values) > len(data) or len(values.keys() - data.keys()):
        raise TypeError(f"unknown fields for {cls.__name__}: {sorted(values.keys() - data)}")
    m = cls.__new__(cls)
    _set(m, "__dict__", data)
    _set(m, "__pydantic_fields_set__", set(values))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m
