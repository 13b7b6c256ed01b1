"""Map of a network and its optimised design (PNG or SVG, by the file suffix)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from costmodel import files  # noqa: E402
from costmodel.errors import InputError  # noqa: E402
from costmodel.grid.radial import Design  # noqa: E402
from costmodel.grid.network import Network  # noqa: E402

# existing equipment: filled markers of their own shape; new equipment: purple; candidate sites: hollow
SOURCE_STYLE = {"substation": ("s", "black"), "feeder_point": ("^", "tab:blue"), "public_transformer": ("h", "tab:green")}
NEW_TRANSFORMER_COLOUR = "tab:purple"
# where a label may go around its point (offset in points, horizontal alignment), tried in this order
LABEL_PLACES = (((5, 4), "left"), ((5, -12), "left"), ((-5, 4), "right"), ((-5, -12), "right"), ((0, 8), "center"),
                ((0, -18), "center"))


def plot_design(network: Network, design: Design, path: Path | str, title: str = "") -> Path:
    """Corridors in grey (existing darker), the chosen route by conductor (existing ones dashed), existing sources
    by kind, new transformers in purple (hollow: candidate sites not chosen), red-line points in red. Coordinates
    are the network's own (metres in its CRS, named on the axes); labels that would overlap are left out."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"map file {str(path)!r}: suffix {path.suffix!r} is not allowed; allowed: .png, .svg")
    nodes = network.nodes
    plt.rcParams["svg.fonttype"] = "none"   # labels stay text in SVG (searchable, editable)
    fig, ax = plt.subplots(figsize=(9, 8))
    for status, colour, width in (("candidate", "0.85", 0.8), ("existing", "0.45", 1.6)):
        part = network.corridors[network.corridors["status"] == status]
        if len(part):
            ends = np.stack([nodes.loc[part["from_node"], ["x_m", "y_m"]].to_numpy(),
                             nodes.loc[part["to_node"], ["x_m", "y_m"]].to_numpy()], axis=1)
            ax.add_collection(LineCollection(ends, colors=colour, linewidths=width, zorder=1, label=f"{status} corridor"))
    types = sorted(design.corridors["std_type"].unique())
    palette = plt.get_cmap("viridis")(list(i / max(len(types) - 1, 1) for i in range(len(types))))
    for std_type, colour in zip(types, palette):
        part = design.corridors[design.corridors["std_type"] == std_type]
        for i, row in enumerate(part.itertuples()):
            a, b = nodes.loc[row.from_node], nodes.loc[row.to_node]
            ax.plot([a.x_m, b.x_m], [a.y_m, b.y_m], color=colour, lw=2 + 2 * row.loading_pct / 100,
                    ls="--" if row.change == "existing" else "-", zorder=2, label=f"route: {std_type}" if i == 0 else None)
    labels = []   # (text, x, y, colour, fontsize), most important first: new transformers, customers, sources
    for row in design.customers.itertuples():
        labels.append((f"{row.application_id}\n{row.demand_kva:,.0f} kVA", nodes.at[row.node_id, "x_m"],
                       nodes.at[row.node_id, "y_m"], "red", 7))
    for i, row in enumerate(design.transformers.itertuples()):
        hv, site = nodes.loc[row.hv_node], nodes.loc[row.node_id]
        ax.plot([hv.x_m, site.x_m], [hv.y_m, site.y_m], color=NEW_TRANSFORMER_COLOUR, lw=2, ls=":", zorder=2)
        ax.scatter([site.x_m], [site.y_m], marker="D", s=110, c=NEW_TRANSFORMER_COLOUR, zorder=4,
                   label="new transformer" if i == 0 else None)
        labels.insert(i, (f"{row.node_id}: {row.std_type}", site.x_m, site.y_m, NEW_TRANSFORMER_COLOUR, 8))
    for kind, (marker, colour) in SOURCE_STYLE.items():
        part = nodes[nodes["kind"] == kind]
        if len(part):
            ax.scatter(part["x_m"], part["y_m"], marker=marker, s=90, c=colour, zorder=3, label=f"existing {kind.replace('_', ' ')}")
            labels += [(node_id, row["x_m"], row["y_m"], "black", 8) for node_id, row in part.iterrows()]
    sites = nodes[(nodes["kind"] == "candidate_transformer") & ~nodes.index.isin(design.transformers["node_id"])]
    if len(sites):
        ax.scatter(sites["x_m"], sites["y_m"], marker="D", s=90, facecolors="none", edgecolors=NEW_TRANSFORMER_COLOUR, lw=1.5,
                   zorder=3, label="candidate transformer site (not chosen)")
    red_line = nodes.loc[design.customers["node_id"]]
    ax.scatter(red_line["x_m"], red_line["y_m"], marker="s", s=60, facecolors="none", edgecolors="red", lw=1.8,
               zorder=4, label="customer red-line point")
    report = design.report
    cost = report.get("objective_cny")
    subtitle = f"{report.get('summary', report.get('status'))}" + (f", {cost:,.0f} CNY" if cost is not None else "")
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle)
    ax.set_xlabel(f"easting (m, {network.crs})" if network.crs else "x (m)")
    ax.set_ylabel(f"northing (m, {network.crs})" if network.crs else "y (m)")
    metres = FuncFormatter(lambda value, _: f"{value:,.0f}")
    ax.xaxis.set_major_formatter(metres)
    ax.yaxis.set_major_formatter(metres)
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    omitted = _place_labels(fig, ax, labels)
    if omitted:
        ax.annotate(f"{omitted} label(s) left out where they would overlap", (0, 0), xycoords="axes fraction",
                    xytext=(4, 4), textcoords="offset points", fontsize=7, color="0.4")
    try:
        files.save_figure(fig, path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _place_labels(fig, ax, labels: list[tuple]) -> int:
    """Put each label at the first of LABEL_PLACES where it overlaps no label placed before; leave it out where
    none is free. Returns how many were left out."""
    fig.canvas.draw()   # fixes the axes' limits and aspect, so that the labels' extents are final
    renderer = fig.canvas.get_renderer()
    placed, omitted = [], 0
    for text, x, y, colour, size in labels:
        for offset, align in LABEL_PLACES:
            label = ax.annotate(text, (x, y), textcoords="offset points", xytext=offset, ha=align, fontsize=size,
                                color=colour, zorder=5)
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            label.remove()
        else:
            omitted += 1
    return omitted
