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


def print_gr_report(console, name: str, result: dict) -> None:
    """`solve_gr_file`'s result as a table: status, tree weight, bound, gap, time, edges, what the reductions removed."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{escape(name)}: Steiner tree", title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", result["summary"] + (f" (stopped: {result['stopped'].replace('_', ' ')})" if result["stopped"] else ""))
    table.add_row("tree weight", _weight(result["objective"]))
    table.add_row("lower bound", _weight(result["bound"]))
    table.add_row("gap", "—" if result["gap"] is None else f"{result['gap'] * 100:.2f} %")
    table.add_row("time", f"{result['seconds']:.1f} s")
    table.add_row("edges", f"{len(result['edges']):,}")
    removed = ", ".join(f"{test.replace('_', ' ')} {count:,}" for test, count in result["reductions"].items() if count)
    table.add_row("reductions", removed or "none fired")
    console.print(table)


def _weight(value) -> str:
    return "—" if value is None else f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"


def _plain(value):
    """numpy scalars -> int/float so json.dumps accepts them; whole floats become ints."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value
