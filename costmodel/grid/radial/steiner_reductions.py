"""The Steiner engine's reductions in the capacitated model, where nothing of the linear model can bind.

When every source's spare capacity and every corridor's cheapest conductor carry the whole demand, and that demand
over every corridor at once (a bound of any path's drop) stays within the voltage limit, every design stays within
every limit with its corridors' cheapest conductors: the cheapest design is a Steiner tree of the corridors weighted
by their cheapest cost, joining the customers to a root behind all sources (0-cost edges to each source). Then the
exact reductions of `grid.reductions` (degree, long-edge, nearest-vertex, NTDk; each keeps an optimal
tree) show corridors no optimal design needs, and `build_model` never builds them. Imported `.gr` instances are such
networks (`importers.from_steiner`: a demand so small that nothing binds). Candidate transformer sites (a second
voltage level with a cost per size) fall outside this form: with any, nothing is reduced.

The test runs on each model's own instance: the AC loop's tightened rounds lower capacities and raise drops, and a
corridor left out in round 1 may be the one a tightened round needs (measured: the second-cheapest design of
tests/grid/radial/test_ac_feasible.py). Such a round's instance fails the test, so nothing is left out there.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from costmodel.grid.radial.data import Instance
from costmodel.grid.reductions import WorkGraph, reduce


def unneeded_corridors(inst: Instance) -> set:
    """Corridor ids no cheapest design of `inst` needs, where nothing can bind (the module's text); else an empty set."""
    options, demand_kva, sources = inst.options, inst.demand_kva, inst.sources
    total = float(demand_kva.sum())
    if total <= 0 or (options["element"] != "line").any() or (inst.spare_kva < total).any():
        return set()
    cheapest = options[options["cost_cny"] == options.groupby("corridor_id")["cost_cny"].transform("min")]
    carrying = cheapest[cheapest["capacity_kva"] >= total]
    if carrying["corridor_id"].nunique() < options["corridor_id"].nunique():
        return set()   # some corridor's cheapest conductor cannot carry the whole demand
    per_corridor = carrying.sort_values("drop_pct_per_kva").drop_duplicates("corridor_id")
    if float(per_corridor["drop_pct_per_kva"].sum()) * total > inst.limits.voltage_deviation_limit_pct:
        return set()
    n = len(demand_kva)
    root = n   # behind every source
    u = np.concatenate([per_corridor["tail"].to_numpy(dtype=np.int64), np.full(len(sources), root)])
    v = np.concatenate([per_corridor["head"].to_numpy(dtype=np.int64), sources])
    weight = np.concatenate([per_corridor["cost_cny"].to_numpy(dtype=float), np.zeros(len(sources))])
    terminals = np.append(np.flatnonzero(demand_kva > 0), root)
    _, labels = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n + 1, n + 1)), directed=False)
    if len(set(labels[terminals].tolist())) > 1:
        return set()   # a customer no corridor reaches: the model's diagnosis names it
    work = reduce(WorkGraph.from_arrays(n + 1, u, v, weight, terminals))
    kept = {k for *_, originals in work.edges.values() for k in originals} | set(work.fixed_edges)
    ids = per_corridor["corridor_id"].to_numpy()
    return {ids[k] for k in range(len(ids)) if k not in kept}
