import numpy as np
import pytest

from costmodel.grid.dreyfus_wagner import dreyfus_wagner, fits
from tests.grid.steiner_support import brute_force_optimum, is_steiner_tree, make, random_connected_edges


def test_star_centre_is_used():
    # terminals 0, 1, 2 pairwise 4 apart, centre 3 at 2.5 from each: 7.5 < 8
    g = make(4, [(0, 1, 4), (1, 2, 4), (0, 2, 4), (0, 3, 2.5), (1, 3, 2.5), (2, 3, 2.5)])
    tree = dreyfus_wagner(g, np.array([0, 1, 2]), 0)
    assert tree.tolist() == [3, 4, 5] and g.cost(tree) == 7.5


def test_two_steiner_nodes_on_a_ladder():
    # terminals 0, 1 (left) and 4, 5 (right); rungs 0-2, 1-2 and 3-4, 3-5 cost 1, bridge 2-3 costs 3:
    # 1 + 1 + 3 + 1 + 1 = 7, while the direct terminal edges 0-1, 4-5 (3 each) plus 1-4 (6) cost 12
    g = make(6, [(0, 2, 1), (1, 2, 1), (2, 3, 3), (3, 4, 1), (3, 5, 1), (0, 1, 3), (4, 5, 3), (1, 4, 6)])
    tree = dreyfus_wagner(g, np.array([0, 1, 4, 5]), 4)
    assert tree.tolist() == [0, 1, 2, 3, 4] and g.cost(tree) == 7


def test_only_the_root_needs_no_edge():
    assert dreyfus_wagner(make(2, [(0, 1, 5)]), np.array([1]), 1).tolist() == []


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_match_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    n = 9
    edges = random_connected_edges(rng, n, density=0.4, max_weight=10)
    terminals = np.sort(rng.choice(n, size=int(rng.integers(2, 6)), replace=False))
    g = make(n, edges)
    best = brute_force_optimum(n, edges, terminals.tolist())
    tree = dreyfus_wagner(g, terminals, int(terminals[-1]))
    assert is_steiner_tree(g, tree, terminals) and g.cost(tree) == best


def test_fits_grows_with_terminals_and_nodes():
    assert fits(64, 12) and not fits(64, 20) and not fits(5000, 6)


def test_fits_refuses_thousands_of_terminals_without_overflow():
    # 2.0 ** 1378 is beyond a float: Track 2's instance191 keeps 1,3xx terminals after reduction
    assert not fits(4000, 1379)
    # the limits by hand: 11 terminals besides the root on 64 nodes need 2^11 x 64^2 = 8.4e6 <= 2e8 and
    # 3^11 x 64 = 1.1e7 <= 1e8
    assert fits(64, 12)
