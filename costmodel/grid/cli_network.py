"""One call for the CLI / API: network directory + customers -> design, components, AC check, map."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from costmodel.grid.components import design_to_components
from costmodel.grid.model import extract, prepare, solve
from costmodel.grid.network import load_customers, load_grid_limits, load_network
from costmodel.grid.plot import plot_design
from costmodel.grid.validate import validate_design


def optimize_network(network_dir: str | Path, customers_file: str | Path, ruleset_id: str,
                     time_limit_s: float = 60.0, mip_gap: float = 0.005,
                     out_map: str | Path | None = None, when: dt.date | None = None,
                     formulation: str = "plain") -> dict:
    """Cheapest radial extension from the existing network to every customer of `customers_file`.

    Returns a dict: report (status optimal|feasible|no_solution|infeasible|solver_unavailable, summary, stopped, objective_cny,
    bound_cny, gap, seconds, diagnosis [texts naming customer and limit], references, ...),
    design (Design: corridors / nodes / sources / customers / usage frames), components (long
    Components frame, zone extension for new corridors, upstream for reinforcements), validation
    (AC power flow: summary, buses, lines, violations; empty when there is no design) and map (path
    of the PNG/SVG written, or None). `formulation`: see `model.FORMULATIONS`; "multicommodity" is
    the tighter on Steiner-like networks where capacity and voltage do not bind (e.g. imported .gr files).
    """
    network = load_network(network_dir)
    customers = load_customers(customers_file, network)
    limits = load_grid_limits(ruleset_id, when)
    instance = prepare(network, customers, limits)
    design = extract(instance, solve(instance, time_limit_s, mip_gap, formulation=formulation))
    has_design = design.report["status"] in ("optimal", "feasible", "solver_unavailable")
    validation = validate_design(design, network) if has_design else {"summary": {}, "violations": []}
    map_path = None
    if out_map is not None and has_design:
        map_path = str(plot_design(network, design, out_map, title=f"{Path(network_dir).name}: {ruleset_id}"))
    return {"report": design.report, "design": design, "components": design_to_components(design),
            "validation": validation, "map": map_path}
