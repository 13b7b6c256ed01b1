"""The bibliography: every document the tariffs cite, by key (`tariffs/sources.yaml`).

A citation (a parameter's `reference`, a rule's or a fee's `cites`) names one of these keys, so the title,
the kind of source and how we know the text are written once, and a reader sees what rests on a text read
and what on a report of it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from costmodel.errors import InputError
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_yaml

# What a source is: the Shandong source text, a national text, a provincial or municipal text (or a report of
# one), common practice (a default, not law), a value the user must set (quotes using it carry a warning).
KINDS = ("article", "national", "provincial", "practice", "placeholder")
# How we know it: the text itself was read, only secondary reports of it, or nothing of it.
READ = ("text", "report", "none")
PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")  # a year or a month, where the day is not known


@dataclass(frozen=True)
class Source:
    key: str
    document: str
    kind: str
    read: str
    where: str = ""
    note: str = ""
    issued: str = ""  # YYYY-MM-DD, or YYYY-MM / YYYY where only that is known; empty when unknown
    applies_from: str = ""


def sources_file() -> Path:
    return tariffs_dir() / "sources.yaml"


def _date(raw, where: str) -> str:
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, str) and PARTIAL_DATE.match(raw):
        return raw
    raise InputError(f"{where} is {raw!r}; allowed: a date YYYY-MM-DD, or YYYY-MM / YYYY where the day is not known")


@cached_per_root(maxsize=4)
def load_sources() -> dict[str, Source]:
    """Every source by key, checked: each entry's keys, its kind and how it was read."""
    path = sources_file()
    raw = check_keys(load_yaml(path), str(path), {"sources"})["sources"]
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path}: sources must map keys to entries, got {raw!r}")
    out = {}
    for key, entry in raw.items():
        where = f"{path}: sources.{key}"
        check_keys(entry, where, {"document", "kind", "read"}, {"where", "note", "issued", "applies_from"})
        if entry["kind"] not in KINDS:
            raise InputError(f"{where}.kind is {entry['kind']!r}; allowed: {', '.join(KINDS)}")
        if entry["read"] not in READ:
            raise InputError(f"{where}.read is {entry['read']!r}; allowed: {', '.join(READ)}")
        out[str(key)] = Source(
            key=str(key), document=str(entry["document"]), kind=entry["kind"], read=entry["read"],
            where=str(entry.get("where", "")), note=str(entry.get("note", "")),
            issued=_date(entry["issued"], f"{where}.issued") if "issued" in entry else "",
            applies_from=_date(entry["applies_from"], f"{where}.applies_from") if "applies_from" in entry else "",
        )
    return out


def source(key, where: str) -> Source:
    """The source of this key, or an error naming the file that cites it, the key and the allowed keys."""
    known = load_sources()
    if not isinstance(key, str) or key not in known:
        raise InputError(f"{where}: source {key!r} is not a key of {sources_file()}; allowed: {', '.join(sorted(known))}")
    return known[key]


def check_source_keys(keys, where: str) -> tuple[str, ...]:
    """A manifest's `sources`: a list of keys of the bibliography."""
    if not isinstance(keys, list):
        raise InputError(f"{where}: sources must be a list of keys of {sources_file()}, got {keys!r}")
    for key in keys:
        source(key, where)
    return tuple(keys)
