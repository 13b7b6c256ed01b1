"""The `costmodel` command line: a thin layer over the library."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import traceback
from bisect import bisect_right
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from costmodel.application import load_application
from costmodel.errors import CostmodelError
from costmodel import files
from costmodel.files import check_outputs, protect_inputs, table_format
from costmodel.grid.status import AC_ROUNDS, NETWORK_GAP, STEINER_GAP, stdout_to_stderr
from costmodel.params import available_rulesets, load_ruleset, resolve_ruleset
from costmodel.params.ruleset import defined_in
from costmodel.paths import ENV_VAR, tariffs_dir_problem, use_tariffs_dir
from costmodel.grid.cli_network import register as register_network_commands
from costmodel.quote import DEFAULT_PRICE_LEVEL, PRICE_LEVELS, Quote, line_mark, quote_application, quote_frame, quote_from_batch
from costmodel.ranges.cli import (RANGE_COLUMNS_HELP, RANGE_COMPARE_HELP, RANGE_HELP, load_range_model, register as register_range_commands,
                                  render_budget_range)
from costmodel.schedule.cli import register as register_schedule_commands
from costmodel.schedule.stages import limit_text
from costmodel.terminal import table_console

app = typer.Typer(help="What a grid connection costs and who pays for each part of it.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = table_console()

FORMATS = ["table", "json"]

DEBUG_ENV = "COSTMODEL_DEBUG"  # =1: a traceback with every error message
# Exit codes (README, "Exit codes").
EXIT_OK, EXIT_USER_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
FORCE_HELP = "Overwrite existing output files"
FORCE_FOLDER_HELP = "Overwrite the files of an existing, non-empty --out directory"


def _tariffs_option(value: Optional[Path]) -> Optional[Path]:
    if value is not None:
        problem = tariffs_dir_problem(value)
        if problem:
            raise typer.BadParameter(f"{str(value)!r} {problem}; expected a tariffs folder holding rulesets/ "
                                     "(a copy of the repository's tariffs/)")
    return value


@app.callback()
def _options(
    tariffs: Optional[Path] = typer.Option(
        None, "--tariffs", callback=_tariffs_option, metavar="DIR",
        help=f"Tariffs folder (rule sets, catalogues, size table, ...) for the whole run; default ${ENV_VAR} or the shipped one",
    ),
) -> None:
    if tariffs is not None:
        use_tariffs_dir(tariffs)


def _format_option(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r}; allowed: {', '.join(FORMATS)}")
    return value


def _cny(value: float | None) -> str:
    return "not priced" if value is None else f"{value:,.0f}"


def _outcome_text(outcome) -> str:
    if outcome.rejected:
        return f"not quoted: {outcome.rejected}"
    return (f"{outcome.supply_voltage}, boundary {outcome.boundary}, customer {_cny(outcome.customer_cny)} CNY, "
            f"grid {_cny(outcome.grid_cny)} CNY, {outcome.working_days} working days")


def render_whatif(whatif) -> None:
    console.print("\n[bold]What would change it[/] (the policy in force; the application's other facts as given)")
    if not whatif.cliffs:
        console.print("  no capacity cap of the policy changes this application's voltage or boundary", markup=False)
    for cliff in whatif.cliffs:
        side = "below" if cliff.current_side == "below" else "above"
        named = ", ".join(cliff.parameters) or "in rule " + ", ".join(cliff.rule_ids)
        console.print(f"  capacity cap {cliff.threshold:g} {cliff.unit} ({named}; {', '.join(cliff.layers)}): "
                      f"your request is {side} it, {cliff.distance:,.1f} {cliff.unit} away", markup=False)
        console.print(f"    at {cliff.below_capacity:g} {cliff.unit} ({cliff.below_label}): {_outcome_text(cliff.below)}", markup=False)
        console.print(f"    at {cliff.above_capacity:g} {cliff.unit} ({cliff.above_label}): {_outcome_text(cliff.above)}", markup=False)
    for dimension, title in [("enterprise_size", "enterprise size"), ("park_level", "park level"),
                             ("in_project_database", "in the provincial project database")]:
        options = [option for option in whatif.alternatives if option.dimension == dimension]
        if not options:
            continue
        changing = [option for option in options if option.changes]
        current = next((option.value for option in options if option.current), None)
        if not changing:
            console.print(f"  {title}: no value changes the quote (yours: {current})", markup=False)
            continue
        console.print(f"  {title} (yours: {current}):", markup=False)
        for option in changing:
            console.print(f"    {option.value}: {_outcome_text(option.outcome)}", markup=False)
        if dimension == "enterprise_size" and whatif.size_limits:
            console.print(f"    limits: {whatif.size_limits}", style="dim", markup=False)


def render_quote(quote: Quote) -> None:
    console.print(f"[bold]Quote {quote.application_id}[/] under [bold]{quote.ruleset}[/] — "
                  f"{quote.capacity_kva:,.1f} kVA ({quote.capacity_kw:,.1f} kW), enterprise size {quote.enterprise_size}")
    console.print(f"Supply voltage: [bold]{quote.supply_voltage}[/]   Investment boundary: [bold]{quote.boundary}[/]")
    table = Table(show_lines=False)
    for column, justify in [("zone", "left"), ("component", "left"), ("std_type", "left"), ("qty", "right"), ("unit", "left"),
                            ("unit cost", "right"), ("amount CNY", "right"), ("paid by", "left"), ("rule", "left")]:
        table.add_column(column, justify=justify)
    for line in quote.lines:
        flag = line_mark(line.placeholder, line.indicative, line.ceiling)
        table.add_row(line.zone, line.component, line.std_type or "", f"{line.quantity:g}", line.unit,
                      _cny(line.unit_cost_cny), _cny(line.amount_cny) + flag, line.funded_by, line.rule_id)
    console.print(table)
    totals = quote.totals
    console.print(f"Customer pays [bold]{_cny(totals.customer_cny)} CNY[/]; grid company invests "
                  f"[bold]{_cny(totals.grid_cny)} CNY[/]; total {_cny(totals.total_cny)} CNY")
    if totals.total_placeholder_cny:
        console.print(f"  of which at placeholder rates (set the province's rate): customer {_cny(totals.customer_placeholder_cny)} CNY, "
                      f"grid {_cny(totals.grid_placeholder_cny)} CNY, total {_cny(totals.total_placeholder_cny)} CNY", style="yellow", markup=False)
    for prepayment in quote.prepayments:
        console.print(f"Refundable prepayment, not in the totals: {prepayment.component} {prepayment.quantity:g} {prepayment.unit} x "
                      f"{_cny(prepayment.rate_cny)} = {_cny(prepayment.amount_cny)} CNY{line_mark(prepayment.placeholder, False)}; "
                      f"refunded: {prepayment.refund_condition}", markup=False)
    console.print("\n[bold]Why[/]")
    for step in quote.trace:
        console.print(f"- {step.decision} = [bold]{escape(step.outcome)}[/]: {escape(step.description)} "
                      f"(rule {escape(step.rule_id)}; {escape(step.cites)})")
        if step.layer:
            console.print(f"    decided by the {step.layer} layer" + (f"; alone, {step.other_layer}" if step.other_layer else ""),
                          style="cyan", markup=False)
        for parameter in step.parameters:
            console.print(f"    read {parameter}", style="dim", markup=False)
        for condition in step.conditions:
            console.print(f"    tested {condition}", style="dim", markup=False)
    schedule = quote.schedule
    limit = limit_text(schedule.limit_working_days, schedule.limit_basis, schedule.within_limit)
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
    level = quote.price_level
    if level is not None:
        moved = (f", moved from {level.catalogue_price_year} by the {level.index} index (x {level.factor:.4f})"
                 if level.index and level.price_year != level.catalogue_price_year else " (the catalogue's)")
        console.print(f"Prices at the {level.price_year} price level{moved}", style="dim", markup=False)
    for warning in quote.warnings:  # the legend only where a note is about the lines' marks
        legend = (" (~ indicative, ^ cost ceiling, * placeholder)" if "line(s) priced with indicative" in warning
                  or "cost ceilings" in warning or warning.startswith("placeholder rates") else "")
        console.print(f"note: {warning}{legend}", style="yellow", markup=False)


def _ruleset_for(name: str, application):
    return resolve_ruleset(name, application.application_date)


@app.command()
def quote(
    application: Path = typer.Argument(..., help="Application file (YAML or JSON)"),
    ruleset: str = typer.Option("shandong", help="Rule set id, or a jurisdiction resolved by the application date"),
    format: str = typer.Option("table", "--format", callback=_format_option, help="table or json"),
    gantt: Optional[Path] = typer.Option(None, help="Write a Gantt chart of the schedule (.png or .svg)"),
    what_if: bool = typer.Option(False, "--what-if", help="Also the nearest thresholds of the policy in force (capacity caps, "
                                 "size class, park level, project database) and what crossing each changes"),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="Write the printable quote as a PDF, as the web page does"),
    html: Optional[Path] = typer.Option(None, "--html", help="Write the printable quote as one HTML page"),
    lang: str = typer.Option("zh", "--lang", help="Language of the PDF or HTML: zh or en"),
    compare_with: str = typer.Option("national-1996", "--compare-with",
                                     help="Rule set shown beside it in the PDF or HTML; empty for none"),
    range_model: Optional[Path] = typer.Option(None, "--range", metavar="MODEL", help=RANGE_HELP),
    catalog: Optional[str] = typer.Option(None, "--catalog", help="Unit-cost catalogue (tariffs/catalogs/<id>, e.g. a utility's "
                                          "own) instead of the one the rule set names"),
    price_level: str = typer.Option(DEFAULT_PRICE_LEVEL, "--price-level", help="application: the catalogue's prices moved to the "
                                    "application's year by its price index; catalogue: the catalogue's own price year"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Itemised quote for one application: who pays for each part, when power comes, and why."""
    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}; allowed: zh, en", param_hint="--lang")
    if price_level not in PRICE_LEVELS:
        raise typer.BadParameter(f"{price_level!r}; allowed: {', '.join(PRICE_LEVELS)}", param_hint="--price-level")
    check_outputs([gantt, pdf, html], force=force, inputs=[application, range_model])
    ranged = load_range_model(range_model)  # before the work: a bad model file fails first
    app_model = load_application(application)
    chosen = _ruleset_for(ruleset, app_model)
    if catalog is not None:
        chosen = chosen.with_catalog(catalog)
    if pdf is not None or html is not None:  # the page's own printable quote: the same parts, the same layout
        from costmodel.web import report

        parts = report.printable(app_model, chosen, _ruleset_for(compare_with, app_model) if compare_with else None, ranged, price_level)
        if pdf is not None:
            files.write_bytes(pdf, report.quote_pdf(lang=lang, **parts))
        if html is not None:
            files.write_text(html, report.quote_html(lang=lang, **parts))
    whatif = None
    if what_if:  # the application and its variants in one vectorised call
        from costmodel.whatif import whatif_batch

        batch, result, whatif = whatif_batch(app_model, chosen, price_level)
    else:
        batch = quote_frame(app_model.to_frame(), chosen, price_level=price_level)
        result = quote_from_batch(batch, app_model.id)
    if ranged is not None:
        from costmodel.ranges.attach import budget_ranges

        result = budget_ranges(ranged, batch, [result])[0]
    if gantt is not None:
        from costmodel.schedule.gantt import plot_gantt

        stages, _ = batch.schedules([app_model.id])
        plot_gantt(stages, app_model.id, gantt)
    if format == "json":
        document = result.model_dump(mode="json")
        if whatif is not None:
            document["what_if"] = whatif.model_dump(mode="json")
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        render_quote(result)
        if result.budget_range is not None:
            render_budget_range(result.budget_range)
        if whatif is not None:
            render_whatif(whatif)


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
    if any(q.trace[2].layer for q in quotes):
        table.add_row("deciding layer", *[q.trace[2].layer or "(rule set alone)" for q in quotes], "")
    for label, key in [("customer pays CNY", "customer_cny"), ("grid invests CNY", "grid_cny"), ("total CNY", "total_cny")]:
        table.add_row(label, *[_cny(getattr(q.totals, key)) for q in quotes], f"{difference[key]:+,.0f}")
    console.print(table)


@app.command("rulesets")
def list_rulesets() -> None:
    """The rule sets shipped in tariffs/, by jurisdiction (national first) and date, with what they extend, the
    catalogue their quotes are priced with and how many figures were looked for and not found."""
    table = Table()
    for column in ("jurisdiction", "in effect from", "id", "title", "lineage", "catalogue", "not found", "hash"):
        table.add_column(column)
    loaded = [load_ruleset(ruleset_id) for ruleset_id in available_rulesets()]
    loaded.sort(key=lambda r: (r.jurisdiction != "national", r.jurisdiction, r.in_effect_from, r.id))
    for ruleset in loaded:
        own_not_found = len(ruleset.not_found) - len(load_ruleset(ruleset.lineage[1]).not_found) if len(ruleset.lineage) > 1 else len(ruleset.not_found)
        table.add_row(ruleset.jurisdiction, str(ruleset.in_effect_from), ruleset.id, ruleset.title, " ← ".join(ruleset.lineage),
                      ruleset.catalog or "(the design's)", str(own_not_found), ruleset.content_hash)
    console.print(table)


def _parameter_rows(ruleset, day: dt.date | None) -> list[dict]:
    """Each parameter value of a rule set or a composed policy (all its dated values, or the one in force on
    `day`), with the layer that applies it and the rule set whose file sets it."""
    layers = ruleset.layers or (ruleset,)
    rows = []
    for layer in layers:
        for path, parameter in sorted(layer.parameters.items()):
            origin = defined_in(parameter)
            if layer is not layers[0] and origin in layers[0].lineage:
                continue  # the national layer's own value, listed under that layer
            if day is not None and day < parameter.dates[0]:
                continue  # not yet in force
            indices = range(len(parameter.dates)) if day is None else [bisect_right(parameter.dates, day) - 1]
            for index in indices:
                rows.append({"path": path, "layer": f"{layer.id} ({layer.layer})", "defined_in": origin,
                             "since": parameter.dates[index].isoformat(), "value": parameter.values[index], "unit": parameter.unit,
                             "source": parameter.reference_at(index).cite(),
                             "placeholder": parameter.placeholder, "description": parameter.description})
    return rows


@app.command()
def params(
    ruleset: str = typer.Argument(..., help="Rule set id, or a jurisdiction (its layers in force on --date)"),
    date: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD: only the values in force that day (a jurisdiction "
                                                                "without --date: today)"),
    format: str = typer.Option("table", "--format", callback=_format_option, help="table or json"),
    reform: Optional[str] = typer.Option(None, help="A reform id (tariffs/overrides) or override file: show its diff against RULESET"),
) -> None:
    """Every parameter of a rule set, or of the policy in force in a jurisdiction: each value with its unit, date,
    layer and source."""
    if reform is not None:
        _show_reform_diff(ruleset, reform, format)
        return
    try:
        day = None if date is None else dt.date.fromisoformat(date)
    except ValueError:
        raise typer.BadParameter(f"{date!r} is not a date; write YYYY-MM-DD", param_hint="--date") from None
    loaded = resolve_ruleset(ruleset, day or dt.date.today())
    if day is None and loaded.layers:
        day = dt.date.today()
    rows = _parameter_rows(loaded, day)
    if format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{loaded.id}: {loaded.title}" + (f" — in force on {day}" if day else ""))
    for column in ("path", "layer", "set by", "since", "value", "unit", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        value = ", ".join(f"{k}: {v}" for k, v in row["value"].items()) if isinstance(row["value"], dict) else str(row["value"])
        table.add_row(row["path"], row["layer"], row["defined_in"], row["since"],
                      escape(value + (" (placeholder)" if row["placeholder"] else "")), row["unit"], escape(row["source"]))
    console.print(table)
    for missing in loaded.not_found:
        console.print(f"not found: {missing}", style="yellow", markup=False)


@app.command()
def check(ruleset: str = typer.Argument(..., help="Rule set id")) -> None:
    """Integrity of a rule set: parameters, decision tables (complete, no unordered overlaps), its YAML cases."""
    from costmodel.rules.cases import load_cases, run_case
    from costmodel.rules.check import check_ruleset

    report = check_ruleset(load_ruleset(ruleset))
    if report.probes or not report.problems:
        console.print(f"{report.ruleset_id}: {report.parameters} parameters, each with unit and reference; "
                      f"decision tables complete; {report.probes:,} probe applications evaluated")
    else:  # a value refused before the tables were probed: say only what was checked
        console.print(f"{report.ruleset_id}: {report.parameters} parameters read; the decision tables not probed "
                      f"(values refused below)")
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
def audit(
    quote_file: Path = typer.Argument(..., metavar="QUOTE", help="A quote made elsewhere: costmodel quote JSON, a JSON list of lines, "
                                      "or CSV lines (column component; optionally component_zh, amount_cny, application_date)"),
    format: str = typer.Option("table", "--format", callback=_format_option, help="table or json"),
) -> None:
    """Look for charges abolished by law (国办函〔2020〕129号, tariffs/abolished-charges) among a quote's lines. Exits 1
    when a line charges one on or after it was abolished (or where the quote gives no date)."""
    from costmodel.rules.abolished import audit_file

    found = audit_file(quote_file)
    charged = found[found["after_abolition"].ne(False)]
    if format == "json":
        print(json.dumps(found.to_dict("records"), indent=2, ensure_ascii=False, default=str))
    else:
        for row in found.itertuples(index=False):
            when = {True: "on or after its abolition", False: "before its abolition", None: "date not given"}[row.after_abolition]
            console.print(f"line {row.line}: {row.component} charges {row.name} ({row.charge}), abolished from {row.abolished_from} "
                          f"({when}): {row.clause}", markup=False, style="red" if row.after_abolition is not False else "yellow")
        console.print(f"{quote_file}: {len(charged)} line(s) charge an abolished charge" if len(charged)
                      else f"{quote_file}: no line charges an abolished charge", markup=False)
    if len(charged):
        raise typer.Exit(1)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for every interface)"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    workers: int = typer.Option(1, min=1, help="Worker processes (quotes are CPU-bound: one per core)"),
    range_model: Optional[Path] = typer.Option(None, "--range", metavar="MODEL", help=RANGE_HELP + " to every /quote answer "
                                               "(or set COSTMODEL_RANGE_MODEL)"),
) -> None:
    """The HTTP API and the quote page (http://HOST:PORT/, OpenAPI at /docs)."""
    from costmodel.api import serve as serve_api
    from costmodel.ranges import RANGE_MODEL_ENV

    if range_model is not None:  # checked here, then named to every worker process
        load_range_model(range_model)
        os.environ[RANGE_MODEL_ENV] = str(range_model.resolve())

    serve_api(host, port, workers)  # with the server's limits (keep-alive, concurrency, header size)


def _show_reform_diff(baseline: str, reform_name: str, format: str) -> None:
    from costmodel.params.overrides import load_reform

    reform = load_reform(reform_name, baseline)
    diff = reform.diff()
    if format == "json":
        print(json.dumps({"reform": reform.id, "ruleset": reform.ruleset.id, "file": reform.file,
                          "content_hash": reform.ruleset.content_hash, "diff": diff.to_dict("records")}, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{reform.ruleset.id}: {reform.title} (hash {reform.ruleset.content_hash})")
    for column in diff.columns:
        table.add_column(column, overflow="fold")
    for row in diff.itertuples(index=False):
        table.add_row(*[escape(str(v)) for v in row])
    console.print(table)


portfolio_app = typer.Typer(help="Portfolios of applications for policy studies.", no_args_is_help=True)
app.add_typer(portfolio_app, name="portfolio")


@portfolio_app.command("generate")
def portfolio_generate(
    rows: int = typer.Option(..., help="Number of applications"),
    seed: int = typer.Option(..., help="Random seed: the same seed gives the same portfolio"),
    out: Optional[Path] = typer.Option(None, help="Output file: .csv, .parquet or .xlsx"),
    assumptions: Optional[Path] = typer.Option(None, help="Distribution assumptions YAML (default examples/portfolios/synthetic.yaml)"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    partitioned: Optional[Path] = typer.Option(None, "--partitioned", metavar="DIR", help="Instead of --out: a Parquet dataset "
                                               "partitioned by province and year (DIR/province=<id>/year=<yyyy>/)"),
    provinces: str = typer.Option("all", help="With --partitioned: all, or province ids separated by commas; rows in proportion "
                                              "to tariffs/studies/province-electricity-2022.yaml"),
) -> None:
    """A synthetic portfolio drawn from documented distributions."""
    from costmodel.scenarios.generate import DEFAULT_ASSUMPTIONS, generate_portfolio
    from costmodel.scenarios.portfolio import write_table

    if (out is None) == (partitioned is None):
        raise typer.BadParameter("give --out FILE or --partitioned DIR (one of them)", param_hint="--out")
    check_outputs([out, partitioned], force=force, inputs=[assumptions])
    if partitioned is not None:
        from costmodel.scenarios.national import write_national

        counts = write_national(partitioned, rows, seed, provinces, assumptions or DEFAULT_ASSUMPTIONS)
        console.print(f"wrote {sum(counts.values()):,} applications of {len(counts)} provinces to {partitioned} (seed {seed})",
                      markup=False)
        return
    table_format(out)  # an unknown suffix is refused before the work

    frame = generate_portfolio(rows, seed, assumptions or DEFAULT_ASSUMPTIONS)
    write_table(frame, out)
    console.print(f"wrote {len(frame):,} applications to {out} (seed {seed})")


def _progress(total: int, passes: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=False)
    task = progress.add_task("quoting", total=total * passes)
    return progress, lambda done: progress.advance(task, done)


def _load_portfolio(path: Path):
    from costmodel.scenarios.portfolio import load_portfolio

    portfolio = load_portfolio(path)
    if len(portfolio.rejected):
        console.print(f"{len(portfolio.rejected):,} of {portfolio.rows_in:,} rows rejected by validation", style="yellow")
    return portfolio


def _rejected_path(out: Path) -> Path:
    return out.with_name(out.stem + ".rejected.csv")


IN_FORCE = "in-force"  # costmodel.scenarios.streaming.IN_FORCE, without importing the streaming module for every command
STREAM_OPTION = typer.Option(False, "--stream", help="Read the portfolio (Parquet) in partitions and write a partitioned dataset "
                             "to --out (a folder) with manifest.json; implied by a folder of Parquet files, --cluster or "
                             "--scheduler. An interrupted run resumes when run again (docs/scaling.md)")
PARTITION_ROWS_OPTION = typer.Option(250_000, "--partition-rows", min=1, help="Streaming: at most this many rows per partition "
                                     "(one task each); the results do not depend on it")
CLUSTER_OPTION = typer.Option(None, "--cluster", metavar="local[:N]", help="Streaming on a Dask LocalCluster of N single-threaded "
                              "worker processes (default one per core); needs costmodel[distributed]")
SCHEDULER_OPTION = typer.Option(None, "--scheduler", metavar="tcp://HOST:PORT", help="Streaming on an existing Dask cluster; "
                                "its workers need this costmodel and tariffs, and the input and --out on a shared file system")


def _streaming(portfolio: Path, stream: bool, cluster: Optional[str], scheduler: Optional[str]) -> bool:
    return stream or portfolio.is_dir() or cluster is not None or scheduler is not None


def _partition_progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]partitions"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=False)
    task = progress.add_task("partitions", total=None, rate="")
    first: dict[str, int] = {}

    def update(done: int, total: int, rows: int, seconds: float) -> None:
        if "rows" not in first:  # shown from the first partition on: a refused output folder shows no bar
            progress.start()
        first.setdefault("rows", rows)  # rows an earlier run did are not this run's speed
        rate = (rows - first["rows"]) / seconds if seconds > 0 else 0.0
        progress.update(task, completed=done, total=total, rate=f"{rows:,} rows, {rate:,.0f} rows/s")

    return progress, update


def _run_stream(study, portfolio: Path, out: Path, partition_rows: int, force: bool, cluster: Optional[str],
                scheduler: Optional[str], rulesets: list):
    """A streaming study (costmodel.scenarios.streaming), here or on Dask, with partitions done / total and rows/s."""
    from costmodel.scenarios.cluster import check_choice
    from costmodel.scenarios.dataset import ingest
    from costmodel.scenarios.streaming import stream_study

    check_choice(cluster, scheduler)
    protect_inputs([portfolio])
    ingested = ingest(portfolio, partition_rows)

    def announce(done: int, total: int) -> None:
        if done:
            console.print(f"resuming: {done} of {total} partitions already done in {out}")

    progress, update = _partition_progress()
    try:
        return stream_study(study, ingested, out, force=force, cluster=cluster, scheduler=scheduler, progress=update,
                            rulesets=rulesets, announce=announce)
    finally:
        progress.stop()


def _stream_totals(result, out: Path, what: str) -> None:
    manifest = result.manifest
    console.print(f"{manifest['rows_in']:,} rows in = {manifest['rows_out']:,} {what} + {manifest['rows_rejected']:,} rejected "
                  f"({out}/rejected/), in {len(manifest['partitions'])} partitions; {out / 'manifest.json'}", markup=False)


@app.command()
def batch(
    portfolio: Path = typer.Argument(..., help="Portfolio file (.csv, .parquet, .xlsx)"),
    ruleset: str = typer.Option(..., help=f"Rule set id; or {IN_FORCE} (streaming): each row under the rules in force in its "
                                          "province (the dataset's province=<id> folders) on its date"),
    out: Path = typer.Option(..., help="Quotes file (.csv, .parquet, .xlsx); rejected rows go to <stem>.rejected.csv"),
    chunk_rows: int = typer.Option(100_000, help="Applications per chunk"),
    range_model: Optional[Path] = typer.Option(None, "--range", metavar="MODEL", help=RANGE_COLUMNS_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP + " (the quotes and the rejected-rows file)"),
    stream: bool = STREAM_OPTION,
    partition_rows: int = PARTITION_ROWS_OPTION,
    cluster: Optional[str] = CLUSTER_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
) -> None:
    """Quote every application of a portfolio; rows in = rows quoted + rows rejected.

    Finished chunks are kept in <out>.parts/ until the end, so a batch interrupted and run again
    resumes where it stopped, without losing or repeating rows. Streaming (--stream), --out is a folder:
    quotes/ and rejected/ as partitioned datasets and manifest.json.
    """
    from costmodel.scenarios.portfolio import write_table
    from costmodel.files import write_csv
    from costmodel.scenarios.studies import Checkpoint, quote_portfolio

    if _streaming(portfolio, stream, cluster, scheduler) or ruleset == IN_FORCE:
        from costmodel.scenarios.streaming import InForceRef, Study, ruleset_ref

        if range_model is not None:
            raise typer.BadParameter("budget ranges are added by the in-memory batch only; leave --range out when streaming",
                                     param_hint="--range")
        chosen = None if ruleset == IN_FORCE else load_ruleset(ruleset)
        study = Study("batch", (InForceRef.of(()) if chosen is None else ruleset_ref(chosen, ruleset),), chunk_rows=chunk_rows)
        result = _run_stream(study, portfolio, out, partition_rows, force, cluster, scheduler, chosen and [chosen])
        _stream_totals(result, out, f"quoted ({out}/quotes/)")
        return
    check_outputs([out, _rejected_path(out)], force=force, inputs=[portfolio, range_model])
    table_format(out)  # an unknown suffix is refused before the work
    ranged = load_range_model(range_model)
    loaded = _load_portfolio(portfolio)
    chosen = load_ruleset(ruleset)
    checkpoint = Checkpoint(out.with_name(out.name + ".parts"), loaded, chosen, chunk_rows)
    if checkpoint.finished_chunks():
        console.print(f"resuming: {checkpoint.finished_chunks()} chunk(s) of {chunk_rows:,} rows already quoted in {checkpoint.folder}")
    progress, advance = _progress(len(loaded.frame), 1)
    with progress:
        result = quote_portfolio(loaded, chosen, chunk_rows, advance, checkpoint)
    if ranged is not None:
        from costmodel.ranges.attach import portfolio_range_columns

        result.quotes = result.quotes.join(portfolio_range_columns(ranged, result.quotes, loaded.frame))
    write_table(result.quotes, out)
    checkpoint.remove()
    write_csv(result.rejected, _rejected_path(out))
    console.print(f"{result.rows_in:,} rows in = {len(result.quotes):,} quoted ({out}) + {len(result.rejected):,} rejected "
                  f"({_rejected_path(out)})")


def _comparison_tables(comparison) -> dict:
    tables = {"overall": pd.DataFrame([comparison.overall])}
    tables.update({f"by_{group}": table for group, table in comparison.by_group.items()})
    if hasattr(comparison, "affected"):  # in memory; streamed, they are in the applications/ and rejected/ datasets
        tables["affected"] = comparison.affected
        tables["rejected"] = comparison.rejected
    return tables


@app.command("compare-portfolio")
def compare_portfolio_command(
    portfolio: Path = typer.Argument(..., help="Portfolio file (.csv, .parquet, .xlsx)"),
    baseline: str = typer.Option(..., help=f"Baseline rule set id; or {IN_FORCE} (streaming): each row under the rules in "
                                           "force in its province (the dataset's province=<id> folders) on its date"),
    reform: str = typer.Option(..., help="Reform: a rule set id, or reforms applied in turn over the baseline (ids of "
                                         "tariffs/overrides or override files, comma-separated: a,b)"),
    json_output: bool = typer.Option(False, "--json", help="Print the overall figures as JSON"),
    out: Optional[Path] = typer.Option(None, help="Directory for CSV, workbook.xlsx and summary.md/html"),
    workers: Optional[int] = typer.Option(None, min=1, max=2, help="Threads for the two quotes (default 2 with two cores): 2 pays off only with a free core"),
    range_model: Optional[Path] = typer.Option(None, "--range", metavar="MODEL", help=RANGE_COMPARE_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_FOLDER_HELP),
    stream: bool = STREAM_OPTION,
    partition_rows: int = PARTITION_ROWS_OPTION,
    cluster: Optional[str] = CLUSTER_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
) -> None:
    """What a reform changes for every application of a portfolio: deltas first, overall and by group.

    Streaming (--stream), --out holds applications/ and rejected/ as partitioned datasets and manifest.json
    beside the summary tables."""
    from costmodel.params.overrides import reformed_ruleset
    from costmodel.scenarios.report import write_outputs
    from costmodel.scenarios.studies import DEFAULT_WORKERS, compare_portfolio

    if _streaming(portfolio, stream, cluster, scheduler) or baseline == IN_FORCE:
        from costmodel.scenarios.streaming import InForceRef, Study, ruleset_ref

        if out is None:
            raise typer.BadParameter("streaming writes its results to a folder: give --out", param_hint="--out")
        if range_model is not None:
            raise typer.BadParameter("budget ranges are added by the in-memory comparison only; leave --range out when streaming",
                                     param_hint="--range")
        if baseline == IN_FORCE:  # the reforms over each row's own rules
            reforms = tuple(name.strip() for name in reform.split(",") if name.strip())
            study, rulesets = Study("compare", (InForceRef.of(()), InForceRef.of(reforms))), None
            titles = [f"the rules in force in each row's province on its date; reforms {', '.join(reforms)} over them"]
        else:
            base, reformed = load_ruleset(baseline), reformed_ruleset(baseline, reform)
            study = Study("compare", (ruleset_ref(base, baseline), ruleset_ref(reformed, baseline, reform=reform)))
            rulesets = [base, reformed]
        comparison = _run_stream(study, portfolio, out, partition_rows, force, cluster, scheduler, rulesets)
        rows_in, rows_rejected = comparison.manifest["rows_in"], comparison.manifest["rows_rejected"]
    else:
        check_outputs([out], force=force, inputs=[portfolio, range_model])
        ranged = load_range_model(range_model)
        base, reformed = load_ruleset(baseline), reformed_ruleset(baseline, reform)
        loaded = _load_portfolio(portfolio)
        progress, advance = _progress(len(loaded.frame), 2)
        with progress:
            comparison = compare_portfolio(loaded, base, reformed, advance, workers=workers or DEFAULT_WORKERS)
        if ranged is not None:
            from costmodel.ranges.attach import comparison_range_columns

            comparison.applications = comparison.applications.join(comparison_range_columns(ranged, comparison.applications, loaded.frame))
        rows_in, rows_rejected = comparison.rows_in, len(comparison.rejected)
    if baseline != IN_FORCE:
        titles = [f"baseline {base.id} (hash {base.content_hash}); reform {reformed.id} (hash {reformed.content_hash})"]
    if json_output:
        print(json.dumps(comparison.overall, indent=2, ensure_ascii=False))
    else:
        _print_comparison(comparison)
    if out is not None:
        tables = _comparison_tables(comparison)
        notes = [f"portfolio {portfolio}: {rows_in:,} rows, {rows_rejected:,} rejected",
                 *titles,
                 "deltas are reform minus baseline; a negative customer delta is a saving"]
        written = write_outputs(out, f"{comparison.reform_id} vs {comparison.baseline_id}", tables, notes,
                                summary_tables=["overall", "by_area", "by_enterprise_size", "by_capacity_band", "by_park_level"])
        Console(stderr=True).print(f"wrote {len(written)} files to {out}")


def _print_comparison(comparison) -> None:
    overall = comparison.overall
    console.print(f"[bold]{comparison.reform_id}[/] vs [bold]{comparison.baseline_id}[/]: "
                  f"{overall['applications']:,} applications compared, {overall['rows_rejected']:,} rejected")
    console.print(f"  supply voltage changes: {overall['voltage_changed']:,} (moved to low voltage: {overall['moved_to_low_voltage']:,}); "
                  f"boundary changes: {overall['boundary_changed']:,}; affected: {overall['affected']:,}")
    console.print(f"  customer cost delta {overall['customer_delta_cny']:+,.0f} CNY "
                  f"({overall['customer_before_cny']:,.0f} → {overall['customer_after_cny']:,.0f})")
    console.print(f"  grid investment delta {overall['grid_delta_cny']:+,.0f} CNY "
                  f"({overall['grid_before_cny']:,.0f} → {overall['grid_after_cny']:,.0f})")
    for group, frame in comparison.by_group.items():
        table = Table(title=f"by {group}")
        columns = [group, "applications", "voltage_changed", "boundary_changed", "customer_delta_cny", "grid_delta_cny"]
        for column in columns:
            table.add_column(column, justify="left" if column == group else "right")
        for row in frame[columns].itertuples(index=False):
            table.add_row(str(row[0]), *[f"{v:,}" if isinstance(v, (int, np.integer)) else f"{v:+,.0f}" for v in row[1:4]],
                          f"{row[4]:+,.0f}", f"{row[5]:+,.0f}")
        console.print(table)


def _sweep_values(values: str) -> list:
    """`--values`: a YAML list (its members are the values: lists for a list-valued parameter), else comma-separated."""
    from costmodel.params.overrides import load_yaml_scalar

    if values.strip().startswith("["):
        parsed = load_yaml_scalar(values)
        if not isinstance(parsed, list) or not parsed:
            raise typer.BadParameter(f"{values!r}: a YAML list of values, e.g. [[national, provincial], [national]]", param_hint="--values")
        return parsed
    return [load_yaml_scalar(v.strip()) for v in values.split(",") if v.strip()]


@app.command("sweep")
def sweep_command(
    portfolio: Path = typer.Argument(..., help="Portfolio file (.csv, .parquet, .xlsx)"),
    parameter: str = typer.Option(..., help="Parameter path, e.g. supply_voltage.low_voltage_cap"),
    values: str = typer.Option(..., help="Comma-separated values in the parameter's unit (`costmodel params` shows the "
                                         "rule set's own); for a list-valued parameter a YAML list of lists, "
                                         "e.g. '[[national, provincial], [national, provincial, municipal]]'"),
    ruleset: str = typer.Option("shandong-2019", help="Baseline rule set id"),
    category: Optional[str] = typer.Option(None, help="Only this category of a broken-down parameter, e.g. rural"),
    out: Path = typer.Option(Path("out/sweep"), help="Directory for the table, chart, workbook and summary"),
    force: bool = typer.Option(False, "--force", help=FORCE_FOLDER_HELP),
    stream: bool = STREAM_OPTION,
    partition_rows: int = PARTITION_ROWS_OPTION,
    cluster: Optional[str] = CLUSTER_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
) -> None:
    """The impact of each value of one parameter: table and chart of grid investment and customer savings."""
    from costmodel.scenarios.report import sweep_chart, write_outputs
    from costmodel.scenarios.studies import sweep

    base = load_ruleset(ruleset)
    unit = base.parameter(parameter).unit
    parsed = _sweep_values(values)
    if _streaming(portfolio, stream, cluster, scheduler):
        from costmodel.params.overrides import sweep_ruleset
        from costmodel.scenarios.streaming import Study, ruleset_ref

        references = [ruleset_ref(base, ruleset)] + [ruleset_ref(sweep_ruleset(base, parameter, value, category), ruleset,
                                                                 sweep=(parameter, value, category)) for value in parsed]
        result = _run_stream(Study("sweep", tuple(references), tuple(parsed)), portfolio, out, partition_rows, force, cluster,
                             scheduler, [base])
        table, rows_in = result.table, result.manifest["rows_in"]
    else:
        check_outputs([out], force=force, inputs=[portfolio])
        loaded = _load_portfolio(portfolio)
        progress, advance = _progress(len(loaded.frame), len(parsed) + 1)
        with progress:
            table = sweep(loaded, base, parameter, parsed, category, advance)
        rows_in = loaded.rows_in
    label = parameter + (f"[{category}]" if category else "")
    charts = sweep_chart(table, label, unit, out / "sweep")
    written = write_outputs(out, f"Sweep of {label} against {base.id}", {"sweep": table},
                            [f"portfolio {portfolio}: {rows_in:,} rows",
                             f"baseline {base.id} (hash {base.content_hash}); values in {unit}",
                             "customer savings = baseline customer cost - reform customer cost"], charts)
    shown = Table(title=f"sweep of {label} ({unit}) against {base.id}")
    for column in table.columns:
        shown.add_column(column, justify="right")
    for row in table.itertuples(index=False):
        shown.add_row(*[f"{v:,.0f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, (int, np.integer)) else str(v) for v in row])
    console.print(shown)
    Console(stderr=True).print(f"wrote {len(written)} files to {out}")


@app.command()
def optimize(
    network: Path = typer.Argument(..., help="A network folder (nodes.csv, corridors.csv) or a Steiner instance (.gr)"),
    customers: Optional[Path] = typer.Option(None, help="customers.csv: application_id, node_id[, demand_kva] "
                                                        "(default: the network folder's customers.csv)"),
    applications: Optional[Path] = typer.Option(None, help="The customers' applications (portfolio CSV/Parquet/Excel): who "
                                                           "pays; without them the design is not quoted"),
    ruleset: str = typer.Option("shandong-2019", help="Rule set: network limits and the funding rules"),
    time_limit: float = typer.Option(60.0, min=0.1, help="Solver time limit, seconds"),
    gap: Optional[float] = typer.Option(None, min=0.0, max=1.0, help=f"Relative MIP gap at which to stop (a network folder: "
                              f"{NETWORK_GAP} unless given; a .gr file is solved exactly unless given). 'optimal' is reported only within the default "
                              "gap; a design stopped at a larger one is 'feasible, gap X %'"),
    map: Optional[Path] = typer.Option(None, "--map", help="Write a map of the design (.png or .svg)"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    formulation: str = typer.Option("plain", help="Network folders: plain, tree or multicommodity (the tightest where "
                                                  "capacity and voltage do not bind, e.g. imported .gr files)"),
    ac_rounds: int = typer.Option(AC_ROUNDS, "--ac-rounds", min=0, help="Network folders: rounds of solve, AC power flow "
                                  "check and tightening until the design passes its own AC check; 0: the linear model's design"),
    design_out: Optional[Path] = typer.Option(None, "--design-out", help="Network folders: write the design as a pandapower "
                                              "JSON file, added into the folder's own net when it was imported from one "
                                              "(network import-pandapower / import-simbench), else the design alone"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --map or --design-out file"),
) -> None:
    """The cheapest grid-side extension over a network, quoted line by line under the rule set."""
    check_outputs([map, design_out], force=force, inputs=[network, customers, applications])
    if network.suffix.lower() == ".gr":
        from costmodel.grid.cli_steiner import print_gr_report, solve_gr_file

        with stdout_to_stderr():  # the solver's banner and log never reach stdout: `--json` is pure JSON
            result = solve_gr_file(network, time_limit, STEINER_GAP if gap is None else gap)
        if as_json:
            print(json.dumps(result, indent=2))
        else:
            print_gr_report(console, network.name, result)
        return
    customers = customers or network / "customers.csv"
    if not customers.is_file():
        raise typer.BadParameter(f"a network folder needs --customers ({customers} does not exist)", param_hint="--customers")
    from costmodel.grid.cli_network import load_network_applications, optimize_network, print_report, progress_display

    chosen = load_ruleset(ruleset)
    portfolio, when = None, None
    if applications is not None:  # without them the design is not quoted
        portfolio, when = load_network_applications(applications)
    with stdout_to_stderr(), progress_display(not as_json) as on_progress:  # stdout: only the command's output
        result = optimize_network(network, customers, ruleset, time_limit, NETWORK_GAP if gap is None else gap, map, when,
                                  formulation, on_progress, ac_rounds, design_out)
        report = result["report"]
        batch = (quote_frame(portfolio.frame, chosen, components=result["components"])
                 if portfolio is not None and len(result["components"]) else None)
    if as_json:
        print(json.dumps({
            "report": {k: v for k, v in report.items() if k != "references"} | {"references": report.get("references", {})},
            "validation": result["validation"]["summary"], "violations": result["validation"]["violations"],
            "pre_existing": result["validation"].get("pre_existing", []), "design_out": result["design_out"],
            "transformers": result["design"].transformers.to_dict("records"), "map": result["map"],
            "quote": None if batch is None else {
                "totals": batch.summary().to_dict("records"),
                "lines": batch.lines.astype(object).where(batch.lines.notna(), None).to_dict("records")},
        }, indent=2, ensure_ascii=False, default=str))
        return
    print_report(console, escape(network.name), result)
    if portfolio is None:
        console.print("not quoted: give --applications (one application per customer, e.g. examples/park/applications.csv) "
                      "to see who pays", markup=False, highlight=False)
    if batch is not None:
        table = Table(title=f"Who pays for the extension under {chosen.id}")
        for column in ("application", "size", "voltage", "boundary", "rule", "customer CNY", "grid CNY"):
            table.add_column(column)
        for row in batch.summary().itertuples(index=False):
            table.add_row(escape(str(row.application_id)), str(row.enterprise_size), str(row.supply_voltage), str(row.boundary),
                          escape(str(row.boundary_rule)), _cny(row.customer_cny), _cny(row.grid_cny))
        console.print(table)
        totals = batch.totals[["customer_cny", "grid_cny"]].sum()
        console.print(f"Customers pay {_cny(totals['customer_cny'])} CNY; the grid company invests {_cny(totals['grid_cny'])} CNY")
    if result["map"]:
        console.print(f"map: {result['map']}", markup=False)
    if result["design_out"]:
        console.print(f"design as a pandapower net: {result['design_out']}", markup=False)


network_app = typer.Typer(help="Network directories for the optimiser.", no_args_is_help=True)
app.add_typer(network_app, name="network")
register_network_commands(network_app)


@network_app.command("import-gr")
def network_import_gr(
    instance: Path = typer.Argument(..., help="A Steiner instance in the STP/PACE .gr format"),
    out: Path = typer.Option(..., help="Network directory to write (nodes.csv, corridors.csv, customers.csv)"),
    km_per_weight: Optional[float] = typer.Option(None, help="Corridor length in km per unit of edge weight "
                                                             "(default: tariffs/grid/steiner-import.yaml)"),
    demand_kva: Optional[float] = typer.Option(None, help="Demand of each terminal but the first, the source "
                                                          "(default: tariffs/grid/steiner-import.yaml)"),
    force: bool = typer.Option(False, "--force", help=FORCE_FOLDER_HELP),
) -> None:
    """A Steiner instance as a network directory: edges become candidate corridors of the cheapest cable."""
    from costmodel.grid.importers import from_steiner, write_network

    check_outputs([out], force=force, inputs=[instance])

    network = from_steiner(instance, km_per_weight=km_per_weight, demand_kva=demand_kva)
    folder = write_network(network, out)
    cable = network.corridors["allowed_std_types"].iloc[0][0] if len(network.corridors) else "none"
    console.print(f"wrote {folder}: {len(network.nodes)} nodes, {len(network.corridors)} corridors ({cable}), "
                  f"{int((network.nodes['kind'] == 'customer').sum())} customers", markup=False)


@network_app.command("generate-parks")
def network_generate_parks(
    parks: int = typer.Option(..., "--parks", help="Number of park folders"),
    seed: int = typer.Option(..., help="Random seed: the same seed gives the same parks"),
    out: Path = typer.Option(..., help="Folder to write park-001/, park-002/, ... into"),
    sizes: str = typer.Option("4,5,6,8,10,12", help="Street-grid sizes n (n x n junctions), taken in turn"),
    force: bool = typer.Option(False, "--force", help=FORCE_FOLDER_HELP),
) -> None:
    """Synthetic parks of mixed sizes for optimize-many: street grids, feeder bays, plots and their applications."""
    from costmodel.scenarios.parks import write_parks

    check_outputs([out], force=force)
    try:
        grid_sizes = [int(size) for size in sizes.split(",")]
    except ValueError:
        grid_sizes = []
    if not grid_sizes or min(grid_sizes) < 2:
        raise typer.BadParameter(f"{sizes!r}; allowed: whole numbers >= 2 separated by commas, e.g. 4,6,8", param_hint="--sizes")
    written = write_parks(out, parks, seed, grid_sizes)
    console.print(f"wrote {len(written)} parks to {out} (seed {seed})", markup=False)


@app.command("optimize-many")
def optimize_many(
    folder: Path = typer.Argument(..., help="A folder of park folders (each: nodes.csv, corridors.csv, customers.csv, applications.csv)"),
    ruleset: str = typer.Option("shandong-2019", help="Rule set: network limits and the funding rules"),
    time_limit: float = typer.Option(60.0, min=0.1, help="Each park's solver time limit, seconds"),
    gap: float = typer.Option(NETWORK_GAP, min=0.0, max=1.0, help="Relative MIP gap at which each park stops"),
    grace: float = typer.Option(60.0, min=0.0, help="Seconds past the time limit after which a park's process is killed"),
    ac_rounds: int = typer.Option(AC_ROUNDS, "--ac-rounds", min=0, help="Rounds of solve, AC power flow check and tightening "
                                  "until each park's design passes its own AC check; 0: the linear model's design"),
    out: Optional[Path] = typer.Option(None, help="Write the table of parks (.csv, .parquet or .xlsx)"),
    cluster: Optional[str] = CLUSTER_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Optimise every park under FOLDER, each in its own process with its own time limit: one row per park (status,
    objective, bound, gap, seconds, what the customers and the grid company pay). A park that fails is a row."""
    from costmodel.scenarios.cluster import check_choice, dask_client
    from costmodel.scenarios.parks import optimise_parks, park_folders

    check_outputs([out], force=force, inputs=[folder])
    if out is not None:
        table_format(out)
    check_choice(cluster, scheduler)
    parks = park_folders(folder)
    load_ruleset(ruleset)  # an unknown rule set is refused before any park starts
    stderr = Console(stderr=True)

    def report(done: int, total: int, row: dict) -> None:
        stderr.print(f"[{done}/{total}] {row['park']}: {row['status']}, {row['seconds'] or 0:.1f} s", markup=False)

    if cluster is None and scheduler is None:
        table = optimise_parks(parks, ruleset, time_limit, gap, grace, progress=report, ac_rounds=ac_rounds)
    else:
        with dask_client(cluster, scheduler) as client:
            table = optimise_parks(parks, ruleset, time_limit, gap, grace, client, report, ac_rounds)
    shown = Table(title=f"{len(table)} parks under {ruleset}")
    for column in ("park", "status", "objective_cny", "bound_cny", "gap", "seconds", "AC check", "customer_cny", "grid_cny", "diagnosis"):
        shown.add_column(column, overflow="fold")
    for row in table.itertuples(index=False):
        amounts = ["" if pd.isna(value) else f"{value:,.0f}" for value in (row.objective_cny, row.bound_cny, row.customer_cny, row.grid_cny)]
        ac_check = "" if pd.isna(row.ac_status) else str(row.ac_status).replace("_", " ") + (
            "" if pd.isna(row.ac_rounds) or not row.ac_rounds else f" ({row.ac_rounds} round{'' if row.ac_rounds == 1 else 's'})")
        shown.add_row(row.park, row.status, *amounts[:2], "" if pd.isna(row.gap) else f"{row.gap:.2%}",
                      "" if pd.isna(row.seconds) else f"{row.seconds:,.1f}", ac_check, *amounts[2:], escape(row.diagnosis or ""))
    console.print(shown)
    if out is not None:
        files.write_table(table, out)
        stderr.print(f"wrote {out}")


register_schedule_commands(app)
register_range_commands(app)


def run(argv: Optional[list[str]] = None) -> int:
    """Run one command; the exit code: 0 success, 1 user error (or an unexpected failure, reported in one
    line), 2 usage error, 130 interrupted. A user error is one message on stderr, never a traceback; with
    COSTMODEL_DEBUG=1 every error also prints its traceback."""
    protect_inputs([])
    debug = os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")
    stderr = Console(stderr=True, soft_wrap=True, highlight=False)

    def report(message: str, code: int) -> int:
        if debug:
            traceback.print_exc()
        stderr.print(f"[red]error:[/] {escape(message)}")
        return code

    try:
        code = app(args=argv, standalone_mode=False)  # typer returns the code of typer.Exit, 130 for Ctrl-C
    except KeyboardInterrupt:  # outside typer's own handling, e.g. while importing
        code = EXIT_INTERRUPTED
    except typer.Abort:
        return report("aborted", EXIT_USER_ERROR)
    except CostmodelError as error:
        return report(str(error), EXIT_USER_ERROR)
    except typer.Exit as done:
        code = done.exit_code
    except typer.exceptions.TyperException as error:  # usage errors (exit code 2): shown as click shows them
        if debug:
            traceback.print_exc()
        error.show()
        return getattr(error, "exit_code", EXIT_USAGE)
    except OSError as error:  # a file the user named: unreadable, unwritable, a folder, a full disk
        where = f"{error.filename}: " if error.filename else ""
        return report(f"{where}{error.strerror or error}", EXIT_USER_ERROR)
    except Exception as error:  # a bug: one line, not a traceback, unless debugging
        return report(f"unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''} "
                      f"(a bug; run with {DEBUG_ENV}=1 for the traceback)", EXIT_USER_ERROR)
    code = code if isinstance(code, int) else EXIT_OK
    if code == EXIT_INTERRUPTED:
        stderr.print("interrupted", style="yellow")
    return code


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: exits with run()'s code."""
    sys.exit(run(argv))
