"""Mutation testing of the tariffs: does some rule-set case notice when a policy value moves by one unit?

Each value of each shipped rule set is changed one at a time, in a fresh copy of `tariffs/`:

- a number of a parameter (`parameters/<group>/<name>.yaml`, each breakdown category on its own) or of the
  schedule (`schedule/stages.yaml`: a stage's working days, per voltage where written per voltage, and a limit)
  plus and minus one unit: 1 kW, 1 kVA, 1 CNY, 1 percentage point, 1 working day, 0.01 of a ratio;
- each dated key of `values:` and each manifest's `in_effect_from` plus and minus one day;
- a list without each of its members, a true/false flipped.

Then every case of every rule set (`tariffs/rulesets/*/tests/*.yaml`, `costmodel.rules.cases`) is run in this
process against the copy (composed policies read other layers too, so all cases run for every mutation). The
loaders key their caches on the tariffs root, so each copy is read afresh. A mutation is *noticed* when some
case fails or the copy cannot be loaded. A mutation no case notices is put to the data checks of `costmodel check`
(values within their unit's range, first dated values at the rule set's start), and carries a reason from `REASONS`
below where no case can notice it; the report lists every other unnoticed mutation as unexplained, and the run exits
1 if there is one.

    /work/main/.venv/bin/python benchmarks/tariff_mutation.py [--json] [--only SUBSTRING] [--tariffs DIR]

Run on demand, not in CI (about 300 mutations, a few minutes).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from costmodel.paths import ENV_VAR  # noqa: E402

# One unit of each parameter unit (tariffs/units.yaml); ids (text) are not mutated, see REASONS["text"].
STEPS = {"kW": 1, "kVA": 1, "CNY_per_kVA": 1, "percent": 1, "ratio": 0.01, "working_days": 1, "months": 1}

# Why a mutation cannot be noticed by any case. Each entry of EXPLAINED names a mutation (its `id`, as
# the report prints it) and one of these reasons; the first-dated-key reason applies by rule (see `reason_for`).
REASONS = {
    "first-date": (
        "the first dated key of a parameter: the first value applies from the rule set's start whatever date its key "
        "says (Parameter.at and date_indices take the first value before the first date), so moving it by a day "
        "changes no quote; the rule set's start is the manifest's in_effect_from, which cases do guard. `costmodel check` "
        "refuses a first value not dated the start of the rule set that sets it (first_date_problems)"),
    "text": "an id (text) names a data set, it has no neighbour one unit away; a wrong id is refused on load",
    "optimiser-only": (
        "read only by the network optimiser (costmodel/grid: voltage drop of an optimised design), which no "
        "rule-set case runs; tests/grid covers it"),
    "private-cap-dominated": (
        "a low-voltage request over 160 kW does not exist under any shipped rule set where the private cap is in "
        "force (national-2025 and later): the national low-voltage cap is 160 kW urban / 100 kW rural and "
        "Shandong's 160 kVA is at most 160 kW, so a request of 160 < P <= 161 kW is at 10 kV and zero investment "
        "(low voltage only) cannot reach it; the cap at 159 is noticed"),
    "transformer-test-dominated": (
        "the 1996 small-load test is 'equipment <= 100 kW OR transformer <= 50 kVA'; with a power factor at most 1, "
        "a request of at most 51 kVA is at most 51 kW, inside the 100 kW equipment test, so moving the 50 kVA "
        "limit by one never changes the voltage"),
}

EXPLAINED = {
    "national-2025 zero_investment.private_max_kw[2025-06-03] 160 -> 161": "private-cap-dominated",
    "national-1996 supply_voltage.lv_max_transformer_kva[1996-10-08] 50 -> 49": "transformer-test-dominated",
    "national-1996 supply_voltage.lv_max_transformer_kva[1996-10-08] 50 -> 51": "transformer-test-dominated",
    "national-1996 grid.voltage_deviation_limit[1996-10-08] 7 -> 6": "optimiser-only",
    "national-1996 grid.voltage_deviation_limit[1996-10-08] 7 -> 8": "optimiser-only",
}


@dataclass
class Mutation:
    id: str
    file: str  # relative to the tariffs root
    kind: str  # number, date, manifest-date, list, bool, text
    apply: object = field(repr=False, default=None)  # data -> None, changes the parsed YAML in place
    noticed: bool | None = None
    how: str = ""  # the first case that failed, or the load error
    failures: int = 0
    reason: str = ""
    refused_by_check: str = ""  # where no case notices it: the first problem `costmodel check` reports on the data


def _shift(value, step):
    result = round(value + step, 6)
    return int(result) if isinstance(value, int) and float(result).is_integer() else result


def _value_mutations(label: str, value, unit: str, setter) -> list[tuple[str, str, object]]:
    """(id suffix, kind, apply) for one value: numbers +- one unit, a list without each member, a bool flipped."""
    out = []
    if isinstance(value, bool):
        out.append((f"{value} -> {not value}", "bool", lambda data, v=not value: setter(data, v)))
    elif isinstance(value, (int, float)):
        step = STEPS.get(unit)
        for sign in (-1, 1):
            new = _shift(value, sign * step)
            out.append((f"{value} -> {new}", "number", lambda data, v=new: setter(data, v)))
    elif isinstance(value, list):
        for i, member in enumerate(value):
            rest = value[:i] + value[i + 1:]
            out.append((f"without {member}", "list", lambda data, v=rest: setter(data, v)))
    else:
        out.append((f"{value!r} (text)", "text", None))
    return [(f"{label} {suffix}", kind, apply) for suffix, kind, apply in out]


def parameter_mutations(ruleset: str, path: str, relative: str, raw: dict) -> list[Mutation]:
    unit = raw["unit"]
    dates = sorted(raw["values"])
    out = []
    for position, day in enumerate(dates):
        for sign in (-1, 1):
            moved = day + dt.timedelta(days=sign)
            if moved in raw["values"]:
                continue

            def move(data, day=day, moved=moved):
                values = data["values"]
                data["values"] = {(moved if key == day else key): v for key, v in values.items()}

            mutation = Mutation(f"{ruleset} {path} date {day} -> {moved}", relative, "date", move)
            if position == 0:
                mutation.reason = "first-date"
            out.append(mutation)
        entry = raw["values"][day]
        wrapped = isinstance(entry, dict) and set(entry) == {"value", "reference"}
        value = entry["value"] if wrapped else entry

        def set_whole(data, new, day=day, wrapped=wrapped):
            if wrapped:
                data["values"][day]["value"] = new
            else:
                data["values"][day] = new

        if raw.get("breakdown") is not None:
            for category, inner in value.items():
                def set_category(data, new, day=day, category=category, wrapped=wrapped):
                    (data["values"][day]["value"] if wrapped else data["values"][day])[category] = new
                for suffix, kind, apply in _value_mutations(f"{ruleset} {path}[{day}][{category}]", inner, unit, set_category):
                    out.append(Mutation(suffix, relative, kind, apply))
        else:
            for suffix, kind, apply in _value_mutations(f"{ruleset} {path}[{day}]", value, unit, set_whole):
                out.append(Mutation(suffix, relative, kind, apply))
    for mutation in out:
        if mutation.kind == "text":
            mutation.reason = "text"
    return out


def stage_mutations(ruleset: str, relative: str, raw: dict) -> list[Mutation]:
    out = []
    for index, stage in enumerate(raw.get("stages") or []):
        days = stage["working_days"]
        if isinstance(days, dict):
            for voltage, value in days.items():
                def setter(data, new, index=index, voltage=voltage):
                    data["stages"][index]["working_days"][voltage] = new
                out += [Mutation(s, relative, k, a) for s, k, a in
                        _value_mutations(f"{ruleset} schedule.stage.{stage['id']}[{voltage}]", value, "working_days", setter)]
        else:
            def setter(data, new, index=index):
                data["stages"][index]["working_days"] = new
            out += [Mutation(s, relative, k, a) for s, k, a in
                    _value_mutations(f"{ruleset} schedule.stage.{stage['id']}[{stage['applies_to']}]", days, "working_days", setter)]
    for index, limit in enumerate(raw.get("limits") or []):
        def setter(data, new, index=index):
            data["limits"][index]["value"] = new
        out += [Mutation(s, relative, k, a) for s, k, a in
                _value_mutations(f"{ruleset} schedule.limit.{limit['id']}", limit["value"], "working_days", setter)]
    return out


def all_mutations(root: Path) -> list[Mutation]:
    from costmodel.yamlio import load_yaml

    out = []
    for folder in sorted((root / "rulesets").iterdir()):
        manifest = folder / "manifest.yaml"
        if not manifest.is_file():
            continue
        ruleset = folder.name
        start = load_yaml(manifest)["in_effect_from"]
        for sign in (-1, 1):
            moved = start + dt.timedelta(days=sign)
            out.append(Mutation(f"{ruleset} in_effect_from {start} -> {moved}", str(manifest.relative_to(root)), "manifest-date",
                                lambda data, moved=moved: data.__setitem__("in_effect_from", moved)))
        for file in sorted((folder / "parameters").rglob("*.yaml")):
            path = ".".join(file.relative_to(folder / "parameters").with_suffix("").parts)
            out += parameter_mutations(ruleset, path, str(file.relative_to(root)), load_yaml(file))
        stages = folder / "schedule" / "stages.yaml"
        if stages.is_file():
            out += stage_mutations(ruleset, str(stages.relative_to(root)), load_yaml(stages))
    for mutation in out:
        mutation.reason = mutation.reason or EXPLAINED.get(mutation.id, "")
    return out


def run_all_cases() -> tuple[int, str]:
    """(number of cases that fail, the first failure) under the tariffs root in force."""
    from costmodel.rules.cases import load_cases, run_case

    failures, first = 0, ""
    for test_id, ruleset, application, case in load_cases():
        try:
            problems = run_case(ruleset, application, case)
        except Exception as error:  # noqa: BLE001 - a mutation may make the rule set unloadable: noticed
            problems = [f"{type(error).__name__}: {error}"]
        if problems:
            failures += 1
            first = first or f"{test_id}: {problems[0]}"[:300]
    return failures, first


def check_refuses() -> str:
    """The first problem the data checks of `costmodel check` (values in range, first dates at the rule set's start)
    find in any rule set under the tariffs root in force; the probe evaluation is left out (slow, and a one-unit move
    cannot make two rules overlap that a case would not see)."""
    from costmodel.params import available_rulesets, load_ruleset
    from costmodel.params.overrides import value_problems
    from costmodel.params.ruleset import first_date_problems

    for ruleset_id in available_rulesets():
        ruleset = load_ruleset(ruleset_id)
        problems = value_problems(ruleset) + first_date_problems(ruleset)
        if problems:
            return problems[0][:300]
    return ""


def apply_in_copy(source: Path, mutation: Mutation | None) -> Path:
    target = Path(tempfile.mkdtemp(prefix="tariffmut-")) / "tariffs"
    shutil.copytree(source, target)
    if mutation is not None:
        from costmodel.yamlio import load_yaml

        file = target / mutation.file
        data = copy.deepcopy(load_yaml(file))
        mutation.apply(data)
        file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def run(source: Path, mutations: list[Mutation]) -> dict:
    started = time.perf_counter()
    previous = os.environ.get(ENV_VAR)
    try:
        # Control: the unchanged copy, written back through the same YAML dump, passes every case.
        control = apply_in_copy(source, None)
        for file in control.glob("rulesets/*/**/*.yaml"):
            from costmodel.yamlio import load_yaml
            if "tests" not in file.parts:
                file.write_text(yaml.safe_dump(load_yaml(file), allow_unicode=True, sort_keys=False), encoding="utf-8")
        os.environ[ENV_VAR] = str(control)
        failures, first = run_all_cases()
        refused = check_refuses()
        shutil.rmtree(control.parent)
        if refused:
            raise SystemExit(f"costmodel check refuses the unchanged tariffs ({refused}); fix them before mutating")
        if failures:
            raise SystemExit(f"the unchanged tariffs fail {failures} case(s) ({first}); fix them before mutating")
        for mutation in mutations:
            if mutation.apply is None:
                mutation.noticed = False
                continue
            copy_root = apply_in_copy(source, mutation)
            os.environ[ENV_VAR] = str(copy_root)
            mutation.failures, mutation.how = run_all_cases()
            mutation.noticed = mutation.failures > 0
            if not mutation.noticed:  # no case notices it: does `costmodel check` refuse it?
                mutation.refused_by_check = check_refuses()
            shutil.rmtree(copy_root.parent)
    finally:
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous
    seconds = time.perf_counter() - started
    noticed = [m for m in mutations if m.noticed]
    refused = [m for m in mutations if not m.noticed and m.refused_by_check]
    unnoticed = [m for m in mutations if not m.noticed and not m.refused_by_check]
    return {
        "mutations": len(mutations),
        "noticed": len(noticed),
        "refused_by_check": len(refused),
        "unnoticed_explained": sum(bool(m.reason) for m in unnoticed),
        "unnoticed_unexplained": sum(not m.reason for m in unnoticed),
        "noticed_but_marked_unnoticeable": [m.id for m in noticed if m.reason],
        "seconds": round(seconds, 1),
        "reasons": REASONS,
        "results": [{k: v for k, v in asdict(m).items() if k != "apply"} for m in mutations],
    }


def table(report: dict) -> str:
    lines = ["| mutation | noticed | by / reason |", "|---|---|---|"]
    for result in report["results"]:
        state = ("yes" if result["noticed"] else "check refuses" if result["refused_by_check"]
                 else "explained" if result["reason"] else "**NO**")
        detail = (result["how"] if result["noticed"] else f"{result['reason']}: {result['refused_by_check']}" if result["refused_by_check"]
                  else result["reason"] or "")
        lines.append(f"| {result['id']} | {state} | {detail.replace('|', '/')[:160]} |")
    lines.append("")
    lines.append(f"{report['mutations']} mutations: {report['noticed']} noticed by a case, {report['refused_by_check']} refused by "
                 f"check (no case can notice them), {report['unnoticed_explained']} not noticed "
                 f"with a reason, {report['unnoticed_unexplained']} not noticed without one ({report['seconds']} s)")
    if report["noticed_but_marked_unnoticeable"]:
        lines.append(f"noticed although a reason says they cannot be: {', '.join(report['noticed_but_marked_unnoticeable'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    parser.add_argument("--only", default="", help="only mutations whose id contains this text")
    parser.add_argument("--tariffs", type=Path, default=REPO / "tariffs", help="the tariffs root to mutate (default: the checkout's)")
    args = parser.parse_args(argv)
    mutations = [m for m in all_mutations(args.tariffs) if args.only in m.id]
    report = run(args.tariffs, mutations)
    print(json.dumps(report, ensure_ascii=False, indent=1, default=str) if args.json else table(report))
    return 1 if report["unnoticed_unexplained"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
