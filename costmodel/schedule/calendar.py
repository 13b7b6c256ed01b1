"""Working-day calendar of mainland China: holidays and adjusted working weekends.

Years come from the `chinese_calendar` package where it has them, else from the user-extensible
table tariffs/calendar/cn-holidays.yaml (which wins where both have a year), else Monday-Friday
with a warning. A calendar is a sorted array of working days, so adding N working days to a
million dates is one searchsorted and one take.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import chinese_calendar
import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.paths import tariffs_dir
from costmodel.messages import LANGUAGES, say
from costmodel.schedule.data import check_reference
from costmodel.yamlio import check_keys, load_yaml

TABLE_RELATIVE = Path("calendar") / "cn-holidays.yaml"


def holiday_table_path() -> Path:
    return tariffs_dir() / TABLE_RELATIVE


@lru_cache(maxsize=None)
def package_years() -> tuple[int, int]:
    """First and last year chinese_calendar has data for (it raises NotImplementedError outside)."""
    covered = []
    for year in range(1990, 2101):
        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
        except NotImplementedError:
            continue
        covered.append(year)
    return min(covered), max(covered)


def _dates(items, where: str, year: int) -> set[dt.date]:
    if not isinstance(items, list):
        raise InputError(f"{where}: expected a list of dates or ranges 'YYYY-MM-DD..YYYY-MM-DD'")
    out: set[dt.date] = set()
    for item in items:
        try:
            if isinstance(item, dt.date):
                first = last = item
            else:
                a, _, b = str(item).partition("..")
                first = dt.date.fromisoformat(a.strip())
                last = dt.date.fromisoformat(b.strip()) if b else first
        except ValueError:
            raise InputError(f"{where}: {item!r} is not a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD") from None
        if first.year != year or last.year != year or last < first:
            raise InputError(f"{where}: {item!r} must lie within {year} (and a range must not run backwards)")
        out.update(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return out


def load_holiday_table(path: Path) -> dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]]:
    """{year: (holidays, adjusted working days)} from the table; a missing file is an empty table."""
    if not path.exists():
        return {}
    return _load_table(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_table(path: Path, _mtime_ns: int) -> dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]]:
    data = check_keys(load_yaml(path), str(path), {"description", "years"})
    years = data["years"] or {}
    if not isinstance(years, dict):
        raise InputError(f"{path}: years: expected a mapping year -> arrangement, got {years!r}")
    table = {}
    for year, entry in years.items():
        where = f"{path}: years.{year}"
        if not isinstance(year, int) or not 1900 <= year <= 2200:
            raise InputError(f"{where}: the key must be a year such as 2027")
        check_keys(entry, where, {"reference", "holidays", "workdays"})
        check_reference(entry["reference"], f"{where}.reference")
        holidays = _dates(entry["holidays"], f"{where}.holidays", year)
        workdays = _dates(entry["workdays"], f"{where}.workdays", year)
        both = sorted(holidays & workdays)
        if both:
            raise InputError(f"{where}: {both[0]} is listed both as a holiday and as a working day")
        weekdays = sorted(d for d in workdays if d.weekday() < 5)
        if weekdays:
            raise InputError(f"{where}.workdays: {weekdays[0]} is a weekday; list only adjusted working Saturdays/Sundays")
        table[year] = (frozenset(holidays), frozenset(workdays))
    return table


@dataclass(frozen=True)
class WorkCalendar:
    days: np.ndarray  # sorted datetime64[D] working days covering first_year..last_year
    first_year: int
    last_year: int
    source_by_year: dict[int, str]  # "chinese_calendar" | table path | "monday-friday"

    def fallback_years(self) -> list[int]:
        return [y for y, s in self.source_by_year.items() if s == "monday-friday"]


def _year_days(year: int, table: dict) -> tuple[np.ndarray, str]:
    start, stop = np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01")
    every = np.arange(start, stop, dtype="datetime64[D]")
    if year in table:
        holidays, workdays = table[year]
        off = np.isin(every, np.array(sorted(holidays), dtype="datetime64[D]"))
        on = np.isin(every, np.array(sorted(workdays), dtype="datetime64[D]"))
        return every[(np.is_busday(every) & ~off) | on], "table"
    first, last = package_years()
    if first <= year <= last:
        days = chinese_calendar.get_workdays(dt.date(year, 1, 1), dt.date(year, 12, 31))
        return np.array(days, dtype="datetime64[D]"), "chinese_calendar"
    return every[np.is_busday(every)], "monday-friday"


def build_calendar(first_year: int, last_year: int, table_path: Path | None = None) -> WorkCalendar:
    path = Path(table_path or holiday_table_path())
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _build(first_year, last_year, path, mtime)


@lru_cache(maxsize=32)
def _build(first_year: int, last_year: int, path: Path, _mtime_ns: int) -> WorkCalendar:
    table = load_holiday_table(path)
    parts, sources = [], {}
    for year in range(first_year, last_year + 1):
        days, source = _year_days(year, table)
        parts.append(days)
        sources[year] = str(path) if source == "table" else source
    return WorkCalendar(np.concatenate(parts), first_year, last_year, sources)


def _years(dates) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[Y]").astype(np.int64) + 1970


def calendar_for(dates, max_working_days: int, table_path: Path | None = None) -> WorkCalendar:
    """A calendar long enough to add max_working_days to every date (one spare year each side)."""
    years = _years(dates)
    # 200 working days a year is below any real year, so the span is always long enough.
    return build_calendar(int(years.min()) - 1, int(years.max()) + max_working_days // 200 + 1, table_path)


def working_day_position(calendar: WorkCalendar, dates) -> np.ndarray:
    """Index of the last working day on or before each date: day N of a stage is position + N."""
    return np.searchsorted(calendar.days, np.asarray(dates, dtype="datetime64[D]"), side="right") - 1


def add_working_days(dates: pd.Series, working_days, table_path: Path | None = None) -> pd.Series:
    """The N-th working day after each date (a holiday date counts from the working day before it)."""
    dates = pd.Series(dates)
    n = np.broadcast_to(np.asarray(working_days, dtype=np.int64), (len(dates),))
    if (n < 0).any():
        raise InputError(f"working_days: {int(n.min())} is negative; allowed: whole numbers >= 0")
    calendar = calendar_for(dates, int(n.max(initial=0)), table_path)
    due = calendar.days[working_day_position(calendar, dates) + n]
    return pd.Series(due.astype("datetime64[ns]"), index=dates.index)


def fallback_warnings(calendar: WorkCalendar, first: np.ndarray, last: np.ndarray, language: str = "en") -> np.ndarray:
    """Per row, a warning (in `language`) naming the years between first and last dates that had no holiday data."""
    first_year = _years(first)
    last_year = _years(last)
    out = np.full(len(first_year), "", dtype=object)
    lo, hi = package_years()
    for year in calendar.fallback_years():
        hit = (first_year <= year) & (year <= last_year)
        if hit.any():
            # one sentence without "; ", the separator between a row's warnings (messages.yaml)
            message = say("schedule.calendar_fallback", year=year, first=lo, last=hi, table=TABLE_RELATIVE.as_posix())[LANGUAGES.index(language)]
            out[hit] = np.where(out[hit] == "", message, out[hit] + "; " + message)
    return out
