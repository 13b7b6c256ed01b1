"""A policy study over HTTP and in the browser: a portfolio uploaded as bytes, a baseline and reforms, the
comparison as JSON for the charts, and the same tables as a formatted Excel workbook."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.files import neutralise_formulas
from costmodel.params import load_ruleset
from costmodel.params.overrides import reformed_ruleset
from costmodel.scenarios.portfolio import READERS, load_portfolio
from costmodel.scenarios.studies import Comparison, compare_portfolio
from costmodel.web.report import labels

GROUP_ORDER = ("area", "enterprise_size", "capacity_band", "park_level")


def read_upload(upload: Path, file_format: str):
    """A portfolio from an uploaded file: validated like any file (rows in = accepted + rejected, with reasons)."""
    suffix = "." + file_format.lower().lstrip(".")
    if suffix not in READERS:
        raise InputError(f"format {file_format!r}; allowed: {', '.join(sorted(s.lstrip('.') for s in READERS))}")
    with tempfile.TemporaryDirectory() as folder:  # the readers know a file's format by its suffix
        named = Path(folder) / f"portfolio{suffix}"
        named.symlink_to(upload.resolve())
        return load_portfolio(named)


def run_study(upload: Path, file_format: str, baseline: str, reform: str) -> Comparison:
    """Baseline against `reform` (reforms applied in turn, comma-separated, or a rule set id) over the uploaded portfolio."""
    return compare_portfolio(read_upload(upload, file_format), load_ruleset(baseline), reformed_ruleset(baseline, reform), workers=1)


def study_summary(comparison: Comparison) -> dict:
    """What the page draws: the overall figures with winners and losers, and each group's table."""
    applications = comparison.applications
    overall = dict(comparison.overall)
    overall["winners"] = int((applications["customer_delta_cny"] < -0.005).sum())  # the customer pays less
    overall["losers"] = int((applications["customer_delta_cny"] > 0.005).sum())
    by_group = {name: comparison.by_group[name].astype({name: str}).to_dict("records") for name in GROUP_ORDER}
    rejected = comparison.rejected.head(100).replace({np.nan: None}).to_dict("records")
    return {"overall": overall, "by_group": by_group, "rejected": rejected}


def study_workbook(comparison: Comparison) -> bytes:
    """The study as an Excel workbook: overall, a sheet per group, the affected applications and the rejected rows;
    Chinese headers (labels.json `col_*`) over the English column names, the header frozen, filters on, money as #,##0."""
    from openpyxl.utils import get_column_letter

    headers = labels("zh")  # the workbook's Chinese headers, from the page's labels
    summary = study_summary(comparison)
    sheets = {"overall": pd.DataFrame([summary["overall"]])}
    sheets.update({name: comparison.by_group[name].astype({name: str}) for name in GROUP_ORDER})
    sheets["affected"] = comparison.applications[comparison.applications["affected"]].drop(columns=["row"])
    sheets["rejected"] = comparison.rejected
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table = table.copy()
            for column in table.columns:  # categoricals and booleans as plain values
                if isinstance(table[column].dtype, pd.CategoricalDtype):
                    table[column] = table[column].astype(str)
            neutralise_formulas(table).to_excel(writer, sheet_name=name, index=False, startrow=1)
            sheet = writer.sheets[name]
            for number, column in enumerate(table.columns, start=1):
                sheet.cell(row=1, column=number, value=headers.get(f"col_{column}", column))
                if column.endswith("_cny"):
                    for cell in sheet.iter_rows(min_row=3, min_col=number, max_col=number):
                        cell[0].number_format = "#,##0"
                sheet.column_dimensions[get_column_letter(number)].width = max(12, min(40, len(str(column)) + 2))
            sheet.freeze_panes = "A3"
            if len(table.columns):
                sheet.auto_filter.ref = f"A2:{get_column_letter(len(table.columns))}{len(table) + 2}"
    return buffer.getvalue()
