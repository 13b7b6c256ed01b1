"""The CLI's table console keeps its width whatever the terminal says, so tables read the same in a pipe or a file."""

from rich.table import Table

from costmodel.terminal import TABLE_WIDTH_CHARS, table_console


def test_a_narrow_terminal_does_not_narrow_the_tables(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    console = table_console()
    assert console.width == TABLE_WIDTH_CHARS
    table = Table("zone", "component", "amount CNY")
    table.add_row("extension", "Low-voltage line from the public network to the meter box", "24,000")
    with console.capture() as captured:
        console.print(table)
    # the row keeps one line: top border, header, rule under it, the row, bottom border
    assert len(captured.get().splitlines()) == 5
