"""Mutation testing of the code that decides and funds, on demand (not in CI, not part of pytest).

mutmut changes the code one small edit at a time (a `<` for a `<=`, a name for None, a string for another) and
runs the tests that call the changed function: a mutant the tests still pass on "survives", and shows a
behaviour no test pins down. Per module, the functions in scope are listed below; mutmut runs, for each
mutant, only the tests of `[tool.mutmut] pytest_add_cli_args_test_selection` (pyproject.toml) that call the
mutated function, so each module gets its own fast selection. docs/testing.md records the scores and every
survivor.

    .venv/bin/python -m pip install -e '.[mutation]'
    .venv/bin/python benchmarks/mutation.py [--module funding ...] [--max-children 2] [--output table.md]

Each run starts from a fresh `mutants/` folder, so that new tests are seen by mutmut's test selection.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRA = "pip install -e '.[mutation]'"

# Module -> (file, functions in scope). `Class.method` for a method; `*` for every function of the file.
# mutmut mutates only inside functions: module constants (BOUNDARY_RANK, ZONES) are pinned by tests/test_funding.py.
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "engine": ("costmodel/rules/engine.py", ("*",)),
    "conditions": ("costmodel/rules/conditions.py", ("*",)),
    # Deciding and amending tables; reading them from YAML is input validation (tests/reliability).
    "table": ("costmodel/rules/table.py", ("DecisionTable._linked", "DecisionTable.rule", "DecisionTable._rank",
                                           "DecisionTable.without_priority", "DecisionTable.evaluate",
                                           "Amendment.applied_to")),
    "eligibility": ("costmodel/rules/eligibility.py", ("*",)),
    "funding": ("costmodel/quote.py", ("_positions", "grid_supplied", "fund_lines", "totals_by_application")),
    "zones": ("costmodel/designs/standard.py", ("component_rows",)),
    # Sizing an enterprise; reading and checking the threshold CSV is input validation.
    "classification": ("costmodel/classification.py", ("SizeTable.of", "size_codes", "classify_enterprise_size")),
    "schedule limits": ("costmodel/schedule/plan.py", ("_within",)),
    "stage limits": ("costmodel/schedule/stages.py", ("_limit_applies", "_check_limit_overlap", "limit_text")),
}
STATUS_BY_EXIT_CODE = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout",
                       -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


def mutant_pattern(file: str, function: str) -> str:
    """mutmut's name for the mutants of one function: `pkg.module.x_name__mutmut_N`, `pkg.module.xǁClassǁname__mutmut_N`."""
    module = file.removesuffix(".py").replace("/", ".")
    if function == "*":
        return f"{module}.*"
    owner, _, name = function.rpartition(".")
    return f"{module}.xǁ{owner}ǁ{name}__mutmut_*" if owner else f"{module}.x_{name}__mutmut_*"


def patterns_of(module: str) -> list[str]:
    file, functions = MODULES[module]
    return [mutant_pattern(file, function) for function in functions]


def results_of(file: str) -> dict[str, int | None]:
    meta = ROOT / "mutants" / (file + ".meta")
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}


def function_lines(file: str) -> dict[str, tuple[int, int]]:
    """`name` or `Class.name` -> (first line, last line) in the source file."""
    tree = ast.parse((ROOT / file).read_text())
    spans = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            spans[node.name] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    spans[f"{node.name}.{item.name}"] = (item.lineno, item.end_lineno)
    return spans


def describe_mutant(name: str, file: str) -> tuple[int | None, str, str]:
    """(line in the source file, original line, mutated line) from `mutmut show`."""
    shown = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "show", name], cwd=ROOT, capture_output=True, text=True).stdout
    removed = [line[1:] for line in shown.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")]
    key = re.sub(r"__mutmut_\d+$", "", name.rpartition(".")[2])
    function = key.replace("xǁ", "").replace("ǁ", ".") if key.startswith("xǁ") else key.removeprefix("x_")
    first, last = function_lines(file).get(function, (1, 0))
    source = (ROOT / file).read_text().splitlines()
    line = next((n for n in range(first, last + 1) if removed and source[n - 1].strip() == removed[0].strip()), None)
    return line, (removed[0].strip() if removed else ""), (added[0].strip() if added else "")


def table(modules: list[str]) -> tuple[list[dict], list[dict]]:
    rows, survivors = [], []
    for module in modules:
        file, _ = MODULES[module]
        patterns = patterns_of(module)
        mine = {name: code for name, code in results_of(file).items() if any(fnmatch.fnmatch(name, p) for p in patterns)}
        counts = {"killed": 0, "survived": 0, "timeout": 0, "no tests": 0, "other": 0}
        for name, code in sorted(mine.items(), key=lambda item: int(item[0].rpartition("_")[2])):
            status = STATUS_BY_EXIT_CODE.get(code, "other")
            counts[status if status in counts else "other"] += 1
            if status in ("survived", "no tests"):
                line, before, after = describe_mutant(name, file)
                survivors.append({"module": module, "mutant": name, "status": status, "where": f"{file}:{line}",
                                  "before": before, "after": after})
        tested = len(mine) - counts["other"]
        # A timeout counts as killed (an endless loop is caught), as mutmut's own score does.
        score = 100 * (counts["killed"] + counts["timeout"]) / tested if tested else float("nan")
        rows.append({"module": module, "file": file, "mutants": len(mine), **counts, "score": score})
    return rows, survivors


def as_markdown(rows: list[dict], survivors: list[dict]) -> str:
    lines = ["| module | file | mutants | killed | survived | timeout | no tests | score |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['module']} | `{r['file']}` | {r['mutants']} | {r['killed']} | {r['survived']} | {r['timeout']} "
                     f"| {r['no tests']} | {r['score']:.1f} % |")
    lines += ["", "Survivors:", ""]
    for s in survivors:
        lines.append(f"- {s['where']} `{s['mutant'].rpartition('.')[2]}` ({s['status']}): `{s['before']}` -> `{s['after']}`")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=list(MODULES), help="a module to mutate (default: all)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested in parallel")
    parser.add_argument("--output", type=Path, help="also write the table and survivors here (markdown)")
    parser.add_argument("--report-only", action="store_true", help="only tabulate the results already in mutants/")
    args = parser.parse_args()
    if importlib.util.find_spec("mutmut") is None:
        print(f"mutmut is not installed; install the mutation extra: {EXTRA}", file=sys.stderr)
        return 1
    modules = args.module or list(MODULES)
    started = time.perf_counter()
    if not args.report_only:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # fresh: mutmut would keep the previous test selection
        patterns = [p for module in modules for p in patterns_of(module)]
        command = [str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(args.max_children), *patterns]
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        if done.returncode not in (0, 1):  # 1: mutmut's exit after listing the mutants it was given
            print(f"mutmut run failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
    rows, survivors = table(modules)
    text = as_markdown(rows, survivors)
    if not args.report_only:
        text += f"\nRun time: {time.perf_counter() - started:.0f} s with {args.max_children} mutants in parallel.\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
