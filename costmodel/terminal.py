"""The console the CLI's commands print their tables to."""

from rich.console import Console

TABLE_WIDTH_CHARS = 160   # wide enough for the quote table's nine columns to keep one line each


def table_console() -> Console:
    """A console of TABLE_WIDTH_CHARS, whatever the terminal's width (a pipe or a file gets the same tables)."""
    return Console(width=TABLE_WIDTH_CHARS)
