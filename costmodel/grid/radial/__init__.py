"""Capacitated fixed-charge design of a radial extension: the cheapest set of corridors, conductors and new
transformers that feeds every customer within capacity and voltage-drop limits.

One module per step:
  data        the indexed instance (`prepare`) and a design evaluated on the linear model (`evaluate`)
  build       the Pyomo model, and the voltage and cut rows added while solving
  warm_start  a greedy feasible design, the MIP start
  solver      HiGHS through Pyomo's appsi, with lazy voltage rows, progress and fix-and-optimise
  neighbourhood  the fix-and-optimise neighbourhoods: two sources' trees freed, the rest of a design fixed; or a
                 window around a plot, every tree crossing it re-routed
  extraction  the design as frames (corridors, nodes, sources, customers, usage, transformers)
  diagnosis   why an instance is infeasible, naming the customer and the limit

`optimise` runs them in order: the cheap per-customer diagnosis first (an instance that fails it is not
solved), then the solver, then the joint diagnosis if the solver proves the instance infeasible.
"""

from __future__ import annotations

import time

from costmodel.grid.radial.build import FORMULATIONS, build_model
from costmodel.grid.radial.data import Instance, Tree, evaluate, prepare
from costmodel.grid.radial.diagnosis import diagnose_alone, diagnose_jointly
from costmodel.grid.radial.extraction import TRANSFORMER_COLUMNS, Design, extract
from costmodel.grid.radial.solver import SolveResult, solve

__all__ = ["FORMULATIONS", "TRANSFORMER_COLUMNS", "Design", "Instance", "SolveResult", "Tree", "build_model",
           "diagnose_alone", "diagnose_jointly", "evaluate", "extract", "optimise", "prepare", "solve"]


def optimise(inst: Instance, time_limit_s: float = 60.0, mip_gap: float = 0.005, **solve_options) -> SolveResult:
    """Diagnose, solve, and diagnose again if the solver proves infeasibility; `solve_options` go to `solve`."""
    start = time.perf_counter()
    problems = diagnose_alone(inst)
    if problems:
        return SolveResult("infeasible", None, None, None, time.perf_counter() - start, None, 0, 0, None, problems, [])
    result = solve(inst, time_limit_s, mip_gap, **solve_options)
    if result.status == "infeasible":
        result.diagnosis = diagnose_jointly(inst)
    return result
