"""Map of a network and its optimised design: a PNG or SVG file (the CLI), or SVG text (the web page)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from costmodel import files  # noqa: E402
from costmodel.errors import InputError  # noqa: E402
from costmodel.grid.radial import Design  # noqa: E402
from costmodel.grid.network import Network  # noqa: E402

# existing equipment: filled markers of their own shape; new equipment: purple; candidate sites: hollow
SOURCE_STYLE = {"substation": ("s", "black"), "feeder_point": ("^", "tab:blue"), "public_transformer": ("h", "tab:green")}
NEW_TRANSFORMER_COLOUR = "tab:purple"
MIN_SPAN_RATIO = 0.3   # the map's narrower side is at least this share of its wider one
# where a label may go around its point (offset in points, horizontal alignment), tried in this order
LABEL_PLACES = (((5, 4), "left"), ((5, -12), "left"), ((-5, 4), "right"), ((-5, -12), "right"), ((0, 8), "center"),
                ((0, -18), "center"))
# a label's text on a pale box, so that a line it must cross stays readable beneath it, not through it
LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}
LABEL_ZORDER = 5   # above the markers too: where every place covers another point's marker, the text stays legible
ROUTE_PALETTE_SPAN = 0.8   # of viridis: its last fifth is yellow, which a thin line on white hides


# The map's words, English by default; a caller (the web page) may give them in another language. `subtitle`
# takes {summary} (the report's status) and {cost} (CNY, thousands separated); `left_out` takes {count}.
MAP_TEXTS = {
    "candidate_corridor": "candidate corridor", "existing_corridor": "existing corridor", "route": "route: {std_type}",
    "new_transformer": "new transformer", "substation": "existing substation", "feeder_point": "existing feeder point",
    "public_transformer": "existing public transformer", "candidate_site": "candidate transformer site (not chosen)",
    "red_line": "customer red-line point", "subtitle": "{summary}, {cost} CNY", "easting": "easting (m, {crs})",
    "northing": "northing (m, {crs})", "x": "x (m)", "y": "y (m)",
    "left_out": "{count} label(s) left out where they would overlap",
}


def plot_design(network: Network, design: Design, path: Path | str, title: str = "") -> Path:
    """The map of `draw_design`, written to a PNG or SVG file (by its suffix), legend beside the map."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"map file {str(path)!r}: suffix {path.suffix!r} is not allowed; allowed: .png, .svg")
    fig = draw_design(network, design, title)
    try:
        files.save_figure(fig, path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def design_svg(network: Network, design: Design, title: str = "", texts: dict[str, str] | None = None,
               font_family: str | None = None) -> str:
    """The map of `draw_design` as SVG text, narrow and with its legend below (a page's column, a phone), in the
    words of `texts` (MAP_TEXTS' keys) and `font_family` (e.g. a CJK font for Chinese words)."""
    with plt.rc_context({"font.family": [font_family, "DejaVu Sans"]} if font_family else {}):
        fig = draw_design(network, design, title, texts, legend_below=True)
        try:
            out = io.StringIO()
            fig.savefig(out, format="svg", bbox_inches="tight")
        finally:
            plt.close(fig)
    return out.getvalue()


def draw_design(network: Network, design: Design, title: str = "", texts: dict[str, str] | None = None,
                legend_below: bool = False):
    """Corridors in grey (existing darker), the chosen route by conductor (existing ones dashed), existing sources
    by kind, new transformers in purple (hollow: candidate sites not chosen), red-line points in red. Coordinates
    are the network's own (metres in its CRS, named on the axes); labels that would overlap are left out.
    Returns the matplotlib figure (the caller closes it)."""
    words = MAP_TEXTS | (texts or {})
    nodes = network.nodes
    plt.rcParams["svg.fonttype"] = "none"   # labels stay text in SVG (searchable, editable)
    fig, ax = plt.subplots(figsize=(4.2, 4.2) if legend_below else (9, 8))
    corridors = network.corridors
    # every corridor as ((x, y), (x, y)): drawn, and what the labels try not to cross (routes and the new
    # transformers' links run along corridors or end at labelled points)
    segments = np.stack([nodes.loc[corridors["from_node"], ["x_m", "y_m"]].to_numpy(dtype=float),
                         nodes.loc[corridors["to_node"], ["x_m", "y_m"]].to_numpy(dtype=float)], axis=1).reshape(-1, 2, 2)
    for status, colour, width in (("candidate", "0.85", 0.8), ("existing", "0.45", 1.6)):
        part = (corridors["status"] == status).to_numpy()
        if part.any():
            ax.add_collection(LineCollection(segments[part], colors=colour, linewidths=width, zorder=1,
                                             label=words[f"{status}_corridor"]))
    types = sorted(design.corridors["std_type"].unique())
    palette = plt.get_cmap("viridis")(list(ROUTE_PALETTE_SPAN * i / max(len(types) - 1, 1) for i in range(len(types))))
    for std_type, colour in zip(types, palette):
        part = design.corridors[design.corridors["std_type"] == std_type]
        for i, row in enumerate(part.itertuples()):
            a, b = nodes.loc[row.from_node], nodes.loc[row.to_node]
            ax.plot([a.x_m, b.x_m], [a.y_m, b.y_m], color=colour, lw=2 + 2 * row.loading_pct / 100,
                    ls="--" if row.change == "existing" else "-", zorder=2,
                    label=words["route"].format(std_type=std_type) if i == 0 else None)
    labels = []   # (text, x, y, colour, fontsize), most important first: new transformers, customers, sources
    markers = []  # (x, y, size): the points' markers, which a label of another point must not cover
    for row in design.customers.itertuples():
        labels.append((f"{row.application_id}\n{row.demand_kva:,.0f} kVA", nodes.at[row.node_id, "x_m"],
                       nodes.at[row.node_id, "y_m"], "red", 7))
    for i, row in enumerate(design.transformers.itertuples()):
        hv, site = nodes.loc[row.hv_node], nodes.loc[row.node_id]
        ax.plot([hv.x_m, site.x_m], [hv.y_m, site.y_m], color=NEW_TRANSFORMER_COLOUR, lw=2, ls=":", zorder=2)
        ax.scatter([site.x_m], [site.y_m], marker="D", s=110, c=NEW_TRANSFORMER_COLOUR, zorder=4,
                   label=words["new_transformer"] if i == 0 else None)
        markers.append((site.x_m, site.y_m, 110))
        labels.insert(i, (f"{row.node_id}: {row.std_type}", site.x_m, site.y_m, NEW_TRANSFORMER_COLOUR, 8))
    for kind, (marker, colour) in SOURCE_STYLE.items():
        part = nodes[nodes["kind"] == kind]
        if len(part):
            ax.scatter(part["x_m"], part["y_m"], marker=marker, s=90, c=colour, zorder=3, label=words[kind])
            markers += [(x, y, 90) for x, y in zip(part["x_m"], part["y_m"])]
            labels += [(node_id, row["x_m"], row["y_m"], "black", 8) for node_id, row in part.iterrows()]
    sites = nodes[(nodes["kind"] == "candidate_transformer") & ~nodes.index.isin(design.transformers["node_id"])]
    if len(sites):
        ax.scatter(sites["x_m"], sites["y_m"], marker="D", s=90, facecolors="none", edgecolors=NEW_TRANSFORMER_COLOUR, lw=1.5,
                   zorder=3, label=words["candidate_site"])
        markers += [(x, y, 90) for x, y in zip(sites["x_m"], sites["y_m"])]
    red_line = nodes.loc[design.customers["node_id"]]
    ax.scatter(red_line["x_m"], red_line["y_m"], marker="s", s=60, facecolors="none", edgecolors="red", lw=1.8,
               zorder=4, label=words["red_line"])
    markers += [(x, y, 60) for x, y in zip(red_line["x_m"], red_line["y_m"])]
    report = design.report
    cost = report.get("objective_cny")
    subtitle = (words["subtitle"].format(summary=report.get("summary", report.get("status")), cost=f"{cost:,.0f}")
                if cost is not None else f"{report.get('summary', report.get('status'))}")
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle)
    ax.set_xlabel(words["easting"].format(crs=network.crs) if network.crs else words["x"])
    ax.set_ylabel(words["northing"].format(crs=network.crs) if network.crs else words["y"])
    metres = FuncFormatter(lambda value, _: f"{value:,.0f}")
    ax.xaxis.set_major_formatter(metres)
    ax.yaxis.set_major_formatter(metres)
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_aspect("equal")
    ax.autoscale_view()
    _open_up(ax)
    if not legend_below:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    omitted = _place_labels(fig, ax, labels, markers, segments)
    if omitted:
        ax.annotate(words["left_out"].format(count=omitted), (0, 0), xycoords="axes fraction",
                    xytext=(4, 4), textcoords="offset points", fontsize=7, color="0.4")
    if legend_below:   # under the map, its tick labels and its labels: the map keeps the whole width of a narrow column
        below = ax.get_tightbbox(fig.canvas.get_renderer()).transformed(fig.transFigure.inverted())
        fig.legend(loc="upper center", bbox_to_anchor=(0.5 * (below.x0 + below.x1), below.y0), ncol=2, fontsize=8, frameon=False)
    return fig


def _open_up(ax) -> None:
    """Widen the narrower axis to at least MIN_SPAN_RATIO of the wider one, about its middle: a network on one line
    (a feeder along a street) would otherwise be drawn on a map of no height."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    least = MIN_SPAN_RATIO * max(x1 - x0, y1 - y0, 1.0)
    if x1 - x0 < least:
        ax.set_xlim((x0 + x1 - least) / 2, (x0 + x1 + least) / 2)
    if y1 - y0 < least:
        ax.set_ylim((y0 + y1 - least) / 2, (y0 + y1 + least) / 2)


def _place_labels(fig, ax, labels: list[tuple], markers: list[tuple], segments: np.ndarray | None = None) -> int:
    """Put each label, in order, at a place of LABEL_PLACES that overlaps no label placed before and not the title; of
    those, the first that stays inside the axes, covers no marker of another point (`markers`: x, y, size in points
    squared, as scatter takes it) and crosses the fewest lines (`segments`: k x 2 x 2 line ends in data coordinates);
    leave it out where no place is free. Avoiding lines can take a place a later label needed: where the same
    placement ignoring lines leaves fewer labels out, that one is drawn. Returns how many were left out."""
    fig.canvas.draw()   # fixes the axes' limits and aspect, so that the labels' extents are final
    renderer = fig.canvas.get_renderer()
    lines = (ax.transData.transform(segments.reshape(-1, 2)).reshape(-1, 2, 2) if segments is not None and len(segments)
             else np.empty((0, 2, 2)))
    centres = ax.transData.transform([(x, y) for x, y, _ in markers]) if markers else np.empty((0, 2))
    radii = np.sqrt([size for *_, size in markers]) / 2 * fig.dpi / 72
    obstacles = [(Bbox.from_extents(cx - r, cy - r, cx + r, cy + r), (x, y))
                 for (cx, cy), r, (x, y, _) in zip(centres, radii, markers)]
    frame = ax.get_window_extent(renderer)
    boxes, ranks = [], []   # per label: each place's box, and its rank (lower is better) apart from the lines
    for text, x, y, colour, size in labels:
        others = [box for box, point in obstacles if point != (x, y)]   # its own marker is what it labels
        places = []
        for offset, align in LABEL_PLACES:
            label = ax.annotate(text, (x, y), textcoords="offset points", xytext=offset, ha=align, fontsize=size)
            places.append(label.get_window_extent(renderer).expanded(1.05, 1.1))
            label.remove()
        boxes.append(places)
        ranks.append([(not _inside(box, frame), any(box.overlaps(other) for other in others)) for box in places])
    crossings = [[_crossings(box, lines) for box in places] for places in boxes]
    taken = [ax.title.get_window_extent(renderer)]
    plans = [_greedy_places(boxes, [[rank + (crossed,) for rank, crossed in zip(*pair)] for pair in zip(ranks, crossings)], taken),
             _greedy_places(boxes, ranks, taken)]
    plan = min(plans, key=lambda chosen: chosen.count(None))   # the first, avoiding lines, unless it leaves more out
    for (text, x, y, colour, size), chosen in zip(labels, plan):
        if chosen is not None:
            offset, align = LABEL_PLACES[chosen]
            ax.annotate(text, (x, y), textcoords="offset points", xytext=offset, ha=align, fontsize=size, color=colour,
                        zorder=LABEL_ZORDER, bbox=LABEL_BOX)
    return plan.count(None)


def _greedy_places(boxes: list[list[Bbox]], ranks: list[list[tuple]], taken: list[Bbox]) -> list[int | None]:
    """Each label's place in order: of the places overlapping nothing taken so far, the best ranked (then the first);
    None where every place overlaps."""
    taken, plan = list(taken), []
    for places, rank in zip(boxes, ranks):
        free = [i for i, box in enumerate(places) if not any(box.overlaps(other) for other in taken)]
        chosen = min(free, key=lambda i: (rank[i], i)) if free else None
        plan.append(chosen)
        if chosen is not None:
            taken.append(places[chosen])
    return plan


def _inside(box: Bbox, frame: Bbox) -> bool:
    return frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


def _crossings(box: Bbox, lines: np.ndarray) -> int:
    """How many of the line segments `lines` (k x 2 x 2, display coordinates) pass through `box` (Liang-Barsky
    clipping: the part of each segment inside the box's four half-planes is not empty)."""
    if not len(lines):
        return 0
    start, delta = lines[:, 0], lines[:, 1] - lines[:, 0]
    # the segment start + t * delta, t in [0, 1], is inside x >= x0, x <= x1, y >= y0, y <= y1 where p * t <= q
    p = np.stack([-delta[:, 0], delta[:, 0], -delta[:, 1], delta[:, 1]], axis=1)
    q = np.stack([start[:, 0] - box.x0, box.x1 - start[:, 0], start[:, 1] - box.y0, box.y1 - start[:, 1]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = q / p
    enter = np.max(np.where(p < 0, ratio, 0.0), axis=1)
    leave = np.min(np.where(p > 0, ratio, 1.0), axis=1)
    parallel_outside = ((p == 0) & (q < 0)).any(axis=1)
    return int(((enter <= leave) & ~parallel_outside).sum())
