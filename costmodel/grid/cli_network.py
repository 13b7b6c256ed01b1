"""One call for the CLI / API: network directory + customers -> design, components, AC check, map; and the
`network import-pandapower` / `network import-simbench` commands (the main CLI adds them with `register`)."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from costmodel.files import check_outputs
from costmodel.grid.status import AC_ROUNDS, stdout_to_stderr
from costmodel.terminal import table_console

# The solver, pandapower and matplotlib load inside the functions: the CLI imports this module for every command.


def optimize_network(network_dir: str | Path, customers_file: str | Path, ruleset_id: str,
                     time_limit_s: float = 60.0, mip_gap: float = 0.005,
                     out_map: str | Path | None = None, when: dt.date | None = None,
                     formulation: str = "plain", on_progress=None, ac_rounds: int = AC_ROUNDS,
                     design_out: str | Path | None = None) -> dict:
    """Cheapest radial extension from the existing network to every customer of `customers_file`.

    Returns a dict: report (status optimal|feasible|no_solution|infeasible|solver_unavailable, summary, stopped, objective_cny,
    bound_cny, gap, seconds, diagnosis [texts naming customer and limit], references, ...),
    design (Design: corridors / nodes / sources / customers / usage frames), components (long
    Components frame, zone extension for new corridors, upstream for reinforcements), validation
    (AC power flow: summary, buses, lines, violations; empty when there is no design) and map (path
    of the PNG/SVG written, or None). `formulation`: see `radial.FORMULATIONS`; "multicommodity" is
    the tighter on Steiner-like networks where capacity and voltage do not bind (e.g. imported .gr files).
    `on_progress`: see `radial.solve`. `ac_rounds`: at most this many rounds of solve, AC check and tightening until
    the design passes its AC check (`radial.ac_feasible`); 0: the linear model's design, its AC check only reported.
    The AC check runs on the whole net when the folder was imported from a pandapower net, else on the design alone
    (`validate.validate_design`). `design_out`: write the design as a pandapower JSON file, added into the folder's
    own net (or alone, for a folder without one); its path is returned as design_out. Also returned: the network
    as loaded (network) and whether there is a design to draw or export (has_design).
    """
    from costmodel.grid.components import design_to_components
    from costmodel.grid.network import load_customers, load_grid_limits, load_network, ruleset_catalogue
    from costmodel.grid.radial import prepare
    from costmodel.grid.radial.ac_feasible import optimised_design
    from costmodel.grid.plot import plot_design
    from costmodel.grid.validate import no_check, validate_design, write_design_net

    network = load_network(network_dir, ruleset_catalogue(ruleset_id))
    customers = load_customers(customers_file, network)
    limits = load_grid_limits(ruleset_id, when)
    instance = prepare(network, customers, limits)
    design, validation = optimised_design(instance, network, time_limit_s, mip_gap, ac_rounds, formulation=formulation,
                                          on_progress=on_progress)
    has_design = design.report["status"] in ("optimal", "feasible", "solver_unavailable")
    if validation is None:   # the linear model's design: its AC check reported, not acted on
        validation = validate_design(design, network) if has_design else no_check()
    map_path = net_path = None
    if out_map is not None and has_design:
        map_path = str(plot_design(network, design, out_map, title=f"{Path(network_dir).name}: {ruleset_id}"))
    if design_out is not None and has_design:
        net_path = str(write_design_net(design, network, design_out))
    return {"report": design.report, "design": design, "components": design_to_components(design),
            "validation": validation, "map": map_path, "design_out": net_path, "network": network, "has_design": has_design}


def load_network_applications(path: str | Path):
    """The applications of a network's customers, for quoting its design, and the date their rules are taken at
    (the latest application date). A rejected row is an error: each customer's quote needs its application."""
    from costmodel.errors import InputError
    from costmodel.scenarios.portfolio import load_portfolio

    portfolio = load_portfolio(path)
    if len(portfolio.rejected):
        first = portfolio.rejected.iloc[0]
        raise InputError(f"{path}: row {first['row']}: {first['reason']}")
    return portfolio, portfolio.frame["application_date"].max().date()


PROGRESS_ROWS = 8   # rows of the live progress table (the latest ones)
PROGRESS_WIDTH_CHARS = 100   # its five columns with room to spare


@contextmanager
def progress_display(enabled: bool = True):
    """An `on_progress` callback showing incumbent, bound and gap over time, live, on the terminal (stderr).

    Yields None when disabled or when stderr is not a terminal. The display writes to its own copy of file
    descriptor 2: the solver's interface captures descriptors 1 and 2 while HiGHS runs.
    """
    stream = os.fdopen(os.dup(2), "w") if enabled else None
    console = Console(file=stream, stderr=stream is None, width=PROGRESS_WIDTH_CHARS) if stream else None
    if console is None or not console.is_terminal:
        yield None
        if stream:
            stream.close()
        return
    samples: list[dict] = []
    with Live(console=console, auto_refresh=False) as live:
        def show(sample: dict) -> None:
            changed = not samples or (sample["incumbent_cny"], sample["bound_cny"]) != (samples[-1]["incumbent_cny"], samples[-1]["bound_cny"])
            if changed:   # a row when the design or the bound improves; the title keeps the time
                samples.append(sample)
            live.update(_progress_table(samples, sample["seconds"]), refresh=True)
        yield show
    stream.close()


def _progress_table(samples: list[dict], seconds: float) -> Table:
    table = Table(title=f"optimising: {seconds:.1f} s", title_justify="left", box=None, padding=(0, 2))
    for column in ("time s", "best design CNY", "lower bound CNY", "gap"):
        table.add_column(column, justify="right")
    for sample in samples[-PROGRESS_ROWS:]:
        table.add_row(f"{sample['seconds']:.1f}", cny(sample["incumbent_cny"]), cny(sample["bound_cny"]), percent(sample["gap"]))
    return table


def cny(value: float | None) -> str:
    """'1,234,567' (whole yuan) or '—' when unknown."""
    return "—" if value is None else f"{value:,.0f}"


def percent(fraction: float | None, digits: int = 2) -> str:
    return "—" if fraction is None else f"{fraction * 100:.{digits}f} %"


def print_report(console: Console, name: str, result: dict) -> None:
    """The outcome of `optimize_network` as a table a planner reads: status, cost, bound, gap, time, the AC
    check's worst voltage and loading; then diagnoses, new transformers and AC violations."""
    report, ac = result["report"], result["validation"]["summary"]
    table = Table(title=f"{name}: cheapest extension", title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", report["summary"] + (f" (stopped: {report['stopped'].replace('_', ' ')})" if report.get("stopped") else "")
                  + (f"; {report['ac_summary']}" if report.get("ac_summary") else ""))
    table.add_row("cost", f"{cny(report.get('objective_cny'))} CNY")
    table.add_row("lower bound", f"{cny(report.get('bound_cny'))} CNY" + (" (the linear model's)" if report.get("bound_basis") else ""))
    table.add_row("gap", percent(report.get("gap")))
    table.add_row("time", f"{report.get('seconds', 0):.1f} s")
    if report.get("warm_start_cny") is not None:
        table.add_row("warm start", f"{cny(report['warm_start_cny'])} CNY (heuristic design)")
    removed = report.get("removed") or {}
    left_out = [f"{removed[key]:,} {text}" for key, text in (
        ("steiner_reductions", "corridor(s) no cheapest design needs (Steiner reductions: no capacity or drop can bind)"),
        ("dead_end_corridors", "dead-end corridor(s)")) if removed.get(key)]
    if left_out:
        table.add_row("left out", "; ".join(left_out))
    if report.get("ac_rounds"):
        table.add_row("AC rounds", f"{report['ac_rounds']} ({report['ac_status'].replace('_', ' ')})")
    if report.get("linear_objective_cny") is not None:
        table.add_row("linear optimum", f"{cny(report['linear_objective_cny'])} CNY (round 1, before the AC check)")
    if report.get("feasibility_cost_cny") is not None:
        table.add_row("cost of AC feasibility", f"{cny(report['feasibility_cost_cny'])} CNY ({report['feasibility_cost_pct']:.2f} %)")
    if ac:
        table.add_row("AC check", ac["check_text"])
        before_v, before_l = ac.get("worst_voltage_pu_before"), ac.get("max_loading_pct_before")
        voltage_notes = [f"limit {ac['voltage_limit_pu']:.4f} pu"] + ([] if before_v is None else [f"before the design {before_v:.4f} pu"])
        voltage_notes.append(f"design's worst linear {ac['worst_voltage_pu_linear']:.4f} pu")
        loading_notes = ([] if before_l is None else [f"before the design {before_l:.1f} %"])
        loading_notes.append(f"design's worst linear {ac['max_loading_pct_linear']:.1f} %")
        table.add_row("AC worst voltage", f"{ac['worst_voltage_pu_ac']:.4f} pu at {escape(ac['worst_voltage_node'])} ({'; '.join(voltage_notes)})")
        table.add_row("AC highest voltage", f"{ac['highest_voltage_pu_ac']:.4f} pu (limit {ac['voltage_upper_limit_pu']:.4f} pu)")
        table.add_row("AC worst loading", f"{ac['max_loading_pct_ac']:.1f} % on {escape(ac['max_loading_corridor'])} ({'; '.join(loading_notes)})")
        table.add_row("AC losses", f"{ac['losses_kw']:,.1f} kW" + (f" (before the design {ac['losses_before_kw']:,.1f} kW)"
                                                                   if "losses_before_kw" in ac else ""))
        table.add_row("AC result", ("passed" if ac["violations"] == 0 else f"[red]{ac['violations']} violation(s)[/]")
                      + (f"; [yellow]{ac['pre_existing']} limit(s) already broken before the design[/]" if ac["pre_existing"] else ""))
    console.print(table)
    for text in report.get("diagnosis", []):
        console.print(f"  diagnosis: {text}", markup=False, style="yellow")
    for row in result["design"].transformers.itertuples():
        console.print(f"new transformer {row.std_type} at {row.node_id} (primary from {row.hv_node}): "
                      f"{row.flow_kva:,.0f} of {row.rating_kva:,.0f} kVA, {cny(row.cost_cny)} CNY", markup=False)
    for violation in result["validation"]["violations"]:
        console.print(f"  violation: {violation}", markup=False, style="red")
    for breach in result["validation"].get("pre_existing", []):
        console.print(f"  pre-existing: {breach}", markup=False, style="yellow")


FORCE_FOLDER_HELP = "Overwrite the files of an existing, non-empty --out directory"
CUSTOMERS_HELP = ("New customers, CSV: application_id, demand_kva and lon, lat (WGS84) or x_m, y_m (the output CRS); "
                  "optional voltage_kv. Each gets candidate corridors to its nearest nodes (tariffs/grid/network-import.yaml)")
CRS_HELP = ("Projected CRS for longitude/latitude (default: CGCS2000 3-degree Gauss-Kruger in China, the WGS84 UTM zone "
            "elsewhere), e.g. EPSG:4547")


def register(network_app: typer.Typer) -> None:
    """Add `import-pandapower` and `import-simbench` to the `network` command group."""
    network_app.command("import-pandapower")(import_pandapower)
    network_app.command("import-simbench")(import_simbench)


def import_pandapower(
    net: str = typer.Argument(..., help="A pandapower built-in net (mv_oberrhein, create_cigre_network_mv, "
                                        "simple_mv_open_ring_net, lv_schutterwald) or a pandapower JSON file"),
    out: Path = typer.Option(..., help="Network directory to write (nodes.csv, corridors.csv, customers.csv, network.json, "
                                       "pandapower.json: the net itself)"),
    customers: Optional[Path] = typer.Option(None, help=CUSTOMERS_HELP),
    crs: Optional[str] = typer.Option(None, help=CRS_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_FOLDER_HELP),
) -> None:
    """A pandapower net as the existing network: lines become existing corridors, transformers feeder points."""
    from costmodel.grid.importers import load_pandapower

    net_path = Path(net) if net.lower().endswith(".json") else None
    check_outputs([out], force=force, inputs=[net_path, customers])
    _write_imported(load_pandapower(net), Path(net).name, out, customers, crs)


def import_simbench(
    code: str = typer.Argument(..., help="A SimBench code, e.g. 1-MV-rural--0-sw (needs the optional simbench package)"),
    out: Path = typer.Option(..., help="Network directory to write (nodes.csv, corridors.csv, customers.csv, network.json, "
                                       "pandapower.json: the net itself)"),
    customers: Optional[Path] = typer.Option(None, help=CUSTOMERS_HELP),
    crs: Optional[str] = typer.Option(None, help=CRS_HELP),
    force: bool = typer.Option(False, "--force", help=FORCE_FOLDER_HELP),
) -> None:
    """A SimBench grid as the existing network (its medium-voltage part below the feeding transformers)."""
    from costmodel.grid.importers import load_simbench

    check_outputs([out], force=force, inputs=[customers])
    _write_imported(load_simbench(code), f"SimBench {code}", out, customers, crs)


def _write_imported(net, source: str, out: Path, customers: Path | None, crs: str | None) -> None:
    from costmodel.grid.importers import PANDAPOWER_FILE, network_from_pandapower, write_network
    from costmodel.grid.network import read_csv

    new = read_csv(customers) if customers is not None else None
    with stdout_to_stderr():  # pandapower's power flow may print
        network = network_from_pandapower(net, new, crs, source)
    folder = write_network(network, out, net)
    kinds = network.nodes["kind"].value_counts()
    table_console().print(
        f"wrote {folder}: {len(network.nodes)} nodes ({kinds.get('feeder_point', 0)} feeder points, "
        f"{kinds.get('customer', 0)} customers), {len(network.corridors)} corridors "
        f"({int((network.corridors['status'] == 'existing').sum())} existing); coordinates in "
        f"{network.crs or 'the units of the net'}; the net itself in {PANDAPOWER_FILE}, for the AC check on the whole net",
        markup=False)
