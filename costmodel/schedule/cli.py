"""CLI commands `schedule` and `doing-business`; the main CLI adds them with register(app)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from costmodel.errors import CostmodelError, InputError
from costmodel.files import check_outputs, write_csv
from costmodel.scenarios.doing_business import COMPARED, china_weighted, doing_business_case
from costmodel.schedule.gantt import plot_gantt
from costmodel.schedule.plan import schedule_applications
from costmodel.schedule.stages import limit_text
from costmodel.terminal import table_console


def schedule(
    ruleset: Optional[str] = typer.Option(None, help="Rule set id, e.g. shandong-2019"),
    date: Optional[str] = typer.Option(None, help="Application date YYYY-MM-DD"),
    voltage: str = typer.Option("low_voltage", help="Supply voltage: low_voltage or 10kV"),
    external_works: bool = typer.Option(True, "--external-works/--no-external-works"),
    applications: Optional[Path] = typer.Option(None, "--input", help="CSV of applications instead of one"),
    output: Optional[Path] = typer.Option(None, help="With --input: write the summary CSV here"),
    gantt: Optional[Path] = typer.Option(None, help="Gantt chart of the (first) application, .png or .svg"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files"),
) -> None:
    """Stage dates, critical path and the check against the rule set's time limits.

    A user error (a bad rule set, date or file) is a message from the CLI's entry point, exit code 1."""
    check_outputs([output, gantt], force=force, inputs=[applications])
    if applications is not None:
        try:
            frame = pd.read_csv(applications, dtype={"application_id": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise InputError(f"--input {applications}: not a readable CSV ({str(error).strip()}); expected a header "
                             "row with application_id, application_date, supply_voltage, ruleset_id") from None
    else:
        if not (ruleset and date):
            raise typer.BadParameter("give --ruleset and --date, or --input applications.csv")
        frame = pd.DataFrame({"application_id": ["application"], "application_date": [date],
                              "supply_voltage": [voltage], "ruleset_id": [ruleset],
                              "has_external_works": [external_works]})
    stages, summary = schedule_applications(frame)
    if gantt is not None:
        plot_gantt(stages, summary["application_id"].iloc[0], gantt)
    if output is not None:
        write_csv(summary, output)
    if as_json:
        records = json.loads(summary.to_json(orient="records", date_format="iso"))
        stage_records = json.loads(stages.to_json(orient="records", date_format="iso"))
        for record in records:
            record["stages"] = [s for s in stage_records if s["application_id"] == record["application_id"]]
        typer.echo(json.dumps(records if applications is not None else records[0], ensure_ascii=False, indent=2))
        return
    console = table_console()
    if applications is None:
        table = Table(title=f"{ruleset}, {voltage}, application {date}")
        for column in ("stage", "working days", "start", "due", "critical"):
            table.add_column(column)
        for row in stages.itertuples():
            table.add_row(f"{row.name_en} ({row.name_zh})", str(row.working_days), f"{row.start_date:%Y-%m-%d}",
                          f"{row.due_date:%Y-%m-%d}", "yes" if row.on_critical_path else "")
        console.print(table)
    for row in summary.head(20).itertuples():
        limit = limit_text(row.limit_working_days, row.limit_basis, row.within_limit)
        console.print(f"{row.application_id}: energised by {row.energisation_due_date:%Y-%m-%d}, "
                      f"{row.total_working_days} working days ({limit})")
        if row.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(row.warnings)}")


def doing_business(
    ruleset: Optional[list[str]] = typer.Option(None, help="Rule set id (repeat or comma-separate); default: compare"),
    cost: Optional[float] = typer.Option(None, help="Customer cost in CNY excluding VAT; default: the rules engine's quote"),
    date: Optional[str] = typer.Option(None, help="Application date of the case (default from the case data)"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    china: bool = typer.Option(False, "--china", help="China as Doing Business measured it: Shanghai and Beijing, and their "
                               "weighted figure (tariffs/doing-business/weights.yaml)"),
) -> None:
    """World Bank standard case: procedures, time, cost as % of income per capita."""
    ids = [r for item in (ruleset or COMPARED) for r in item.split(",") if r]
    try:
        when = dt.date.fromisoformat(date) if date else None
        if china:
            _print_china(china_weighted(when), as_json)
            return
        cases = [doing_business_case(r, cost, application_date=when) for r in ids]
    except ValueError as error:
        if isinstance(error, CostmodelError):
            raise  # a message from the CLI's entry point
        raise typer.BadParameter(f"--date: {date!r} is not YYYY-MM-DD") from None
    if as_json:
        typer.echo(json.dumps(cases if len(cases) > 1 else cases[0], ensure_ascii=False, indent=2))
        return
    case = cases[0]["case"]   # tariffs/doing-business/case.yaml, the same for every rule set compared
    table = Table(title=f"World Bank Getting Electricity standard case ({case['capacity_kva']:g} kVA, {case['distance_m']:g} m"
                        + (", road crossing)" if case["road_crossing"] else ")"))
    for column in ("rule set", "voltage", "boundary", "procedures", "working days", "calendar days", "customer cost CNY", "cost % income"):
        table.add_column(column)
    for case in cases:
        table.add_row(case["ruleset_id"], case["supply_voltage"], case["boundary"], str(case["procedures_count"]),
                      str(case["time_working_days"]), str(case["time_calendar_days"]),
                      f"{case['customer_cost_cny']:,.0f}", f"{case['cost_percent_of_income']:.1f}")
    table_console().print(table)


def _print_china(result: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    table = Table(title="China in Doing Business: its two measured cities, weighted")
    for column in ("city", "weight", "rule set", "voltage", "procedures", "working days", "calendar days", "customer cost CNY", "cost % income"):
        table.add_column(column)
    for case in result["cities"]:
        table.add_row(case["city"], f"{case['weight']:.0%}", case["ruleset_id"], case["supply_voltage"], str(case["procedures_count"]),
                      str(case["time_working_days"]), str(case["time_calendar_days"]), f"{case['customer_cost_cny']:,.0f}",
                      f"{case['cost_percent_of_income']:.1f}")
    weighted = result["weighted"]
    table.add_row("China (weighted)", "100%", "", "", f"{weighted['procedures_count']:.2f}", f"{weighted['time_working_days']:.2f}",
                  f"{weighted['time_calendar_days']:.2f}", f"{weighted['customer_cost_cny']:,.0f}", f"{weighted['cost_percent_of_income']:.1f}")
    console = table_console()
    console.print(table)
    console.print(f"weights: {result['cities'][0]['weight_reference']}", markup=False, style="dim")


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
    app.command("doing-business")(doing_business)
