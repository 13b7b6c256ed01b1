"""Reader for Steiner tree instances in the PACE 2018 `.gr` (STP-like) format.

    SECTION Graph / Nodes n / Edges m / E u v w ... / END
    SECTION Terminals / Terminals t / T v ... / END
    EOF

Node ids are 1-based. Errors name the file and the line (1-based, as an editor shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.yamlio import read_text

# Refused before anything is allocated (the largest PACE 2018 instance has about 235,000 nodes).
MAX_NODES = 1_000_000
MAX_EDGES = 10_000_000
MAX_WEIGHT = 2 ** 53  # integers exact in a float64, as the solver holds them
MAX_GR_BYTES = 512 << 20


@dataclass(frozen=True)
class SteinerProblem:
    """An undirected Steiner tree instance.

    nodes: one row per node, columns node (int, as in the file), is_terminal (bool).
    edges: one row per edge in file order, columns edge (0-based position), from_node, to_node, weight.
    terminals: terminal node ids in file order (the first is the root / source).
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    terminals: tuple[int, ...]
    name: str = ""


def _ints(parts: list[str], count: int, where: str, what: str) -> list[int]:
    if len(parts) != count + 1:
        raise InputError(f"{where}: expected '{what}', got {' '.join(parts)!r}")
    try:
        values = [int(p) for p in parts[1:]]
    except ValueError:
        raise InputError(f"{where}: expected integers in '{what}', got {' '.join(parts)!r}") from None
    return values


def _in_range(value: int, low: int, high: int, where: str, what: str) -> None:
    if not low <= value <= high:
        raise InputError(f"{where}: {what} {value:,} is out of range; allowed: {low:,} to {high:,}")


def parse_gr(text: str, name: str = "<string>") -> SteinerProblem:
    """Parse `.gr` text; `name` is used in error messages."""
    n_nodes = n_edges = n_terminals = None
    edges: list[tuple[int, int, int]] = []
    edge_lines: list[int] = []
    terminals: list[int] = []
    terminal_lines: list[int] = []
    section = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("33D32945"):
            continue
        parts = line.split()
        key = parts[0].upper()
        where = f"{name} line {lineno}"
        if key == "SECTION":
            if len(parts) < 2:
                raise InputError(f"{where}: SECTION needs a name (Graph or Terminals)")
            section = parts[1].lower()
        elif key == "END":
            section = None
        elif key == "EOF":
            break
        elif section is None:
            raise InputError(f"{where}: {line!r} outside a SECTION; allowed: SECTION Graph, SECTION Terminals")
        elif section == "graph" and key == "NODES":
            (n_nodes,) = _ints(parts, 1, where, "Nodes n")
            _in_range(n_nodes, 1, MAX_NODES, where, "Nodes")
        elif section == "graph" and key == "EDGES":
            (n_edges,) = _ints(parts, 1, where, "Edges m")
            _in_range(n_edges, 0, MAX_EDGES, where, "Edges")
        elif section == "graph" and key == "E":
            u, v, w = _ints(parts, 3, where, "E u v w")
            if w < 0:
                raise InputError(f"{where}: edge weight {w} is negative; weights must be >= 0")
            _in_range(w, 0, MAX_WEIGHT, where, "edge weight")
            if len(edges) >= MAX_EDGES:
                raise InputError(f"{where}: more than {MAX_EDGES:,} edges; allowed: at most {MAX_EDGES:,}")
            edges.append((u, v, w))
            edge_lines.append(lineno)
        elif section == "terminals" and key == "TERMINALS":
            (n_terminals,) = _ints(parts, 1, where, "Terminals t")
            _in_range(n_terminals, 1, MAX_NODES, where, "Terminals")
        elif section == "terminals" and key == "T":
            (t,) = _ints(parts, 1, where, "T v")
            terminals.append(t)
            terminal_lines.append(lineno)
        elif section not in ("graph", "terminals"):
            continue  # other STP sections (Comment, Coordinates, ...) carry nothing we need
        else:
            raise InputError(f"{where}: unknown line {line!r} in SECTION {section}")

    if n_nodes is None:
        raise InputError(f"{name}: missing 'Nodes n' line in SECTION Graph")
    if n_edges is not None and n_edges != len(edges):
        raise InputError(f"{name}: header says Edges {n_edges} but {len(edges)} 'E' lines follow")
    if n_terminals is not None and n_terminals != len(terminals):
        raise InputError(f"{name}: header says Terminals {n_terminals} but {len(terminals)} 'T' lines follow")
    for (u, v, _), lineno in zip(edges, edge_lines):
        for node in (u, v):
            if not 1 <= node <= n_nodes:
                raise InputError(f"{name} line {lineno}: node {node} out of range; allowed 1..{n_nodes}")
        if u == v:
            raise InputError(f"{name} line {lineno}: self-loop on node {u}; edges must join two nodes")
    seen: set[int] = set()
    for t, lineno in zip(terminals, terminal_lines):
        if not 1 <= t <= n_nodes:
            raise InputError(f"{name} line {lineno}: terminal {t} out of range; allowed 1..{n_nodes}")
        if t in seen:
            raise InputError(f"{name} line {lineno}: terminal {t} listed twice")
        seen.add(t)
    if not terminals:
        raise InputError(f"{name}: no terminals ('T v' lines in SECTION Terminals)")

    ids = np.arange(1, n_nodes + 1)
    nodes = pd.DataFrame({"node": ids, "is_terminal": np.isin(ids, terminals)})
    arr = np.array(edges, dtype=np.int64).reshape(-1, 3)
    edge_frame = pd.DataFrame(
        {"edge": np.arange(len(arr)), "from_node": arr[:, 0], "to_node": arr[:, 1], "weight": arr[:, 2]}
    )
    return SteinerProblem(nodes=nodes, edges=edge_frame, terminals=tuple(terminals), name=name)


def read_gr(path: str | Path) -> SteinerProblem:
    """Read a `.gr` file; InputError names the file and line of the first problem."""
    path = Path(path)
    return parse_gr(read_text(path, "a Steiner instance (.gr)", MAX_GR_BYTES), name=str(path))
