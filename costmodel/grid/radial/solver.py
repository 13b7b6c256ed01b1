"""Solving the radial model: the warm start, lazy voltage rows, progress, and the result with its proven bound.

Voltage rows are added lazily: solve, compute the drops on the radial result, add the rows of arcs into the
nodes on violated paths, solve again (a relaxation until no drop exceeds the limit; every round's bound is a
valid bound). If the MIP stops at its share of the time limit without a proof, fix-and-optimise re-solves small
MIPs around its design (`improve_in_neighbourhoods`) for the rest. Diagnoses of an infeasible instance are not
made here: `costmodel.grid.radial.optimise` runs them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.appsi.solvers import Highs

from costmodel.grid.radial.build import add_connectivity_cuts, add_voltage_rows, build_model
from costmodel.grid.radial.data import Instance, Tree, evaluate, path_to_root, tree_parent
from costmodel.grid.radial.neighbourhood import neighbourhoods, regions
from costmodel.grid.radial.warm_start import greedy_design, repair_voltage, resize
from costmodel.grid.status import NETWORK_GAP, status_of


def set_start(m: pyo.ConcreteModel, inst: Instance, chosen: list[int], formulation: str) -> None:
    """Load a radial design into the model's variables as a MIP start. It may build a corridor the Steiner reductions
    bounded at 0 (`radial.steiner_reductions`): HiGHS then does without the start, and the design stays the incumbent."""
    tree = evaluate(inst, chosen)
    for o in m.options:
        m.build[o].set_value(1 if o in tree.flow_kva else 0, skip_validation=True)
        m.flow_kva[o].set_value(tree.flow_kva.get(o, 0.0))
    position = {int(s): i for i, s in enumerate(inst.sources)}
    used = set(int(x) for x in tree.supplied_by if x >= 0)
    for s in m.sources:
        m.use_source[s].set_value(1 if int(inst.sources[s]) in used else 0)
    for n in m.nodes:
        m.drop_pct[n].set_value(min(tree.drop_pct[n], inst.limits.voltage_deviation_limit_pct))
    if formulation in ("plain", "tree"):
        for s in m.sources:
            node = int(inst.sources[s])
            m.supply_kva[s].set_value(sum(inst.demand_kva[n] for n in np.flatnonzero(tree.supplied_by == node)))
        return
    parent = tree_parent(inst, tree.chosen)
    arc_of, tail_of = inst.options["arc"].to_numpy(), inst.options["tail"].to_numpy()
    for k in m.customers:
        for a in m.arcs:
            m.share[k, a].set_value(0)
        for s in m.sources:
            m.root_share[k, s].set_value(0)
        path, root = path_to_root(parent, tail_of, int(inst.customer_nodes[k]))
        for o in path:
            m.share[k, int(arc_of[o])].set_value(1)
        m.root_share[k, position[root]].set_value(1)


def chosen_from_model(m: pyo.ConcreteModel) -> list[int]:
    """The arc-options the loaded solution builds."""
    return [o for o in m.options if m.build[o].value is not None and m.build[o].value > 0.5]


def add_violated_voltage_rows(m: pyo.ConcreteModel, inst: Instance, tree: Tree) -> int:
    """The voltage rows of the arcs into every node on the paths of the customers whose drop breaks the limit."""
    parent, tail_of = tree_parent(inst, tree.chosen), inst.options["tail"].to_numpy()
    nodes = set()
    for k in tree.violated:
        node = int(inst.customer_nodes[k])
        nodes.update([node, *(int(tail_of[o]) for o in path_to_root(parent, tail_of, node)[0])])
    return add_voltage_rows(m, inst, inst.arcs.index[inst.arcs["head"].isin(nodes)])


# Fix-and-optimise (`improve_in_neighbourhoods`): the share of the time limit left to it after the whole MIP; the
# margins of its neighbourhoods, smallest first; the time limit of one neighbourhood's MIP per hop of margin
# (measured on the park grids, docs/performance.md)
NEIGHBOURHOOD_SHARE = 0.5
NEIGHBOURHOOD_LEVELS = (("pairs", 1), ("regions", 2), ("pairs", 2), ("pairs", 3))
NEIGHBOURHOOD_S_PER_HOP = 3.0
NEIGHBOURHOOD_KINDS = {"pairs": neighbourhoods, "regions": regions}
# Per-customer cut rows on the LP before the MIP (`build.add_connectivity_cuts`): at most this many rounds, in at
# most this share of the time limit (with fix-and-optimise to find the designs, they pay: docs/performance.md)
CUT_ROUNDS = 20
CUT_SHARE = 0.25


def improve_in_neighbourhoods(m: pyo.ConcreteModel, solver: Highs, inst: Instance, incumbent: list[int],
                              incumbent_cost: float, deadline: float, formulation: str, log: list[dict],
                              started: float) -> tuple[list[int], float]:
    """Fix-and-optimise: re-solve the MIP over two sources' trees at a time, the rest of the incumbent fixed
    (`neighbourhood.neighbourhoods`), keep any cheaper design that passes every check, and start again from it at
    the smallest margin; a pass over all pairs that finds nothing cheaper moves on to the next margin. Stops at
    `deadline` or after a pass at the largest margin finds nothing. Voltage rows that a neighbourhood's design shows
    missing are added to `m` (they hold for the whole model). Every variable is unfixed again.

    A neighbourhood that found nothing is not solved again while it is the same sub-MIP (the same free options and
    the same start on them; the options fixed at 1 share no node with a free one, so they do not change what it can
    find): at no margin if HiGHS proved it, at the same margin (the same time limit) otherwise. After an
    improvement, only the pairs whose freed trees or free nodes changed are solved again, so the search reaches the
    next level sooner. Voltage rows added make every sub-MIP new."""
    build_vars = m.build
    level = 0
    tried: set[tuple] = set()
    try:
        while level < len(NEIGHBOURHOOD_LEVELS):
            kind, margin = NEIGHBOURHOOD_LEVELS[level]
            level += 1
            for hood in NEIGHBOURHOOD_KINDS[kind](inst, incumbent, margin):
                remaining = deadline - time.perf_counter()
                if remaining < 1.0:
                    return incumbent, incumbent_cost
                same = (hood.free.tobytes(), np.intersect1d(incumbent, hood.free).tobytes())
                if (same, None) in tried or (same, margin) in tried:
                    continue
                fixed_one, free = set(hood.fixed_built.tolist()), set(hood.free.tolist())
                for o in m.options:
                    if o in free:
                        build_vars[o].unfix()
                    else:
                        build_vars[o].fix(1 if o in fixed_one else 0)
                set_start(m, inst, incumbent, formulation)
                solver.config.warmstart = True
                solver.config.time_limit = min(NEIGHBOURHOOD_S_PER_HOP * margin, remaining)
                solver.config.mip_gap = 0.0
                result = solver.solve(m)
                proved = result.termination_condition.name in ("optimal", "infeasible")
                tried.add((same, None if proved else margin))
                if result.best_feasible_objective is None or not math.isfinite(result.best_feasible_objective):
                    continue
                result.solution_loader.load_vars()
                tree = evaluate(inst, chosen_from_model(m))
                if tree.violated:
                    add_violated_voltage_rows(m, inst, tree)
                    tried.clear()
                    repaired = repair_voltage(inst, tree.chosen)
                    tree = evaluate(inst, repaired) if repaired is not None else tree
                if tree.feasible:   # a time-limited MIP may leave conductors larger than their flow needs
                    resized = resize(inst, tree.chosen)
                    if resized is not None:
                        tree = min(tree, evaluate(inst, resized), key=lambda t: t.cost_cny)
                if tree.feasible and tree.cost_cny < incumbent_cost - 1e-6:
                    incumbent, incumbent_cost = tree.chosen, tree.cost_cny
                    log.append({"step": f"neighbourhood {kind} {hood.freed_sources}, margin {margin}",
                                "seconds": time.perf_counter() - started, "objective_cny": incumbent_cost})
                    level = 0
                    break
    finally:
        for o in m.options:
            build_vars[o].unfix()
    return incumbent, incumbent_cost


PROGRESS_EVERY_S = 0.5   # how often a progress display is refreshed; not a result, just its pace


class _ProgressFeed:
    """Incumbent, bound and gap for `solve(on_progress=...)`, from the heuristics and from HiGHS' MIP callback.

    Pyomo's appsi interface has no callback hook of its own: the feed subscribes to the MIP-interrupt callback of
    the highspy object appsi keeps (`Highs._solver_model`, set by `set_instance`), which HiGHS calls between
    branch-and-bound steps with its primal and dual bounds. The incumbent shown is the better of the designs
    checked so far and the current solve's own (with lazy voltage rows, the latter may still break a limit
    that a later round adds); the bound is the best valid one. A neighbourhood's MIP (fix-and-optimise) bounds
    only its restricted model: while `restricted` is set, HiGHS' dual bounds are not shown.
    """

    def __init__(self, on_progress: Callable[[dict], None] | None, start: float):
        self.on_progress, self.start, self.last = on_progress, start, -math.inf
        self.checked: float | None = None        # cost of the best design checked against every limit
        self.round_primal: float | None = None   # the current solve's incumbent
        self.bound: float | None = None
        self.restricted = False

    def listen(self, solver: Highs) -> None:
        solver._solver_model.cbMipInterrupt.subscribe(self._from_highs)

    def new_round(self, checked: float | None, bound: float | None) -> None:
        self.checked, self.round_primal = checked, None
        self.bound = bound if self.bound is None or bound is None else max(self.bound, bound)

    def _from_highs(self, event) -> None:
        primal, dual = event.data_out.mip_primal_bound, event.data_out.mip_dual_bound
        if math.isfinite(primal):
            self.round_primal = primal
        if math.isfinite(dual) and not self.restricted:
            self.bound = dual if self.bound is None else max(self.bound, dual)
        self.send()

    def send(self, force: bool = False) -> None:
        now = time.perf_counter() - self.start
        if self.on_progress is None or (not force and now - self.last < PROGRESS_EVERY_S):
            return
        self.last = now
        known = [c for c in (self.checked, self.round_primal) if c is not None]
        incumbent = min(known) if known else None
        gap = None
        if incumbent is not None and self.bound is not None:
            gap = max(0.0, (incumbent - self.bound) / max(abs(incumbent), 1e-9))
        self.on_progress({"seconds": now, "incumbent_cny": incumbent, "bound_cny": self.bound, "gap": gap})


@dataclass
class SolveResult:
    status: str                    # optimal | feasible | no_solution | infeasible | solver_unavailable
    objective_cny: float | None
    bound_cny: float | None
    gap: float | None
    seconds: float
    chosen: list[int] | None
    iterations: int
    voltage_rows: int
    warm_start_cny: float | None
    diagnosis: list[str]
    log: list[dict]
    stopped: str = ""              # a feasible design: time_limit (out of time) or gap_limit (within the gap asked for)


def solve(inst: Instance, time_limit_s: float = 60.0, mip_gap: float = 0.005, *,
          formulation: str = "plain", voltage_rows: str = "lazy", warm_start: bool = True,
          threads: int | None = None, log_file: str = "", on_progress: Callable[[dict], None] | None = None,
          cut_rounds: int = CUT_ROUNDS, start_design: list[int] | None = None,
          neighbourhood_share: float = NEIGHBOURHOOD_SHARE) -> SolveResult:
    """Solve to `mip_gap` within `time_limit_s` (all row-generation rounds together).

    `on_progress`, if given, is called with {seconds, incumbent_cny, bound_cny, gap} (None where unknown) after
    the warm start and during each MIP solve, at most every PROGRESS_EVERY_S seconds (see `_ProgressFeed`).
    `start_design` (arc-options), if feasible and cheaper than the greedy warm start, is the MIP start instead.
    The whole MIP has the time limit but `neighbourhood_share` of it; if it stops at its share without a proof,
    fix-and-optimise (`improve_in_neighbourhoods`) improves its design in the rest (0: the MIP has it all).
    """
    start = time.perf_counter()
    log: list[dict] = []
    if len(inst.customers) == 0:
        return SolveResult("optimal", 0.0, 0.0, 0.0, 0.0, [], 0, 0, None, [], log)
    incumbent = greedy_design(inst) if warm_start else None
    incumbent_cost = evaluate(inst, incumbent).cost_cny if incumbent is not None else None
    given = evaluate(inst, start_design) if start_design is not None else None
    if given is not None and given.feasible and (incumbent_cost is None or given.cost_cny < incumbent_cost):
        incumbent, incumbent_cost = given.chosen, given.cost_cny
    warm_cost = incumbent_cost
    log.append({"step": "warm_start", "seconds": time.perf_counter() - start, "objective_cny": incumbent_cost})
    feed = _ProgressFeed(on_progress, start)
    feed.new_round(incumbent_cost, None)
    feed.send(force=True)
    m = build_model(inst, formulation, voltage_rows)
    log.append({"step": "build", "seconds": time.perf_counter() - start})
    solver = Highs()
    if not solver.available():
        return SolveResult("solver_unavailable", incumbent_cost, None, None, time.perf_counter() - start, incumbent, 0, 0,
                           warm_cost, ["the HiGHS solver is not available (install highspy): the design is the heuristic "
                                       "warm start, feasible but not proven optimal"], log)
    solver.config.load_solution = False
    solver.config.stream_solver = False
    if log_file:
        solver.config.logfile = log_file
    if threads:
        solver.highs_options = {"threads": threads}
    if on_progress is not None:
        solver.set_instance(m)
        feed.listen(solver)
    bound, status, iterations = None, None, 0
    if cut_rounds:
        cut_log = add_connectivity_cuts(m, solver, inst, cut_rounds, start + CUT_SHARE * time_limit_s)
        log.append({"step": "connectivity cuts", "seconds": time.perf_counter() - start} | cut_log)
    neighbourhoods_on = neighbourhood_share > 0 and len(inst.sources) > 1
    mip_time_s = time_limit_s * (1 - neighbourhood_share) if neighbourhoods_on else time_limit_s
    while True:
        remaining = mip_time_s - (time.perf_counter() - start)
        if remaining <= 0.5:
            status = "time_limit"
            break
        iterations += 1
        solver.config.time_limit = remaining
        solver.config.mip_gap = mip_gap
        solver.config.warmstart = incumbent is not None
        if incumbent is not None:
            set_start(m, inst, incumbent, formulation)
        feed.new_round(incumbent_cost, bound)
        result = solver.solve(m)
        tc = result.termination_condition
        found = result.best_feasible_objective is not None and math.isfinite(result.best_feasible_objective)
        round_bound = result.best_objective_bound
        if round_bound is not None and math.isfinite(round_bound):
            bound = round_bound if bound is None else max(bound, round_bound)
        log.append({"step": f"solve {iterations}", "seconds": time.perf_counter() - start,
                    "termination": str(tc), "objective_cny": result.best_feasible_objective, "bound_cny": round_bound})
        if tc.name == "infeasible":
            if incumbent is not None:  # cannot happen for a relaxation; keep the proof honest
                raise RuntimeError("the model is infeasible although a feasible design is known")
            status = "infeasible"
            break
        if not found:
            status = "time_limit"
            break
        result.solution_loader.load_vars()
        chosen = chosen_from_model(m)
        tree = evaluate(inst, chosen)
        if tree.unreached or tree.overloaded or tree.over_spare:
            raise RuntimeError(f"solver result is not a feasible radial design: {tree}")
        if tree.violated:
            added = add_violated_voltage_rows(m, inst, tree)
            repaired = repair_voltage(inst, tree.chosen)
            if repaired is not None:
                cost = evaluate(inst, repaired).cost_cny
                if incumbent_cost is None or cost < incumbent_cost:
                    incumbent, incumbent_cost = repaired, cost
            log[-1].update(violated=len(tree.violated), rows_added=added)
            if added == 0:
                raise RuntimeError("voltage violated on arcs whose rows are present")
            continue
        if incumbent_cost is None or tree.cost_cny <= incumbent_cost + 1e-6:
            incumbent, incumbent_cost = tree.chosen, tree.cost_cny
        status = "optimal" if tc.name == "optimal" else "time_limit"
        break
    if neighbourhoods_on and status == "time_limit" and incumbent is not None:
        feed.new_round(incumbent_cost, bound)
        feed.restricted = True
        incumbent, incumbent_cost = improve_in_neighbourhoods(m, solver, inst, incumbent, incumbent_cost,
                                                              start + time_limit_s, formulation, log, start)
        feed.restricted = False
    if incumbent is not None:   # a time-limited solve may leave a conductor larger than its flow needs
        resized = resize(inst, incumbent)
        checked = evaluate(inst, resized) if resized is not None else None
        resized_cost = checked.cost_cny if checked is not None and checked.feasible else math.inf
        if resized_cost < incumbent_cost - 1e-6:
            log.append({"step": "resize", "seconds": time.perf_counter() - start, "objective_cny": resized_cost})
            incumbent, incumbent_cost = resized, resized_cost
    seconds = time.perf_counter() - start
    feed.new_round(incumbent_cost, bound)
    feed.send(force=True)
    if status == "infeasible":
        return SolveResult("infeasible", None, bound, None, seconds, None, iterations, len(m.voltage_drop_pct), warm_cost,
                           [], log)
    if incumbent is None:
        return SolveResult("no_solution", None, bound, None, seconds, None, iterations, len(m.voltage_drop_pct), warm_cost,
                           [f"no feasible design found within the time limit of {time_limit_s:g} s"], log)
    gap = None if bound is None else max(0.0, (incumbent_cost - bound) / max(abs(incumbent_cost), 1e-9))
    # "optimal" within the default tolerance only, whatever gap was asked for; otherwise "feasible" and why it stopped
    reported = status_of(gap, NETWORK_GAP)
    stopped = "" if reported == "optimal" else "gap_limit" if status == "optimal" else status
    return SolveResult(reported, incumbent_cost, bound, gap, seconds, incumbent, iterations,
                       len(m.voltage_drop_pct), warm_cost, [], log, stopped)
