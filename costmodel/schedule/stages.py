"""Process stages and time limits of a rule set, read from tariffs/rulesets/<id>/schedule/stages.yaml.

A stage set is data: each stage has its limit in working days and its predecessors, so serial
and parallel approval models are only different predecessor lists. `template` lays one
(rule set, supply voltage, external works) combination out in working-day offsets by a
topological pass (critical path method); plan.py turns offsets into dates for every application.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import networkx as nx
import pandas as pd

from costmodel.errors import InputError
from costmodel.paths import tariffs_dir
from costmodel.schedule.data import check_reference, reference_text
from costmodel.yamlio import check_keys, load_yaml

VOLTAGES = ("low_voltage", "10kV")
APPLIES_TO = {"low_voltage": ("low_voltage",), "10kV": ("10kV",), "both": VOLTAGES}
GROUPS = ("grid", "approvals", "works")
SCOPES = ("total", "approvals", "grid")  # total: every stage; otherwise the stages of that group
BASES = ("average", "maximum")
UNIT = "working_days"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")

STAGE_KEYS = {"id", "name_zh", "name_en", "applies_to", "group", "working_days", "unit", "predecessors", "reference"}
LIMIT_KEYS = {"id", "description", "scope", "applies_to", "basis", "value", "unit", "reference"}


def limit_text(limit_working_days, basis: str | None, within: bool | None) -> str:
    """A total time limit in words: an average is a target over all connections, not a time owed to one customer."""
    if limit_working_days is None or limit_working_days != limit_working_days:  # None or NaN: no limit in the data
        return "no limit set"
    days = f"{limit_working_days:g}"
    if basis == "average":
        return f"average target {days} working days ({'this plan within it' if within else 'this plan takes longer'})"
    return f"limit {days} ({'within' if within else 'OVER'})"


def stages_path(ruleset_id: str, root: Path | None = None) -> Path:
    return (root or tariffs_dir()) / "rulesets" / ruleset_id / "schedule" / "stages.yaml"


def available_rulesets(root: Path | None = None) -> list[str]:
    return sorted(p.parents[1].name for p in ((root or tariffs_dir()) / "rulesets").glob("*/schedule/stages.yaml"))


@dataclass(frozen=True, eq=False)  # identity hash: stage sets are loaded once and cached
class StageSet:
    ruleset_id: str
    stages: dict[str, dict]  # id -> stage entry (with "file"), in file order
    limits: dict[str, dict]  # id -> limit entry (with "file")
    order: tuple[str, ...]  # topological order of the stage ids


def _whole_days(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {value!r} is not a whole number of working days")
    if value < 0:
        raise InputError(f"{where}: {value} is negative; allowed: whole numbers of working days >= 0")
    return value


def _check_unit(entry: dict, where: str) -> None:
    if entry["unit"] != UNIT:
        raise InputError(f"{where}.unit: {entry['unit']!r} is not allowed; allowed: {UNIT}")


def _check_stage(entry, where: str) -> dict:
    check_keys(entry, where, STAGE_KEYS, {"external_works_only", "note"})
    if not isinstance(entry["id"], str) or not _ID.match(entry["id"]):
        raise InputError(f"{where}.id: {entry['id']!r} must be lower_snake_case text")
    for key in ("name_zh", "name_en"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise InputError(f"{where}.{key}: must be a non-empty text, got {entry[key]!r}")
    if entry["applies_to"] not in APPLIES_TO:
        raise InputError(f"{where}.applies_to: {entry['applies_to']!r} is not allowed; allowed: {', '.join(APPLIES_TO)}")
    if entry["group"] not in GROUPS:
        raise InputError(f"{where}.group: {entry['group']!r} is not allowed; allowed: {', '.join(GROUPS)}")
    _check_unit(entry, where)
    voltages = APPLIES_TO[entry["applies_to"]]
    days = entry["working_days"]
    if isinstance(days, dict):
        check_keys(days, f"{where}.working_days", set(voltages))
        days = {v: _whole_days(days[v], f"{where}.working_days.{v}") for v in voltages}
    else:
        days = dict.fromkeys(voltages, _whole_days(days, f"{where}.working_days"))
    predecessors = entry["predecessors"]
    if not isinstance(predecessors, list) or not all(isinstance(p, str) for p in predecessors):
        raise InputError(f"{where}.predecessors: expected a list of stage ids, got {predecessors!r}")
    ext = entry.get("external_works_only", False)
    if not isinstance(ext, bool):
        raise InputError(f"{where}.external_works_only: {ext!r} is not allowed; allowed: true, false")
    check_reference(entry["reference"], f"{where}.reference")
    return {**entry, "working_days": days, "external_works_only": ext, "where": where}


def _check_limit(entry, where: str) -> dict:
    check_keys(entry, where, LIMIT_KEYS, {"external_works"})
    if entry["scope"] not in SCOPES:
        raise InputError(f"{where}.scope: {entry['scope']!r} is not allowed; allowed: {', '.join(SCOPES)}")
    if entry["applies_to"] not in APPLIES_TO:
        raise InputError(f"{where}.applies_to: {entry['applies_to']!r} is not allowed; allowed: {', '.join(APPLIES_TO)}")
    if entry["basis"] not in BASES:
        raise InputError(f"{where}.basis: {entry['basis']!r} is not allowed; allowed: {', '.join(BASES)}")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InputError(f"{where}.value: {value!r} is not allowed; allowed: a number of working days > 0")
    _check_unit(entry, where)
    ext = entry.get("external_works")
    if ext is not None and not isinstance(ext, bool):
        raise InputError(f"{where}.external_works: {ext!r} is not allowed; allowed: true, false (or leave out for both)")
    check_reference(entry["reference"], f"{where}.reference")
    return {**entry, "external_works": ext, "where": where}


def _entries(data: dict, key: str, path: Path, check) -> dict[str, dict]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise InputError(f"{path}: {key}: expected a list, got {items!r}")
    out: dict[str, dict] = {}
    for i, item in enumerate(items):
        where = f"{path}: {key}[{i}]" + (f" (id {item['id']!r})" if isinstance(item, dict) and "id" in item else "")
        entry = check(item, where)
        if entry["id"] in out:
            raise InputError(f"{where}.id: {entry['id']!r} appears twice; each id may appear once")
        out[entry["id"]] = entry
    return out


def _load(ruleset_id: str, root: Path, seen: tuple[str, ...]) -> tuple[dict, dict]:
    path = stages_path(ruleset_id, root)
    if not path.exists():
        known = ", ".join(available_rulesets(root)) or "none"
        raise InputError(f"ruleset_id: {ruleset_id!r} has no schedule data ({path} not found); available: {known}")
    data = check_keys(load_yaml(path), str(path), {"ruleset", "description"}, {"extends", "stages", "limits"})
    if data["ruleset"] != ruleset_id:
        raise InputError(f"{path}: ruleset: {data['ruleset']!r} must equal its folder name {ruleset_id!r}")
    stages = _entries(data, "stages", path, _check_stage)
    limits = _entries(data, "limits", path, _check_limit)
    parent = data.get("extends")
    if parent is None:
        return stages, limits
    if parent in seen + (ruleset_id,):
        raise InputError(f"{path}: extends: {parent!r} leads back to {ruleset_id!r}; rule sets may not extend in a cycle")
    parent_stages, parent_limits = _load(parent, root, seen + (ruleset_id,))
    # A child's entry replaces the parent's entry with the same id, in the parent's position.
    return {**parent_stages, **stages}, {**parent_limits, **limits}


def _check_graph(stages: dict[str, dict]) -> tuple[str, ...]:
    graph = nx.DiGraph()
    graph.add_nodes_from(stages)
    for stage_id, entry in stages.items():
        for predecessor in entry["predecessors"]:
            if predecessor not in stages:
                raise InputError(
                    f"{entry['where']}.predecessors: {predecessor!r} is not a stage; allowed: {', '.join(stages)}"
                )
            graph.add_edge(predecessor, stage_id)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return tuple(nx.lexicographical_topological_sort(graph, key=list(stages).index))
    path = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
    raise InputError(f"{stages[cycle[0][1]]['where']}.predecessors: cycle {path}; predecessors must not form a cycle")


def _check_limit_overlap(limits: dict[str, dict]) -> None:
    for scope in SCOPES:
        for voltage in VOLTAGES:
            for ext in (True, False):
                hits = [lim for lim in limits.values() if _limit_applies(lim, scope, voltage, ext)]
                if len(hits) > 1:
                    raise InputError(
                        f"{hits[1]['where']}: limit {hits[1]['id']!r} overlaps {hits[0]['id']!r} "
                        f"(scope {scope}, {voltage}, external works {ext}); at most one limit may apply"
                    )


def _limit_applies(limit: dict, scope: str, voltage: str, ext: bool) -> bool:
    return (
        limit["scope"] == scope
        and voltage in APPLIES_TO[limit["applies_to"]]
        and limit["external_works"] in (None, ext)
    )


@lru_cache(maxsize=64)
def _cached(ruleset_id: str, root: Path) -> StageSet:
    stages, limits = _load(ruleset_id, root, ())
    order = _check_graph(stages)
    _check_limit_overlap(limits)
    return StageSet(ruleset_id, stages, limits, order)


def load_stage_set(ruleset_id: str, root: Path | None = None) -> StageSet:
    return _cached(ruleset_id, Path(root or tariffs_dir()))


STAGE_PARAMETER, LIMIT_PARAMETER = "schedule.stage.", "schedule.limit."


@lru_cache(maxsize=256)
def with_values(stage_set: StageSet, values: tuple[tuple[str, object], ...]) -> StageSet:
    """The stage set with the working days and limits of `values` ((parameter path, value) pairs: a stage's
    ((voltage, days), ...) or a limit's days, as `stage_parameters` names them); the same object where nothing
    differs, so its cached templates serve."""
    stages = dict(stage_set.stages)
    limits = dict(stage_set.limits)
    for path, value in values:
        if path.startswith(STAGE_PARAMETER):
            stage_id = path.removeprefix(STAGE_PARAMETER)
            days = {voltage: _whole_days(days, f"{path}[{voltage}]") for voltage, days in dict(value).items()}
            if days != stages[stage_id]["working_days"]:
                stages[stage_id] = {**stages[stage_id], "working_days": days}
        else:
            limit_id = path.removeprefix(LIMIT_PARAMETER)
            if value != limits[limit_id]["value"]:
                limits[limit_id] = {**limits[limit_id], "value": value}
    if stages == stage_set.stages and limits == stage_set.limits:
        return stage_set
    return StageSet(stage_set.ruleset_id, stages, limits, stage_set.order)


def stage_parameters(stage_set: StageSet, since) -> dict[str, dict]:
    """Each stage's working days and each limit's value as a parameter file's content (values from `since`),
    so the rule set lists them, and a reform or a sweep changes them like any other parameter."""
    out = {}
    for stage_id, entry in stage_set.stages.items():
        out[STAGE_PARAMETER + stage_id] = {
            "description": f"Working days of the stage '{entry['name_en']}' ({entry['name_zh']}), by supply voltage",
            "unit": UNIT, "reference": entry["reference"], "breakdown": "supply_voltage",
            "values": {since: dict(entry["working_days"])}}
    for limit_id, entry in stage_set.limits.items():
        out[LIMIT_PARAMETER + limit_id] = {
            "description": f"{entry['description']} ({entry['basis']}, {entry['scope']}, {entry['applies_to']})",
            "unit": UNIT, "reference": entry["reference"], "values": {since: entry["value"]}}
    return out


def _longest_path(stage_set: StageSet, durations: dict[str, int]) -> dict[str, int]:
    finish: dict[str, int] = {}
    for stage_id in stage_set.order:
        start = max((finish[p] for p in stage_set.stages[stage_id]["predecessors"]), default=0)
        finish[stage_id] = start + durations[stage_id]
    return finish


@lru_cache(maxsize=256)
def template(stage_set: StageSet, voltage: str, external_works: bool) -> tuple[pd.DataFrame, dict]:
    """Stage offsets in working days for one combination, and the scope totals with their limits.

    Stages that do not apply (other voltage, or external-works approvals without external works)
    take zero days, so their successors still wait for their own predecessors, and are dropped.
    """
    if voltage not in VOLTAGES:
        raise InputError(f"supply_voltage: {voltage!r} is not allowed; allowed: {', '.join(VOLTAGES)}")
    stages = stage_set.stages
    present = {
        s: voltage in e["working_days"] and (external_works or not e["external_works_only"]) for s, e in stages.items()
    }
    days = {s: e["working_days"][voltage] if present[s] else 0 for s, e in stages.items()}
    finish = _longest_path(stage_set, days)
    total = max(finish.values(), default=0)
    # Backward pass: latest finish without delaying the total; zero slack = critical.
    successors: dict[str, list[str]] = {s: [] for s in stages}
    for s, e in stages.items():
        for p in e["predecessors"]:
            successors[p].append(s)
    # Predecessors as shown: the nearest applicable stages, looking through the ones dropped.
    shown: dict[str, list[str]] = {}
    for s in stage_set.order:
        shown[s] = list(dict.fromkeys(q for p in stages[s]["predecessors"] for q in ([p] if present[p] else shown[p])))
    latest_finish: dict[str, int] = {}
    for s in reversed(stage_set.order):
        latest_finish[s] = min((latest_finish[n] - days[n] for n in successors[s]), default=total)
    rows = [
        {
            "stage_id": s,
            "name_zh": stages[s]["name_zh"],
            "name_en": stages[s]["name_en"],
            "group": stages[s]["group"],
            "predecessors": ",".join(shown[s]),
            "working_days": days[s],
            "start_offset_working_days": finish[s] - days[s],
            "end_offset_working_days": finish[s],
            "on_critical_path": days[s] > 0 and latest_finish[s] == finish[s],
            "reference": reference_text(stages[s]["reference"]),
        }
        for s in stage_set.order
        if present[s]
    ]
    totals = {"total": total}
    for scope in SCOPES[1:]:
        masked = {s: d if stages[s]["group"] == scope else 0 for s, d in days.items()}
        totals[scope] = max(_longest_path(stage_set, masked).values(), default=0)
    limits = {}
    for scope in SCOPES:
        hit = [lim for lim in stage_set.limits.values() if _limit_applies(lim, scope, voltage, external_works)]
        limits[scope] = hit[0] if hit else None
    return pd.DataFrame(rows), {"totals": totals, "limits": limits}
