"""Exact Steiner tree in graphs: reductions, heuristic warm start, directed cut model with row generation.

Formulation (bidirected cut, Wong 1984): every edge {u, v} becomes arcs u->v and v->u with binary
x; the root is the first terminal; for every node set S without the root but with a terminal,
x(arcs entering S) >= 1. Those rows are exponentially many, so they are generated.

``build``:
1. exact reductions (``reductions.reduce``) and the heuristic tree (``heuristics``): incumbent;
2. Wong's dual ascent: a lower bound, reduced costs and a first set of cuts; arcs whose
   reduced-cost bound exceeds the incumbent are fixed at 0, edges fixed both ways are deleted and
   the reductions rerun (a few rounds). Often this alone proves the incumbent optimal. On small
   instances with few terminals (``_CHEAP_PROOF_WORK``, ``_CHEAP_PROOF_TERMINAL_SHARE``) NTDk joins the
   reductions only once these rounds stall short of a proof; then the heuristic runs again on its
   smaller graph and the rounds start again;
3. Dreyfus–Wagner's dynamic programme if few terminals are left (``dreyfus_wagner.fits``);
   otherwise the Pyomo model: in-degree rows, the dual-ascent cuts, and an objective with each
   terminal's cheapest entering cost moved into the constant (see ``_build_pyomo``).

``solve``:
1. LP phase: solve the LP, find violated cuts by max-flow/min-cut (OR-tools' push-relabel) from the
   root to every terminal (back cuts, nested up to 5 per terminal, a tiny "creep" capacity on every
   arc so cuts are small), add them and the violated flow-balance / one-way rows, re-solve warm,
   until nothing is violated. The LP is solved by HiGHS's interior point method (tolerance 1e-6)
   without crossover, so its points are inexact; their row duals, sign-corrected, give a proven
   lower bound each round (``_CutLoop.dual_bound``) and reduced costs that fix arcs at 0 when bound
   + reduced-cost path through the arc exceeds the incumbent; cuts slack at six LP points in a
   row leave the LP (``_CutLoop.purge``). HiGHS's tolerance is relative to the objective with its
   constant, so that bound sits 1-2 below the point's objective on instance187; once the midpoint of
   the two would close the gap, the same LP is re-solved once at tolerance 1e-8 for a bound within
   about 0.06 of its value (``_LP_EXACT_OPTIONS``, ``_EXACT_MARGIN``);
2. an LP-guided heuristic (weights scaled by 1 - x*; also during the loop, after 5 LP rounds and
   again at gaps that double while it finds nothing better, and as soon as the bound leaves only
   incumbent - 1 open) and reduced-cost fixing;
3. MIP phase if bound and incumbent still differ: the same rows plus integrality, the incumbent as
   MIP start; each integer solution is checked for connectivity, repaired into a tree by the
   LP-guided heuristic (a new incumbent if cheaper), and cuts around its unreached parts are added
   until it is a tree.

Pyomo's persistent HiGHS interface (appsi) keeps the HiGHS instance alive, so only added rows and
changed bounds are passed on each round. Pyomo's share of the time was measured on instance169
(cProfile, 20 s run): adding rows 1.0 s and set_instance 0.5 s against 12.6 s inside HiGHS, so
the loop stays in Pyomo rather than raw highspy.

``extract`` maps the tree back to original edge ids (forced edges, contracted paths and NTDk's
replacement edges included, shared original edges once).
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
from ortools.graph.python import max_flow
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers import Highs
from pyomo.core.expr.numeric_expr import LinearExpression
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from costmodel.errors import InputError
from costmodel.grid import dreyfus_wagner as dw
from costmodel.grid import heuristics as heur
from costmodel.grid.reductions import (
    REDUCTION_NAMES, WorkGraph, dual_ascent, dual_ascent_fixing, non_terminal_degree_test, reduce,
)
from costmodel.grid.status import STEINER_GAP, status_of
from costmodel.grid.stp import SteinerProblem

_SCALE = 1_000_000
_VIOLATION = 1e-6
_PURGE_SLACK = 0.01  # a cut this far from tight ...
_PURGE_ROUNDS = 6  # ... at this many LP points in a row leaves the LP (8 before: instance187 60 -> 55 rounds)
_HEURISTIC_ROUNDS = 5  # LP rounds before the first LP-guided heuristic, and between successful ones
# ipm_optimality_tolerance 1e-6 (default 1e-8): instance187's proof 162-189 s -> 90 s, 65 LP rounds
# against 70, each about 40 % cheaper; at 1e-5 the points were too rough and it never converged
# (measured). HiGHS then calls the point "unknown"; the bound comes from the duals either way.
_LP_OPTIONS = {"presolve": "off", "solver": "ipm", "run_crossover": "off", "ipm_optimality_tolerance": 1e-6}
_LP_POLISH_OPTIONS = {"presolve": "off", "solver": "simplex", "run_crossover": "on"}
# HiGHS's tolerance is relative to the whole objective, terminal costs moved into the constant included
# (instance187: 3.4 million), so a point at 1e-6 has row duals 1-2 below its objective; at 1e-8 they are
# within about 0.06. Such a re-solve is only worth it when it may end the search (see ``solve``)
_LP_EXACT_OPTIONS = {**_LP_OPTIONS, "ipm_optimality_tolerance": 1e-8}
# ... and only when the estimate clears what closes the gap by this much: LP values of integral instances often
# sit exactly on the whole number that would not close it (instance092's and 185's estimates 0.008 above it, their
# exact bounds 0.002 and 0.012 below: re-solves in vain; instance167 0.07 above, proven two rounds earlier)
_EXACT_MARGIN = 0.05
_MIP_OPTIONS = {"presolve": "on", "solver": "choose", "run_crossover": "on"}  # options persist between solves
# Up to this many terminals x edges, NTDk waits until dual ascent stalls: the heuristic and dual ascent are cheap
# there (Track 1's largest, instance187: 34 x 2,474) and prove most small instances without it; should they stall,
# the heuristic runs again after NTDk. Above it (Track 2's 250 to 1,379 terminals) NTDk runs from the start, as a
# second heuristic run would cost seconds (instance191's took 18 s)
_CHEAP_PROOF_WORK = 200_000
# ... and where at most this share of the nodes are terminals: dual ascent proves few instances with more (Track 2's
# instance016, 029, 035 and 045, 39-51 % terminals, were 0.03-0.27 s slower with NTDk waiting; Track 1 has <= 19 %)
_CHEAP_PROOF_TERMINAL_SHARE = 0.25
_HEURISTIC_AGAIN_SHARE = 0.05  # of the nodes NTDk removes there before the heuristic runs again


@dataclass
class SteinerModel:
    """Everything ``solve`` needs: the reduced graph, the incumbent and the Pyomo model."""

    problem: SteinerProblem
    work: WorkGraph
    graph: heur.Graph  # reduced graph, 0-based compact indices
    node_ids: np.ndarray  # compact index -> WorkGraph node
    edge_keys: np.ndarray  # compact edge index -> WorkGraph edge key
    terminals: np.ndarray  # compact indices
    root: int
    tail: np.ndarray  # arc a = 2e: u->v, 2e+1: v->u
    head: np.ndarray
    incumbent: list[int]  # original edge ids of the best tree known
    incumbent_cost: float
    heuristic_objective: float
    integral_weights: bool
    seconds_build: float
    status: str = "unsolved"  # infeasible | proven (incumbent optimal before any LP) | unsolved
    dual_bound: float = 0.0  # dual-ascent bound, original terms
    start_tree: np.ndarray | None = None  # compact edges of a tree for the MIP start
    arc_fixed: np.ndarray | None = None  # arcs in no tree cheaper than the incumbent
    pyomo: pyo.ConcreteModel | None = None
    n_original_nodes: int = 0
    n_original_edges: int = 0

    def cutoff(self) -> float:
        """Reduced-graph cost a tree must stay at or below to beat the incumbent."""
        room = self.incumbent_cost - self.work.fixed_cost
        return room - 1 + 1e-6 if self.integral_weights else room - 1e-9

    def to_original(self, tree: np.ndarray) -> list[int]:
        """Original edge ids of a reduced tree, each once (NTDk's edges share original edges).

        Should the shared edges close a cycle, the minimum spanning forest of the expansion is kept:
        it joins the same nodes and costs no more (Kruskal, a loop over the tree's few edges).
        """
        orig = set(self.work.fixed_edges)
        for e in tree.tolist():
            orig.update(self.work.edges[int(self.edge_keys[e])][3])
        edges = np.array(sorted(orig), dtype=np.int64)
        frame = self.problem.edges.iloc[edges]
        ends = np.unique(np.r_[frame["from_node"].to_numpy(), frame["to_node"].to_numpy()])
        u, v = np.searchsorted(ends, frame["from_node"].to_numpy()), np.searchsorted(ends, frame["to_node"].to_numpy())
        parent = list(range(len(ends)))  # Kruskal: keeps every edge of an expansion that is a tree

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        kept = []
        for i in np.argsort(frame["weight"].to_numpy(dtype=float), kind="stable").tolist():
            ra, rb = find(int(u[i])), find(int(v[i]))
            if ra != rb:
                parent[ra] = rb
                kept.append(int(edges[i]))
        return sorted(kept)


@dataclass
class SteinerResult:
    status: str  # optimal (gap 0) | feasible | infeasible
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    edges: list[int]  # original edge ids (positions in problem.edges)
    reductions: dict[str, int] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    stopped: str = ""  # a feasible tree: time_limit (out of time) or gap_limit (within the gap asked for)


def build(problem: SteinerProblem, dual_ascent_rounds: int = 4, exact_dp: bool = True) -> SteinerModel:
    """Reduce the graph, find a heuristic tree, bound it by dual ascent and build the LP/MIP model.

    ``exact_dp``: solve by Dreyfus–Wagner when few terminals are left (off: always the cut model).
    """
    start = time.perf_counter()
    ids = problem.nodes["node"].to_numpy()
    pos = {int(x): i for i, x in enumerate(ids)}
    e = problem.edges
    u = np.array([pos[int(x)] for x in e["from_node"]], dtype=np.int64)
    v = np.array([pos[int(x)] for x in e["to_node"]], dtype=np.int64)
    w = e["weight"].to_numpy(dtype=float)
    if (w < 0).any():
        row = int(np.flatnonzero(w < 0)[0])
        raise InputError(f"edge {row}: weight {w[row]} is negative; weights must be >= 0")
    terms = np.array([pos[int(t)] for t in problem.terminals], dtype=np.int64)
    integral = bool(np.all(w == np.round(w)))

    n = len(ids)
    work = WorkGraph.from_arrays(n, u, v, w, terms)
    _, labels = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)), directed=False)
    sm = SteinerModel(problem, work, heur.Graph(0, u[:0], u[:0], w[:0]), u[:0], u[:0], u[:0], -1, u[:0],
                      u[:0], [], math.inf, math.inf, integral, 0.0, n_original_nodes=n, n_original_edges=len(u))
    if len(set(labels[terms].tolist())) > 1:
        sm.status = "infeasible"
        sm.seconds_build = time.perf_counter() - start
        return sm
    # NTDk's searches cost about 0.1 s on small instances, most of which the other tests, the heuristic and dual
    # ascent prove alone: there it waits until dual ascent stalls short of a proof
    ntd = len(terms) * len(u) > _CHEAP_PROOF_WORK or len(terms) > _CHEAP_PROOF_TERMINAL_SHARE * n
    reduce(work, ntd=ntd)
    _compact(sm, int(terms[0]))
    cuts: list[np.ndarray] = []
    if len(sm.terminals) > 1:
        _offer_heuristic_tree(sm)
    round_ = 0
    while len(sm.terminals) > 1:
        bound, red, cuts = dual_ascent(sm.graph.n, sm.tail, sm.head, np.repeat(sm.graph.w, 2), sm.terminals, sm.root)
        sm.dual_bound = max(sm.dual_bound, work.fixed_cost + bound)
        if bound > sm.cutoff():
            break  # nothing cheaper than the incumbent exists
        sm.arc_fixed = dual_ascent_fixing(sm.graph.n, sm.tail, sm.head, red, bound, sm.terminals, sm.root,
                                          sm.cutoff())
        gone = np.flatnonzero(sm.arc_fixed[0::2] & sm.arc_fixed[1::2])
        stalled = round_ >= dual_ascent_rounds or len(gone) < 0.01 * len(sm.graph.u)
        if stalled and (ntd or (exact_dp and dw.fits(sm.graph.n, len(sm.terminals)))):
            break  # NTDk would not shorten Dreyfus-Wagner by much (instance069: 0.12 -> 0.16 s with it first)
        size, eliminated = (len(work.adj), len(work.edges)), work.removed["ntd"]
        if stalled:
            # NTDk now, on a copy: should it remove nothing, the graph stays as it is, arc_fixed still fits it and
            # no second dual ascent runs (instance187)
            sm.work = copy.deepcopy(work)
            connected = _delete_edges(sm, gone)
            if connected and not non_terminal_degree_test(sm.work):
                sm.work = work
                break
            work = sm.work
            if not connected:
                break
        elif not _delete_edges(sm, gone):  # edges no tree cheaper than the incumbent uses either way go for good
            break
        round_ = 0 if stalled else round_ + 1  # stalled: dual ascent's rounds start again after NTDk
        ntd = ntd or stalled
        reduce(work, ntd=ntd)
        _compact(sm, int(terms[0]))
        sm.start_tree = None
        # NTDk's smaller graph gives a better tree (instance134, 17 % of its nodes gone: 8,419 against 8,596); after
        # a few eliminations (instance092: 3 of 110) the tree is the same and the run cost 0.1 s
        if stalled and work.removed["ntd"] - eliminated >= _HEURISTIC_AGAIN_SHARE * size[0]:
            _offer_heuristic_tree(sm)
    if sm.dual_bound > sm.incumbent_cost - (1 - 1e-6 if integral else 1e-9) or len(sm.terminals) <= 1:
        if len(sm.terminals) <= 1 and work.fixed_cost < sm.incumbent_cost:
            sm.incumbent, sm.incumbent_cost = sm.to_original(u[:0]), work.fixed_cost
            sm.heuristic_objective = min(sm.heuristic_objective, work.fixed_cost)
        sm.status = "proven"
    elif exact_dp and dw.fits(sm.graph.n, len(sm.terminals)):
        # few terminals: the exact dynamic programme beats the LP (instance069: 44 s -> 0.2 s)
        tree = dw.dreyfus_wagner(sm.graph, sm.terminals, sm.root)
        sm.incumbent, sm.incumbent_cost = sm.to_original(tree), work.fixed_cost + sm.graph.cost(tree)
        sm.dual_bound = sm.incumbent_cost
        sm.status = "proven"
    else:
        # All dual-ascent cuts go in: measured, seeding only those of <= 40 arcs (or keeping the
        # rest in a pool until violated) left instance134 and 128 short of their bound in 60 s.
        sm.pyomo = _build_pyomo(sm, cuts)
    sm.seconds_build = time.perf_counter() - start
    return sm


def _offer_heuristic_tree(sm: SteinerModel) -> None:
    """The shortest-path heuristic with local search on the current compact graph; kept if cheaper."""
    tree = heur.steiner_heuristic(sm.graph, sm.terminals)
    cost = sm.work.fixed_cost + sm.graph.cost(tree)
    sm.heuristic_objective = min(sm.heuristic_objective, cost)
    if cost <= sm.incumbent_cost:
        sm.incumbent, sm.incumbent_cost, sm.start_tree = sm.to_original(tree), cost, tree
    else:
        sm.start_tree = None  # the incumbent's tree is on the graph before NTDk


def _delete_edges(sm: SteinerModel, gone: np.ndarray) -> bool:
    """Delete compact edges that no tree cheaper than the incumbent uses; False if the terminals fall apart
    (then nothing is cheaper than the incumbent: ``sm.dual_bound`` becomes infinite)."""
    for k in sm.edge_keys[gone].tolist():
        sm.work.delete_edge(int(k))
    sm.work.removed["dual_ascent"] += len(gone)
    if _terminals_connected(sm.work):
        return True
    sm.dual_bound = math.inf
    return False


def _terminals_connected(work: WorkGraph) -> bool:
    nodes, u, v, _, _, term = work.to_arrays()
    k = len(nodes)
    _, labels = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(k, k)), directed=False)
    return len(set(labels[term].tolist())) <= 1


def _compact(sm: SteinerModel, first_terminal: int) -> None:
    """Refresh the compact arrays of ``sm`` from its work graph."""
    node_ids, ru, rv, rw, keys, rterms = sm.work.to_arrays()
    sm.graph = heur.Graph(len(node_ids), ru, rv, rw)
    sm.node_ids, sm.edge_keys, sm.terminals = node_ids, keys, rterms
    sm.root = _root_after_reduction(sm.work, first_terminal, rterms, node_ids)
    sm.tail, sm.head = np.c_[ru, rv].ravel(), np.c_[rv, ru].ravel()


def _root_after_reduction(work: WorkGraph, first: int, rterms: np.ndarray, node_ids: np.ndarray) -> int:
    """Compact index of the first terminal if it survived reduction, else of the first terminal left."""
    if len(rterms) == 0:
        return -1
    hit = np.flatnonzero(node_ids[rterms] == first)
    return int(rterms[hit[0]]) if len(hit) else int(rterms[0])


def _build_pyomo(sm: SteinerModel, cuts: list[np.ndarray]) -> pyo.ConcreteModel:
    """Directed cut model with in-degree, flow-balance and one-way rows and the dual-ascent cuts."""
    g, tail, head = sm.graph, sm.tail, sm.head
    n_arcs = len(tail)
    cost = np.repeat(g.w, 2)
    # Every terminal but the root has exactly one entering arc, so taking its cheapest entering
    # cost off all its entering arcs (into the constant) changes no choice. Wire-routing instances
    # join each terminal by edges of 100000: without this shift HiGHS's dual simplex stalls on them
    # (one LP re-solve of instance169 took 86,000 iterations instead of about 800).
    entering_min = np.full(g.n, np.inf)
    np.minimum.at(entering_min, head, cost)
    shift = np.zeros(g.n)
    others = sm.terminals[sm.terminals != sm.root]
    shift[others] = entering_min[others]
    cost = cost - shift[head]
    m = pyo.ConcreteModel(name="steiner_dcut")
    m.A = pyo.RangeSet(0, n_arcs - 1)
    m.x = pyo.Var(m.A, bounds=(0, 1), within=pyo.Reals)
    xs = [m.x[a] for a in range(n_arcs)]
    m.obj = pyo.Objective(expr=LinearExpression(constant=float(shift.sum()), linear_coefs=cost.tolist(), linear_vars=xs))
    closed = head == sm.root
    if sm.arc_fixed is not None:
        closed |= sm.arc_fixed
    for a in np.flatnonzero(closed).tolist():
        m.x[a].setub(0)
    into = _incidence(head, g.n)
    is_term = np.zeros(g.n, dtype=bool)
    is_term[sm.terminals] = True
    m.indeg = pyo.ConstraintList()
    for node in range(g.n):
        arcs = into[node]
        if node == sm.root or not arcs:
            continue
        expr = LinearExpression(constant=0.0, linear_coefs=[1.0] * len(arcs), linear_vars=[xs[a] for a in arcs])
        m.indeg.add(expr == 1 if is_term[node] else expr <= 1)
    # flow-balance (in-degree >= each outgoing arc of a Steiner node) and one-way (x_uv + x_vu <= 1)
    # rows are added only when violated: all of them up front triple the rows and slow every re-solve
    m.local = pyo.ConstraintList()
    m.cuts = pyo.ConstraintList()
    for arcs in cuts:
        m.cuts.add(LinearExpression(constant=0.0, linear_coefs=[1.0] * len(arcs),
                                    linear_vars=[xs[a] for a in arcs.tolist()]) >= 1)
    return m


def _incidence(node_of_arc: np.ndarray, n: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for a, x in enumerate(node_of_arc.tolist()):
        out[x].append(a)
    return out


def separate(sm: SteinerModel, x: np.ndarray, max_per_terminal: int = 1, deadline: float = math.inf) -> list[np.ndarray]:
    """Violated cuts (arrays of arc indices entering a node set) for the point ``x``.

    OR-tools' push-relabel max-flow: an instance187 separation round (about 135 max-flows) took
    0.50-0.59 s with scipy's Dinic and 0.14-0.15 s with it, same cuts (three LP points, measured).
    A terminal that the root reaches over arcs at 1 has flow 1 without a max-flow: instance191 (1,086
    terminals after reduction) spent 33.9 s of 72 in three rounds of separation before this. The search
    stops at ``deadline`` with the cuts found so far.
    """
    n = sm.graph.n
    linked = _reached(sm, np.flatnonzero(x >= 1 - _VIOLATION))
    cap = np.rint(np.clip(x, 0, 1) * _SCALE).astype(np.int64) + 1  # +1: creep flow for small cuts
    network = max_flow.SimpleMaxFlow()
    arc_ids = network.add_arcs_with_capacity(sm.tail.astype(np.int32), sm.head.astype(np.int32), cap)
    cuts: list[np.ndarray] = []
    seen: set[bytes] = set()
    for t in sm.terminals.tolist():
        if t == sm.root or linked[t]:
            continue
        if time.perf_counter() > deadline:
            break
        network.set_arcs_capacity(arc_ids, cap)
        for _ in range(max_per_terminal):
            if network.solve(sm.root, t) != network.OPTIMAL:
                raise RuntimeError(f"max-flow to terminal {t} failed")
            if network.optimal_flow() >= _SCALE:
                break
            # back cut: the nodes that still reach t in the residual graph
            in_s = np.zeros(n, dtype=bool)
            in_s[network.get_sink_side_min_cut()] = True
            arcs = np.flatnonzero(in_s[sm.head] & ~in_s[sm.tail])
            if x[arcs].sum() >= 1 - _VIOLATION:
                break
            key = arcs.tobytes()
            if key not in seen:
                seen.add(key)
                cuts.append(arcs)
            # nested cuts: saturate this one and look again
            network.set_arcs_capacity(arc_ids[arcs], np.full(len(arcs), _SCALE, dtype=np.int64))
    return cuts


def _reached(sm: SteinerModel, arcs_on: np.ndarray) -> np.ndarray:
    """Nodes reachable from the root over the chosen arcs."""
    n = sm.graph.n
    mat = csr_matrix((np.ones(len(arcs_on), dtype=np.int8), (sm.tail[arcs_on], sm.head[arcs_on])), shape=(n, n))
    order = breadth_first_order(mat, sm.root, directed=True, return_predecessors=False)
    seen = np.zeros(n, dtype=bool)
    seen[order] = True
    return seen


def _component_cuts(sm: SteinerModel, arcs_on: np.ndarray) -> list[np.ndarray]:
    """For an integer point: one cut per connected part of the chosen arcs that misses the root."""
    n = sm.graph.n
    reached = _reached(sm, arcs_on)
    mat = coo_matrix((np.ones(len(arcs_on)), (sm.tail[arcs_on], sm.head[arcs_on])), shape=(n, n))
    _, labels = connected_components(mat, directed=False)
    cuts = []
    for lab in sorted(set(labels[sm.terminals[~reached[sm.terminals]]].tolist())):
        in_s = labels == lab
        cuts.append(np.flatnonzero(in_s[sm.head] & ~in_s[sm.tail]))
    if cuts:
        cuts.append(np.flatnonzero(~reached[sm.head] & reached[sm.tail]))
    return cuts


def _orient(sm: SteinerModel, edges: np.ndarray) -> np.ndarray:
    """0/1 arc vector of a tree given by compact edge indices, directed away from the root."""
    g, n = sm.graph, sm.graph.n
    x = np.zeros(len(sm.tail))
    if len(edges) == 0:
        return x
    mat = coo_matrix((np.ones(len(edges)), (g.u[edges], g.v[edges])), shape=(n, n))
    order, pred = breadth_first_order(mat, sm.root, directed=False, return_predecessors=True)
    for node in order[1:].tolist():
        e = g.edge(int(pred[node]), node)
        x[2 * e if g.u[e] == pred[node] else 2 * e + 1] = 1.0
    return x


class _CutLoop:
    """Holds the persistent solver and the cut pool while ``solve`` runs."""

    def __init__(self, sm: SteinerModel):
        self.sm = sm
        self.m = sm.pyomo
        self.xs = [self.m.x[a] for a in range(len(sm.tail))]
        # only_child_vars: every variable is the model's own, so removing a row never checks for orphaned
        # variables (appsi rebuilt its variable map once per purged row: 3.4 s of instance187's 68 s)
        self.solver = Highs(only_child_vars=True)
        self.solver.config.load_solution = False
        self.solver.config.stream_solver = False
        uc = self.solver.update_config
        for flag in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                     "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                     "update_vars", "update_params", "update_named_expressions", "update_objective"):
            setattr(uc, flag, False)
        self.solver.set_instance(self.m)
        self.n_cuts = 0
        obj = self.m.obj.expr
        self.constant = float(obj.constant)
        self.cost = np.array(obj.linear_coefs, dtype=float)
        self.ub = np.array([var.ub for var in self.xs], dtype=float)
        # every row as (arcs, coefficients, lower, upper), for the dual bound of an inexact LP point
        self.rows: list = []
        self.row_arcs: list[np.ndarray] = []
        self.row_coefs: list[np.ndarray] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.row_age: list[int] = []
        self._register(list(self.m.indeg.values()) + list(self.m.cuts.values()))
        self.n_kept = len(self.m.indeg)  # in-degree rows are never purged
        self.into = _incidence(sm.head, sm.graph.n)
        self.is_term = np.zeros(sm.graph.n, dtype=bool)
        self.is_term[sm.terminals] = True

    def _register(self, cons: list) -> None:
        self._matrix = None
        for con in cons:
            body = con.body
            self.rows.append(con)
            self.row_age.append(0)
            self.row_arcs.append(np.array([var.index() for var in body.linear_vars], dtype=np.int64))
            self.row_coefs.append(np.array(body.linear_coefs, dtype=float))
            self.row_lower.append(-math.inf if con.lower is None else float(pyo.value(con.lower)) - float(body.constant))
            self.row_upper.append(math.inf if con.upper is None else float(pyo.value(con.upper)) - float(body.constant))

    def _row_matrix(self) -> csr_matrix:
        """The rows' coefficients as a sparse matrix, rows in registration order; built once per row set
        (the dual bound and the purge of a round both read it)."""
        if self._matrix is None:
            counts = np.fromiter((len(a) for a in self.row_arcs), dtype=np.int64, count=len(self.rows))
            indptr = np.concatenate(([0], np.cumsum(counts)))
            self._matrix = csr_matrix((np.concatenate(self.row_coefs), np.concatenate(self.row_arcs), indptr),
                                      shape=(len(self.rows), len(self.cost)))
        return self._matrix

    def dual_bound(self) -> tuple[float, np.ndarray]:
        """A valid lower bound of the LP and the reduced costs, from the solver's row duals.

        The interior point method stops without crossover, so its objective is no proof. Any duals
        y with the right signs (>= 0 on >= rows, <= 0 on <= rows) give the bound
        constant + sum(b y) + sum over arcs of min(0, c - A'y) * upper bound (weak duality).
        """
        duals = self.solver.get_duals(self.rows)
        y = np.fromiter((duals[c] for c in self.rows), dtype=float, count=len(self.rows))
        lower, upper = np.array(self.row_lower), np.array(self.row_upper)
        y = np.where(np.isinf(upper), np.maximum(y, 0.0), y)
        y = np.where(np.isinf(lower), np.minimum(y, 0.0), y)
        rhs = np.where(y >= 0, np.where(np.isinf(lower), 0.0, lower), np.where(np.isinf(upper), 0.0, upper))
        reduced = self.cost - self._row_matrix().T @ y
        bound = self.constant + float(rhs @ y) + float((np.minimum(reduced, 0.0) * self.ub).sum())
        return bound, reduced

    def purge(self, x: np.ndarray) -> int:
        """Drop the cuts and local rows that were slack at the last ``_PURGE_ROUNDS`` LP points; how many.

        instance187 (wire routing) needs about 70 rounds of about 100 cuts: unpurged, the LP grows to
        11,000 rows and each solve from 1 s to 10 s. Purged it stays near 5,800 rows; the proof took
        the same 70 rounds, 101 s of LP instead of 349 s (measured, same machine). Eight rounds
        then; six since the LP became inexact (docs/performance.md, "instance187 within 60 s").
        """
        k = self.n_kept
        activity = (self._row_matrix() @ x)[k:]
        slack = np.minimum(activity - np.array(self.row_lower[k:]), np.array(self.row_upper[k:]) - activity)
        age = np.where(slack > _PURGE_SLACK, np.array(self.row_age[k:]) + 1, 0)
        self.row_age[k:] = age.tolist()
        drop = (k + np.flatnonzero(age >= _PURGE_ROUNDS)).tolist()
        if not drop:
            return 0
        cons = [self.rows[i] for i in drop]
        self.solver.remove_constraints(cons)
        for con in cons:
            del con.parent_component()[con.index()]
        keep = np.ones(len(self.rows), dtype=bool)
        keep[drop] = False
        for name in ("rows", "row_arcs", "row_coefs", "row_lower", "row_upper", "row_age"):
            setattr(self, name, [item for item, stays in zip(getattr(self, name), keep) if stays])
        self._matrix = self._matrix[keep]
        return len(drop)

    def forbid(self, arcs: np.ndarray) -> None:
        """Fix arcs at 0 (reduced-cost fixing)."""
        arcs = arcs[self.ub[arcs] > 0]
        for a in arcs.tolist():
            self.xs[a].setub(0)
        self.ub[arcs] = 0.0
        if len(arcs):
            self.solver.update_variables([self.xs[a] for a in arcs.tolist()])

    def add_cuts(self, cuts: list[np.ndarray]) -> None:
        new = []
        for arcs in cuts:
            expr = LinearExpression(constant=0.0, linear_coefs=[1.0] * len(arcs),
                                    linear_vars=[self.xs[a] for a in arcs.tolist()])
            new.append(self.m.cuts.add(expr >= 1))
        if new:
            self.solver.add_constraints(new)
            self._register(new)
        self.n_cuts += len(new)

    def add_local(self, x: np.ndarray) -> int:
        """Add the violated flow-balance and one-way rows for the point ``x``; how many."""
        sm, xs = self.sm, self.xs
        indeg = np.bincount(sm.head, weights=x, minlength=sm.graph.n)
        steiner = ~self.is_term[sm.tail] & (sm.tail != sm.root)
        balance = np.flatnonzero(steiner & (x > indeg[sm.tail] + 1e-6))
        new = []
        for a in balance.tolist():
            arcs = self.into[int(sm.tail[a])]
            new.append(self.m.local.add(LinearExpression(
                constant=0.0, linear_coefs=[1.0] * len(arcs) + [-1.0],
                linear_vars=[xs[b] for b in arcs] + [xs[a]]) >= 0))
        for e in np.flatnonzero(x[0::2] + x[1::2] > 1 + 1e-6).tolist():
            new.append(self.m.local.add(xs[2 * e] + xs[2 * e + 1] <= 1))
        if new:  # adding nothing would still discard the solver's solution
            self.solver.add_constraints(new)
            self._register(new)
        return len(new)

    def run(self, time_left: float, options: dict, mip: bool = False):
        # HiGHS compares an LP's time limit with its run time summed over all solves of the
        # instance (measured: a 0.3 s re-solve after a 2.7 s one stopped at a 3 s limit), a MIP's
        # with the time of that solve
        clock = 0.0 if mip else self.solver._solver_model.getRunTime()
        self.solver.config.time_limit = clock + max(time_left, 0.01)
        self.solver.highs_options = options
        res = self.solver.solve(self.m)
        return res

    def has_point(self, res) -> bool:
        """Whether an LP solve that HiGHS did not call optimal still left primal and dual values.

        The interior point method stopped at its own tolerance but short of HiGHS's optimality
        check: the point still serves separation, and its duals a valid bound (``dual_bound``).
        """
        if res.termination_condition != TerminationCondition.unknown:
            return False
        info = self.solver._solver_model.getInfo()
        return info.primal_solution_status > 0 and info.dual_solution_status > 0

    def values(self) -> np.ndarray:
        prim = self.solver.get_primals(self.xs)
        return np.fromiter((prim[v] for v in self.xs), dtype=float, count=len(self.xs))

    def set_binary(self, forbidden: np.ndarray) -> None:
        for a, var in enumerate(self.xs):
            var.domain = pyo.Binary
            if forbidden[a]:
                var.setub(0)
        self.solver.update_variables(self.xs)


@contextmanager
def _timed(stats: dict, key: str):
    """Add the seconds the block takes to ``stats[key]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        stats[key] += time.perf_counter() - began


def solve(sm: SteinerModel, time_limit_s: float = 60.0, mip_gap: float = 0.0) -> dict:
    """Run the cut loop; ``time_limit_s`` counts ``build`` too.

    Returns status, objective, bound (both in original weights) and the best tree as original edge
    ids. Never raises on a time-out: the incumbent (at worst the heuristic tree) comes back with
    the best bound proven so far.
    """
    start = time.perf_counter()
    # a small reserve for the work after the last solver call (heuristic, extraction)
    deadline = start + max(time_limit_s - sm.seconds_build, 0.0) * 0.97 - 0.3
    stats: dict[str, float] = {"seconds_build": sm.seconds_build, "heuristic_objective": sm.heuristic_objective,
                               "dual_ascent_bound": min(sm.dual_bound, sm.incumbent_cost), "lp_rounds": 0, "cuts": 0,
                               "rows_purged": 0, "exact_resolves": 0, "mip_rounds": 0, "seconds_lp_solver": 0.0,
                               "seconds_separation": 0.0, "seconds_guided_heuristic": 0.0}
    if sm.status == "infeasible":
        return {"status": "infeasible", "edges": [], "objective": None, "bound": None, "stats": stats}
    if sm.status == "proven":
        return {"status": "optimal", "edges": sm.incumbent, "objective": sm.incumbent_cost,
                "bound": sm.incumbent_cost, "stats": stats}

    g, fc = sm.graph, sm.work.fixed_cost
    best = {"edges": sm.incumbent, "cost": sm.incumbent_cost, "tree": sm.start_tree}
    lb = sm.dual_bound

    def offer(tree: np.ndarray) -> None:
        cost = fc + g.cost(tree)
        if cost < best["cost"] - 1e-9:
            best.update(edges=sm.to_original(tree), cost=cost, tree=tree)

    def proven() -> float:
        """The lower bound, rounded up when every tree costs a whole number."""
        return math.ceil(lb - 1e-6) if sm.integral_weights else lb

    def closed() -> bool:
        return best["cost"] <= proven() + 1e-9 or (mip_gap > 0 and best["cost"] - lb <= mip_gap * abs(best["cost"]))

    def guided_heuristic(x: np.ndarray) -> None:
        """Shortest-path heuristic on weights scaled by 1 - x*, then local search on true weights."""
        with _timed(stats, "seconds_guided_heuristic"):
            guided = heur.Graph(g.n, g.u, g.v, g.w * (1.0 - np.maximum(x[0::2], x[1::2])) + 1e-6 * g.w)
            tree = heur.steiner_heuristic(guided, sm.terminals, n_roots=3)
            offer(heur.improve(g, tree, sm.terminals, deadline=deadline))

    loop = _CutLoop(sm)
    # 1. LP phase: arcs the dual ascent fixed at zero only exclude trees no cheaper than the
    # incumbent, so an LP value above the incumbent (or an infeasible LP) proves the incumbent.
    margin = 1 - 1e-6 if sm.integral_weights else 1e-9
    x, dual_value, reduced = None, None, None
    lp_options = _LP_OPTIONS
    heuristic_gap = next_heuristic = _HEURISTIC_ROUNDS
    closing_for = None
    overshoot = 0.0
    while time.perf_counter() < deadline and not closed():
        # interior point without crossover: late in the cut loop the LP is highly degenerate and a
        # warm dual simplex re-solve of instance187 took 3-5 s against 1-3 s (measured, same run)
        with _timed(stats, "seconds_lp_solver"):
            res = loop.run(deadline - time.perf_counter(), lp_options)
        if res.termination_condition == TerminationCondition.infeasible:
            lb = best["cost"]
            break
        if res.termination_condition != TerminationCondition.optimal and not loop.has_point(res):
            if lp_options is _LP_POLISH_OPTIONS:
                break
            lp_options = _LP_POLISH_OPTIONS  # the interior point method stalled (instance167)
            continue
        stats["lp_rounds"] += 1
        dual_value, reduced = loop.dual_bound()
        lb = max(lb, min(fc + dual_value, best["cost"]))
        x = loop.values()  # before fixing: changing a bound discards the solution
        # the LP value lies between the point's dual bound and its objective; when their midpoint, less what it
        # overshot at the last exact re-solve, would close the gap, a tighter re-solve gives a bound about 1
        # higher (instance187: 4-5 fewer rounds); the rougher point still drives separation, it cuts deeper
        midpoint = (fc + dual_value + fc + loop.constant + float(loop.cost @ x)) / 2
        if (lp_options is _LP_OPTIONS and not closed() and midpoint - overshoot > best["cost"] - margin + _EXACT_MARGIN
                and deadline - time.perf_counter() > 1.0):
            with _timed(stats, "seconds_lp_solver"):
                exact = loop.run(deadline - time.perf_counter(), _LP_EXACT_OPTIONS)
            stats["exact_resolves"] += 1
            if exact.termination_condition == TerminationCondition.infeasible:
                lb = best["cost"]
                break
            if exact.termination_condition == TerminationCondition.optimal or loop.has_point(exact):
                dual_value, reduced = loop.dual_bound()
                lb = max(lb, min(fc + dual_value, best["cost"]))
                overshoot = max(0.0, midpoint - fc - dual_value)
                if closed():
                    break
        # reduced-cost fixing every round: a tree using arc (u, v) costs at least the bound plus the
        # reduced costs of a path root -> u, of (u, v) and of a path v -> terminal
        positive = np.where(loop.ub > 0, np.maximum(reduced, 0.0), np.inf)
        loop.forbid(np.flatnonzero(dual_ascent_fixing(g.n, sm.tail, sm.head, positive, dual_value, sm.terminals,
                                                      sm.root, best["cost"] - fc - margin)))
        stats["rows_purged"] += loop.purge(x)
        # integral weights: once the bound leaves only incumbent - 1 open, a tree one cheaper ends
        # the search at once, so the heuristic runs then too (once per incumbent)
        closing = sm.integral_weights and proven() >= best["cost"] - 1 and closing_for != best["cost"]
        if stats["lp_rounds"] >= next_heuristic or closing:
            before = best["cost"]
            if closing:
                closing_for = before
            guided_heuristic(x)
            if closed():
                break
            # the gap doubles while the heuristic finds nothing better: instance187's incumbent is
            # optimal long before the bound, and 13 calls took 11.3 s of its 59 (measured)
            heuristic_gap = _HEURISTIC_ROUNDS if best["cost"] < before or closing else 2 * heuristic_gap
            next_heuristic = stats["lp_rounds"] + heuristic_gap
        with _timed(stats, "seconds_separation"):
            cuts = separate(sm, x, max_per_terminal=5, deadline=deadline)
        local = loop.add_local(x)
        if not cuts and not local:
            if lp_options is _LP_POLISH_OPTIONS:
                break
            # an interior point can hide small violations (instance167's loop stopped 3.4 below
            # the LP optimum): finish with simplex vertices
            lp_options = _LP_POLISH_OPTIONS
            continue
        loop.add_cuts(cuts)
    stats["lp_bound"] = lb
    stats["seconds_lp"] = time.perf_counter() - start

    forbidden = np.zeros(len(sm.tail), dtype=bool)
    if x is not None and not closed():
        support = np.flatnonzero(x > 1e-6)
        if (x[support] > 1 - 1e-6).all() and not _component_cuts(sm, support):
            offer(heur.prune(g, np.unique(support // 2), sm.terminals))  # the LP optimum is a tree
    if x is not None and not closed() and deadline - time.perf_counter() > 1.0:
        guided_heuristic(x)
    if x is not None and not closed():
        # reduced-cost fixing against the (possibly improved) incumbent
        forbidden = dual_value + reduced > best["cost"] - fc - margin
        stats["arcs_fixed_by_reduced_cost"] = int((forbidden | (loop.ub == 0)).sum())
    stats["lp_heuristic_objective"] = best["cost"]

    # 3. MIP phase: integer points are checked for connectivity; cuts are added until one is a tree
    if not closed() and time.perf_counter() < deadline:
        loop.set_binary(forbidden)
        while time.perf_counter() < deadline and not closed():
            if best["tree"] is not None:
                for a, val in enumerate(_orient(sm, best["tree"])):
                    loop.xs[a].set_value(val, skip_validation=True)
                loop.solver.config.warmstart = True
            else:
                loop.solver.config.warmstart = False
            res = loop.run(deadline - time.perf_counter(), {**_MIP_OPTIONS, "mip_rel_gap": mip_gap}, mip=True)
            stats["mip_rounds"] += 1
            tc = res.termination_condition
            if tc == TerminationCondition.infeasible:
                lb = best["cost"]  # no tree below the incumbent
                break
            if res.best_objective_bound is not None and math.isfinite(res.best_objective_bound):
                lb = max(lb, min(fc + float(res.best_objective_bound), best["cost"]))
            if res.best_feasible_objective is None:
                break
            point = loop.values()
            on = np.flatnonzero(point > 0.5)
            cuts = _component_cuts(sm, on)
            if cuts:
                # repair the disconnected integer point into a tree: instance040's MIP points came within
                # 0.05 % of the optimum while the incumbent stayed at the LP phase's
                if deadline - time.perf_counter() > 1.0:
                    guided_heuristic(point)
                if closed():
                    break
                loop.add_cuts(cuts)
                continue
            offer(heur.prune(g, np.unique(on // 2), sm.terminals))
            if tc == TerminationCondition.optimal:
                if mip_gap == 0:
                    lb = best["cost"]
                break
    stats["cuts"] = loop.n_cuts
    stats["seconds_solve"] = time.perf_counter() - start
    lb = min(lb, best["cost"])
    if closed():
        status = "optimal" if best["cost"] <= proven() + 1e-9 else "gap_limit"
    else:
        status = "time_limit"
    return {"status": status, "edges": best["edges"], "objective": best["cost"], "bound": lb, "stats": stats}


def extract(sm: SteinerModel, outcome: dict, seconds: float) -> SteinerResult:
    """Result with original edge ids, reduction counts and statistics."""
    reductions = {name: int(sm.work.removed.get(name, 0)) for name in REDUCTION_NAMES}
    stats = dict(outcome["stats"])
    stats.update(nodes=sm.n_original_nodes, edges=sm.n_original_edges,
                 nodes_reduced=int(len(sm.node_ids)), edges_reduced=int(len(sm.edge_keys)),
                 terminals_reduced=int(len(sm.terminals)))
    if outcome["status"] == "infeasible":
        return SteinerResult("infeasible", None, None, None, seconds, [], reductions, stats)
    edges = sorted(outcome["edges"])
    objective = float(sm.problem.edges["weight"].to_numpy(dtype=float)[edges].sum())
    bound = float(outcome["bound"])
    if sm.integral_weights:
        bound = float(math.ceil(bound - 1e-6))
    bound = min(bound, objective)
    gap = 0.0 if objective <= bound else (objective - bound) / abs(objective)
    status = status_of(gap, STEINER_GAP)  # "optimal" only when proven, whatever gap was asked for
    stopped = "" if status == "optimal" else outcome["status"]
    return SteinerResult(status, objective, bound, gap, seconds, edges, reductions, stats, stopped)


def solve_steiner(problem: SteinerProblem, time_limit_s: float = 60.0, mip_gap: float = 0.0) -> SteinerResult:
    """build + solve + extract."""
    start = time.perf_counter()
    sm = build(problem)
    outcome = solve(sm, time_limit_s=time_limit_s, mip_gap=mip_gap)
    return extract(sm, outcome, time.perf_counter() - start)
