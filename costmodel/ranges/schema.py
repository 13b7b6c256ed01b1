"""The budget range a quote carries (`Quote.budget_range`): plain fields, so every surface renders the same data.

Importing this module loads no model code (the quote imports it; scikit-learn is an optional extra).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class PartyRange(BaseModel):
    """One party's (or the total's) range in CNY: at the low, middle and high quantile of `BudgetRange.quantiles`."""
    low_cny: float
    median_cny: float
    high_cny: float


class RangeSource(BaseModel):
    """What history a range comes from, and how it was drawn."""
    method: str = Field(description="quantile_model_cqr: quantile model, conformally calibrated on the voltage group's most "
                                    "recent window; band_table: empirical quantiles of the voltage x capacity band cell")
    method_text: str = Field(description="The method in words, for a reader")
    method_text_zh: str = Field(description="The same in Chinese")
    group: str = Field(description="The voltage group whose calibration (or band-table cell) gave the range")
    window_start: dt.date = Field(description="First completion date of the history the model was fitted on")
    window_end: dt.date = Field(description="Last completion date of that history")
    calibration_start: dt.date = Field(description="First completion date of the calibration window (the most recent)")
    rows: int = Field(description="History rows the model was fitted on (training + calibration)")
    group_rows: int = Field(description="Rows behind this range: the group's calibration rows, or the band-table cell's rows")
    model_id: str = Field(description="Content hash of the model file")
    synthetic: bool = Field(description="True when the history was generated (a demonstration, not a utility's outturns)")


class BudgetRange(BaseModel):
    """How far off the quote might be: quantiles of outturn cost from the utility's own history, for the total and
    for each party. The history records each connection's total only, so each party's range is its quoted share of
    the total's range: a party that funds nothing has a zero-width range."""
    quantiles: list[float] = Field(description="The probabilities of low, median and high, e.g. [0.15, 0.5, 0.85]")
    total: PartyRange
    customer: PartyRange
    grid: PartyRange
    source: RangeSource
    warnings: list[str] = []
    warnings_zh: list[str] = []  # the same notes in Chinese, in the same order
