"""Price-level indices by year (tariffs/price-index): what moves a catalogue's prices to another year's level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.errors import InputError
from costmodel.params.parameter import Reference
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_yaml, text_field


@dataclass(frozen=True)
class PriceIndex:
    id: str
    description: str
    levels: dict[int, float]  # year -> level, base year = 100
    references: dict[int, Reference]  # year -> the release its change is read from

    @property
    def first_year(self) -> int:
        return min(self.levels)

    @property
    def last_year(self) -> int:
        return max(self.levels)

    def years_covered(self, years: np.ndarray) -> np.ndarray:
        """Each year, or the nearest year the index covers (its last for a year not yet released)."""
        return np.clip(np.asarray(years, dtype=int), self.first_year, self.last_year)

    def factors(self, to_years: np.ndarray, from_year: int) -> np.ndarray:
        """Level of each covered year over the level of `from_year`: what a price of `from_year` is multiplied by."""
        if from_year not in self.levels:
            raise InputError(f"price index {self.id}: price year {from_year} is not covered; allowed: {self.first_year}-{self.last_year}")
        covered = self.years_covered(to_years)
        lookup = np.array([self.levels[year] for year in range(self.first_year, self.last_year + 1)])
        return lookup[covered - self.first_year] / self.levels[from_year]


def chained_levels(base_year: int, changes: dict[int, float]) -> dict[int, float]:
    """Levels (base year = 100) from each year's percent change on the year before: forward from the base year by
    multiplying, backward (each year's change gives the year before it) by dividing."""
    levels = {base_year: 100.0}
    for year in range(base_year + 1, max(changes) + 1):
        levels[year] = levels[year - 1] * (1 + changes[year] / 100)
    for year in range(base_year, min(changes) - 1, -1):
        levels[year - 1] = levels[year] / (1 + changes[year] / 100)
    return levels


@cached_per_root(maxsize=4)
def load_price_index(index_id: str) -> PriceIndex:
    file = tariffs_dir() / "price-index" / f"{index_id}.yaml"
    if not file.is_file():
        known = sorted(p.stem for p in (tariffs_dir() / "price-index").glob("*.yaml"))
        raise InputError(f"unknown price index {index_id!r}; allowed: {', '.join(known)}")
    where = str(file)
    raw = check_keys(load_yaml(file), where, {"id", "description", "unit", "base_year", "source", "changes"})
    text_field(raw["id"], where, "id")
    changes, references = {}, {}
    for year, entry in (raw["changes"] or {}).items():
        spot = f"{where}: changes.{year}"
        check_keys(entry, spot, {"percent", "reference"})
        if not isinstance(year, int) or isinstance(entry["percent"], bool) or not isinstance(entry["percent"], (int, float)):
            raise InputError(f"{spot}: a year (YYYY) with percent: a number, got {year!r}: {entry['percent']!r}")
        changes[year] = float(entry["percent"])
        references[year] = Reference.from_yaml(entry["reference"], spot, old_form=False)
    years = sorted(changes)
    if years != list(range(years[0], years[-1] + 1)) or not years[0] <= raw["base_year"] <= years[-1]:
        raise InputError(f"{where}: changes must cover consecutive years around base_year {raw['base_year']}, got {years}")
    return PriceIndex(raw["id"], str(raw["description"]), chained_levels(raw["base_year"], changes), references)
