import datetime as dt

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.schedule.calendar import add_working_days, build_calendar, package_years


def dates(*values):
    return pd.Series(pd.to_datetime(list(values)))


def test_national_day_2019_is_skipped_and_adjusted_weekends_count():
    # From Friday 2019-09-27, working days are: Sun 09-29 (adjusted working day) 1, Mon 09-30 2,
    # then 10-01..10-07 are the National Day holiday, Tue 10-08 3, 10-09 4, 10-10 5, 10-11 6,
    # Sat 10-12 (adjusted working day) 7. Plain Monday-Friday would give 10-08 instead.
    assert add_working_days(dates("2019-09-27"), 7).iloc[0] == pd.Timestamp("2019-10-12")


def test_a_holiday_counts_from_the_working_day_before_it():
    # 2019-10-03 is a holiday: the first working day after it is 10-08.
    assert add_working_days(dates("2019-10-03"), 1).iloc[0] == pd.Timestamp("2019-10-08")
    assert add_working_days(dates("2019-10-03"), 0).iloc[0] == pd.Timestamp("2019-09-30")


def test_one_date_and_many_dates_give_the_same_answers():
    many = dates("2019-09-27", "2020-01-20", "2024-02-08", "2019-09-27")
    days = [7, 10, 3, 1]
    together = add_working_days(many, days)
    alone = [add_working_days(many.iloc[[i]], days[i]).iloc[0] for i in range(len(many))]
    assert together.tolist() == alone


def test_package_range_is_detected():
    first, last = package_years()
    assert first <= 2019 and last >= 2026


def test_years_without_data_fall_back_to_monday_to_friday(tmp_path):
    # Thursday 2027-12-30 + 3 working days, Monday-Friday: Fri 12-31, Mon 01-03, Tue 2028-01-04.
    empty = tmp_path / "none.yaml"
    assert add_working_days(dates("2027-12-30"), 3, table_path=empty).iloc[0] == pd.Timestamp("2028-01-04")
    calendar = build_calendar(2027, 2028, empty)
    assert calendar.fallback_years() == [2027, 2028]


def test_the_holiday_table_extends_the_package(tmp_path):
    table = tmp_path / "cn-holidays.yaml"
    table.write_text(
        "description: test\n"
        "years:\n"
        "  2027:\n"
        "    reference: {document: notice, clause: item 7, source: national}\n"
        "    holidays: [2027-10-01..2027-10-07]\n"
        "    workdays: [2027-09-26]\n",
        encoding="utf-8",
    )
    # Friday 2027-09-24: Sun 09-26 (adjusted) 1, Mon 09-27 2, 28 3, 29 4, 30 5, holiday, Fri 10-08 6.
    assert add_working_days(dates("2027-09-24"), 6, table_path=table).iloc[0] == pd.Timestamp("2027-10-08")
    assert 2027 not in build_calendar(2027, 2027, table).fallback_years()


@pytest.mark.parametrize(
    "years, field",
    [
        ("  2027:\n    reference: {document: n, clause: c, source: national}\n    holidays: [2028-01-01]\n    workdays: []\n",
         "years.2027.holidays"),
        ("  2027:\n    reference: {document: n, clause: c, source: national}\n    holidays: []\n    workdays: [2027-09-27]\n",
         "years.2027.workdays"),
        ("  2027:\n    holidays: []\n    workdays: []\n", "missing required key(s) reference"),
    ],
)
def test_bad_holiday_table_names_file_and_field(tmp_path, years, field):
    table = tmp_path / "cn-holidays.yaml"
    table.write_text("description: test\nyears:\n" + years, encoding="utf-8")
    with pytest.raises(InputError) as error:
        add_working_days(dates("2027-01-04"), 1, table_path=table)
    assert str(table) in str(error.value) and field in str(error.value)


def test_negative_days_are_refused():
    with pytest.raises(InputError, match="negative"):
        add_working_days(dates(dt.date(2019, 1, 2)), -1)
