"""Command-line glue for Steiner instances: ``costmodel optimize FILE.gr --json``.

The lead wires ``solve_gr_file`` into the ``optimize`` command; ``register`` is the hook for
commands of this module and adds none yet.
"""

from __future__ import annotations

from pathlib import Path

import typer

from costmodel.grid.status import summary
from costmodel.grid.steiner import solve_steiner
from costmodel.grid.stp import read_gr


def register(app: typer.Typer) -> None:
    """Hook for Steiner sub-commands; ``optimize FILE.gr`` is wired by the lead via ``solve_gr_file``."""


def solve_gr_file(path: str | Path, time_limit_s: float = 60.0, mip_gap: float = 0.0) -> dict:
    """Solve a `.gr` instance (first terminal the source); a JSON-ready dict.

    Keys: instance, status (optimal: proven; feasible; infeasible), summary ("feasible, gap 1.20 %"), stopped
    (a feasible tree: time_limit or gap_limit), objective, bound, gap, seconds, edges ([from, to, weight] in file ids),
    reductions (count per test), stats.
    """
    problem = read_gr(path)
    result = solve_steiner(problem, time_limit_s=time_limit_s, mip_gap=mip_gap)
    chosen = problem.edges.iloc[result.edges]
    return {
        "instance": str(path),
        "status": result.status,
        "summary": summary(result.status, result.gap),
        "stopped": result.stopped,
        "objective": _plain(result.objective),
        "bound": _plain(result.bound),
        "gap": _plain(result.gap),
        "seconds": round(result.seconds, 3),
        "edges": chosen[["from_node", "to_node", "weight"]].astype(int).values.tolist(),
        "reductions": result.reductions,
        "stats": {k: _plain(v) for k, v in result.stats.items()},
    }


def _plain(value):
    """numpy scalars -> int/float so json.dumps accepts them; whole floats become ints."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value
