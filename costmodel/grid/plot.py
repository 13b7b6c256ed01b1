"""Map of a network and its optimised design (PNG or SVG, by the file suffix)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from costmodel import files  # noqa: E402
from costmodel.errors import InputError  # noqa: E402
from costmodel.grid.model import Design  # noqa: E402
from costmodel.grid.network import Network  # noqa: E402

SOURCE_STYLE = {"substation": ("s", "black"), "feeder_point": ("^", "tab:blue"), "public_transformer": ("D", "tab:purple")}


def plot_design(network: Network, design: Design, path: Path | str, title: str = "") -> Path:
    """Corridors in grey (existing darker), the chosen route by conductor, new transformers in purple
    (hollow: candidate sites not chosen), red-line points in red."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"map file {str(path)!r}: suffix {path.suffix!r} is not allowed; allowed: .png, .svg")
    nodes = network.nodes
    plt.rcParams["svg.fonttype"] = "none"   # labels stay text in SVG (searchable, editable)
    fig, ax = plt.subplots(figsize=(9, 8))
    for status, colour, width in (("candidate", "0.85", 0.8), ("existing", "0.45", 1.6)):
        part = network.corridors[network.corridors["status"] == status]
        for row in part.itertuples():
            a, b = nodes.loc[row.from_node], nodes.loc[row.to_node]
            ax.plot([a.x_m, b.x_m], [a.y_m, b.y_m], color=colour, lw=width, zorder=1)
    types = sorted(design.corridors["std_type"].unique())
    palette = plt.get_cmap("viridis")(list(i / max(len(types) - 1, 1) for i in range(len(types))))
    for std_type, colour in zip(types, palette):
        part = design.corridors[design.corridors["std_type"] == std_type]
        for i, row in enumerate(part.itertuples()):
            a, b = nodes.loc[row.from_node], nodes.loc[row.to_node]
            ax.plot([a.x_m, b.x_m], [a.y_m, b.y_m], color=colour, lw=2 + 2 * row.loading_pct / 100,
                    ls="--" if row.change == "existing" else "-", zorder=2, label=std_type if i == 0 else None)
    for kind, (marker, colour) in SOURCE_STYLE.items():
        part = nodes[nodes["kind"] == kind]
        if len(part):
            ax.scatter(part["x_m"], part["y_m"], marker=marker, s=90, c=colour, zorder=3, label=kind.replace("_", " "))
            for node_id, row in part.iterrows():
                ax.annotate(node_id, (row["x_m"], row["y_m"]), textcoords="offset points", xytext=(5, 5), fontsize=8)
    sites = nodes[nodes["kind"] == "candidate_transformer"]
    if len(sites):
        ax.scatter(sites["x_m"], sites["y_m"], marker="D", s=90, facecolors="none", edgecolors="tab:purple", lw=1.5,
                   zorder=3, label="candidate transformer site")
    for i, row in enumerate(design.transformers.itertuples()):
        hv, site = nodes.loc[row.hv_node], nodes.loc[row.node_id]
        ax.plot([hv.x_m, site.x_m], [hv.y_m, site.y_m], color="tab:purple", lw=2, ls=":", zorder=2)
        ax.scatter([site.x_m], [site.y_m], marker="D", s=110, c="tab:purple", zorder=4,
                   label="new transformer" if i == 0 else None)
        ax.annotate(f"{row.node_id}: {row.std_type}", (site.x_m, site.y_m), textcoords="offset points", xytext=(5, 5),
                    fontsize=8, color="tab:purple")
    red_line = nodes.loc[design.customers["node_id"]]
    ax.scatter(red_line["x_m"], red_line["y_m"], marker="s", s=60, facecolors="none", edgecolors="red", lw=1.8,
               zorder=4, label="customer red-line point")
    for row in design.customers.itertuples():
        ax.annotate(f"{row.application_id}\n{row.demand_kva:g} kVA", (nodes.at[row.node_id, "x_m"], nodes.at[row.node_id, "y_m"]),
                    textcoords="offset points", xytext=(5, -14), fontsize=7, color="red")
    report = design.report
    cost = report.get("objective_cny")
    subtitle = f"{report.get('status')}" + (f", {cost / 1e4:,.1f} x10^4 CNY" if cost is not None else "")
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    try:
        files.save_figure(fig, path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
