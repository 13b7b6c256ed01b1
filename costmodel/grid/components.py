"""An optimised design as the Components long frame the quote prices and funds.

New corridors lie in the `extension` zone; a reinforced existing corridor (a larger conductor in
place of the installed one) in `upstream`; an existing corridor used as it is costs nothing and is
not listed. A corridor shared by several applications is split between them in proportion to the
demand of each that flows through it, so the quantities of one corridor add up to its total.
The quantity of a cable is route km times the corridor's cost multiplier (e.g. 1.5 where a road
crossing makes the route dearer), so that catalogue price x quantity is what the optimiser paid.
A new transformer at a candidate site is one item (unit "each") in the `extension` zone, split the
same way among the applications it supplies.
"""

from __future__ import annotations

import pandas as pd

from costmodel.designs.standard import COMPONENT_COLUMNS
from costmodel.grid.radial import Design

ZONE_BY_CHANGE = {"new": "extension", "reinforced": "upstream"}


def design_to_components(design: Design) -> pd.DataFrame:
    """Components of every application in the design (long frame, COMPONENT_COLUMNS)."""
    built = design.corridors[design.corridors["change"].isin(list(ZONE_BY_CHANGE))]
    route = built["from_node"] + "-" + built["to_node"]
    crossing = built["cost_multiplier"].map(lambda m: "" if m == 1 else f" x{m:g} cost multiplier")
    verb = built["change"].map({"new": "new cable", "reinforced": "reinforcement cable"})
    lines = pd.DataFrame({"corridor_id": built["corridor_id"], "std_type": built["std_type"], "change": built["change"],
                          "component": verb + " " + built["std_type"] + ", corridor " + built["corridor_id"] + " (" + route + ")" + crossing,
                          "total": built["length_km"] * built["cost_multiplier"], "unit": "km", "flow_kva": built["flow_kva"]})
    # a new transformer is one item, shared like a corridor by the demand it carries
    new = design.transformers
    transformers = pd.DataFrame({"corridor_id": new["corridor_id"], "std_type": new["std_type"], "change": new["change"],
                                 "component": "new transformer " + new["std_type"] + " at site " + new["node_id"]
                                 + " (primary from " + new["hv_node"] + ")",
                                 "total": 1.0, "unit": "each", "flow_kva": new["flow_kva"]})
    items = pd.concat([lines, transformers], ignore_index=True)
    if items.empty:
        return pd.DataFrame(columns=COMPONENT_COLUMNS)
    shares = design.usage.merge(items, on="corridor_id")
    report = design.report
    gap = "" if report.get("gap") is None else f", gap {100 * report['gap']:.2f}%"
    rule = f"grid.optimiser: least-cost radial extension ({report.get('status')}{gap}, {report.get('solver', 'HiGHS')})"
    return pd.DataFrame({
        "application_id": shares["application_id"].astype(str),
        "component": shares["component"],
        "std_type": shares["std_type"],
        "zone": shares["change"].map(ZONE_BY_CHANGE),
        "quantity": (shares["total"] * shares["demand_kva"] / shares["flow_kva"]).astype(float),
        "unit": shares["unit"],
        "design_rule": rule,
    })[COMPONENT_COLUMNS].sort_values(["application_id", "component"]).reset_index(drop=True)
