"""A bad history: a clear error naming the column, or rows rejected with their reasons (rows in = accepted +
rejected), or a fallback with a warning. No row is silently dropped."""

from __future__ import annotations

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.ranges.history import load_history, rulesets_by_date, validate_history
from tests.ranges.conftest import as_raw


@pytest.fixture
def raw(known_history) -> pd.DataFrame:
    return as_raw(known_history[0].head(300))


def test_a_missing_outturn_column_is_an_error_naming_it(raw):
    with pytest.raises(InputError, match=r"h\.csv: column\(s\) outturn_cny missing; a history has the portfolio columns plus "
                                         r"completed_on .* and outturn_cny"):
        validate_history(raw.drop(columns=["outturn_cny"]), "h.csv", "shandong-2019", 10)


def test_bad_values_reject_their_rows_with_reasons_and_nothing_is_lost(raw):
    raw.loc[3, "outturn_cny"] = "-5000"
    raw.loc[7, "outturn_cny"] = "0"
    raw.loc[8, "outturn_cny"] = "lots"
    raw.loc[9, "outturn_cny"] = None
    raw.loc[11, "completed_on"] = "2019-13-01"
    raw.loc[12, "completed_on"] = "2000-01-01"  # before its application
    raw.loc[13, "capacity"] = "-3"  # a portfolio column: the portfolio's own check
    raw.loc[14, "outturn_cny"] = "-1"
    raw.loc[14, "completed_on"] = None  # two problems on one row: one rejected row, both reasons
    history = validate_history(raw, "h.csv", "shandong-2019", 10)
    rejected = history.rejected.set_index("row")
    assert list(rejected.index) == [4, 8, 9, 10, 12, 13, 14, 15]  # 1-based data rows
    assert history.rows_in == 300 == len(history.frame) + len(history.rejected)
    assert rejected.loc[4, "reason"] == "outturn_cny '-5000' is out of range; allowed: a number > 0"
    assert rejected.loc[8, "reason"] == "outturn_cny '0' is out of range; allowed: a number > 0"
    assert rejected.loc[9, "reason"] == "outturn_cny 'lots' is not a number; allowed: a number > 0"
    assert rejected.loc[10, "reason"] == "outturn_cny None is missing; allowed: a number > 0 (required)"
    assert rejected.loc[12, "reason"] == "completed_on '2019-13-01' is not a date; allowed: a date YYYY-MM-DD"
    assert rejected.loc[13, "reason"] == "completed_on '2000-01-01' is before the application_date; allowed: a date on or after it"
    assert rejected.loc[14, "field"] == "capacity"
    assert rejected.loc[15, "field"] == "completed_on, outturn_cny"
    assert set(history.frame["application_id"]).isdisjoint(rejected["application_id"])


def test_rows_out_of_completion_order_are_taken_in_order_with_a_warning(raw):
    shuffled = raw.iloc[::-1].reset_index(drop=True)
    history = validate_history(shuffled, "h.csv", "shandong-2019", 10)
    assert history.warnings == ["h.csv: rows are not in order of completed_on; they are taken in that order"]
    assert history.frame["completed_on"].is_monotonic_increasing
    assert len(history.frame) == 300
    in_order = validate_history(raw, "h.csv", "shandong-2019", 10)
    assert in_order.warnings == []


def test_too_few_rows_is_an_error_with_the_counts(raw):
    raw.loc[:1, "outturn_cny"] = "-1"
    with pytest.raises(InputError, match=r"h\.csv: 8 usable rows of 10 \(2 rejected: outturn_cny '-1' is out of range.*\); "
                                         r"allowed: at least 100 rows"):
        validate_history(raw.head(10), "h.csv", "shandong-2019", 100)


def test_a_history_file_reads_like_a_portfolio(raw, tmp_path):
    path = tmp_path / "history.csv"
    raw.assign(extra="x").to_csv(path, index=False)
    with pytest.raises(InputError, match="unknown \\['extra'\\]"):
        load_history(path, "shandong-2019", 10)
    raw.to_csv(path, index=False)
    assert len(load_history(path, "shandong-2019", 10).frame) == 300


def test_a_jurisdiction_is_resolved_per_date_with_few_lookups():
    from costmodel.params import resolve_ruleset

    days = pd.date_range("2019-07-01", "2025-06-30", freq="D").to_numpy()
    resolved = rulesets_by_date("shandong", days)
    assert len(resolved) == len(days)
    for day in pd.date_range("2019-07-01", "2025-06-30", freq="MS"):  # every first of a month, looked up one by one
        date = day.date()
        assert resolved[date].content_hash == resolve_ruleset("shandong", date).content_hash
    assert len({ruleset.id for ruleset in resolved.values()}) >= 3  # national 1996, 2020, 2024 layers under Shandong's
