"""Schedule applications: stage dates, critical path and the check against the rule set's limits.

Offsets in working days depend only on (rule set, supply voltage, external works), so they are
computed once per combination (stages.template) and spread over the applications with array
indexing; dates come from one lookup in the working-day calendar. One row or a million: same path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.schedule.calendar import calendar_for, fallback_warnings, working_day_position
from costmodel.schedule.data import reference_text
from costmodel.schedule.stages import SCOPES, VOLTAGES, available_rulesets, load_stage_set, template

REQUIRED = ("application_id", "application_date", "supply_voltage", "ruleset_id")
COMBO = ["ruleset_id", "supply_voltage", "has_external_works"]
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


def validate_applications(frame: pd.DataFrame, root: Path | None = None) -> pd.DataFrame:
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
    known = available_rulesets(root)
    _first_bad(~out["ruleset_id"].isin(known).to_numpy(), out, "ruleset_id", ", ".join(known))
    if "has_external_works" not in out.columns:
        out["has_external_works"] = True
    ext = out["has_external_works"]
    if ext.dtype != bool:
        _first_bad(~ext.isin([True, False]).to_numpy() | ext.isna().to_numpy(), out, "has_external_works", "true, false")
        out["has_external_works"] = ext.astype(bool)
    return out


def build_templates(apps: pd.DataFrame, root: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Per combination: stage offsets (long) and totals/limits (one row); and each application's combination."""
    combos = apps[COMBO].drop_duplicates().reset_index(drop=True)
    combo_of_app = apps[COMBO].merge(combos.reset_index(names="combo"), on=COMBO, how="left")["combo"].to_numpy()
    stage_parts, rows = [], []
    for combo in combos.itertuples():
        stages, check = template(load_stage_set(combo.ruleset_id, root), combo.supply_voltage, combo.has_external_works)
        stage_parts.append(stages.assign(combo=combo.Index))
        row = {"combo": combo.Index}
        for scope in SCOPES:
            limit = check["limits"][scope]
            row[f"{scope}_working_days"] = check["totals"][scope]
            row[f"{scope}_limit_working_days"] = limit["value"] if limit else np.nan
            row[f"{scope}_limit_reference"] = reference_text(limit["reference"]) if limit else ""
        rows.append(row)
    stages = pd.concat(stage_parts, ignore_index=True)
    for column in _CATEGORICAL:
        stages[column] = stages[column].astype("category")
    return stages, pd.DataFrame(rows).set_index("combo"), combo_of_app


def schedule_applications(frame: pd.DataFrame, root: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage dates per application (long frame) and a per-application summary against the limits."""
    apps = validate_applications(frame, root)
    stages, checks, combo_of_app = build_templates(apps, root)
    check = checks.loc[combo_of_app].reset_index(drop=True)

    calendar = calendar_for(apps["application_date"], int(check["total_working_days"].max()))
    position = working_day_position(calendar, apps["application_date"])
    due = calendar.days[position + check["total_working_days"].to_numpy()].astype("datetime64[ns]")

    # Spread each combination's stage rows over its applications, keeping the input order.
    # Each combination's rows are contiguous in `stages` (built combination by combination).
    size = stages.groupby("combo").size().reindex(checks.index).to_numpy()
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    counts = size[combo_of_app]
    app_index = np.repeat(np.arange(len(apps)), counts)
    row_start = np.repeat(np.cumsum(counts) - counts, counts)
    template_index = np.repeat(first[combo_of_app], counts) + np.arange(counts.sum()) - row_start
    long = stages.iloc[template_index].drop(columns="combo").reset_index(drop=True)
    for column in ("application_id", "ruleset_id", "supply_voltage"):
        long.insert(0, column, apps[column].to_numpy()[app_index])
    base = position[app_index]
    start = long["start_offset_working_days"].to_numpy()
    end = long["end_offset_working_days"].to_numpy()
    # Day 1 of a stage is the first working day after its start offset; a zero-day stage is a
    # milestone on that same day.
    long["start_date"] = calendar.days[base + start + 1].astype("datetime64[ns]")
    long["due_date"] = calendar.days[base + np.maximum(end, start + 1)].astype("datetime64[ns]")
    long = long[STAGE_COLUMNS]

    summary = apps[["application_id", "ruleset_id", "supply_voltage", "has_external_works", "application_date"]].copy()
    summary["energisation_due_date"] = due
    summary["calendar_days"] = (summary["energisation_due_date"] - summary["application_date"]).dt.days
    for scope in SCOPES:
        summary[f"{scope}_working_days"] = check[f"{scope}_working_days"].to_numpy()
        summary[f"{scope}_limit_working_days"] = check[f"{scope}_limit_working_days"].to_numpy()
    summary = summary.rename(columns={"total_limit_working_days": "limit_working_days"})
    summary["limit_reference"] = check["total_limit_reference"].to_numpy()
    summary["within_limit"] = _within(summary)
    summary["warnings"] = _warnings(summary, calendar)
    return long, summary


def _within(summary: pd.DataFrame) -> pd.Series:
    """True if every limit that applies holds, NA if no limit applies."""
    pairs = [("total_working_days", "limit_working_days")] + [
        (f"{s}_working_days", f"{s}_limit_working_days") for s in SCOPES[1:]
    ]
    has_limit = np.zeros(len(summary), bool)
    ok = np.ones(len(summary), bool)
    for value, limit in pairs:
        present = summary[limit].notna().to_numpy()
        has_limit |= present
        ok &= ~present | (summary[value].to_numpy() <= summary[limit].to_numpy())
    return pd.Series(ok, index=summary.index, dtype="boolean").mask(~has_limit)


def _warnings(summary: pd.DataFrame, calendar) -> pd.Series:
    text = fallback_warnings(calendar, summary["application_date"], summary["energisation_due_date"])
    no_limit = summary["limit_working_days"].isna().to_numpy()
    if no_limit.any():
        message = (
            summary["ruleset_id"] + ": no total time limit for " + summary["supply_voltage"] + " in its data"
        ).to_numpy()
        text = text.where(~no_limit, np.where(text == "", message, text + "; " + message))
    return text
