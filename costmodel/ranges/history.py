"""A history: a portfolio plus what each connection finally cost, validated like a portfolio and quoted by the engine.

Every row is accepted or rejected with its reason (rows in = accepted + rejected): the application's columns by
the portfolio's validation, `completed_on` and `outturn_cny` here, and a row the engine cannot quote (or quotes
at 0 CNY, where no ratio exists) with the engine's reason. Each row is quoted under the rules in force on its
application date in the jurisdiction named (or under one rule set, when a rule-set id is named), as its planner's
quote would have been.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.params import RuleSet, resolve_ruleset
from costmodel.quote import quote_frame
from costmodel.scenarios.portfolio import REJECTED_COLUMNS, read_table, validate_frame

HISTORY_COLUMNS = ("completed_on", "outturn_cny")
HISTORY_HELP = ("a history has the portfolio columns plus completed_on (the date the works were completed, YYYY-MM-DD) "
                "and outturn_cny (what the connection works finally cost, CNY, all parties together)")
# The engine's columns a range is drawn from (model.features), besides the quote's totals. Not the distances: the
# engine fills an unknown one with the scheme's assumption, which a batch's summary does not carry; the quote's
# total already prices them.
QUOTED_COLUMNS = ["application_id", "applicant_kind", "area", "park_level", "capacity_kva", "road_crossings", "supply_voltage",
                  "boundary"]


@dataclass
class QuotedHistory:
    """Accepted rows in completion order, each with the engine's quote (QUOTED_COLUMNS, customer/grid/total_cny,
    ruleset_id) and `completed_on`, `outturn_cny`, `log_ratio` = ln(outturn / quote total); the rejected rows."""

    frame: pd.DataFrame
    rejected: pd.DataFrame  # REJECTED_COLUMNS
    rows_in: int
    source: str
    ruleset_name: str  # the rules named: a jurisdiction (in force on each date) or a rule-set id
    rulesets: dict[str, dict]  # every rule set the rows were quoted under: id -> content_hash, layers' hashes, catalogue
    warnings: list[str] = field(default_factory=list)
    held_out: int = 0  # accepted rows completed after `until`: kept out of a fit, for evaluation

    def __post_init__(self) -> None:
        if self.rows_in != len(self.frame) + len(self.rejected) + self.held_out:
            raise AssertionError(f"{self.source}: {self.rows_in} rows in, {len(self.frame)} accepted + {len(self.rejected)} rejected "
                                 f"+ {self.held_out} held out")

    def until(self, last: dt.date, min_rows: int) -> QuotedHistory:
        """The rows completed on or before `last`; the later ones counted as held out."""
        kept = self.frame[self.frame["completed_on"] <= pd.Timestamp(last)]
        if len(kept) < min_rows:
            raise InputError(f"{self.source}: {len(kept)} usable rows completed by {last}; allowed: at least {min_rows} "
                             "(tariffs/ranges/method.yaml, min_history_rows)")
        return replace(self, frame=kept, held_out=self.held_out + len(self.frame) - len(kept))


def _rejections(positions: np.ndarray, ids: np.ndarray, field_name: str, values, reason: str) -> pd.DataFrame:
    shown = [repr(value) for value in values]
    return pd.DataFrame({"row": positions + 1, "application_id": ids, "field": field_name, "value": shown,
                         "reason": [f"{field_name} {value} {reason}" for value in shown]}, columns=REJECTED_COLUMNS)


def _history_problems(raw: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """The rows whose completed_on or outturn_cny is missing or wrong; both columns as read (NaT / NaN where bad)."""
    ids = raw["application_id"].to_numpy(dtype=object) if "application_id" in raw.columns else np.full(len(raw), None)
    problems = []
    completed_raw = raw["completed_on"]
    completed = pd.to_datetime(completed_raw, format="ISO8601", errors="coerce") if completed_raw.dtype.kind != "M" else completed_raw
    completed = pd.Series(completed, index=raw.index).dt.normalize()
    absent = completed_raw.isna().to_numpy()
    for mask, reason in ((absent, "is missing; allowed: a date YYYY-MM-DD (required)"),
                         (~absent & completed.isna().to_numpy(), "is not a date; allowed: a date YYYY-MM-DD")):
        positions = np.flatnonzero(mask)
        problems.append(_rejections(positions, ids[positions], "completed_on", completed_raw.to_numpy()[positions], reason))
    applied = pd.to_datetime(raw["application_date"], format="ISO8601", errors="coerce") if raw["application_date"].dtype.kind != "M" \
        else raw["application_date"]
    with np.errstate(invalid="ignore"):
        before = (completed < pd.Series(applied, index=raw.index).dt.normalize()).to_numpy()
    positions = np.flatnonzero(before)
    problems.append(_rejections(positions, ids[positions], "completed_on", completed_raw.to_numpy()[positions],
                                "is before the application_date; allowed: a date on or after it"))
    outturn_raw = raw["outturn_cny"]
    outturn = pd.to_numeric(outturn_raw.where(~outturn_raw.map(lambda v: isinstance(v, bool))), errors="coerce").to_numpy(dtype=float)
    absent = outturn_raw.isna().to_numpy()
    for mask, reason in ((absent, "is missing; allowed: a number > 0 (required)"),
                         (~absent & np.isnan(outturn), "is not a number; allowed: a number > 0"),
                         (~np.isnan(outturn) & ~(np.isfinite(outturn) & (outturn > 0)), "is out of range; allowed: a number > 0")):
        positions = np.flatnonzero(mask)
        problems.append(_rejections(positions, ids[positions], "outturn_cny", outturn_raw.to_numpy()[positions], reason))
    return pd.concat(problems, ignore_index=True), completed, outturn


def merge_rejections(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per rejected row, its problems from every check joined, in row order."""
    found = pd.concat([table for table in tables if len(table)], ignore_index=True) if any(len(t) for t in tables) else None
    if found is None:
        return pd.DataFrame(columns=REJECTED_COLUMNS)
    grouped = found.astype({"field": str, "value": str, "reason": str}).groupby("row", sort=True).agg(
        {"application_id": "first", "field": ", ".join, "value": " | ".join, "reason": "; ".join})
    return grouped.reset_index()[REJECTED_COLUMNS]


def rulesets_by_date(name: str, dates: np.ndarray) -> dict[dt.date, RuleSet]:
    """The rules `name` gives on each distinct date. A jurisdiction's policy is a step function of the date (its layers
    only succeed one another), so an interval whose ends resolve to the same rules is resolved once: O(changes x
    log(days)) look-ups instead of one per day."""
    days = sorted({pd.Timestamp(day).date() for day in dates})
    resolved: dict[dt.date, RuleSet] = {}

    def fill(lo: int, hi: int) -> None:
        for end in (lo, hi):
            if days[end] not in resolved:
                resolved[days[end]] = resolve_ruleset(name, days[end])
        if resolved[days[lo]].content_hash == resolved[days[hi]].content_hash:
            for day in days[lo + 1:hi]:
                resolved[day] = resolved[days[lo]]
        elif hi - lo > 1:
            middle = (lo + hi) // 2
            fill(lo, middle)
            fill(middle, hi)

    if days:
        fill(0, len(days) - 1)
    return resolved


def quote_history_frame(frame: pd.DataFrame, ruleset_name: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict]]:
    """Each application of an engine frame (with `row`) quoted under the rules in force on its date: QUOTED_COLUMNS,
    the totals and `ruleset_id`, in the frame's order; the rows the engine refused (REJECTED_COLUMNS); the rule sets."""
    by_date = rulesets_by_date(ruleset_name, frame["application_date"].to_numpy())
    ruleset_of_row = np.array([by_date[day].content_hash for day in frame["application_date"].dt.date], dtype=object)
    rulesets = {ruleset.content_hash: ruleset for ruleset in by_date.values()}
    quoted, refused, used = [], [], {}
    for content_hash, ruleset in rulesets.items():
        part = frame[ruleset_of_row == content_hash]
        batch = quote_frame(part, ruleset, itemised=False)
        used[ruleset.id] = {"content_hash": content_hash, "layers": {layer.id: layer.content_hash for layer in ruleset.layers or (ruleset,)},
                            "catalog_id": batch.scheme.catalog.id, "catalog_edition": batch.scheme.catalog.edition}
        decided = batch.decisions
        quoted.append(decided[QUOTED_COLUMNS].assign(
            row=part["row"].to_numpy()[pd.Index(part["application_id"]).get_indexer(decided["application_id"])],
            customer_cny=batch.totals["customer_cny"].to_numpy(), grid_cny=batch.totals["grid_cny"].to_numpy(),
            total_cny=batch.totals["total_cny"].to_numpy(), ruleset_id=ruleset.id))
        rows = part["row"].to_numpy()[pd.Index(part["application_id"]).get_indexer(batch.rejected["application_id"])]
        refused.append(pd.DataFrame({"row": rows, "application_id": batch.rejected["application_id"].to_numpy(), "field": "(quote)",
                                     "value": "", "reason": batch.rejected["reason"].to_numpy()}, columns=REJECTED_COLUMNS))
    result = pd.concat(quoted, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True) if quoted else \
        pd.DataFrame(columns=QUOTED_COLUMNS + ["row", "customer_cny", "grid_cny", "total_cny", "ruleset_id"])
    for column in ("supply_voltage", "boundary", "area", "applicant_kind", "park_level", "ruleset_id"):
        result[column] = result[column].astype(str)
    return result, merge_rejections(refused), used


def validate_history(raw: pd.DataFrame, source: str, ruleset_name: str, min_rows: int) -> QuotedHistory:
    """Every row of a raw history table accepted (validated, quoted, with its log ratio) or rejected with its reason."""
    missing = [name for name in HISTORY_COLUMNS if name not in raw.columns]
    if missing:
        raise InputError(f"{source}: column(s) {', '.join(missing)} missing; {HISTORY_HELP}")
    raw = raw.reset_index(drop=True)
    portfolio = validate_frame(raw.drop(columns=list(HISTORY_COLUMNS)), source)
    problems, completed, outturn = _history_problems(raw, source)
    bad_rows = set(problems["row"].tolist())
    frame = portfolio.frame[~portfolio.frame["row"].isin(bad_rows)]
    quoted, refused, rulesets = quote_history_frame(frame, ruleset_name)
    positions = quoted["row"].to_numpy() - 1
    quoted = quoted.assign(completed_on=completed.to_numpy()[positions], outturn_cny=outturn[positions])
    zero = quoted["total_cny"].to_numpy() <= 0
    positions = np.flatnonzero(zero)
    unquotable = _rejections(quoted["row"].to_numpy()[positions] - 1, quoted["application_id"].to_numpy()[positions], "(quote)",
                             quoted["total_cny"].to_numpy()[positions],
                             "CNY is the engine's total: no ratio of outturn to quote; allowed: a quote total > 0")
    quoted = quoted[~zero]
    rejected = merge_rejections([portfolio.rejected, problems, refused, unquotable])
    warnings = []
    order = quoted["completed_on"].to_numpy()
    if len(order) > 1 and (np.diff(order.astype("datetime64[D]").astype(np.int64)) < 0).any():
        warnings.append(f"{source}: rows are not in order of completed_on; they are taken in that order")
    quoted = quoted.sort_values(["completed_on", "row"], kind="stable").reset_index(drop=True)
    quoted["log_ratio"] = np.log(quoted["outturn_cny"].to_numpy() / quoted["total_cny"].to_numpy())
    history = QuotedHistory(quoted, rejected, len(raw), source, ruleset_name, rulesets, warnings)
    if len(quoted) < min_rows:
        reasons = "; ".join(rejected["reason"].head(3).tolist())
        raise InputError(f"{source}: {len(quoted)} usable rows of {len(raw)} ({len(rejected)} rejected{': ' + reasons if reasons else ''}); "
                         f"allowed: at least {min_rows} rows (tariffs/ranges/method.yaml, min_history_rows)")
    return history


def load_history(path: str | Path, ruleset_name: str, min_rows: int) -> QuotedHistory:
    """Read, validate and quote a history file (CSV or Parquet, or Excel as a portfolio)."""
    return validate_history(read_table(path, HISTORY_COLUMNS), str(path), ruleset_name, min_rows)
