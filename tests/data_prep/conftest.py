"""Fixtures for the data_prep tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data_prep.prep_testing import load_sample


@pytest.fixture(scope="session")
def sample_train() -> list[dict[str, Any]]:
    return load_sample("train")


@pytest.fixture(scope="session")
def sample_test() -> list[dict[str, Any]]:
    return load_sample("test")
