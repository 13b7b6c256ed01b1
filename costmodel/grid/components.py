"""An optimised design as the Components long frame the quote prices and funds.

New corridors lie in the `extension` zone; a reinforced existing corridor (a larger conductor in
place of the installed one) in `upstream`; an existing corridor used as it is costs nothing and is
not listed. A corridor shared by several applications is split between them in proportion to the
demand of each that flows through it, so the quantities of one corridor add up to its total.
The quantity of a cable is route km times the corridor's cost multiplier (e.g. 1.5 where a road
crossing makes the route dearer), so that catalogue price x quantity is what the optimiser paid.
"""

from __future__ import annotations

import pandas as pd

from costmodel.grid.model import Design

COMPONENT_COLUMNS = ["application_id", "component", "std_type", "zone", "quantity", "unit", "design_rule"]
ZONE_BY_CHANGE = {"new": "extension", "reinforced": "upstream"}


def design_to_components(design: Design) -> pd.DataFrame:
    """Components of every application in the design (long frame, COMPONENT_COLUMNS)."""
    built = design.corridors[design.corridors["change"].isin(list(ZONE_BY_CHANGE))]
    if built.empty:
        return pd.DataFrame(columns=COMPONENT_COLUMNS)
    shares = design.usage.merge(built, on="corridor_id")
    shares["quantity"] = (shares["length_km"] * shares["cost_multiplier"]
                          * shares["demand_kva"] / shares["flow_kva"])
    report = design.report
    gap = "" if report.get("gap") is None else f", gap {100 * report['gap']:.2f}%"
    rule = f"grid.optimiser: least-cost radial extension ({report.get('status')}{gap}, {report.get('solver', 'HiGHS')})"
    route = shares["from_node"] + "-" + shares["to_node"]
    crossing = shares["cost_multiplier"].map(lambda m: "" if m == 1 else f" x{m:g} cost multiplier")
    verb = shares["change"].map({"new": "new cable", "reinforced": "reinforcement cable"})
    return pd.DataFrame({
        "application_id": shares["application_id"].astype(str),
        "component": verb + " " + shares["std_type"] + ", corridor " + shares["corridor_id"] + " (" + route + ")" + crossing,
        "std_type": shares["std_type"],
        "zone": shares["change"].map(ZONE_BY_CHANGE),
        "quantity": shares["quantity"].astype(float),
        "unit": "km",
        "design_rule": rule,
    })[COMPONENT_COLUMNS].sort_values(["application_id", "component"]).reset_index(drop=True)
