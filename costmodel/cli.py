"""The `costmodel` command line: a thin layer over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from costmodel.application import load_application
from costmodel.errors import CostmodelError
from costmodel.params import available_rulesets, load_ruleset, resolve_ruleset
from costmodel.quote import Quote, quote_application, quote_frame, quote_from_batch
from costmodel.schedule.cli import register as register_schedule_commands

app = typer.Typer(help="What a grid connection costs and who pays for each part of it.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = Console(width=160)

FORMATS = ["table", "json"]


def _format_option(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r}; allowed: {', '.join(FORMATS)}")
    return value


def _cny(value: float) -> str:
    return f"{value:,.0f}"


def render_quote(quote: Quote) -> None:
    console.print(f"[bold]Quote {quote.application_id}[/] under [bold]{quote.ruleset}[/] — "
                  f"{quote.capacity_kva:,.1f} kVA ({quote.capacity_kw:,.1f} kW), enterprise size {quote.enterprise_size}")
    console.print(f"Supply voltage: [bold]{quote.supply_voltage}[/]   Investment boundary: [bold]{quote.boundary}[/]")
    table = Table(show_lines=False)
    for column, justify in [("zone", "left"), ("component", "left"), ("std_type", "left"), ("qty", "right"), ("unit", "left"),
                            ("unit cost", "right"), ("amount CNY", "right"), ("paid by", "left"), ("rule", "left")]:
        table.add_column(column, justify=justify)
    for line in quote.lines:
        flag = " *" if line.placeholder else (" ~" if line.indicative else "")
        table.add_row(line.zone, line.component, line.std_type or "", f"{line.quantity:g}", line.unit,
                      _cny(line.unit_cost_cny), _cny(line.amount_cny) + flag, line.funded_by, line.rule_id)
    console.print(table)
    totals = quote.totals
    console.print(f"Customer pays [bold]{_cny(totals.customer_cny)} CNY[/]; grid company invests "
                  f"[bold]{_cny(totals.grid_cny)} CNY[/]; total {_cny(totals.total_cny)} CNY")
    console.print("\n[bold]Why[/]")
    for step in quote.trace:
        console.print(f"- {step.decision} = [bold]{escape(step.outcome)}[/]: {escape(step.description)} "
                      f"(rule {escape(step.rule_id)}; {escape(step.cites)})")
        for parameter in step.parameters:
            console.print(f"    read {parameter}", style="dim", markup=False)
        for condition in step.conditions:
            console.print(f"    tested {condition}", style="dim", markup=False)
    schedule = quote.schedule
    limit = "no limit set" if schedule.limit_working_days is None else (
        f"limit {schedule.limit_working_days} ({'within' if schedule.within_limit else 'OVER'})")
    console.print(f"\n[bold]When[/]: power by {schedule.energisation_due_date} — {schedule.total_working_days} working days, "
                  f"{limit}; {schedule.calendar_days} calendar days")
    for stage in schedule.stages:
        mark = "*" if stage.on_critical_path else " "
        console.print(f"  {mark} {stage.start_date} → {stage.due_date}  {stage.working_days:>3} wd  {stage.name_en} ({stage.name_zh})",
                      markup=False)
    for warning in schedule.warnings:
        console.print(f"note: {warning}", style="yellow", markup=False)
    provenance = quote.provenance
    console.print(f"\nRule set {provenance.ruleset_id} ({' ← '.join(provenance.ruleset_lineage)}) hash {provenance.ruleset_content_hash}; "
                  f"evaluated as of {provenance.evaluation_date}; catalogue {provenance.catalog_id} edition {provenance.catalog_edition}; "
                  f"design {provenance.design_scheme}", style="dim")
    for warning in quote.warnings:
        console.print(f"note: {warning} (~ indicative, * placeholder)", style="yellow", markup=False)


def _ruleset_for(name: str, application):
    return resolve_ruleset(name, application.application_date)


@app.command()
def quote(
    application: Path = typer.Argument(..., help="Application file (YAML or JSON)"),
    ruleset: str = typer.Option("shandong", help="Rule set id, or a jurisdiction resolved by the application date"),
    format: str = typer.Option("table", "--format", callback=_format_option, help="table or json"),
    gantt: Optional[Path] = typer.Option(None, help="Write a Gantt chart of the schedule (.png or .svg)"),
) -> None:
    """Itemised quote for one application: who pays for each part, when power comes, and why."""
    app_model = load_application(application)
    chosen = _ruleset_for(ruleset, app_model)
    batch = quote_frame(app_model.to_frame(), chosen)
    result = quote_from_batch(batch, app_model.id)
    if gantt is not None:
        from costmodel.schedule import plot_gantt

        stages, _ = batch.schedules([app_model.id])
        plot_gantt(stages, app_model.id, gantt)
    if format == "json":
        print(result.model_dump_json(indent=2))
    else:
        render_quote(result)


@app.command()
def compare(
    application: Path = typer.Argument(..., help="Application file (YAML or JSON)"),
    rulesets: str = typer.Option(..., help="Comma-separated rule sets, e.g. national-1996,shandong-2019"),
    format: str = typer.Option("table", "--format", callback=_format_option, help="table or json"),
) -> None:
    """The same application under several rule sets, side by side, with the difference per party."""
    app_model = load_application(application)
    names = [name.strip() for name in rulesets.split(",") if name.strip()]
    if len(names) < 2:
        raise typer.BadParameter(f"{rulesets!r}: give at least two rule sets separated by commas", param_hint="--rulesets")
    quotes = [quote_application(app_model, _ruleset_for(name, app_model)) for name in names]
    first, last = quotes[0].totals, quotes[-1].totals
    difference = {
        "customer_cny": last.customer_cny - first.customer_cny,
        "grid_cny": last.grid_cny - first.grid_cny,
        "total_cny": last.total_cny - first.total_cny,
    }
    if format == "json":
        print(json.dumps({"application_id": app_model.id, "quotes": [q.model_dump(mode="json") for q in quotes],
                          "difference_last_minus_first": difference}, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{app_model.id}: {quotes[0].ruleset} → {quotes[-1].ruleset}")
    table.add_column("")
    for q in quotes:
        table.add_column(q.ruleset, justify="right")
    table.add_column("difference", justify="right")
    table.add_row("supply voltage", *[q.supply_voltage for q in quotes], "")
    table.add_row("investment boundary", *[q.boundary for q in quotes], "")
    table.add_row("deciding rule", *[q.trace[2].rule_id for q in quotes], "")
    for label, key in [("customer pays CNY", "customer_cny"), ("grid invests CNY", "grid_cny"), ("total CNY", "total_cny")]:
        table.add_row(label, *[_cny(getattr(q.totals, key)) for q in quotes], f"{difference[key]:+,.0f}")
    console.print(table)


@app.command("rulesets")
def list_rulesets() -> None:
    """The rule sets shipped in tariffs/, with what they extend."""
    table = Table()
    for column in ("id", "title", "jurisdiction", "in effect from", "lineage", "hash"):
        table.add_column(column)
    for ruleset_id in available_rulesets():
        ruleset = load_ruleset(ruleset_id)
        table.add_row(ruleset.id, ruleset.title, ruleset.jurisdiction, str(ruleset.in_effect_from),
                      " ← ".join(ruleset.lineage), ruleset.content_hash)
    console.print(table)


@app.command()
def params(
    ruleset: str = typer.Argument(..., help="Rule set id"),
    format: str = typer.Option("table", "--format", callback=_format_option, help="table or json"),
) -> None:
    """Every parameter of a rule set: each value with its unit, date and source."""
    loaded = load_ruleset(ruleset)
    rows = []
    for path, parameter in sorted(loaded.parameters.items()):
        for date, value in zip(parameter.dates, parameter.values):
            rows.append({"path": path, "since": date.isoformat(), "value": value, "unit": parameter.unit,
                         "source": parameter.reference.cite(), "placeholder": parameter.placeholder,
                         "description": parameter.description})
    if format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{loaded.id}: {loaded.title}")
    for column in ("path", "since", "value", "unit", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        value = ", ".join(f"{k}: {v}" for k, v in row["value"].items()) if isinstance(row["value"], dict) else str(row["value"])
        table.add_row(row["path"], row["since"], escape(value + (" (placeholder)" if row["placeholder"] else "")), row["unit"],
                      escape(row["source"]))
    console.print(table)


@app.command()
def check(ruleset: str = typer.Argument(..., help="Rule set id")) -> None:
    """Integrity of a rule set: parameters, decision tables (complete, no unordered overlaps), its YAML cases."""
    from costmodel.rules.cases import load_cases, run_case
    from costmodel.rules.check import check_ruleset

    report = check_ruleset(load_ruleset(ruleset))
    console.print(f"{report.ruleset_id}: {report.parameters} parameters, each with unit and reference; "
                  f"decision tables complete; {report.probes:,} probe applications evaluated")
    for note in report.notes:
        console.print(f"  note: {note}", markup=False, style="dim")
    failures = list(report.problems)
    cases = load_cases(ruleset)
    for test_id, ruleset_id, application, case in cases:
        failures.extend(f"{test_id}: {difference}" for difference in run_case(ruleset_id, application, case))
    console.print(f"  {len(cases)} YAML case(s) run")
    for failure in failures:
        console.print(f"  problem: {failure}", markup=False, style="red")
    if failures:
        raise typer.Exit(1)
    console.print("  ok", style="green")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for every interface)"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    workers: int = typer.Option(1, min=1, help="Worker processes (quotes are CPU-bound: one per core)"),
) -> None:
    """The HTTP API and the quote page (http://HOST:PORT/, OpenAPI at /docs)."""
    import uvicorn

    uvicorn.run("costmodel.api:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


register_schedule_commands(app)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: user errors print as one clear message, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except CostmodelError as error:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.exceptions.TyperException as error:  # usage errors: typer prints them as click would
        error.show()
        sys.exit(getattr(error, "exit_code", 2))

