"""The entity types the recognizers find: the placeholder names of the policy."""

from __future__ import annotations

__all__ = ["ENTITY_TYPES"]

ENTITY_TYPES = (
    "ID_CARD",
    "PHONE",
    "BANK_CARD",
    "EMAIL",
    "IP",
    "API_KEY",
    "JWT",
    "PRIVATE_KEY",
    "PASSWORD",
    "PERSON",
    "ADDRESS",
)
