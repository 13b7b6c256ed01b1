"""The map is written as PNG or SVG; other suffixes are refused."""

from pathlib import Path

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


def _one_label_beside_a_marker(marker_offset_pt):
    """A label for point A (100, 100) with a marker of another point B `marker_offset_pt` away, on axes where one data
    unit is one point (72 dpi, 4 x 4 inch axes filling the figure, limits 0-288)."""
    import matplotlib.pyplot as plt

    from costmodel.grid.plot import _place_labels

    fig = plt.figure(figsize=(4, 4), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 288)
    ax.set_ylim(0, 288)
    dx, dy = marker_offset_pt
    omitted = _place_labels(fig, ax, [("A-label", 100, 100, "red", 7)], [(100, 100, 60), (100 + dx, 100 + dy, 60)])
    offset = ax.texts[0].xyann
    plt.close(fig)
    return omitted, tuple(offset)


def test_a_label_moves_off_another_points_marker():
    # B 15 pt right and 6 pt up sits in A's first place (5, 4), right of A and up; the next, (5, -12), is below it
    assert _one_label_beside_a_marker((15, 6)) == (0, (5, -12))


def test_a_label_keeps_its_first_place_when_no_marker_is_in_it():
    # B 100 pt away: A's own marker does not count, so the label takes the first place
    assert _one_label_beside_a_marker((100, 100)) == (0, (5, 4))


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
