"""Portfolio studies over the one quote path: batch quotes, baseline-vs-reform comparison, threshold sweeps."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from costmodel import files
from costmodel.errors import InputError
from costmodel.params import RuleSet, available_rulesets, load_ruleset, resolve_ruleset
from costmodel.params.overrides import sweep_ruleset, with_reforms
from costmodel.params.ruleset import NATIONAL, jurisdictions
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.quote import quote_frame
from costmodel.scenarios.portfolio import REJECTED_COLUMNS, Portfolio
from costmodel.yamlio import check_keys, load_yaml

# Two threads for the two quotes wherever there are two cores (docs/performance.md, Policy studies);
# on a busy machine they gain nothing and hold a second quote's memory.
DEFAULT_WORKERS = 2 if (os.cpu_count() or 1) >= 2 else 1

BANDS_FILE = Path("studies") / "capacity-bands.yaml"  # under the tariffs root: the reporting bands, as data
GROUPS = ["area", "enterprise_size", "capacity_band", "park_level"]
SUMMARY_COLUMNS = ["row", "application_id", "applicant_kind", "area", "park_level", "enterprise_size", "capacity_kva",
                   "supply_voltage", "supply_voltage_rule", "boundary", "boundary_rule", "customer_cny", "grid_cny", "total_cny"]


@dataclass
class BatchResult:
    quotes: pd.DataFrame  # one row per quoted application: SUMMARY_COLUMNS
    rejected: pd.DataFrame  # REJECTED_COLUMNS: validation and quote rejections
    rows_in: int


class Checkpoint:
    """Finished chunks of a batch on disk, so an interrupted batch resumes without losing or repeating rows.

    Each chunk is written whole (to a temporary name, then renamed) and keyed by its first row; a
    manifest ties the folder to the portfolio, the rule set and the chunk size, so a changed input
    starts afresh instead of mixing results.
    """

    def __init__(self, folder: Path, portfolio: Portfolio, ruleset: RuleSet, chunk_rows: int):
        self.folder = Path(folder)
        digest = hashlib.sha256(pd.util.hash_pandas_object(portfolio.frame, index=False).to_numpy().tobytes())
        self.key = {"portfolio": digest.hexdigest()[:16], "rows": len(portfolio.frame), "ruleset": ruleset.id,
                    "ruleset_hash": ruleset.content_hash, "chunk_rows": chunk_rows}
        manifest = self.folder / "manifest.json"
        if manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")) != self.key:
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        files.write_text(manifest, json.dumps(self.key))

    def _path(self, start: int, kind: str) -> Path:
        return self.folder / f"{kind}-{start:012d}.parquet"

    def done(self, start: int) -> bool:
        return self._path(start, "rejected").is_file()

    def load(self, start: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        return pd.read_parquet(self._path(start, "quotes")), pd.read_parquet(self._path(start, "rejected"))

    def save(self, start: int, quotes: pd.DataFrame, rejected: pd.DataFrame) -> None:
        # The rejected file is written last: its presence marks the chunk complete.
        for kind, frame in (("quotes", quotes), ("rejected", rejected)):
            files.write_table(frame, self._path(start, kind))

    def finished_chunks(self) -> int:
        return len(list(self.folder.glob("rejected-*.parquet")))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _quote_chunk(chunk: pd.DataFrame, ruleset: RuleSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    batch = quote_frame(chunk, ruleset, itemised=False)
    summary = batch.decisions[SUMMARY_COLUMNS[:-3]].assign(
        customer_cny=batch.totals["customer_cny"].to_numpy(), grid_cny=batch.totals["grid_cny"].to_numpy(),
        total_cny=batch.totals["total_cny"].to_numpy())
    rows = chunk["row"].to_numpy()[pd.Index(chunk["application_id"]).get_indexer(batch.rejected["application_id"])]
    refused = pd.DataFrame({"row": rows, "application_id": batch.rejected["application_id"].to_numpy(),
                            "field": "(quote)", "value": "", "reason": batch.rejected["reason"].to_numpy()},
                           columns=REJECTED_COLUMNS)
    return summary, refused


def quote_portfolio(portfolio: Portfolio, ruleset: RuleSet, chunk_rows: int = 250_000,
                    progress: Callable[[int], None] | None = None, checkpoint: Checkpoint | None = None) -> BatchResult:
    """Quote every accepted row in chunks through quote_frame; rows in = rows quoted + rows rejected.

    With a checkpoint, chunks finished by an earlier, interrupted run are read back, not quoted again.
    """
    frame = portfolio.frame
    quoted, refused = [], [portfolio.rejected]
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start:start + chunk_rows]
        if checkpoint is not None and checkpoint.done(start):
            summary, rejected = checkpoint.load(start)
        else:
            summary, rejected = _quote_chunk(chunk, ruleset)
            if checkpoint is not None:
                checkpoint.save(start, summary, rejected)
        quoted.append(summary)
        refused.append(rejected)
        if progress:
            progress(len(chunk))
    quotes = pd.concat(quoted, ignore_index=True) if quoted else pd.DataFrame(columns=SUMMARY_COLUMNS)
    rejected = pd.concat([r for r in refused if len(r)], ignore_index=True) if any(len(r) for r in refused) \
        else pd.DataFrame(columns=REJECTED_COLUMNS)
    rejected = rejected.sort_values("row", kind="stable").reset_index(drop=True)
    if portfolio.rows_in != len(quotes) + len(rejected):
        raise AssertionError(f"{portfolio.source}: {portfolio.rows_in} rows in, {len(quotes)} quoted + {len(rejected)} rejected")
    return BatchResult(quotes, rejected, portfolio.rows_in)


def jurisdiction_of(province: str | None) -> str:
    """Whose rules apply in a province: its own layers over the national ones where the tariffs hold any, else the
    national layer alone."""
    return province if province in jurisdictions() else NATIONAL


def policies_in_force(jurisdiction: str, dates: pd.Series, reforms: tuple[str, ...] = ()) -> tuple[np.ndarray, list[RuleSet]]:
    """Each row's policy, as a position in the list returned: the rules in force in `jurisdiction` on the row's
    application date (resolve_ruleset), with `reforms` (tariffs/overrides) applied over them. Each distinct date is
    resolved once per period between two rule sets' start dates (what is in force changes only on those), each
    distinct policy reformed once."""
    starts = np.array(sorted({load_ruleset(ruleset_id).in_effect_from for ruleset_id in available_rulesets()}), dtype="datetime64[ns]")
    days = dates.to_numpy(dtype="datetime64[ns]")
    period_of_row, periods = pd.factorize(np.searchsorted(starts, days, side="right"))
    first_day = days[np.unique(period_of_row, return_index=True)[1]]  # a day of each period, in the order of `periods`
    resolved = [resolve_ruleset(jurisdiction, pd.Timestamp(day).date()) for day in first_day]
    policy_of_period, ids = pd.factorize(pd.Index([ruleset.id for ruleset in resolved]))
    first = {ruleset.id: ruleset for ruleset in reversed(resolved)}
    policies = [with_reforms(first[policy_id], list(reforms)) if reforms else first[policy_id] for policy_id in ids]
    return policy_of_period[period_of_row], policies


def quote_in_force(portfolio: Portfolio, jurisdiction: str, reforms: tuple[str, ...] = (), chunk_rows: int = 250_000) -> BatchResult:
    """Every accepted row quoted under the policy in force in `jurisdiction` on its own date (and the reforms over it):
    the rows of each policy through quote_portfolio, the results back in row order."""
    policy_of_row, policies = policies_in_force(jurisdiction, portfolio.frame["application_date"], reforms)
    empty = pd.DataFrame(columns=REJECTED_COLUMNS)
    rows_of = [np.flatnonzero(policy_of_row == index) for index in range(len(policies))]
    parts = [quote_portfolio(Portfolio(portfolio.frame.iloc[rows], empty, len(rows), portfolio.source), policy, chunk_rows)
             for rows, policy in zip(rows_of, policies)]
    quotes = pd.concat([part.quotes for part in parts], ignore_index=True) if parts else pd.DataFrame(columns=SUMMARY_COLUMNS)
    rejected = pd.concat([portfolio.rejected, *[part.rejected for part in parts if len(part.rejected)]], ignore_index=True)
    return BatchResult(quotes.sort_values("row", kind="stable").reset_index(drop=True),
                       rejected.sort_values("row", kind="stable").reset_index(drop=True), portfolio.rows_in)


@dataclass
class Comparison:
    baseline_id: str
    reform_id: str
    applications: pd.DataFrame  # one row per application quoted under both
    overall: dict
    by_group: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    rows_in: int

    @property
    def affected(self) -> pd.DataFrame:
        changed = self.applications["affected"].to_numpy()
        return self.applications[changed].sort_values("customer_delta_cny", kind="stable").reset_index(drop=True)


@cached_per_root(maxsize=2)
def capacity_band_edges() -> list[float]:
    """The study's capacity bands (kVA), from tariffs/studies/capacity-bands.yaml, with an open top band."""
    file = tariffs_dir() / BANDS_FILE
    raw = check_keys(load_yaml(file), str(file), {"description", "unit", "reference", "edges"})
    edges = raw["edges"]
    if raw["unit"] != "kVA" or not isinstance(edges, list) or len(edges) < 2 or \
            not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in edges) or sorted(set(edges)) != edges:
        raise InputError(f"{file}: edges must be increasing numbers of kVA (at least two), unit kVA; got {edges!r}, {raw['unit']!r}")
    return [float(edge) for edge in edges] + [float("inf")]


def capacity_band(capacity_kva: pd.Series) -> pd.Categorical:
    edges = capacity_band_edges()
    labels = [f"{lo:g}-{hi:g} kVA" if hi != float("inf") else f">{lo:g} kVA" for lo, hi in zip(edges[:-1], edges[1:])]
    return pd.cut(capacity_kva, edges, labels=labels, right=True, include_lowest=True)


def _labels(column: pd.Series) -> pd.Categorical:
    """A label column as a sorted categorical (a quoted batch already carries them so), to compare and group on codes."""
    labels = column.array if isinstance(column.dtype, pd.CategoricalDtype) else pd.Categorical(column.to_numpy())
    return labels.reorder_categories(labels.categories.sort_values())


def _changed(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Where a label differs between two quotes of the same applications, compared on codes."""
    first, second = _labels(before), _labels(after)
    categories = first.categories.union(second.categories)
    return pd.Categorical(first, categories=categories).codes != pd.Categorical(second, categories=categories).codes


def _indicators(before: BatchResult, after: BatchResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-application before/after/delta on the rows quoted under both; the rest rejected."""
    a, b = before.quotes, after.quotes
    if not np.array_equal(a["row"].to_numpy(), b["row"].to_numpy()):
        common = np.intersect1d(a["row"].to_numpy(), b["row"].to_numpy())
        a, b = a[np.isin(a["row"].to_numpy(), common)], b[np.isin(b["row"].to_numpy(), common)]
    rejected = pd.concat([before.rejected, after.rejected], ignore_index=True).drop_duplicates("row").sort_values("row")
    voltage_changed = _changed(a["supply_voltage"], b["supply_voltage"])
    boundary_changed = _changed(a["boundary"], b["boundary"])
    customer_delta = b["customer_cny"].to_numpy() - a["customer_cny"].to_numpy()
    grid_delta = b["grid_cny"].to_numpy() - a["grid_cny"].to_numpy()
    frame = pd.DataFrame({
        "row": a["row"].to_numpy(),
        "application_id": a["application_id"].to_numpy(),
        "customer_delta_cny": customer_delta,
        "grid_delta_cny": grid_delta,
        "voltage_changed": voltage_changed,
        "boundary_changed": boundary_changed,
        "moved_to_low_voltage": voltage_changed & (b["supply_voltage"] == "low_voltage").to_numpy(),
        "affected": voltage_changed | boundary_changed | (np.abs(customer_delta) > 0.005) | (np.abs(grid_delta) > 0.005),
        "supply_voltage_before": _labels(a["supply_voltage"]),
        "supply_voltage_after": _labels(b["supply_voltage"]),
        "boundary_before": _labels(a["boundary"]),
        "boundary_after": _labels(b["boundary"]),
        "customer_before_cny": a["customer_cny"].to_numpy(),
        "customer_after_cny": b["customer_cny"].to_numpy(),
        "grid_before_cny": a["grid_cny"].to_numpy(),
        "grid_after_cny": b["grid_cny"].to_numpy(),
        "area": _labels(a["area"]),
        "enterprise_size": _labels(a["enterprise_size"]),
        "capacity_band": capacity_band(a["capacity_kva"].reset_index(drop=True)),
        "park_level": _labels(a["park_level"]),
        "capacity_kva": a["capacity_kva"].to_numpy(),
    })
    return frame, rejected.reset_index(drop=True)


COUNTS = ["applications", "voltage_changed", "boundary_changed", "moved_to_low_voltage", "affected"]
MEASURES = ["voltage_changed", "boundary_changed", "moved_to_low_voltage", "affected", "customer_delta_cny", "grid_delta_cny",
            "customer_before_cny", "customer_after_cny", "grid_before_cny", "grid_after_cny"]


def _aggregate(frame: pd.DataFrame, numbers: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Counts and sums of `numbers` (frame's MEASURES as floats, made once for every grouping), overall or by a column."""
    if by is None:
        table = numbers.sum().to_frame().T
        table.insert(0, "applications", len(frame))
    else:
        grouped = numbers.groupby(frame[by], observed=True, sort=True)  # every group column is categorical
        table = grouped.sum()
        table.insert(0, "applications", grouped.size())
        table.index.name = by
        table = table.reset_index()
    return table.astype({c: int for c in COUNTS})


def group_sums(applications: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Counts and sums of the compared applications: overall ("overall", one row) and by each group column."""
    numbers = applications[MEASURES].astype(float)
    return {"overall": _aggregate(applications, numbers, None), **{group: _aggregate(applications, numbers, group) for group in GROUPS}}


def _group_order(group: str, labels: pd.Index) -> list:
    """Groups in the order the in-memory tables show them: capacity bands from the lowest, labels sorted."""
    if group == "capacity_band":
        bands = list(capacity_band(pd.Series([], dtype=float)).cat.categories)
        return [band for band in bands if band in set(labels)]
    return sorted(labels)


def merge_sums(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The group_sums of several parts of one portfolio as the group_sums of the whole: every figure is a count
    or a sum of yuan amounts, so adding the parts' figures gives the whole's exactly. Parts may hold only some of the
    tables (a sweep keeps the overall row alone); the merge has the same."""
    merged = {"overall": pd.concat([part["overall"] for part in parts], ignore_index=True).sum().to_frame().T}
    for group in (group for group in GROUPS if group in parts[0]):
        stacked = pd.concat([part[group] for part in parts], ignore_index=True)
        table = stacked.groupby(stacked[group].astype(str), sort=False).sum(numeric_only=True)
        table = table.loc[_group_order(group, table.index)]
        table.index.name = group
        merged[group] = table.reset_index()
    return {name: table.astype({c: int for c in COUNTS}) for name, table in merged.items()}


def comparison_figures(sums: dict[str, pd.DataFrame], rows_in: int, rows_rejected: int, baseline_id: str,
                       reform_id: str) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The overall figures (with the ids and the row counts) and the tables by group, from group_sums."""
    overall = sums["overall"].iloc[0].to_dict()
    overall = {"baseline": baseline_id, "reform": reform_id, "rows_in": rows_in, "rows_rejected": rows_rejected,
               **{k: (int(v) if k in COUNTS else float(v)) for k, v in overall.items()}}
    return overall, {group: sums[group] for group in GROUPS if group in sums}


def compare_results(before: BatchResult, after: BatchResult, baseline_id: str, reform_id: str) -> Comparison:
    applications, rejected = _indicators(before, after)
    overall, by_group = comparison_figures(group_sums(applications), before.rows_in, len(rejected), baseline_id, reform_id)
    return Comparison(baseline_id, reform_id, applications, overall, by_group, rejected, before.rows_in)


def quote_both(portfolio: Portfolio, baseline: RuleSet, reform: RuleSet, progress: Callable[[int], None] | None = None,
               chunk_rows: int = 10**9, workers: int = DEFAULT_WORKERS) -> tuple[BatchResult, BatchResult]:
    """The portfolio quoted under both rule sets; with workers=2 the two quotes run in threads at once.

    Most of a quote is numpy and pandas work that releases the GIL, so two threads take nearly half the
    time, but only with a second core to spare: on a busy machine one worker is as fast and holds one
    quote's memory less.
    """
    if workers not in (1, 2):
        raise InputError(f"workers={workers!r} is not allowed; allowed: 1, 2")
    if workers == 1:
        return quote_portfolio(portfolio, baseline, chunk_rows, progress), quote_portfolio(portfolio, reform, chunk_rows, progress)
    with ThreadPoolExecutor(max_workers=2) as pool:
        before, after = (pool.submit(quote_portfolio, portfolio, ruleset, chunk_rows, progress) for ruleset in (baseline, reform))
        return before.result(), after.result()


def compare_portfolio(portfolio: Portfolio, baseline: RuleSet, reform: RuleSet, progress: Callable[[int], None] | None = None,
                      chunk_rows: int = 10**9, workers: int = DEFAULT_WORKERS) -> Comparison:
    """Both full quotes of every application, and what changes from baseline to reform."""
    before, after = quote_both(portfolio, baseline, reform, progress, chunk_rows, workers)
    return compare_results(before, after, baseline.id, reform.id)


def sweep(portfolio: Portfolio, baseline: RuleSet, path: str, values: list, category: str | None = None,
          progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The overall impact of each value of one parameter against the baseline."""
    before = quote_portfolio(portfolio, baseline, 10**9, progress)
    rows = []
    for value in values:
        reform = sweep_ruleset(baseline, path, value, category)
        result = compare_results(before, quote_portfolio(portfolio, reform, 10**9, progress), baseline.id, reform.id)
        rows.append(sweep_row(value, result.overall))
    return pd.DataFrame(rows)


def sweep_row(value, overall: dict) -> dict:
    """One row of a sweep's table: the overall figures of the value's comparison with the baseline."""
    # a list value (park levels) is shown as its members, so tables and charts take it as one label
    return {"value": ", ".join(map(str, value)) if isinstance(value, list) else value, "applications": overall["applications"],
            "moved_to_low_voltage": overall["moved_to_low_voltage"],
            "voltage_changed": overall["voltage_changed"], "boundary_changed": overall["boundary_changed"],
            "affected": overall["affected"], "customer_savings_cny": 0.0 - overall["customer_delta_cny"],  # 0.0 - x: no "-0" where nothing changed
            "grid_delta_cny": overall["grid_delta_cny"], "customer_after_cny": overall["customer_after_cny"],
            "grid_after_cny": overall["grid_after_cny"]}
