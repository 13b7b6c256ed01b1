"""Enterprise size (large / medium / small / micro) from a versioned industry threshold table.

The thresholds live in tariffs/classification/<version>/size_thresholds.csv; this module holds
only the reading rule of the table (see its meta.yaml, "semantics"), never a threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.errors import InputError
from costmodel.yamlio import load_yaml
from costmodel.paths import cached_per_root, tariffs_dir as tariffs_root

TABLE_FILE = "size_thresholds.csv"
META_FILE = "meta.yaml"

METRICS = ("employees", "revenue_10k_cny", "assets_10k_cny")
# Ordered smallest first so that `size <= "small"` selects small and micro.
SIZES = ("micro", "small", "medium", "large")
_MICRO, _SMALL, _MEDIUM, _LARGE = range(4)

_THRESHOLDS = ("sme_ceiling", "medium_min", "small_min")
_COLUMNS = (
    "industry", "name_zh", "clause", "metric_1", "metric_2",
    *(f"{t}_{i}" for t in _THRESHOLDS for i in (1, 2)),
    "verified",
)
_META_KEYS = ("id", "document", "date", "units", "source")
_VERSION_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_INDUSTRY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_LISTED = 10  # problem rows quoted in one raised error


def _fail(path: Path, line: int | None, column: str, value: object, allowed: str) -> InputError:
    where = f"{path}" if line is None else f"{path} line {line}"
    return InputError(f"{where}, column {column}: value {value!r} is not allowed; allowed: {allowed}")


def _versions(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.glob(f"*/{TABLE_FILE}"))


def load_size_table(version: str = "miit-2011", tariffs_dir: Path | str | None = None) -> pd.DataFrame:
    """Read and validate one version of the size threshold table.

    Returns one row per industry with the CSV's columns; thresholds as float (NaN where the
    industry has no second metric), `verified` as bool, `metric_2` as None where empty.
    `attrs["version"]` and `attrs["meta"]` carry the version id and meta.yaml.
    """
    root = Path(tariffs_dir) if tariffs_dir is not None else tariffs_root()
    root = root / "classification"
    folder = root / version
    if not _VERSION_RE.match(version) or not (folder / TABLE_FILE).is_file():
        raise InputError(
            f"size table version {version!r} not found under {root}; "
            f"allowed: {', '.join(_versions(root)) or '(none)'}"
        )
    meta = _load_meta(folder / META_FILE, version)
    path = folder / TABLE_FILE
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).apply(lambda c: c.str.strip())

    missing = [c for c in _COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in _COLUMNS]
    if missing or extra:
        raise InputError(
            f"{path}: columns missing {missing}, unknown {extra}; allowed columns: {', '.join(_COLUMNS)}"
        )

    table = raw[list(_COLUMNS)].copy()
    seen: dict[str, int] = {}
    for row, rec in enumerate(raw.to_dict("records")):  # a 16-row data file, not application data
        line = row + 2  # header is line 1
        _check_row(path, line, rec, seen)
        seen[rec["industry"]] = line

    for i in (1, 2):
        for t in _THRESHOLDS:
            table[f"{t}_{i}"] = pd.to_numeric(table[f"{t}_{i}"].replace("", np.nan)).astype(float)
    table["metric_2"] = table["metric_2"].replace("", None)
    table["verified"] = table["verified"].eq("true")
    table.attrs["version"] = version
    table.attrs["meta"] = meta
    return table


def _load_meta(path: Path, version: str) -> dict:
    if not path.is_file():
        raise InputError(f"{path} is missing; every size table needs a meta.yaml with {', '.join(_META_KEYS)}")
    meta = load_yaml(path) or {}
    if not isinstance(meta, dict):
        raise InputError(f"{path}: expected a mapping with {', '.join(_META_KEYS)}, got {type(meta).__name__}")
    absent = [k for k in _META_KEYS if k not in meta]
    if absent:
        raise InputError(f"{path}: keys {absent} missing; required: {', '.join(_META_KEYS)}")
    if meta["id"] != version:
        raise InputError(f"{path}, key id: value {meta['id']!r} is not allowed; allowed: {version!r} (the folder name)")
    return meta


def _check_row(path: Path, line: int, rec: dict[str, str], seen: dict[str, int]) -> None:
    industry = rec["industry"]
    if not _INDUSTRY_RE.match(industry):
        raise _fail(path, line, "industry", industry, "a snake_case key such as 'retail'")
    if industry in seen:
        raise _fail(path, line, "industry", industry, f"a key not already used (line {seen[industry]})")
    if rec["metric_1"] not in METRICS:
        raise _fail(path, line, "metric_1", rec["metric_1"], ", ".join(METRICS))
    if rec["metric_2"] not in ("", *METRICS) or rec["metric_2"] == rec["metric_1"]:
        raise _fail(path, line, "metric_2", rec["metric_2"],
                    f"empty or one of {', '.join(m for m in METRICS if m != rec['metric_1'])}")
    if rec["verified"] not in ("true", "false"):
        raise _fail(path, line, "verified", rec["verified"], "true, false")
    for i in (1, 2):
        used = i == 1 or rec["metric_2"] != ""
        values = {}
        for t in _THRESHOLDS:
            col, text = f"{t}_{i}", rec[f"{t}_{i}"]
            if not used:
                if text != "":
                    raise _fail(path, line, col, text, "empty, since metric_2 is empty")
                continue
            try:
                values[t] = float(text)
            except ValueError:
                values[t] = np.nan
            if not values[t] > 0:
                raise _fail(path, line, col, text, f"a number > 0 (threshold on {rec[f'metric_{i}']})")
        # A medium bound below the small bound, or above the ceiling, leaves a tier empty.
        if used and not values["small_min"] <= values["medium_min"] <= values["sme_ceiling"]:
            raise _fail(path, line, f"medium_min_{i}", values["medium_min"],
                        f"a number between small_min_{i} ({values['small_min']:g}) "
                        f"and sme_ceiling_{i} ({values['sme_ceiling']:g})")


def allowed_industries(table: pd.DataFrame) -> list[str]:
    """Industry keys the table classifies, in the table's order."""
    return table["industry"].tolist()


@cached_per_root(maxsize=4)
def known_industries(version: str = "miit-2011") -> tuple[str, ...]:
    """The industry keys of a size table, read once per tariffs root: every application validated asks."""
    return tuple(allowed_industries(load_size_table(version)))


@cached_per_root(maxsize=4)
def industry_rows(version: str = "miit-2011") -> pd.DataFrame:
    """The size table indexed by industry, read once per tariffs root (what a quote's what-if shows). Not to be
    changed by the caller: the cache shares it."""
    return load_size_table(version).set_index("industry")


@dataclass(frozen=True)
class SizeTable:
    """A size table read once into arrays: one row per industry, metrics as codes into METRICS (-1: none)."""

    industries: list[str]
    version: str
    metric_1: np.ndarray
    metric_2: np.ndarray
    thresholds: dict[str, np.ndarray]  # "<threshold>_<1|2>" -> per industry
    missing_metric: dict[str, np.ndarray]  # metric -> per industry, the message when it is needed and absent

    @classmethod
    def of(cls, table: pd.DataFrame) -> SizeTable:
        version = table.attrs.get("version", "size table")
        code_of = {m: k for k, m in enumerate(METRICS)}
        uses = table["metric_1"] + table["metric_2"].map(lambda m: f" and {m}" if m else "")
        return cls(
            industries=allowed_industries(table),
            version=version,
            metric_1=table["metric_1"].map(code_of).to_numpy(),
            metric_2=table["metric_2"].map(code_of).fillna(-1).astype(int).to_numpy(),
            thresholds={f"{t}_{i}": table[f"{t}_{i}"].to_numpy(float) for t in _THRESHOLDS for i in (1, 2)},
            missing_metric={metric: (metric + " is missing; industry '" + table["industry"] + "' is classified on " + uses
                                     + " (" + version + "), so a number >= 0 is required").to_numpy()
                            for metric in METRICS},
        )


def size_codes(columns: Columns, sizes: SizeTable) -> tuple[np.ndarray, np.ndarray]:
    """Codes into SIZES (-1 where a row cannot be classified) and the reason for such rows (None elsewhere).

    Reads `industry` and, as the industry's row needs them, `employees`, `revenue_10k_cny`,
    `assets_10k_cny` (absent column = not given)."""
    n = len(columns)
    allowed = sizes.industries
    # Position of each row's industry in the table; -1 when unknown or missing.
    industry = columns["industry"]
    pos = pd.Index(allowed).get_indexer(industry)
    known = pos >= 0
    p = np.where(known, pos, 0)
    m1 = sizes.metric_1[p]
    m2 = sizes.metric_2[p]
    has2 = m2 >= 0

    raw = {m: np.asarray(columns[m]) if m in columns else np.full(n, None, dtype=object) for m in METRICS}
    values = np.column_stack([pd.to_numeric(raw[m], errors="coerce").astype(float) for m in METRICS])
    rows = np.arange(n)
    x1 = values[rows, m1]
    x2 = np.where(has2, values[rows, np.maximum(m2, 0)], np.nan)

    def th(name: str) -> np.ndarray:
        return sizes.thresholds[name][p]

    sme = (x1 < th("sme_ceiling_1")) | (has2 & (x2 < th("sme_ceiling_2")))
    medium = (x1 >= th("medium_min_1")) & (~has2 | (x2 >= th("medium_min_2")))
    small = (x1 >= th("small_min_1")) & (~has2 | (x2 >= th("small_min_2")))
    codes = np.where(~sme, _LARGE, np.where(medium, _MEDIUM, np.where(small, _SMALL, _MICRO)))

    reasons = np.full(n, None, dtype=object)

    def add(mask: np.ndarray, texts) -> None:
        """Append `texts` (one entry per True in `mask`) to the reasons of those rows."""
        old = reasons[mask]
        first = pd.isna(old)
        reasons[mask] = np.where(first, "", old).astype(object) + np.where(first, "", "; ").astype(object) + np.asarray(texts, dtype=object)

    unknown = ~known
    if unknown.any():
        shown = ["is missing" if pd.isna(given) else f"'{given}' is not in {sizes.version}" for given in industry[unknown]]
        add(unknown, [f"industry {text}; allowed: {', '.join(allowed)}" for text in shown])

    for k, metric in enumerate(METRICS):
        needed = known & ((m1 == k) | (m2 == k))
        given = pd.notna(raw[metric])
        number = values[:, k]
        not_number = needed & given & np.isnan(number)
        negative = needed & (number < 0)
        absent = needed & ~given
        if not_number.any():
            add(not_number, [f"{metric} {value!r} is not a number; allowed: a number >= 0" for value in raw[metric][not_number]])
        if negative.any():
            add(negative, [f"{metric} {value} is negative; allowed: a number >= 0" for value in raw[metric][negative]])
        if absent.any():
            add(absent, sizes.missing_metric[metric][p[absent]])  # one message per industry, spread by position

    return np.where(pd.notna(reasons), -1, codes), reasons


def classify_enterprise_size(
    frame: pd.DataFrame, table: pd.DataFrame, *, errors: str = "report"
) -> tuple[pd.Series, pd.Series]:
    """Classify every row of `frame` by the size table.

    Reads `industry` and, as the industry's row needs them, `employees`, `revenue_10k_cny`,
    `assets_10k_cny` (absent column = not given). Returns `(size, problems)`, both indexed like
    `frame`: `size` an ordered categorical of micro < small < medium < large, NaN where the row
    cannot be classified; `problems` the reason for such rows (str), None elsewhere.
    Nothing is guessed: an unknown industry, a missing, non-numeric or negative needed metric
    makes a problem. errors="raise" raises one InputError listing the problem rows instead,
    which is what a single application wants.
    """
    if errors not in ("report", "raise"):
        raise InputError(f"errors={errors!r} is not allowed; allowed: 'report', 'raise'")
    if "industry" not in frame.columns:
        raise InputError(
            f"column 'industry' is missing; columns given: {', '.join(map(str, frame.columns))}; "
            f"required: industry, plus {', '.join(METRICS)} as the industry needs"
        )
    codes, reasons = size_codes(Columns(frame), SizeTable.of(table))
    bad = pd.notna(reasons)
    size = pd.Series(
        pd.Categorical.from_codes(codes, categories=list(SIZES), ordered=True),
        index=frame.index, name="enterprise_size",
    )
    problems = pd.Series(reasons, index=frame.index, name="enterprise_size_problem", dtype=object)

    if errors == "raise" and bad.any():
        listed = problems[bad].head(_MAX_LISTED)
        more = int(bad.sum()) - len(listed)
        lines = [f"row {label!r}: {text}" for label, text in listed.items()]  # at most _MAX_LISTED
        if more:
            lines.append(f"... and {more} more rows")
        raise InputError("enterprise size cannot be classified:\n" + "\n".join(lines))
    return size, problems
