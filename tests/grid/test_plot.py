"""The map is written as PNG or SVG; other suffixes are refused."""

from pathlib import Path

import numpy as np
import pytest

from costmodel.errors import InputError
from costmodel.grid.radial import extract, prepare, solve
from costmodel.grid.network import load_customers, load_grid_limits, load_network
from costmodel.grid.plot import design_svg, plot_design

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "park"


@pytest.fixture(scope="module")
def solved():
    network = load_network(EXAMPLE)
    inst = prepare(network, load_customers(EXAMPLE / "customers.csv", network), load_grid_limits("national-1996"))
    return network, extract(inst, solve(inst, 30, 0.05))


def test_png_and_svg(tmp_path, solved):
    network, design = solved
    png = plot_design(network, design, tmp_path / "map.png", title="park")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_design(network, design, tmp_path / "map.svg")
    text = svg.read_text()
    assert "<svg" in text and "park-p06" in text   # the red-line labels are drawn


def test_bad_suffix(tmp_path, solved):
    network, design = solved
    with pytest.raises(InputError, match=r"suffix '.jpg' is not allowed; allowed: .png, .svg"):
        plot_design(network, design, tmp_path / "map.jpg")


def test_the_web_map_is_svg_text_in_the_words_given(solved):
    network, design = solved
    from costmodel.fonts import matplotlib_cjk_family

    svg = design_svg(network, design, "park", {"red_line": "用户产权分界点", "subtitle": "投资 {cost} 元"}, matplotlib_cjk_family())
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "用户产权分界点" in svg and "customer red-line point" not in svg
    assert f"投资 {design.report['objective_cny']:,.0f} 元" in svg   # money with thousands separators
    assert "existing feeder point" in svg   # a word not given stays English


def _one_label(marker_offset_pt=(100, 100), at=(100, 100), segments=None):
    """A label for point A (`at`) with a marker of another point B `marker_offset_pt` away, and lines `segments`, on
    axes where one data unit is one point (72 dpi, 4 x 4 inch axes filling the figure, limits 0-288): the places'
    offsets are then data units."""
    import matplotlib.pyplot as plt

    from costmodel.grid.plot import _place_labels

    fig = plt.figure(figsize=(4, 4), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 288)
    ax.set_ylim(0, 288)
    (x, y), (dx, dy) = at, marker_offset_pt
    omitted = _place_labels(fig, ax, [("A-label", x, y, "red", 7)], [(x, y, 60), (x + dx, y + dy, 60)],
                            None if segments is None else np.array(segments, dtype=float))
    offset = ax.texts[0].xyann
    plt.close(fig)
    return omitted, tuple(offset)


def test_a_label_moves_off_another_points_marker():
    # B 15 pt right and 6 pt up sits in A's first place (5, 4), right of A and up; the next, (5, -12), is below it
    assert _one_label((15, 6)) == (0, (5, -12))


def test_a_label_keeps_its_first_place_when_no_marker_is_in_it():
    # B 100 pt away: A's own marker does not count, so the label takes the first place
    assert _one_label((100, 100)) == (0, (5, 4))


def test_a_label_moves_to_the_first_place_no_line_crosses():
    # the first place (5, 4) spans about x 105-135, y 104-112: a vertical line at x = 120 from y = 102 to 115 crosses
    # it and nothing else; the second place (5, -12), y 88-96, lies below the line's end
    assert _one_label(segments=[[[120, 102], [120, 115]]]) == (0, (5, -12))
    # the same line moved to x = 150 crosses no place that starts at x 105: the first place is kept
    assert _one_label(segments=[[[150, 102], [150, 115]]]) == (0, (5, 4))


def test_a_label_at_the_right_edge_turns_left_to_stay_on_the_map():
    # A at x = 280 of 288: a label written rightwards from x 285 leaves the axes; the first place written leftwards,
    # (-5, 4), stays inside
    assert _one_label(at=(280, 100)) == (0, (-5, 4))


def test_greedy_places_take_the_best_ranked_free_place_and_leave_out_a_label_with_none():
    from matplotlib.transforms import Bbox

    from costmodel.grid.plot import _greedy_places

    title = Bbox.from_extents(0, 100, 100, 110)
    a_places = [Bbox.from_extents(0, 0, 10, 10), Bbox.from_extents(20, 0, 30, 10)]
    b_places = [Bbox.from_extents(25, 5, 35, 15), Bbox.from_extents(5, 95, 15, 105)]   # the second covers the title
    boxes = [a_places, b_places]
    # A's first place crosses a line (rank 1): A takes its second, which B's only place off the title overlaps
    assert _greedy_places(boxes, [[(1,), (0,)], [(0,), (0,)]], [title]) == [1, None]
    # ranked alike, A keeps its first place and B fits
    assert _greedy_places(boxes, [[(0,), (0,)], [(0,), (0,)]], [title]) == [0, 0]


def test_crossings_count_the_segments_through_a_box_and_no_others():
    from matplotlib.transforms import Bbox

    from costmodel.grid.plot import _crossings

    box = Bbox.from_extents(0, 0, 10, 10)
    segments = np.array([
        [[-5, 5], [15, 5]],     # straight through
        [[5, 5], [50, 50]],     # starts inside
        [[-5, -5], [15, 15]],   # the diagonal through both corners
        [[11, -5], [11, 15]],   # beside it, parallel to its side
        [[-5, 12], [12, -5]],   # cuts the corner (0, 0)-(10, 10)? x + y = 7: through the lower left part
        [[8, 30], [30, 8]],     # x + y = 38: misses the upper right corner (10, 10) where x + y = 20
        [[20, 20], [30, 30]],   # on the diagonal's line, but beyond the box
    ], dtype=float)
    assert _crossings(box, segments) == 4
    assert _crossings(box, segments[3:4]) == 0 and _crossings(box, np.empty((0, 2, 2))) == 0


def test_no_route_is_drawn_in_a_colour_too_pale_to_see_on_white(solved):
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from costmodel.grid.plot import draw_design

    network, design = solved
    fig = draw_design(network, design)
    routes = [line for line in fig.axes[0].get_lines() if str(line.get_label()).startswith("route: ")]
    plt.close(fig)
    assert len(routes) == design.corridors["std_type"].nunique() >= 2

    def luminance(colour):   # WCAG 2 relative luminance
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    # contrast against white (1.05 / (L + 0.05)): viridis's yellow end (#fde725) has 1.2; every route here at least 1.8
    assert min(1.05 / (luminance(line.get_color()) + 0.05) for line in routes) >= 1.8


def test_a_network_on_one_line_gets_a_map_with_height(tmp_path):
    import matplotlib.pyplot as plt

    from costmodel.grid.plot import MIN_SPAN_RATIO, draw_design
    from tests.api.network_support import write_tiny_network

    folder = write_tiny_network(tmp_path / "tiny")   # F, J, C all at y = 0, 300 m apart end to end
    network = load_network(folder)
    inst = prepare(network, load_customers(folder / "customers.csv", network), load_grid_limits("national-1996"))
    fig = draw_design(network, extract(inst, solve(inst, 30, 0.0)), legend_below=True)
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    plt.close(fig)
    assert y1 - y0 >= MIN_SPAN_RATIO * (x1 - x0) - 1e-9 and y0 < 0 < y1   # the line sits in the middle
