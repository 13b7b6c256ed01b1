"""Charges abolished by law (tariffs/abolished-charges): refused in rule sets and catalogues, found in quotes.

A charge matches a fee, a catalogue item or a quote line whose name contains one of the charge's names (Chinese or
English, case ignored). The list, its clauses and the date it applies from are data.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.params.parameter import Reference
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_json, load_yaml, text_field

FOLDER = "abolished-charges"
MAX_QUOTE_BYTES = 16 << 20  # an imported quote is a few kilobytes; more is a mistaken file


@dataclass(frozen=True)
class AbolishedCharge:
    id: str
    names: tuple[str, ...]
    clause: Reference  # the clause that abolishes it
    applies_from: dt.date
    list_id: str


@cached_per_root(maxsize=1)
def abolished_charges() -> tuple[AbolishedCharge, ...]:
    """Every abolished charge of every list under tariffs/abolished-charges, checked."""
    charges = []
    for file in sorted((tariffs_dir() / FOLDER).glob("*.yaml")):
        where = str(file)
        raw = check_keys(load_yaml(file), where, {"description", "source", "applies_from", "applies_from_reference", "clauses"})
        if not isinstance(raw["applies_from"], dt.date):
            raise InputError(f"{where}: applies_from is {raw['applies_from']!r}; allowed: a date YYYY-MM-DD")
        Reference.from_yaml(raw["applies_from_reference"], f"{where}: applies_from_reference", old_form=False)
        for number, clause in enumerate(raw["clauses"], start=1):
            spot = f"{where}: clause {number}"
            check_keys(clause, spot, {"id", "reference", "charges"})
            reference = Reference.from_yaml(clause["reference"], spot, old_form=False)
            for item in clause["charges"]:
                check_keys(item, f"{spot} ({clause['id']})", {"id", "names"})
                text_field(item["id"], f"{spot} ({clause['id']})", "id")
                if not item["names"] or not all(isinstance(name, str) and name.strip() for name in item["names"]):
                    raise InputError(f"{spot} ({item['id']}): names must be a list of non-empty texts, got {item['names']!r}")
                charges.append(AbolishedCharge(item["id"], tuple(item["names"]), reference, raw["applies_from"], file.stem))
    return tuple(charges)


def charges_named(texts) -> list[list[AbolishedCharge]]:
    """For each text (a fee's, an item's or a line's names joined), the abolished charges it names."""
    lowered = pd.Series([str(text).lower() for text in texts], dtype=object)
    found: list[list[AbolishedCharge]] = [[] for _ in range(len(lowered))]
    for charge in abolished_charges():
        hit = np.zeros(len(lowered), dtype=bool)
        for name in charge.names:
            hit |= lowered.str.contains(name.lower(), regex=False).to_numpy(dtype=bool)
        for row in np.flatnonzero(hit).tolist():
            found[row].append(charge)
    return found


def describe(charge: AbolishedCharge) -> str:
    return f"{charge.names[0]} ({charge.id}), abolished from {charge.applies_from.isoformat()} by {charge.clause.cite()}"


def ruleset_problems(ruleset, catalog) -> list[str]:
    """Each fee of the rule set and each item of the catalogue that charges an abolished charge."""
    problems = []
    fees = ruleset.decision("fees").fees if "fees" in ruleset.decisions else ()
    for fee, found in zip(fees, charges_named(f"{fee.id} {fee.name} {fee.name_zh}" for fee in fees)):
        problems += [f"rule set {ruleset.id}: fee {fee.id} ({fee.name}) charges {describe(charge)}" for charge in found]
    items = catalog.items
    for std_type, found in zip(items.index, charges_named(items["std_type"] + " " + items.get("description", ""))):
        problems += [f"catalogue {catalog.id}: item {std_type} charges {describe(charge)}" for charge in found]
    return problems


def read_quote_lines(path: Path) -> pd.DataFrame:
    """An imported quote's lines: a costmodel quote (JSON, with `lines`), a JSON list of lines, or CSV lines. Each
    line needs `component` (its name); `component_zh`, `amount_cny` and `application_date` are read where given
    (a JSON quote's date is its provenance's evaluation date)."""
    if path.suffix.lower() == ".json":
        data = load_json(path, "a quote file", MAX_QUOTE_BYTES)
        date = None
        if isinstance(data, dict):
            date = (data.get("provenance") or {}).get("evaluation_date")
            data = data.get("lines")
        if not isinstance(data, list) or not all(isinstance(line, dict) for line in data):
            raise InputError(f"{path}: expected a quote with `lines` or a list of lines (mappings with at least `component`)")
        lines = pd.DataFrame(data)
        if date is not None and "application_date" not in lines:
            lines["application_date"] = date
    elif path.suffix.lower() == ".csv":
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                lines = pd.DataFrame(list(csv.DictReader(handle)))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise InputError(f"{path}: cannot be read as UTF-8 CSV lines ({error})") from None
    else:
        raise InputError(f"{path}: unknown quote format {path.suffix!r}; allowed: .json, .csv")
    if "component" not in lines:
        raise InputError(f"{path}: no `component` column or field; allowed: lines with component (and optionally "
                         "component_zh, amount_cny, application_date)")
    return lines


def audit_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (line, abolished charge) found: the line's position (1-based), component, amount, the charge,
    its clause, and whether the line's date (where known) is on or after the charge was abolished."""
    names = lines["component"].fillna("").astype(str)
    if "component_zh" in lines:
        names = names + " " + lines["component_zh"].fillna("").astype(str)
    dates = pd.to_datetime(lines["application_date"], errors="coerce") if "application_date" in lines else pd.Series(pd.NaT, index=lines.index)
    rows = []
    for position, (found, date) in enumerate(zip(charges_named(names), dates)):
        for charge in found:
            rows.append({"line": position + 1, "component": lines["component"].iloc[position],
                         "amount_cny": lines["amount_cny"].iloc[position] if "amount_cny" in lines else None,
                         "charge": charge.id, "name": charge.names[0], "abolished_from": charge.applies_from.isoformat(),
                         "clause": charge.clause.cite(),
                         "after_abolition": None if pd.isna(date) else bool(date.date() >= charge.applies_from)})
    return pd.DataFrame(rows, columns=["line", "component", "amount_cny", "charge", "name", "abolished_from", "clause", "after_abolition"])


def audit_file(path: Path) -> pd.DataFrame:
    return audit_lines(read_quote_lines(Path(path)))

