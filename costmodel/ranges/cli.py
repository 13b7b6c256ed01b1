"""CLI: `costmodel ranges fit | evaluate | generate-history`, and the range shown under a quote (`quote --range`).
The main CLI adds the sub-app with register(app)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from costmodel.files import check_outputs, table_format, write_csv
from costmodel.ranges.method import load_method
from costmodel.ranges.schema import BudgetRange
from costmodel.terminal import table_console

ranges_app = typer.Typer(help="Budget ranges from a utility's own history: how far off might a quote be.", no_args_is_help=True)
console = table_console()
stderr = Console(stderr=True)
RANGE_HELP = "A range model file (costmodel ranges fit): add the budget range, P15/P50/P85 of the total and of each party"
RANGE_COLUMNS_HELP = "A range model file (costmodel ranges fit): add the columns total_p15_cny, total_p50_cny, total_p85_cny"
RANGE_COMPARE_HELP = ("A range model file (costmodel ranges fit): add total_after_p15_cny, total_after_p50_cny, total_after_p85_cny "
                      "(the reform's quote) to each application")


def _date(value: Optional[str], option: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD", param_hint=option) from None


def _rejected_path(out: Path) -> Path:
    return out.with_name(out.stem + ".rejected.csv")


def _report_rejected(history, rejected_file: Path) -> None:
    write_csv(history.rejected, rejected_file)  # also when empty, as `batch` does: no stale file from an earlier run
    if len(history.rejected):
        first = "; ".join(history.rejected["reason"].head(3).tolist())
        stderr.print(f"{len(history.rejected):,} rows rejected ({rejected_file}), e.g. {first}", style="yellow", markup=False)
    for warning in history.warnings:
        stderr.print(f"note: {warning}", style="yellow", markup=False)


@ranges_app.command("fit")
def fit_command(
    history: Path = typer.Argument(..., help="History file (.csv, .parquet, .xlsx): the portfolio columns plus completed_on and outturn_cny"),
    out: Path = typer.Option(..., help="Model file to write"),
    ruleset: str = typer.Option("shandong", help="Rules the history is quoted under: a jurisdiction (the rules in force on each "
                                                 "application date) or a rule-set id"),
    until: Optional[str] = typer.Option(None, help="YYYY-MM-DD: fit on the rows completed up to this day only; the later ones "
                                                   "are left for `ranges evaluate`"),
    synthetic: bool = typer.Option(False, "--synthetic", help="The history is generated (ranges generate-history): the model "
                                                              "and every range it gives say it is a demonstration"),
    force: bool = typer.Option(False, "--force", help="Overwrite the model file and its rejected-rows file"),
) -> None:
    """Fit a range model: quantile models of outturn / quote, calibrated per voltage group on the most recent window,
    with the band table as baseline and fallback. Rows in = accepted + rejected (rejected rows to <out stem>.rejected.csv)."""
    from costmodel.ranges.history import load_history
    from costmodel.ranges.model import fit, save_model

    check_outputs([out, _rejected_path(out)], force=force, inputs=[history])
    last = _date(until, "--until")
    method = load_method()
    quoted = load_history(history, ruleset, method.min_history_rows)
    if last is not None:
        quoted = quoted.until(last, method.min_history_rows)
    _report_rejected(quoted, _rejected_path(out))
    model = fit(quoted, method, synthetic=synthetic)
    save_model(model, out)
    metadata = model.metadata
    rows, window = metadata["rows"], metadata["window"]
    console.print(f"{rows['in']:,} rows in = {rows['accepted']:,} accepted + {rows['rejected']:,} rejected"
                  + (f" (+ {rows['held_out']:,} completed after {last}, held out)" if rows.get("held_out") else ""), markup=False)
    console.print(f"window {window['start']} to {window['end']}: {rows['training']:,} training rows, {rows['calibration']:,} calibration "
                  f"rows from {window['calibration_start']}; band table from {window['band_table_start']} ({rows['band_table']:,} rows)",
                  markup=False)
    for group, entry in metadata["groups"].items():
        console.print(f"  {group}: {entry['method']} ({entry['training_rows']:,} training, {entry['calibration_rows']:,} calibration rows)",
                      markup=False)
    for warning in model.warnings:
        console.print(f"note: {warning}", style="yellow", markup=False)
    console.print(f"wrote {out} (model {model.model_id}{', SYNTHETIC history: a demonstration' if synthetic else ''})", markup=False)


@ranges_app.command("evaluate")
def evaluate_command(
    model_file: Path = typer.Argument(..., metavar="MODEL", help="Model file (costmodel ranges fit)"),
    history: Path = typer.Argument(..., help="History file; the rows completed after the model's window are the held-out window"),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON"),
    chart: Optional[Path] = typer.Option(None, help="Calibration chart to write (.png or .svg); default <MODEL stem>.calibration.png"),
    force: bool = typer.Option(False, "--force", help="Overwrite the chart"),
) -> None:
    """Coverage, pinball loss and width on the held-out window, overall, per voltage group and capacity band, for the
    model and the band-table baseline in the same run; and the calibration chart."""
    from costmodel.ranges.evaluate import calibration_chart, evaluate
    from costmodel.ranges.history import load_history
    from costmodel.ranges.model import load_model

    chart = chart or model_file.with_name(model_file.stem + ".calibration.png")
    check_outputs([chart], force=force, inputs=[model_file, history])
    model = load_model(model_file)
    quoted = load_history(history, model.metadata["ruleset_name"], 1)
    report = evaluate(model, quoted)
    calibration_chart(report, chart)
    report["chart"] = str(chart)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    held = report["held_out"]
    console.print(f"held out: {held['rows']:,} rows completed {held['start']} to {held['end']} (model window ends "
                  f"{report['model_window']['end']})" + ("; SYNTHETIC history" if report["synthetic"] else ""), markup=False)
    levels = [f"P{round(tau * 100)}" for tau in report["quantiles"]]
    table = Table(title=f"coverage of [{levels[0]}, {levels[-1]}] (nominal {report['quantiles'][-1] - report['quantiles'][0]:.0%}), "
                        "pinball loss of ln(outturn / quote), mean width")
    for column in ("group", "rows", "", "coverage", *[f"pinball {level}" for level in levels], "width / quote", "width CNY"):
        table.add_column(column, justify="left" if column in ("group", "") else "right")
    groups = {"overall": report["overall"], **report["by_supply_voltage"], **report["by_capacity_band"]}
    for name, entry in groups.items():
        for kind in ("model", "baseline"):
            figures = entry[kind]
            table.add_row(name if kind == "model" else "", f"{figures['rows']:,}" if kind == "model" else "", kind,
                          f"{figures['coverage']:.1%}", *[f"{figures[f'pinball_p{level[1:]}']:.4f}" for level in levels],
                          f"{figures['mean_width_ratio']:.2f}", f"{figures['mean_width_cny']:,.0f}")
    console.print(table)
    console.print(f"chart: {chart}", markup=False)


@ranges_app.command("generate-history")
def generate_history_command(
    rows: int = typer.Option(..., min=1, help="Number of applications"),
    seed: int = typer.Option(..., help="Random seed: the same seed gives the same history"),
    out: Path = typer.Option(..., help="Output file: .csv, .parquet or .xlsx"),
    assumptions: Optional[Path] = typer.Option(None, help="Assumptions YAML (default examples/histories/synthetic.yaml)"),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file"),
) -> None:
    """A SYNTHETIC outturn history (no utility's data): for demonstrations and tests."""
    from costmodel.ranges.generate import DEFAULT_HISTORY_ASSUMPTIONS, generate_history
    from costmodel.scenarios.portfolio import write_table

    check_outputs([out], force=force, inputs=[assumptions])
    table_format(out)
    generated = generate_history(rows, seed, assumptions or DEFAULT_HISTORY_ASSUMPTIONS)
    write_table(generated.frame, out)
    skipped = f"; {generated.not_quoted:,} drawn applications the engine cannot quote (or quotes at 0 CNY) have no outturn" \
        if generated.not_quoted else ""
    console.print(f"wrote {len(generated.frame):,} rows of a SYNTHETIC history to {out} (seed {seed}){skipped}", markup=False)


def render_budget_range(budget_range: BudgetRange) -> None:
    """The range under a quote's table: low / median / high for the total and each party, and where it comes from."""
    levels = [f"P{round(tau * 100)}" for tau in budget_range.quantiles]
    source = budget_range.source
    console.print(f"\n[bold]How far off it might be[/] ({' / '.join(levels)} of outturn from the history)")
    for label, party in (("total", budget_range.total), ("customer", budget_range.customer), ("grid company", budget_range.grid)):
        console.print(f"  {label:<13} {party.low_cny:>14,.0f} {party.median_cny:>14,.0f} {party.high_cny:>14,.0f} CNY", markup=False)
    console.print(f"  from {source.rows:,} completed connections {source.window_start} to {source.window_end} ({source.group}: "
                  f"{source.group_rows:,} rows); {source.method_text}; model {source.model_id}", style="dim", markup=False)
    for warning in budget_range.warnings:
        console.print(f"note: {warning}", style="yellow", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(ranges_app, name="ranges")


def load_range_model(path: Optional[Path]):
    """The model of a `--range` option (None without one); scikit-learn is loaded only then."""
    if path is None:
        return None
    from costmodel.ranges.model import load_model

    return load_model(path)
