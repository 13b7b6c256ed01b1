"""Fix-and-optimise neighbourhoods of a radial design: free the trees of two sources, keep the rest fixed.

The capacitated park's MIP finds its designs slowly (16 x 16: 19.27 M CNY at 120 s, 19.06 M at 600 s), while
a MIP over two feeders' trees and the streets around them is small enough for HiGHS to solve in seconds. A
neighbourhood keeps every other source's tree built as it is (its arc-options fixed at 1), and lets the freed
sources' plots be re-routed and re-assigned among them over the nodes within `margin_hops` corridors of their
trees that no kept tree uses; every other arc-option is fixed at 0. Any design of the neighbourhood is a design
of the whole instance (the kept trees may take more load only within their fixed cables' capacity, which the
model's rows check), so its result is a valid MIP start and its cost an upper bound.

A pair cannot hand a plot to a third tree, nor re-size a kept tree's cables: `regions` frees a window around a
plot instead, every tree crossing it at once (the 16 x 16 park: 19.26 M, where every pair had stopped, to 19.18 M,
and a pair after it to 19.05 M; docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from costmodel.grid.radial.data import Instance, evaluate


@dataclass
class Neighbourhood:
    freed_sources: tuple[int, ...]     # source node indices whose trees are re-optimised
    fixed_built: np.ndarray            # arc-options fixed at 1 (the kept trees)
    free: np.ndarray                   # arc-options left to the solver; all others are fixed at 0


def neighbourhoods(inst: Instance, chosen: list[int], margin_hops: int = 2) -> list[Neighbourhood]:
    """One neighbourhood per pair of sources whose trees come within `margin_hops` corridors of each other,
    nearest pairs first (most corridors shared by their margins)."""
    tree = evaluate(inst, chosen)
    opt = inst.options
    tail, head = opt["tail"].to_numpy(), opt["head"].to_numpy()
    neighbours = _neighbours(inst)
    used = [int(s) for s in inst.sources if (tree.supplied_by == s).any()]
    members = {s: set(np.flatnonzero(tree.supplied_by == s).tolist()) for s in used}
    in_some_tree = tree.supplied_by >= 0
    reach = {s: _within(members[s], neighbours, margin_hops) for s in used}
    chosen_arr = np.array(tree.chosen, dtype=int)
    pairs = []
    for a, b in combinations(used, 2):
        overlap = len(reach[a] & reach[b])
        if overlap:
            pairs.append((-overlap, a, b))
    result = []
    for _, a, b in sorted(pairs):
        freed = members[a] | members[b]
        region = (reach[a] | reach[b]) - {n for n in np.flatnonzero(in_some_tree).tolist() if n not in freed}
        region_mask = np.zeros(inst.n_nodes, dtype=bool)
        region_mask[list(region)] = True
        tail_ok = region_mask.copy()
        tail_ok[[a, b]] = True
        kept = chosen_arr[~np.isin(tree.supplied_by[head[chosen_arr]], [a, b])]
        free = np.flatnonzero(region_mask[head] & tail_ok[tail])
        result.append(Neighbourhood((a, b), kept, free))
    return result


def _neighbours(inst: Instance) -> dict[int, set[int]]:
    """Each node's neighbours over the instance's corridors."""
    neighbours: dict[int, set[int]] = {}
    for t, h in zip(inst.arcs["tail"], inst.arcs["head"]):
        neighbours.setdefault(int(t), set()).add(int(h))
        neighbours.setdefault(int(h), set()).add(int(t))
    return neighbours


def _within(nodes: set[int], neighbours: dict[int, set[int]], hops: int) -> set[int]:
    """The nodes at most `hops` corridors from `nodes`."""
    reached, frontier = set(nodes), set(nodes)
    for _ in range(hops):
        frontier = {w for v in frontier for w in neighbours.get(v, ())} - reached
        reached |= frontier
    return reached


def regions(inst: Instance, chosen: list[int], radius_hops: int = 2) -> list[Neighbourhood]:
    """One neighbourhood per customer node: the window of nodes within `radius_hops` corridors of it, where every
    tree that crosses it is re-routed at once (a pair of trees cannot hand a plot to a third). Free: every
    arc-option into the window, and every option of the design's arcs, so that a cable outside the window may
    change size for the load moved to it, and an arc no longer needed may go; every other arc-option is fixed at
    0. The design itself stays feasible in it, and any design of it is a design of the whole instance. Windows
    holding the design's dearest parts come first; a window equal to an earlier one is left out."""
    tree = evaluate(inst, chosen)
    opt = inst.options
    head, arc_of, cost = opt["head"].to_numpy(), opt["arc"].to_numpy(), opt["cost_cny"].to_numpy()
    neighbours = _neighbours(inst)
    chosen_arr = np.array(tree.chosen, dtype=int)
    of_design = np.flatnonzero(np.isin(arc_of, arc_of[chosen_arr]))
    windows, seen = [], set()
    for centre in sorted(set(int(n) for n in inst.customer_nodes)):
        window = frozenset(_within({centre}, neighbours, radius_hops))
        if window in seen:
            continue
        seen.add(window)
        inside = np.isin(head, list(window))
        windows.append((-cost[chosen_arr[inside[chosen_arr]]].sum(), centre, window, inside))
    result = []
    for _, _, window, inside in sorted(windows, key=lambda w: (w[0], w[1])):
        crossing = tuple(sorted(set(int(s) for s in tree.supplied_by[list(window)] if s >= 0)))
        result.append(Neighbourhood(crossing, np.array([], dtype=int), np.union1d(np.flatnonzero(inside), of_design)))
    return result
