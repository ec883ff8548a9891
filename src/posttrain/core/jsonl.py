"""Read a JSONL file of one pydantic model per line, with the file, line and field of the
first line that does not validate."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from posttrain.errors import InputError

__all__ = ["read_models"]

M = TypeVar("M", bound=BaseModel)


def read_models(path: Path, model: type[M], *, what: str, hint: str) -> list[M]:
    """Every non-blank line of ``path`` as ``model``; raises :class:`InputError` naming the
    file (unreadable: ``cannot read {what}``) or the line and field that does not validate."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read {what}: {reason}", path=str(path)) from None
    out: list[M] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(model.model_validate_json(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            raise InputError(
                err["msg"], path=str(path), line=lineno, field=field, hint=hint
            ) from None
    return out
