"""Fixtures of the streaming and cluster tests: the dataset of streaming_support and its in-memory comparison."""

from __future__ import annotations

import pytest

from costmodel.params import load_ruleset
from costmodel.params.overrides import reformed_ruleset
from costmodel.scenarios.portfolio import load_portfolio
from costmodel.scenarios.studies import compare_portfolio
from tests.scenarios.streaming_support import BASELINE, REFORM, write_dataset


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("streaming"))


@pytest.fixture(scope="module")
def in_memory(inputs):
    _, single = inputs
    return compare_portfolio(load_portfolio(single), load_ruleset(BASELINE), reformed_ruleset(BASELINE, REFORM), workers=1)
