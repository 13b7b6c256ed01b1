"""Ranges on quotes: `Quote.budget_range` for full quotes, three columns for batches and portfolio comparisons.

Both go through `range_frame`: the engine's decisions and totals of any number of applications in, each one's
quantiles of the total and of each party out, in one vectorised prediction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from costmodel.messages import say, word
from costmodel.quote import Quote, QuoteBatch, to_the_yuan
from costmodel.ranges.history import QUOTED_COLUMNS
from costmodel.ranges.model import RangeModel, predict_log_quantiles
from costmodel.ranges.schema import BudgetRange

PARTIES = ("total", "customer", "grid")


def range_frame(model: RangeModel, quoted) -> pd.DataFrame:
    """Each application's low, median and high CNY for the total and each party (`total_low_cny`, ...), and the
    range's source (group, method, group_rows). `quoted` (a DataFrame, or a mapping of column arrays) has the engine's
    columns (history.QUOTED_COLUMNS) and customer_cny, grid_cny, total_cny. A party's range is its share of the total's:
    zero where it funds nothing. Rows keep a DataFrame's index."""
    return pd.DataFrame(_range_columns(model, quoted), index=getattr(quoted, "index", None))


def _range_columns(model: RangeModel, quoted) -> dict[str, np.ndarray]:
    log_quantiles, source = predict_log_quantiles(model, quoted)
    ratio = np.exp(log_quantiles)
    columns = {}
    for party in PARTIES:
        amount = np.asarray(quoted[f"{party}_cny"], dtype=float)
        for position, name in enumerate(("low", "median", "high")):
            columns[f"{party}_{name}_cny"] = to_the_yuan(amount * ratio[:, position])  # money, as a quote's lines
    return {**columns, **source}


def quantile_columns(model: RangeModel, ranges: pd.DataFrame) -> pd.DataFrame:
    """The three columns a batch or comparison gains: the total's quantiles, named by their level (total_p15_cny, ...)."""
    names = [f"total_p{round(tau * 100)}_cny" for tau in model.quantiles]
    return pd.DataFrame({name: ranges[f"total_{kind}_cny"].to_numpy() for name, kind in zip(names, ("low", "median", "high"))},
                        index=ranges.index)


def _batch_quoted(batch: QuoteBatch) -> dict[str, np.ndarray]:
    """The batch's decided columns and totals, as range_frame takes them (arrays: a one-row quote pays no frame)."""
    return {**{name: np.asarray(batch.decided[name]) for name in QUOTED_COLUMNS},
            **{name: batch.totals[name].to_numpy() for name in ("customer_cny", "grid_cny", "total_cny")}}


def _warnings(model: RangeModel, quote: Quote) -> list[tuple[str, str]]:
    """(English, Chinese) of each note on the range: rules or catalogue the history was not quoted under; a synthetic history."""
    notes = []
    provenance = quote.provenance
    hashes = {entry["content_hash"] for entry in model.metadata["rulesets"].values()}
    if provenance.ruleset_content_hash not in hashes:
        notes.append(say("range.warning.ruleset", history_rules=", ".join(sorted(model.metadata["rulesets"])), ruleset=provenance.ruleset_id,
                         content_hash=provenance.ruleset_content_hash))
    catalogue = f"{provenance.catalog_id} {provenance.catalog_edition}"
    if catalogue not in model.metadata["catalogs"]:
        notes.append(say("range.warning.catalogue", history_catalogues=", ".join(model.metadata["catalogs"]), catalogue=catalogue))
    if model.metadata["synthetic"]:
        notes.append(say("range.warning.synthetic"))
    return notes


def budget_ranges(model: RangeModel, batch: QuoteBatch, quotes: list[Quote]) -> list[Quote]:
    """The quotes (of `batch`) with their budget range set."""
    columns = {name: values.tolist() for name, values in _range_columns(model, _batch_quoted(batch)).items()}
    position = {application_id: row for row, application_id in enumerate(np.asarray(batch.decided["application_id"]).tolist())}
    window = model.metadata["window"]
    results = []
    for quote in quotes:
        row = {name: values[position[quote.application_id]] for name, values in columns.items()}
        notes = _warnings(model, quote)
        results.append(quote.model_copy(update={"budget_range": BudgetRange.model_validate({
            "quantiles": list(model.quantiles),
            **{party: {f"{kind}_cny": float(row[f"{party}_{kind}_cny"]) for kind in ("low", "median", "high")} for party in PARTIES},
            "source": {"method": row["method"], "method_text": word(f"range.method.{row['method']}", "en"),
                       "method_text_zh": word(f"range.method.{row['method']}", "zh"), "group": row["group"],
                       "window_start": window["start"], "window_end": window["end"], "calibration_start": window["calibration_start"],
                       "rows": model.metadata["rows"]["accepted"], "group_rows": int(row["group_rows"]), "model_id": model.model_id,
                       "synthetic": model.metadata["synthetic"]},
            "warnings": [english for english, _ in notes],
            "warnings_zh": [chinese for _, chinese in notes],
        })}))
    return results


def portfolio_range_columns(model: RangeModel, quoted: pd.DataFrame, portfolio_frame: pd.DataFrame) -> pd.DataFrame:
    """The three columns for rows of a batch or comparison (`quoted`: `row`, the engine's decisions and totals); the
    application columns it lacks are taken from the portfolio's frame by `row`."""
    lacking = [name for name in QUOTED_COLUMNS if name not in quoted.columns]
    positions = pd.Index(portfolio_frame["row"]).get_indexer(quoted["row"])
    complete = quoted.assign(**{name: portfolio_frame[name].to_numpy()[positions] for name in lacking})
    return quantile_columns(model, range_frame(model, complete))


def comparison_range_columns(model: RangeModel, applications: pd.DataFrame, portfolio_frame: pd.DataFrame) -> pd.DataFrame:
    """The three columns of each compared application under the reform (its `_after` decisions and totals)."""
    after = pd.DataFrame({"row": applications["row"].to_numpy(), "capacity_kva": applications["capacity_kva"].to_numpy(),
                          "supply_voltage": applications["supply_voltage_after"].astype(str).to_numpy(),
                          "boundary": applications["boundary_after"].astype(str).to_numpy(),
                          "customer_cny": applications["customer_after_cny"].to_numpy(), "grid_cny": applications["grid_after_cny"].to_numpy()},
                         index=applications.index)
    after["total_cny"] = after["customer_cny"] + after["grid_cny"]
    columns = portfolio_range_columns(model, after, portfolio_frame)
    return columns.rename(columns={name: name.replace("total_", "total_after_") for name in columns.columns})
