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
from costmodel.params import RuleSet, load_ruleset
from costmodel.params.overrides import with_reforms
from costmodel.scenarios.portfolio import READERS, load_portfolio
from costmodel.scenarios.studies import Comparison, compare_portfolio

GROUP_ORDER = ("area", "enterprise_size", "capacity_band", "park_level")
# Headers of the workbook in Chinese (the English column name is kept as the sheet's second header row).
HEADERS_ZH = {
    "applications": "申请数", "voltage_changed": "电压改变", "boundary_changed": "投资界面改变", "moved_to_low_voltage": "改为低压接入",
    "affected": "受影响", "customer_delta_cny": "客户出资变化(元)", "grid_delta_cny": "电网投资变化(元)",
    "customer_before_cny": "改革前客户出资(元)", "customer_after_cny": "改革后客户出资(元)", "grid_before_cny": "改革前电网投资(元)",
    "grid_after_cny": "改革后电网投资(元)", "area": "地区", "enterprise_size": "企业规模", "capacity_band": "容量段",
    "park_level": "园区级别", "row": "行号", "application_id": "申请编号", "field": "字段", "value": "值", "reason": "原因",
    "winners": "客户受益", "losers": "客户受损", "baseline": "基准", "reform": "改革", "rows_in": "读入行数",
    "rows_rejected": "拒绝行数",
}


def read_upload(body: bytes, file_format: str):
    """A portfolio from uploaded bytes: validated like a file (rows in = accepted + rejected, with reasons)."""
    suffix = "." + file_format.lower().lstrip(".")
    if suffix not in READERS:
        raise InputError(f"format {file_format!r}; allowed: {', '.join(sorted(s.lstrip('.') for s in READERS))}")
    if not body:
        raise InputError("the request body is empty: send the portfolio file as the body")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"portfolio{suffix}"
        path.write_bytes(body)
        return load_portfolio(path)


def run_study(body: bytes, file_format: str, baseline: str, reforms: list[str]) -> Comparison:
    """Baseline against the baseline with the reforms applied in turn, over the uploaded portfolio."""
    if not reforms:
        raise InputError("reform: name one or more reforms (tariffs/overrides), comma-separated")
    base: RuleSet = load_ruleset(baseline)
    return compare_portfolio(read_upload(body, file_format), base, with_reforms(base, reforms), workers=1)


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
    Chinese headers over the English column names, the header frozen, filters on, money as #,##0."""
    from openpyxl.utils import get_column_letter

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
                sheet.cell(row=1, column=number, value=HEADERS_ZH.get(column, column))
                if column.endswith("_cny"):
                    for cell in sheet.iter_rows(min_row=3, min_col=number, max_col=number):
                        cell[0].number_format = "#,##0"
                sheet.column_dimensions[get_column_letter(number)].width = max(12, min(40, len(str(column)) + 2))
            sheet.freeze_panes = "A3"
            if len(table.columns):
                sheet.auto_filter.ref = f"A2:{get_column_letter(len(table.columns))}{len(table) + 2}"
    return buffer.getvalue()
