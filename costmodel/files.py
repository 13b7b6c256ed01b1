"""Every file costmodel writes goes through here: a temporary file in the target's own folder, renamed
over the target (os.replace) only once it is complete, so an error or an interrupt leaves the old
file or no file, never a truncated one.

The command line decides before it works whether it may write: `check_outputs` refuses an existing
output without --force, and an output that is also one of the run's inputs. Text that a spreadsheet
would read as a formula is neutralised (a leading single quote) in every CSV and Excel output.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from costmodel.errors import InputError

# Test hook: a file-name pattern; a write whose target matches it announces itself on stderr and waits
# (up to PAUSE_SECONDS) just before the rename, so a test can interrupt the final write.
PAUSE_ENV = "COSTMODEL_TEST_PAUSE_BEFORE_RENAME"
PAUSE_MARK = "costmodel-test: paused before renaming"
PAUSE_SECONDS = 60.0

TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel"}

# A cell a spreadsheet reads as a formula starts with one of these (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = pa.array(FORMULA_STARTS)
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class OutputError(InputError):
    """An output the run may not write: it exists (and --force was not given) or it is an input."""


_protected: set[Path] = set()  # the inputs of the current command: never replaced by a write


def protect_inputs(paths: Iterable[Path | None]) -> None:
    """Make these (and only these) the files no write may replace; check_outputs calls it."""
    _protected.clear()
    _protected.update(Path(p).resolve() for p in paths if p is not None)


def _refuse_input(path: Path) -> None:
    if path.resolve() in _protected:
        raise OutputError(f"{path}: it is also an input of this run; choose another output path")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_outputs(outputs: Iterable[Path | None], *, force: bool, inputs: Iterable[Path | None] = (),
                  option: str = "--force") -> None:
    """Refuse, before any work, an output that is one of the inputs, or that exists without `force`; the
    inputs stay protected: a later write to one of them (a file of an output folder) is refused too.

    An output folder (one that exists as a folder) counts as existing when it holds any file.
    """
    inputs = [Path(p) for p in inputs if p is not None]
    protect_inputs(inputs)
    for output in (Path(p) for p in outputs if p is not None):
        for source in inputs:
            if _same_file(output, source):
                raise OutputError(f"{output}: it is also an input ({source}); choose another output path")
        if output.is_dir():
            if not force and any(output.iterdir()):
                raise OutputError(f"{output}: the output folder exists and is not empty; "
                                  f"give {option} to overwrite its files, or choose another folder")
        elif output.exists() and not force:
            raise OutputError(f"{output}: the output file exists; give {option} to overwrite it, or choose another path")


def _pause_hook(path: Path) -> None:
    pattern = os.environ.get(PAUSE_ENV)
    if pattern and fnmatch.fnmatch(path.name, pattern):
        print(f"{PAUSE_MARK} {path}", file=sys.stderr, flush=True)
        time.sleep(PAUSE_SECONDS)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix, so writers that go by it still work) to write to; on
    leaving the block it replaces `path`. On any exception, KeyboardInterrupt included, the temporary file
    is removed and `path` is left as it was."""
    path = Path(path)
    _refuse_input(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the usual mode (umask), not private
    try:
        yield temporary
        _pause_hook(path)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def save_figure(figure, path: str | Path, **options) -> Path:
    """A matplotlib figure, in the format of the path's suffix."""
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=path.suffix.lstrip(".").lower() or None, **options)
    return path


def neutralise_cell(value):
    """Text a spreadsheet would read as a formula, with a leading single quote; anything else as it is
    (a plain number written as text, such as -5, is not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _may_hold_formulas(values) -> bool:
    """Whether any text of a column (or of a categorical's categories) starts like a formula: by Arrow on the
    first characters (a million ids in a few hundredths of a second), by Python for mixed columns."""
    try:
        text = pa.array(values, from_pandas=True, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text (numbers, dates, ... mixed in)
        return any(neutralise_cell(value) is not value for value in values)
    return pc.any(pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=_FORMULA_FIRST)).as_py() or False


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every formula-like text cell neutralised; numeric columns are left alone. The frame
    itself when nothing needs it (no copy)."""
    changed = {}
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        categorical = isinstance(series.dtype, pd.CategoricalDtype)
        if _may_hold_formulas(series.cat.categories.to_numpy(object) if categorical else series.to_numpy(object)):
            changed[position] = series.astype(object).map(neutralise_cell)
    if not changed:
        return frame
    result = frame.copy()
    for position, values in changed.items():
        result.isetitem(position, values)
    return result


def table_format(path: Path) -> str:
    kind = TABLE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown table format {path.suffix!r}; allowed: {', '.join(sorted(TABLE_FORMATS))}")
    return kind


def write_csv(frame: pd.DataFrame, path: str | Path, **options) -> Path:
    """A CSV file (whatever the suffix), formula-like text neutralised; options go to DataFrame.to_csv."""
    with atomic_path(path) as temporary:
        neutralise_formulas(frame).to_csv(temporary, index=False, **options)
    return Path(path)


def write_table(frame: pd.DataFrame, path: str | Path, **csv_options) -> Path:
    """A table to CSV, Parquet or Excel by the file's suffix, written whole or not at all; formula-like
    text neutralised in CSV and Excel."""
    path = Path(path)
    kind = table_format(path)
    if kind == "csv":
        return write_csv(frame, path, **csv_options)
    with atomic_path(path) as temporary:
        if kind == "parquet":
            frame.to_parquet(temporary, index=False)
        else:
            with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
                neutralise_formulas(frame).to_excel(writer, index=False)
    return path


def write_workbook(path: str | Path, sheets: dict[str, pd.DataFrame], max_rows: int | None = None) -> Path:
    """An Excel workbook, a sheet per table (names cut to Excel's 31 characters), formulas neutralised."""
    with atomic_path(path) as temporary:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            for name, table in sheets.items():
                shown = table if max_rows is None else table.head(max_rows)
                neutralise_formulas(shown).to_excel(writer, sheet_name=name[:31], index=False)
    return Path(path)
