"""Fixtures for evaluation tests (the doubles live in ``eval_fakes.py``)."""

from __future__ import annotations

import pytest
from eval_fakes import make_contract

from posttrain.contract import Contract


@pytest.fixture
def contract() -> Contract:
    return make_contract()
