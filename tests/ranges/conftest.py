"""Small generated histories for the range tests, made once per session: a known distribution (no drift, no
trend) with one step in cost that starts exactly where the calibration window of a fit --until 2024-06-30 starts,
so the training rows never see it and the calibration rows all do."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from costmodel.paths import EXAMPLES_DIR
from costmodel.yamlio import load_yaml

UNTIL = dt.date(2024, 6, 30)  # the calibration window (12 months) then starts 2023-07-01, the step's date
STEP = 0.3  # ln-ratio shift from the step date on: the raw model's 70 % interval then covers about a third


def known_assumptions() -> dict:
    assumptions = load_yaml(EXAMPLES_DIR / "histories" / "synthetic.yaml")
    assumptions["portfolio"] = str(EXAMPLES_DIR / "portfolios" / "synthetic.yaml")
    assumptions["ruleset"] = "shandong-2019"  # one rule set: the test is about the ranges, not the layers
    assumptions["log_ratio"] = {"intercept": 0.0, "area": {"urban": 0.0, "rural": 0.1}, "supply_voltage": {"low_voltage": 0.0, "10kV": 0.1},
                                "per_road_crossing": 0.05, "drift_per_year": 0.0, "step": {"date": dt.date(2023, 7, 1), "shift": STEP}}
    assumptions["noise"] = {"df": 5, "scale": {"low_voltage": 0.2, "10kV": 0.2}}
    return assumptions


def as_raw(frame: pd.DataFrame) -> pd.DataFrame:
    """A generated history as a CSV file reads: text, empty cells missing."""
    raw = frame.astype(object).where(frame.notna(), None)
    for column in ("application_date", "completed_on"):
        raw[column] = frame[column].dt.strftime("%Y-%m-%d")
    return raw.map(lambda value: None if value is None else str(value))


@pytest.fixture(scope="session")
def known_history(tmp_path_factory):
    """(generated history, its assumptions): 4000 applications over 2020-2024."""
    import yaml

    from costmodel.ranges.generate import generate_history

    path = tmp_path_factory.mktemp("ranges") / "known.yaml"
    path.write_text(yaml.safe_dump(known_assumptions()), encoding="utf-8")
    generated = generate_history(4000, 11, path)
    return generated.frame, generated.assumptions


@pytest.fixture(scope="session")
def method():
    from costmodel.ranges.method import load_method

    return replace(load_method(), model={**load_method().model, "max_iter": 60})  # enough for these few cells, and fast


@pytest.fixture(scope="session")
def quoted_history(known_history, method):
    from costmodel.ranges.history import validate_history

    return validate_history(as_raw(known_history[0]), "known.csv", "shandong-2019", method.min_history_rows)


@pytest.fixture(scope="session")
def fitted(quoted_history, method):
    """The model fitted on the rows completed by UNTIL; the later rows are the held-out window."""
    from costmodel.ranges.model import fit

    return fit(quoted_history.until(UNTIL, method.min_history_rows), method, synthetic=True)
