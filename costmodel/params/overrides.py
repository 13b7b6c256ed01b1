"""Reforms as data: parameter overrides applied to a baseline rule set.

A reform file (tariffs/overrides/<id>.yaml) reads:

    id: <reform id>
    title: <what the reform does>
    baseline: shandong-2019
    reference: {document: ..., clause: ..., source: practice}   # optional; else "reform <id>"
    parameters:
      supply_voltage.low_voltage_cap:
        2019-07-01: {rural: <value> <unit>}   # from this date on; a breakdown may name some categories only
      red_line_extension.park_levels:
        2019-07-01.2021-01-01: [national, provincial, municipal, county]   # start.stop: baseline again from stop

A number may carry its unit (as the capacity caps of tariffs/overrides/ do); it must then be the parameter's unit. The same overrides come
from a CSV with columns path, value, start and optionally stop, category, unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from costmodel.errors import InputError
from costmodel.params.parameter import Parameter, Reference
from costmodel.params.ruleset import RuleSet, available_rulesets, load_ruleset
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_yaml, load_yaml_text

NUMBER_WITH_UNIT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z_%]+)\s*$")
CSV_REQUIRED = ["path", "value", "start"]
CSV_OPTIONAL = ["stop", "category", "unit"]


@dataclass(frozen=True)
class Reform:
    id: str
    title: str
    file: str
    baseline: RuleSet
    parameters: dict[str, Parameter]
    ruleset: RuleSet

    def diff(self) -> pd.DataFrame:
        """One row per overridden parameter and date where baseline and reform differ."""
        rows = []
        for path, reformed in self.parameters.items():
            base = self.baseline.parameter(path)
            for when in sorted(set(base.dates) | set(reformed.dates)):
                before, after = _value_at(base, when), _value_at(reformed, when)
                if before != after:
                    rows.append({"path": path, "since": when.isoformat(), "baseline": _show(before),
                                 "reform": _show(after), "unit": base.unit})
        return pd.DataFrame(rows, columns=["path", "since", "baseline", "reform", "unit"])


def _value_at(parameter: Parameter, when: dt.date) -> Any:
    return parameter.values[parameter._index(when)] if when >= parameter.dates[0] else None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def overrides_dir() -> Path:
    return tariffs_dir() / "overrides"


def available_reforms() -> list[str]:
    folder = overrides_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _date(text: Any, where: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a date; write YYYY-MM-DD (or start.stop as YYYY-MM-DD.YYYY-MM-DD)") from None


def _period(key: Any, where: str) -> tuple[dt.date, dt.date | None]:
    if isinstance(key, dt.date):
        return key, None
    text = str(key)
    start, _, stop = text.partition(".")
    begin = _date(start, where)
    end = _date(stop, where) if stop else None
    if end is not None and end <= begin:
        raise InputError(f"{where}: period {text!r} ends before it starts; allowed: start.stop with stop after start")
    return begin, end


UNIT_KINDS = {"number", "bool", "list", "text"}
BOUNDS = {"ge": (lambda v, b: v >= b, ">="), "gt": (lambda v, b: v > b, ">"), "le": (lambda v, b: v <= b, "<="),
          "lt": (lambda v, b: v < b, "<")}


@cached_per_root(maxsize=1)
def unit_rules() -> dict[str, dict]:
    """What a value in each unit may be (tariffs/units.yaml): kind, bounds, whole numbers only."""
    path = tariffs_dir() / "units.yaml"
    raw = check_keys(load_yaml(path), str(path), {"description", "reference", "units"})
    rules = {}
    for unit, rule in (raw["units"] or {}).items():
        rule = check_keys(rule, f"{path}: units.{unit}", {"kind"}, {"ge", "gt", "le", "lt", "integer"})
        if rule["kind"] not in UNIT_KINDS:
            raise InputError(f"{path}: units.{unit}.kind is {rule['kind']!r}; allowed: {', '.join(sorted(UNIT_KINDS))}")
        rules[str(unit)] = rule
    return rules


def compared_labels(ruleset: RuleSet, path: str) -> tuple[str, tuple] | None:
    """(field, allowed labels) of a parameter the decision tables compare an application field with
    ({field: F, in: {param: path}}): the labels of F in the application model; None if none is compared."""
    from costmodel.application import field_labels

    def conditions(spec: Any):
        if isinstance(spec, dict):
            yield spec
            for key in ("any", "all"):
                yield from conditions(spec.get(key, []))
        elif isinstance(spec, (list, tuple)):
            for inner in spec:
                yield from conditions(inner)

    for layer in (ruleset, *ruleset.layers):
        for table in layer.decisions.values():
            for rule in (*getattr(table, "rules", ()), *getattr(table, "fees", ())):
                for condition in conditions(list(rule.when)):
                    if "field" in condition and any(condition.get(op) == {"param": path} for op in ("in", "not_in", "eq", "ne")):
                        labels = field_labels(condition["field"])
                        if labels is not None:
                            return condition["field"], labels
    return None


def _number(value: Any, base: Parameter, where: str) -> Any:
    """A finite number within the range of the parameter's unit (tariffs/units.yaml)."""
    rule = unit_rules().get(base.unit, {})
    bounds = " and ".join(f"{BOUNDS[k][1]} {rule[k]}" for k in BOUNDS if k in rule)
    allowed = f"a {'whole ' if rule.get('integer') else ''}number{' ' + bounds if bounds else ''} in {base.unit}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {value!r} is not a number; allowed: {allowed}")
    if not math.isfinite(value):
        raise InputError(f"{where}: {value!r} is not a finite number; allowed: {allowed}")
    if rule.get("integer") and not float(value).is_integer():
        raise InputError(f"{where}: {value!r} is not a whole number; allowed: {allowed}")
    for key, (holds, _) in BOUNDS.items():
        if key in rule and not holds(value, rule[key]):
            raise InputError(f"{where}: {value!r} is out of range; allowed: {allowed}")
    return int(value) if rule.get("integer") else value


def _labels(value: list, base: Parameter, labels: tuple[str, tuple] | None, where: str) -> list:
    """A list of the labels the rules compare it with (a misspelt label would make the reform do nothing)."""
    if labels is None:
        return value
    field, allowed = labels
    unknown = [item for item in value if item not in allowed]
    if unknown:
        raise InputError(f"{where}: unknown {field} {', '.join(map(repr, unknown))}; allowed: {', '.join(map(str, allowed))} "
                         f"(the {field} values the rules compare {base.path} with)")
    if len(set(value)) != len(value):
        raise InputError(f"{where}: {value!r} repeats a label; allowed: each {field} once")
    return value


def _scalar(value: Any, base: Parameter, where: str, labels: tuple[str, tuple] | None = None) -> Any:
    """A value of the baseline parameter's kind; a number may carry the parameter's unit."""
    sample = base.values[0]
    if base.breakdown is not None:
        sample = next(iter(sample.values()))
    if isinstance(value, str):
        match = NUMBER_WITH_UNIT.match(value)
        if match:
            if match.group(2) != base.unit:
                raise InputError(f"{where}: unit {match.group(2)!r} given for {value!r}; allowed: {base.unit} (the unit of {base.path})")
            value = float(match.group(1))
            value = int(value) if value.is_integer() and isinstance(sample, int) else value
    kinds = {bool: "true or false", list: "a list", str: "text"}
    if isinstance(sample, bool) or isinstance(sample, (list, str)):
        kind = type(sample)
        if not isinstance(value, kind):
            raise InputError(f"{where}: {value!r} is not allowed; allowed: {kinds[kind]} like the baseline value {sample!r}")
        if isinstance(sample, list) and sample and value and {type(v) for v in value} != {type(v) for v in sample}:
            raise InputError(f"{where}: {value!r} mixes kinds; allowed: a list of items like {sample!r}")
        return _labels(value, base, labels, where) if isinstance(sample, list) else value
    return _number(value, base, where)


def _shipped(value: Any, parameter: Parameter, where: str, labels: tuple[str, tuple] | None) -> None:
    """A rule set's own value as its unit allows (tariffs/units.yaml): the checks a reform's value passes."""
    rule = unit_rules().get(parameter.unit)
    if rule is None:
        raise InputError(f"{where}: unit {parameter.unit!r} is not in {tariffs_dir() / 'units.yaml'}; allowed: {', '.join(unit_rules())}")
    kind = rule["kind"]
    if kind == "number":
        _number(value, parameter, where)
    elif kind == "list":
        if not isinstance(value, list):
            raise InputError(f"{where}: {value!r} is not allowed; allowed: a list ({parameter.unit})")
        _labels(value, parameter, labels, where)
    elif not isinstance(value, bool if kind == "bool" else str):
        raise InputError(f"{where}: {value!r} is not allowed; allowed: {'true or false' if kind == 'bool' else 'text'} ({parameter.unit})")


def value_problems(ruleset: RuleSet) -> list[str]:
    """Every value of every parameter of a rule set (each date, each category) that its unit's range in
    tariffs/units.yaml does not allow, or, for a list the decision tables compare an application field with, a label
    that field does not have: one message each, naming the rule set, the parameter, the value and what is allowed."""
    problems = []
    for path, parameter in sorted(ruleset.parameters.items()):
        labels = compared_labels(ruleset, path)
        for day, value in zip(parameter.dates, parameter.values):
            cells = value.items() if parameter.breakdown is not None else [(None, value)]
            for category, cell in cells:
                where = (f"rule set {ruleset.id}: parameter {path}, value of {day.isoformat()}"
                         f"{f' [{category}]' if category is not None else ''} ({parameter.file})")
                try:
                    _shipped(cell, parameter, where, labels)
                except InputError as error:
                    problems.append(str(error))
    return problems


def _value(raw: Any, base: Parameter, when: dt.date, where: str, labels: tuple[str, tuple] | None = None) -> Any:
    if base.breakdown is None:
        return _scalar(raw, base, where, labels)
    current = dict(_value_at(base, when) or base.values[0])
    if not isinstance(raw, dict):
        raise InputError(f"{where}: {base.path} is broken down by {base.breakdown}; allowed: a mapping of "
                         f"{', '.join(map(str, current))} to values (some or all)")
    unknown = set(raw) - set(current)
    if unknown:
        raise InputError(f"{where}: {base.breakdown} {sorted(map(str, unknown))} unknown; allowed: {', '.join(map(str, current))}")
    current.update({key: _scalar(value, base, f"{where} [{key}]") for key, value in raw.items()})
    return current


def override_parameter(base: Parameter, periods: list[tuple[dt.date, dt.date | None, Any]], where: str,
                       labels: tuple[str, tuple] | None = None) -> Parameter:
    """The baseline parameter with each (start, stop, raw value) laid over it, in order; a list's items must be
    `labels` (field, allowed) where given."""
    parameter = base
    for start, stop, raw in periods:
        value = _value(raw, parameter, start, f"{where}, {start.isoformat()}", labels)
        own = dict(zip(parameter.dates, parameter.value_references or [None] * len(parameter.dates)))
        timeline = {d: v for d, v in zip(parameter.dates, parameter.values) if d < start or (stop is not None and d >= stop)}
        if stop is not None and stop not in timeline:
            timeline[stop] = _value_at(parameter, stop)
            own[stop] = parameter.value_references[parameter._index(stop)] if parameter.value_references else None
        timeline[start] = value
        own[start] = None  # the reform's value: the reform's reference
        dates = tuple(sorted(timeline))
        references = tuple(own[d] for d in dates)
        parameter = replace(parameter, dates=dates, values=tuple(timeline[d] for d in dates), file=f"{where} over {base.file}",
                            value_references=references if any(references) else ())
    return parameter


def _apply(baseline: RuleSet, reform_id: str, title: str, file: str, entries: dict[str, list], reference: Reference,
           digest: bytes) -> Reform:
    parameters = {}
    for path, periods in entries.items():
        if path not in baseline.parameters:
            raise InputError(f"{file}: unknown parameter {path!r} for rule set {baseline.id}; allowed: {', '.join(sorted(baseline.parameters))}")
        base = baseline.parameter(path)
        parameters[path] = replace(override_parameter(base, periods, f"{file}: {path}", compared_labels(baseline, path)),
                                   reference=reference, placeholder=base.placeholder)
    ruleset = baseline.with_parameters(parameters, reform_id)
    content_hash = hashlib.sha256(baseline.content_hash.encode() + digest).hexdigest()[:16]
    ruleset = replace(ruleset, id=f"{baseline.id}+{reform_id}", title=f"{baseline.title} + {title}", content_hash=content_hash,
                      title_zh=baseline.title_zh and f"{baseline.title_zh} + {reform_id}")
    return Reform(reform_id, title, file, baseline, parameters, ruleset)


def _reference(raw: Any, where: str, reform_id: str) -> Reference:
    if raw is None:
        raw = {"source": "policy-study", "paraphrase": f"reform {reform_id}: policy study override",
               "note": f"hypothetical value from {where}"}
    return Reference.from_yaml(raw, where, old_form=False)


def load_reform_file(path: str | Path, baseline: str | RuleSet | None = None) -> Reform:
    """A reform from a YAML or CSV override file, applied to `baseline` (a rule set, or its id; default: the file's
    own baseline)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path, baseline)
    document = load_yaml(path)
    raw = check_keys(document, str(path), {"parameters"}, {"id", "title", "baseline", "description", "reference"})
    reform_id = str(raw.get("id", path.stem))
    baseline_id = baseline or raw.get("baseline")
    if not baseline_id:
        raise InputError(f"{path}: no baseline: add 'baseline: <rule set id>' or pass --baseline")
    base = baseline_id if isinstance(baseline_id, RuleSet) else load_ruleset(baseline_id)
    if not isinstance(raw["parameters"], dict) or not raw["parameters"]:
        raise InputError(f"{path}: parameters must map parameter paths to {{date or start.stop: value}}")
    entries = {}
    for parameter_path, dated in raw["parameters"].items():
        where = f"{path}: {parameter_path}"
        if not isinstance(dated, dict) or not dated:
            raise InputError(f"{where}: expected a mapping {{date or start.stop: value}}, got {dated!r}")
        entries[parameter_path] = [(*_period(key, f"{where}, key {key!r}"), value) for key, value in dated.items()]
    reference = _reference(raw.get("reference"), str(path), reform_id)
    return _apply(base, reform_id, str(raw.get("title", reform_id)), str(path), entries, reference, path.read_bytes())


def _load_csv(path: Path, baseline: str | RuleSet | None) -> Reform:
    if baseline is None:
        raise InputError(f"{path}: a CSV override names no baseline; pass --baseline")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, FileNotFoundError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read as CSV overrides ({error}); columns: {', '.join(CSV_REQUIRED + CSV_OPTIONAL)}") from None
    missing = [c for c in CSV_REQUIRED if c not in table.columns]
    unknown = [c for c in table.columns if c not in CSV_REQUIRED + CSV_OPTIONAL]
    if missing or unknown or table.empty:
        raise InputError(f"{path}: columns missing {missing}, unknown {unknown} ({len(table)} rows); "
                         f"allowed: {', '.join(CSV_REQUIRED + CSV_OPTIONAL)}, at least one row")
    base = baseline if isinstance(baseline, RuleSet) else load_ruleset(baseline)
    entries: dict[str, list] = {}
    for number, row in enumerate(table.to_dict("records"), start=2):  # a handful of override rows, not data
        where = f"{path} line {number}"
        value: Any = load_yaml_scalar(row["value"])
        if row.get("unit"):
            value = f"{value} {row['unit']}"
        if row.get("category"):
            value = {row["category"]: value}
        start = _date(row["start"], f"{where}, column start")
        stop = _date(row["stop"], f"{where}, column stop") if row.get("stop") else None
        entries.setdefault(row["path"], []).append((start, stop, value))
    reform_id = path.stem
    reference = _reference(None, str(path), reform_id)
    return _apply(base, reform_id, reform_id, str(path), entries, reference, path.read_bytes())


def load_yaml_scalar(text: str) -> Any:
    """A CSV cell read as YAML reads a value: a whole number -> int, true -> bool, [a, b] -> list."""
    return load_yaml_text(text, "override value") if text.strip() else text


def load_reform(name: str | Path, baseline: str | RuleSet | None = None) -> Reform:
    """A reform by id (tariffs/overrides/<id>.yaml) or by file path, applied to `baseline` (a rule set or its id)."""
    path = Path(name)
    if path.suffix.lower() in (".yaml", ".yml", ".csv") and path.is_file():
        return load_reform_file(path, baseline)
    if str(name) in available_reforms():
        return load_reform_file(overrides_dir() / f"{name}.yaml", baseline)
    raise InputError(f"unknown reform {str(name)!r}: not a file and not one of {', '.join(available_reforms()) or '(none)'}")


def with_reforms(baseline: RuleSet, names: list[str]) -> RuleSet:
    """The baseline with each reform applied in turn over the previous ones (so a later one wins where two set the
    same parameter); each reform's own `baseline:` is ignored: it is applied to the rules given."""
    ruleset = baseline
    for name in names:
        ruleset = load_reform(name, ruleset).ruleset
    return ruleset


def reformed_ruleset(baseline: str, reform: str) -> RuleSet:
    """A reform as `--reform` and the study API name it: a rule set id (that rule set instead), or reforms (ids or
    files, comma-separated) applied in turn over `baseline`."""
    if reform in available_rulesets():
        return load_ruleset(reform)
    names = [name.strip() for name in reform.split(",") if name.strip()]
    if not names:
        raise InputError(f"reform {reform!r}: give a rule set id, or one or more reforms separated by commas")
    return with_reforms(load_ruleset(baseline), names)


def sweep_ruleset(baseline: RuleSet, path: str, value: Any, category: str | None = None) -> RuleSet:
    """The baseline with one parameter set to `value` from its start (for one category, or all of them)."""
    base = baseline.parameter(path)
    if base.breakdown is not None:
        categories = list(base.values[0])
        if category is not None and category not in categories:
            raise InputError(f"--category {category!r} for {path}; allowed: {', '.join(map(str, categories))}")
        value = {key: value for key in ([category] if category else categories)}
    elif category is not None:
        raise InputError(f"--category {category!r}: {path} has no breakdown; leave --category out")
    tag = f"{path}{'[' + category + ']' if category else ''}={value if not isinstance(value, dict) else next(iter(value.values()))}"
    reference = _reference(None, "sweep", tag)
    entries = {path: [(base.dates[0], None, value)]}
    return _apply(baseline, tag, tag, "sweep", entries, reference, tag.encode()).ruleset
