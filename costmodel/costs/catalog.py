"""The unit-cost catalogue: one row per std_type, validated on load."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import load_yaml

REQUIRED_COLUMNS = ["std_type", "family", "unit", "unit_cost_cny", "source", "indicative"]
NUMERIC_COLUMNS = ["unit_cost_cny", "voltage_kv", "rating_kva", "conductor_mm2", "ampacity_a",
                   "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km"]
UNITS = {"km", "each", "crossing"}


@dataclass(frozen=True)
class Catalog:
    id: str
    edition: str
    currency: str
    items: pd.DataFrame  # indexed by std_type
    sources: dict
    price_year: int | None = None  # the year whose price level the unit costs are at (None: not stated)
    price_index: str = ""  # tariffs/price-index/<id>: what moves the prices to another year's level
    valid_from: dt.date | None = None  # the edition's date
    review_after_years: int | None = None  # a quote applied this long after valid_from warns of stale prices (None: never)
    # Families sorted by a rating, kept: every design call asks for the same few.
    _families: dict = field(default_factory=dict, compare=False, repr=False)

    def family(self, name: str, by: str) -> pd.DataFrame:
        if (name, by) not in self._families:
            members = self.items[self.items["family"] == name].sort_values(by)
            if members.empty:
                raise InputError(f"catalogue {self.id} has no family {name!r}; known: {sorted(self.items['family'].unique())}")
            self._families[name, by] = members
        return self._families[name, by]

    def family_ratings(self, name: str, by: str) -> tuple[np.ndarray, np.ndarray]:
        """A family's ratings in `by`, ascending, and the members' positions in `items`: what a design picks from."""
        if (name, by, "ratings") not in self._families:
            members = self.family(name, by)
            self._families[name, by, "ratings"] = (members[by].to_numpy(dtype=float), self.items.index.get_indexer(members.index))
        return self._families[name, by, "ratings"]

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each std_type's position in `items`."""
        return {std_type: i for i, std_type in enumerate(self.items.index)}

    def require(self, std_types) -> None:
        unknown = sorted(set(std_types) - set(self.items.index))
        if unknown:
            raise InputError(f"catalogue {self.id} has no std_type {unknown}; known: {sorted(self.items.index)}")


NOT_FOUND = "not-found"  # the source key of a row whose unit cost was not found


@cached_per_root(maxsize=8)
def load_catalog(catalog_id: str = "cn-indicative-2019") -> Catalog:
    folder = tariffs_dir() / "catalogs" / catalog_id
    if not folder.is_dir():
        known = sorted(p.name for p in (tariffs_dir() / "catalogs").iterdir())
        raise InputError(f"unknown catalogue {catalog_id!r}; allowed: {', '.join(known)}")
    meta = load_yaml(folder / "meta.yaml")
    file = folder / "unit_costs.csv"
    try:
        items = pd.read_csv(file, dtype={"std_type": str, "family": str, "unit": str, "source": str}, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise InputError(f"{file}: the file is empty; it needs a header row and one row per std_type") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{file}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in items.columns]
    if missing:
        raise InputError(f"{file}: missing column(s) {missing}")
    for column in NUMERIC_COLUMNS:
        if column in items:
            converted = pd.to_numeric(items[column], errors="coerce")
            bad = (converted.isna() & items[column].notna()) | converted.isin([np.inf, -np.inf])
            if bad.any():
                row = int(bad.idxmax())
                value = items.at[row, column]
                shown = value.item() if hasattr(value, "item") else value  # inf, not np.float64(inf)
                raise InputError(f"{file}: row {row + 2}, column {column}: {shown!r} is not a number; allowed: a finite number")
            items[column] = converted
    checks = [
        (items["std_type"].duplicated(keep=False), "std_type", "each std_type once"),
        # No cost only where the row says no sourced figure was found: its lines show unpriced, never as 0.
        ((items["unit_cost_cny"].isna() & (items["source"] != NOT_FOUND)) | (items["unit_cost_cny"] < 0), "unit_cost_cny",
         f"a cost >= 0 (or empty, with source {NOT_FOUND})"),
        (~items["unit"].isin(UNITS), "unit", f"one of {sorted(UNITS)}"),
        (~items["source"].isin(set(meta.get("sources", {}))), "source", f"a key of meta.yaml sources {sorted(meta.get('sources', {}))}"),
    ]
    for bad, column, allowed in checks:
        if bad.any():
            row = int(bad.idxmax())
            value = items.at[row, column]
            shown = value.item() if hasattr(value, "item") else value
            shown = int(shown) if isinstance(shown, float) and shown.is_integer() else shown  # as written
            raise InputError(f"{file}: row {row + 2}, column {column}: {shown!r}; allowed: {allowed}")
    items["indicative"] = items["indicative"].astype(str).str.lower().eq("true")
    # Rows priced from cost ceilings (a source with basis: ceiling) are upper limits, not typical costs.
    ceilings = [key for key, entry in (meta.get("sources") or {}).items() if isinstance(entry, dict) and entry.get("basis") == "ceiling"]
    items["ceiling"] = items["source"].isin(ceilings)
    price_year = meta.get("price_year")
    if price_year is not None and (isinstance(price_year, bool) or not isinstance(price_year, int)):
        raise InputError(f"{folder / 'meta.yaml'}: price_year is {price_year!r}; allowed: a year YYYY")
    review_after_years = meta.get("review_after_years")
    if review_after_years is not None and (isinstance(review_after_years, bool) or not isinstance(review_after_years, int) or review_after_years < 1):
        raise InputError(f"{folder / 'meta.yaml'}: review_after_years is {review_after_years!r}; allowed: a whole number of years >= 1")
    return Catalog(
        id=str(meta["id"]),
        edition=str(meta["edition"]),
        currency=str(meta["currency"]),
        items=items.set_index("std_type", drop=False),
        sources=meta.get("sources", {}),
        price_year=price_year,
        price_index=str(meta.get("price_index") or ""),
        valid_from=meta.get("valid_from") if isinstance(meta.get("valid_from"), dt.date) else None,
        review_after_years=review_after_years,
    )
