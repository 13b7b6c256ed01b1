"""One policy lever: dated values, a unit and the clause it comes from."""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.errors import InputError
from costmodel.params.sources import KINDS, source
from costmodel.yamlio import check_keys, load_yaml, quoted

SOURCE_TAGS = set(KINDS)  # a source's kind (tariffs/sources.yaml), what `Reference.source` gives
CITATION_KEYS = ({"source"}, {"article", "quote", "paraphrase", "note", "unverified"})
OLD_FORM_KEYS = ({"document", "clause", "source"}, {"note", "unverified"})


@dataclass(frozen=True)
class Reference:
    """A clause cited: a source of the bibliography, the article, and the clause either quoted (the text's own
    words) or paraphrased (ours). `quoted` is None for a reference still in the old form (document, clause,
    source tag), which schedule stage data keeps."""

    document: str
    text: str
    kind: str
    quoted: bool | None = False
    key: str = ""
    article: str = ""
    note: str = ""
    # The clause (or the value it supports) was not read in the text itself: a quote says so.
    unverified: bool = False

    @property
    def source(self) -> str:
        """The kind of source: article, national, practice or placeholder."""
        return self.kind

    @property
    def clause(self) -> str:
        """The article and the clause, a quote in quotation marks and a paraphrase marked as one."""
        if self.quoted is None:
            return self.text
        return f"{self.article}: {self._body}" if self.article else self._body

    @property
    def _body(self) -> str:
        return f"“{self.text}”" if self.quoted else f"{self.text} (paraphrase)"

    @classmethod
    def from_yaml(cls, raw: Any, where: str, *, old_form: bool = True) -> Reference:
        """`{source: KEY, article?, quote | paraphrase, note?, unverified?}`, KEY a key of tariffs/sources.yaml.
        With `old_form` the old `{document, clause, source: TAG}` is read too (schedule stage data)."""
        if old_form and isinstance(raw, dict) and "document" in raw:
            return cls._old_form(raw, where)
        check_keys(raw, f"{where}: reference", *CITATION_KEYS)
        texts = [k for k in ("quote", "paraphrase") if k in raw]
        if len(texts) != 1:
            raise InputError(f"{where}: reference needs exactly one of quote (the text's own words) or paraphrase "
                             f"(ours), got {', '.join(texts) or 'neither'}")
        cited = source(raw["source"], f"{where}: reference")
        return cls(cited.document, str(raw[texts[0]]), cited.kind, texts[0] == "quote", cited.key,
                   str(raw.get("article", "")), str(raw.get("note", "")), _unverified(raw, where))

    @classmethod
    def _old_form(cls, raw: dict, where: str) -> Reference:
        check_keys(raw, f"{where}: reference", *OLD_FORM_KEYS)
        if raw["source"] not in SOURCE_TAGS:
            raise InputError(
                f"{where}: reference.source is {raw['source']!r}; allowed: {', '.join(sorted(SOURCE_TAGS))}"
            )
        return cls(str(raw["document"]), str(raw["clause"]), raw["source"], None, note=str(raw.get("note", "")),
                   unverified=_unverified(raw, where))

    def cite(self) -> str:
        """`《…》(…号), 第X条: “quote” [national]` or `《…》: paraphrase (paraphrase) [article, unverified]`."""
        tags = f"[{self.kind}{', unverified' if self.unverified else ''}]"
        if self.quoted is None:
            return f"{self.document}, {self.text} {tags}"
        head = f"{self.document}, {self.article}" if self.article else self.document
        return f"{head}: {self._body} {tags}"


def _unverified(raw: dict, where: str) -> bool:
    if not isinstance(raw.get("unverified", False), bool):
        raise InputError(f"{where}: reference.unverified is {raw['unverified']!r}; allowed: true, false")
    return raw.get("unverified", False)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _check_one_kind(values: list, where: str) -> None:
    """Every value of a parameter (each date, each category) is of one kind: a kVA cap of 'big' beside numbers
    would fail only when a rule compares it."""
    kinds = [_kind(value) for value in values]
    for value, kind in zip(values, kinds):
        if kind != kinds[0]:
            raise InputError(f"{where}: value {quoted(value, 60)} is {kind} but {quoted(values[0], 60)} is {kinds[0]}; "
                             "allowed: values of one kind (all numbers, all text, all true/false or all lists)")
        if kind == "number" and not math.isfinite(value):
            raise InputError(f"{where}: value {value!r} is not finite; allowed: finite numbers")


@dataclass(frozen=True)
class Parameter:
    path: str
    description: str
    unit: str
    reference: Reference
    dates: tuple[dt.date, ...]
    values: tuple[Any, ...]
    breakdown: str | None = None
    placeholder: bool = False
    file: str = ""
    # Per date, the value's own reference where it has one (None: the parameter's); empty when no value has one.
    value_references: tuple[Reference | None, ...] = ()

    @classmethod
    def from_yaml(cls, path: str, raw: Any, file: Path) -> Parameter:
        where = str(file)
        check_keys(raw, where, {"description", "unit", "reference", "values"}, {"breakdown", "placeholder"})
        values = raw["values"]
        if not isinstance(values, dict) or not values:
            raise InputError(f"{where}: values must map dates (YYYY-MM-DD) to values, got {values!r}")
        for key in values:
            if not isinstance(key, dt.date):
                raise InputError(f"{where}: values key {key!r} is not a date; write YYYY-MM-DD")
        breakdown = raw.get("breakdown")
        dates = tuple(sorted(values))
        ordered, own = [], []
        for d in dates:  # a value may carry its own reference: {value: X, reference: {...}}
            value = values[d]
            cited = isinstance(value, dict) and set(value) == {"value", "reference"}
            own.append(Reference.from_yaml(value["reference"], f"{where}: values {d}", old_form=False) if cited else None)
            ordered.append(value["value"] if cited else value)
        ordered = tuple(ordered)
        if breakdown is not None:
            categories = None
            for d, value in zip(dates, ordered):
                if not isinstance(value, dict):
                    raise InputError(f"{where}: breakdown {breakdown!r} needs a mapping of categories at {d}, got {value!r}")
                if categories is not None and set(value) != categories:
                    raise InputError(f"{where}: categories at {d} ({sorted(value)}) differ from earlier dates ({sorted(categories)})")
                categories = set(value)
        _check_one_kind(ordered if breakdown is None else [v for value in ordered for v in value.values()], where)
        return cls(
            path=path,
            description=str(raw["description"]),
            unit=str(raw["unit"]),
            reference=Reference.from_yaml(raw["reference"], where, old_form=False),
            dates=dates,
            values=ordered,
            breakdown=breakdown,
            placeholder=bool(raw.get("placeholder", False)),
            file=where,
            value_references=tuple(own) if any(own) else (),
        )

    def reference_at(self, index: int) -> Reference:
        """The reference of the value at this position of `dates`: its own, else the parameter's."""
        return (self.value_references[index] if self.value_references else None) or self.reference

    def reference_on(self, when: dt.date) -> Reference:
        """The reference of the value in force on `when`."""
        return self.reference_at(self._index(when))

    def _index(self, when: dt.date) -> int:
        if type(when) is not dt.date:  # a datetime, Timestamp or text: the day it falls on
            when = pd.Timestamp(when).date()
        return max(bisect_right(self.dates, when) - 1, 0)

    def at(self, when: dt.date, category: str | None = None) -> Any:
        return self._value(self._index(when), category)

    def _value(self, index: int, category: str | None) -> Any:
        value = self.values[index]
        if self.breakdown is None:
            return value
        if category not in value:
            raise InputError(
                f"{self.path}: no value for {self.breakdown}={category!r}; allowed: {', '.join(map(str, value))}"
            )
        return value[category]

    def date_indices(self, dates) -> np.ndarray:
        """Index of the value in force at each date (the first value before the first date)."""
        if len(self.dates) == 1:  # most levers never changed: no dates to look at
            return np.zeros(len(dates), dtype=np.intp)
        breakpoints = np.array(self.dates, dtype="datetime64[D]")
        positions = np.searchsorted(breakpoints, np.asarray(dates, dtype="datetime64[D]"), side="right") - 1
        return np.clip(positions, 0, None)

    @cached_property
    def cells(self) -> tuple[np.ndarray, list | None]:
        """The values as an array, one row per date and one column per breakdown category (a single column
        without a breakdown), float or bool where every value is one; and the categories, in column order."""
        categories = list(self.values[0]) if self.breakdown is not None else None
        rows = [[value[c] for c in categories] if categories is not None else [value] for value in self.values]
        table = np.empty((len(rows), len(rows[0])), dtype=object)
        for i, row in enumerate(rows):  # element by element: a value may itself be a list
            for j, value in enumerate(row):
                table[i, j] = value
        flat = table.ravel()
        if all(isinstance(v, bool) for v in flat):
            table = table.astype(bool)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
            table = table.astype(float)
        return table, categories

    @property
    def reads(self) -> list[str]:
        """The columns `array` reads (with the default date column)."""
        return ["evaluation_date"] + ([self.breakdown] if self.breakdown else [])

    def array(self, frame, date_column: str = "evaluation_date") -> np.ndarray:
        """The value in force for each row, by the row's date and, with a breakdown, its category: what a
        condition or a quantity computes with (`frame` a DataFrame or Columns)."""
        indices = self.date_indices(frame[date_column])
        table, categories = self.cells
        if categories is None:
            return table[indices, 0]
        codes = Columns.of(frame).codes(self.breakdown, tuple(categories))
        if (codes < 0).any():
            bad = np.asarray(frame[self.breakdown], dtype=object)[codes < 0][0]
            raise InputError(
                f"{self.path}: no value for {self.breakdown}={bad!r}; allowed: {', '.join(map(str, categories))}"
            )
        return table[indices, codes]

    def describe_value(self, when: dt.date, category: str | None = None) -> str:
        """`path<date>[category] = value unit`, as the trace shows it."""
        return self._describe(self._index(when), category)

    def describe_values(self, frame, date_column: str = "evaluation_date") -> list[str]:
        """`describe_value` for each row (by its date and, with a breakdown, its category), each text made once."""
        categories = list(frame[self.breakdown]) if self.breakdown else [None] * len(frame)
        texts: dict[tuple[int, Any], str] = {}
        out = []
        for key in zip(self.date_indices(frame[date_column]).tolist(), categories):
            if key not in texts:
                texts[key] = self._describe(*key)
            out.append(texts[key])
        return out

    def _describe(self, index: int, category: str | None) -> str:
        """With references per value, the line cites the one in force (the rule's citation covers the rest)."""
        where = f"[{category}]" if self.breakdown is not None else ""
        cited = f" ({self.reference_at(index).cite()})" if self.value_references else ""
        return f"{self.path}<{self.dates[index].isoformat()}>{where} = {self._value(index, category)} {self.unit}{cited}"


def parameters_in_force(path: Path, at: dt.date | None = None) -> dict[str, dict]:
    """A file of named parameters ({description, parameters}) as {name: {value, unit, reference}}, each
    value the one in force on `at` (else its latest)."""
    data = check_keys(load_yaml(path), str(path), {"description", "parameters"})
    out = {}
    for name, entry in data["parameters"].items():
        parameter = Parameter.from_yaml(name, entry, path)
        if at is not None and at < parameter.dates[0]:
            raise InputError(f"{path}: parameters.{name}.values: no value dated on or before {at}; first is {parameter.dates[0]}")
        when = at if at is not None else parameter.dates[-1]
        out[name] = {"value": parameter.at(when), "unit": parameter.unit, "reference": parameter.reference_on(when).cite()}
    return out
