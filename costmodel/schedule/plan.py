"""Schedule applications: stage dates, critical path and the check against the rule set's limits.

Offsets in working days depend only on (rule set, supply voltage, external works), so they are
computed once per combination (stages.template) and spread over the applications with array
indexing; dates come from one lookup in the working-day calendar. One row or a million: same path.
"""

from __future__ import annotations

from collections.abc import Mapping

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.messages import LANGUAGES, say, word
from costmodel.schedule.calendar import calendar_for, fallback_warnings, working_day_position
from costmodel.schedule.data import reference_text
from costmodel.schedule.stages import SCOPES, VOLTAGES, StageSet, available_rulesets, load_stage_set, template

REQUIRED = ("application_id", "application_date", "supply_voltage", "ruleset_id")
STAGE_COLUMNS = [
    "application_id", "ruleset_id", "supply_voltage", "stage_id", "name_zh", "name_en", "group",
    "predecessors", "working_days", "start_offset_working_days", "end_offset_working_days",
    "start_date", "due_date", "on_critical_path", "reference",
]
_CATEGORICAL = ["stage_id", "name_zh", "name_en", "group", "predecessors", "reference"]


def _first_bad(mask: np.ndarray, frame: pd.DataFrame, column: str, allowed: str) -> None:
    if mask.any():
        row = int(np.flatnonzero(mask)[0])
        raise InputError(
            f"row {row} (application_id {frame['application_id'].iloc[row]!r}): {column} = "
            f"{frame[column].iloc[row]!r} is not allowed; allowed: {allowed}"
        )


def validate_applications(frame: pd.DataFrame, root: Path | None = None, stage_sets: Mapping[str, StageSet] | None = None) -> pd.DataFrame:
    """The input with checked types and has_external_works defaulted to True."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"applications: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}")
    out = frame.reset_index(drop=True).copy()
    out["application_id"] = out["application_id"].astype(str)
    duplicated = out["application_id"].duplicated().to_numpy()
    _first_bad(duplicated, out, "application_id", "each application_id once")
    dates = pd.to_datetime(out["application_date"], errors="coerce")
    _first_bad(dates.isna().to_numpy(), out, "application_date", "a date YYYY-MM-DD")
    out["application_date"] = dates.dt.normalize()
    _first_bad(~out["supply_voltage"].isin(VOLTAGES).to_numpy(), out, "supply_voltage", ", ".join(VOLTAGES))
    known = available_rulesets(root) + list(stage_sets or ())
    _first_bad(~out["ruleset_id"].isin(known).to_numpy(), out, "ruleset_id", ", ".join(known))
    if "has_external_works" not in out.columns:
        out["has_external_works"] = True
    ext = out["has_external_works"]
    if ext.dtype != bool:
        _first_bad(~ext.isin([True, False]).to_numpy() | ext.isna().to_numpy(), out, "has_external_works", "true, false")
        out["has_external_works"] = ext.astype(bool)
    return out


@lru_cache(maxsize=256)
def _layout(combos: tuple[tuple[StageSet, str, bool], ...]) -> tuple[dict, dict]:
    """Stage offsets (long, each combination's rows contiguous) and totals/limits (one row each) of
    a set of combinations, as columns (numpy, categoricals for labels); cached, as a service sees the
    same few sets again and again."""
    stage_parts, rows = [], []
    for index, (stage_set, voltage, external_works) in enumerate(combos):
        stages, check = template(stage_set, voltage, external_works)
        stage_parts.append(stages.assign(combo=index))
        row = {"combo": index}
        for scope in SCOPES:
            limit = check["limits"][scope]
            row[f"{scope}_working_days"] = check["totals"][scope]
            row[f"{scope}_limit_working_days"] = limit["value"] if limit else np.nan
            row[f"{scope}_limit_reference"] = reference_text(limit["reference"]) if limit else ""
            row[f"{scope}_limit_basis"] = limit["basis"] if limit else ""
        rows.append(row)
    stages = pd.concat(stage_parts, ignore_index=True)
    for column in _CATEGORICAL:
        stages[column] = stages[column].astype("category")
    checks = pd.DataFrame(rows)
    return ({column: stages[column].array if column in _CATEGORICAL else stages[column].to_numpy() for column in stages},
            {column: checks[column].to_numpy() for column in checks})


def build_templates(ruleset_id: np.ndarray, supply_voltage: np.ndarray, has_external_works: np.ndarray,
                    root: Path | None = None, stage_sets: Mapping[str, StageSet] | None = None) -> tuple[dict, dict, np.ndarray]:
    """Per combination: stage offsets (long) and totals/limits (one row), as columns; and each application's
    combination. A `ruleset_id` found in `stage_sets` takes that stage set (a rule set's own values), else its file's."""
    stage_sets = stage_sets or {}
    ruleset_codes, ruleset_ids = pd.factorize(ruleset_id)
    voltage_codes, voltages = pd.factorize(supply_voltage)
    key = (ruleset_codes * len(voltages) + voltage_codes) * 2 + has_external_works.astype(np.int64)
    keys, combo_of_app = np.unique(key, return_inverse=True)
    def stage_set(ruleset_id: str) -> StageSet:
        return stage_sets[ruleset_id] if ruleset_id in stage_sets else load_stage_set(ruleset_id, root)

    combos = tuple((stage_set(ruleset_ids[k // 2 // len(voltages)]), voltages[k // 2 % len(voltages)], bool(k % 2)) for k in keys)
    stages, checks = _layout(combos)
    return stages, checks, combo_of_app


def schedule_applications(frame: pd.DataFrame, root: Path | None = None,
                          stage_sets: Mapping[str, StageSet] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage dates per application (long frame) and a per-application summary against the limits."""
    apps = validate_applications(frame, root, stage_sets)
    long, summary = schedule_columns(
        apps["application_id"].to_numpy(), apps["application_date"].to_numpy(), apps["supply_voltage"].to_numpy(),
        apps["ruleset_id"].to_numpy(), apps["has_external_works"].to_numpy(), root, stage_sets)
    return pd.DataFrame(long, copy=False), pd.DataFrame(summary, copy=False)


def schedule_columns(application_id: np.ndarray, application_date: np.ndarray, supply_voltage: np.ndarray,
                     ruleset_id: np.ndarray, has_external_works: np.ndarray, root: Path | None = None,
                     stage_sets: Mapping[str, StageSet] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`schedule_applications` on checked arrays (dates datetime64, normalised): its two frames as columns.

    The long columns hold each application's stages contiguously, in input order.
    """
    stages, checks, combo_of_app = build_templates(ruleset_id, supply_voltage, has_external_works, root, stage_sets)
    application_date = application_date.astype("datetime64[ns]")
    total_working_days = checks["total_working_days"][combo_of_app]

    calendar = calendar_for(application_date, int(total_working_days.max()))
    position = working_day_position(calendar, application_date)
    due = calendar.days[position + total_working_days].astype("datetime64[ns]")

    # Spread each combination's stage rows over its applications, keeping the input order.
    # Each combination's rows are contiguous in `stages` (built combination by combination).
    size = np.bincount(stages["combo"], minlength=len(checks["combo"]))
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    counts = size[combo_of_app]
    app_index = np.repeat(np.arange(len(application_id)), counts)
    row_start = np.repeat(np.cumsum(counts) - counts, counts)
    template_index = np.repeat(first[combo_of_app], counts) + np.arange(counts.sum()) - row_start
    long = {"application_id": application_id[app_index], "ruleset_id": ruleset_id[app_index],
            "supply_voltage": supply_voltage[app_index]}
    for column in STAGE_COLUMNS[3:]:
        if column in stages:
            long[column] = stages[column].take(template_index)
    base = position[app_index]
    start = long["start_offset_working_days"]
    end = long["end_offset_working_days"]
    # Day 1 of a stage is the first working day after its start offset; a zero-day stage is a
    # milestone on that same day.
    long["start_date"] = calendar.days[base + start + 1].astype("datetime64[ns]")
    long["due_date"] = calendar.days[base + np.maximum(end, start + 1)].astype("datetime64[ns]")
    long = {column: long[column] for column in STAGE_COLUMNS}

    summary = {"application_id": application_id, "ruleset_id": ruleset_id, "supply_voltage": supply_voltage,
               "has_external_works": has_external_works, "application_date": application_date,
               "energisation_due_date": due,
               "calendar_days": (due - application_date).astype("timedelta64[D]").astype(np.int64)}
    for scope in SCOPES:
        summary[f"{scope}_working_days"] = checks[f"{scope}_working_days"][combo_of_app]
        limit = checks[f"{scope}_limit_working_days"][combo_of_app]
        summary["limit_working_days" if scope == "total" else f"{scope}_limit_working_days"] = limit
    summary["limit_reference"] = checks["total_limit_reference"][combo_of_app]
    summary["limit_basis"] = checks["total_limit_basis"][combo_of_app]  # average: a target on average, not owed to each customer
    summary["within_limit"] = _within(summary)
    summary["warnings"] = _warnings(summary, calendar, "en")
    summary["warnings_zh"] = _warnings(summary, calendar, "zh")
    return long, summary


def _within(summary: dict[str, np.ndarray]) -> pd.arrays.BooleanArray:
    """True if every limit that applies holds, NA if no limit applies."""
    pairs = [("total_working_days", "limit_working_days")] + [
        (f"{s}_working_days", f"{s}_limit_working_days") for s in SCOPES[1:]
    ]
    has_limit = np.zeros(len(summary["application_id"]), bool)
    ok = np.ones(len(summary["application_id"]), bool)
    for value, limit in pairs:
        present = ~np.isnan(summary[limit])
        has_limit |= present
        ok &= ~present | (summary[value] <= summary[limit])
    return pd.arrays.BooleanArray(ok, ~has_limit)


def _warnings(summary: dict[str, np.ndarray], calendar, language: str) -> np.ndarray:
    text = fallback_warnings(calendar, summary["application_date"], summary["energisation_due_date"], language)
    no_limit = np.isnan(summary["limit_working_days"])
    if no_limit.any():
        message = np.array([say("schedule.no_limit", ruleset=ruleset, voltage=voltage, voltage_zh=word(f"voltage.{voltage}", "zh"))
                            [LANGUAGES.index(language)] for ruleset, voltage in
                            zip(summary["ruleset_id"][no_limit], summary["supply_voltage"][no_limit])], dtype=object)
        text[no_limit] = np.where(text[no_limit] == "", message, text[no_limit] + "; " + message)
    return text
