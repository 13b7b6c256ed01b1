import pytest

from costmodel.errors import InputError
from costmodel.grid.stp import parse_gr, read_gr

GOOD = """SECTION Graph
Nodes 3
Edges 2
E 1 2 5
E 2 3 7
END

SECTION Terminals
Terminals 2
T 1
T 3
END

EOF
"""


def test_reads_nodes_edges_terminals():
    p = parse_gr(GOOD)
    assert p.nodes["node"].tolist() == [1, 2, 3]
    assert p.nodes["is_terminal"].tolist() == [True, False, True]
    assert p.edges[["from_node", "to_node", "weight"]].values.tolist() == [[1, 2, 5], [2, 3, 7]]
    assert p.terminals == (1, 3)


def test_read_file(tmp_path):
    f = tmp_path / "x.gr"
    f.write_text(GOOD)
    assert read_gr(f).edges["weight"].sum() == 12


def test_missing_file_names_path(tmp_path):
    with pytest.raises(InputError, match="nope.gr"):
        read_gr(tmp_path / "nope.gr")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("E 2 3 7", "E 2 3", "line 5: expected 'E u v w'"),
        ("E 2 3 7", "E 2 x 7", "line 5: expected integers"),
        ("E 2 3 7", "E 2 4 7", "line 5: node 4 out of range; allowed 1..3"),
        ("E 2 3 7", "E 2 2 7", "line 5: self-loop"),
        ("E 2 3 7", "E 2 3 -7", "line 5: edge weight -7 is negative"),
        ("T 3", "T 9", "line 11: terminal 9 out of range"),
        ("T 3", "T 1", "line 11: terminal 1 listed twice"),
        ("Edges 2", "Edges 3", "header says Edges 3 but 2"),
        ("Terminals 2", "Terminals 1", "header says Terminals 1 but 2"),
        ("E 1 2 5", "X 1 2 5", "line 4: unknown line 'X 1 2 5' in SECTION graph"),
    ],
)
def test_malformed_lines_are_named(old, new, message):
    with pytest.raises(InputError, match=f"bad.gr {message}" if "line" in message else message):
        parse_gr(GOOD.replace(old, new, 1), name="bad.gr")


def test_no_terminals():
    text = GOOD.replace("Terminals 2\nT 1\nT 3\n", "")
    with pytest.raises(InputError, match="no terminals"):
        parse_gr(text)


def test_line_outside_section():
    with pytest.raises(InputError, match="line 1: 'Nodes 3' outside a SECTION"):
        parse_gr("Nodes 3\n" + GOOD)
