"""Outputs an analyst can use: CSV per table, one Excel workbook (a sheet per table), a Markdown and an
HTML summary with the charts."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import pandas as pd  # noqa: E402

from costmodel import files  # noqa: E402

EXCEL_MAX_ROWS = 1_048_575  # a sheet's limit, less the header


def sweep_chart(table: pd.DataFrame, parameter: str, unit: str, out: Path) -> list[Path]:
    """Grid investment change and customer savings (million CNY) against the swept value: PNG and SVG."""
    figure, left = plt.subplots(figsize=(7, 4))
    numeric = pd.api.types.is_numeric_dtype(table["value"])
    # numbers on their own scale; labels (a list parameter's members) one after another
    x = table["value"] if numeric else range(len(table))
    left.plot(x, table["grid_delta_cny"] / 1e6, marker="o", label="grid company investment change")
    left.plot(x, table["customer_savings_cny"] / 1e6, marker="s", label="customer savings")
    left.set_xlabel(f"{parameter} ({unit})")
    if not numeric:
        left.set_xticks(list(x), [str(v).replace(", ", ",\n") for v in table["value"]], fontsize=7)
    left.set_ylabel("million CNY vs baseline")
    right = left.twinx()
    right.bar(x, table["moved_to_low_voltage"], width=(table["value"].max() - table["value"].min() or 1) / 30 if numeric else 0.3,
              alpha=0.25, color="grey", label="customers moved to low voltage")
    right.set_ylabel("customers moved to low voltage")
    lines = left.get_legend_handles_labels()
    bars = right.get_legend_handles_labels()
    left.legend(lines[0] + bars[0], lines[1] + bars[1], loc="upper left", fontsize=8)
    left.set_title(f"Sweep of {parameter}")
    figure.tight_layout()
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    for path in paths:
        files.save_figure(figure, path)
    plt.close(figure)
    return paths


def _markdown_table(table: pd.DataFrame, limit: int = 30) -> str:
    shown = table.head(limit)
    cells = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]  # a summary's few rows
    header = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"
    body = ["| " + " | ".join(row) + " |" for row in cells]
    more = [f"\n({len(table) - limit} more rows in the CSV and the workbook)"] if len(table) > limit else []
    return "\n".join([header, rule, *body, *more])


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"
    return str(value)


def write_outputs(out_dir: Path, title: str, tables: dict[str, pd.DataFrame], notes: list[str],
                  charts: list[Path] = (), summary_tables: list[str] | None = None) -> list[Path]:
    """CSV per table, workbook.xlsx, summary.md and summary.html in out_dir; returns the files written.

    Each file is written whole or not at all (costmodel.files), formula-like text neutralised."""
    written = [files.write_csv(table, out_dir / f"{name}.csv") for name, table in tables.items()]
    written.append(files.write_workbook(out_dir / "workbook.xlsx", tables, EXCEL_MAX_ROWS))
    shown = summary_tables if summary_tables is not None else list(tables)
    markdown = [f"# {title}", "", *[f"- {note}" for note in notes], ""]
    for chart in charts:
        if chart.suffix == ".png":
            markdown += [f"![{chart.stem}]({chart.name})", ""]
    for name in shown:
        markdown += [f"## {name}", "", _markdown_table(tables[name]), ""]
    files.write_text(out_dir / "summary.md", "\n".join(markdown))
    page = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>",
            f"<h1>{html.escape(title)}</h1><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"]
    page += [f"<img src='{chart.name}' alt='{chart.stem}'>" for chart in charts if chart.suffix == ".svg"]
    for name in shown:
        page.append(f"<h2>{html.escape(name)}</h2>" + tables[name].head(30).to_html(index=False, float_format=lambda v: f"{v:,.0f}"))
    files.write_text(out_dir / "summary.html", "\n".join(page))
    return written + [out_dir / "summary.md", out_dir / "summary.html", *charts]
