"""The map is written as PNG or SVG; other suffixes are refused."""

from pathlib import Path

import pytest

from costmodel.errors import InputError
from costmodel.grid.radial import extract, prepare, solve
from costmodel.grid.network import load_customers, load_grid_limits, load_network
from costmodel.grid.plot import plot_design

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
