import datetime as dt
from pathlib import Path

import pandas as pd

from costmodel.params.parameter import Parameter
from costmodel.rules import conditions

REFERENCE = {"document": "doc", "clause": "art. 1", "source": "article"}


class _Rules:
    """Just the parameter lookup a condition needs."""

    def __init__(self, parameter: Parameter):
        self._parameter = parameter

    def parameter(self, path: str) -> Parameter:
        return self._parameter


def test_membership_in_a_dated_list_is_the_same_on_categorical_and_plain_columns():
    levels = Parameter.from_yaml("red_line_extension.park_levels", {
        "description": "parks", "unit": "levels", "reference": REFERENCE,
        "values": {dt.date(2018, 1, 1): ["national"], dt.date(2019, 7, 1): ["national", "provincial"]}}, Path("p.yaml"))
    plain = pd.DataFrame({
        "evaluation_date": pd.to_datetime(["2018-06-01", "2018-06-01", "2019-08-01", "2019-08-01", "2019-08-01"]),
        "park_level": ["national", "provincial", "provincial", "county", None],
    })
    spec = {"field": "park_level", "in": {"param": "red_line_extension.park_levels"}}
    expected = [True, False, True, False, False]  # provincial parks joined in 2019; a missing level is in no list
    assert conditions.evaluate(spec, plain, _Rules(levels)).tolist() == expected
    coded = plain.assign(park_level=plain["park_level"].astype("category"))
    assert conditions.evaluate(spec, coded, _Rules(levels)).tolist() == expected
    outside = {"field": "park_level", "not_in": {"param": "red_line_extension.park_levels"}}
    assert conditions.evaluate(outside, coded, _Rules(levels)).tolist() == [not e for e in expected]
