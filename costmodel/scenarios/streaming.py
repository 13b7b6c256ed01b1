"""Portfolio studies that stream: one partition at a time, in this process or one task per partition on Dask.

A study (`Study`: batch quotes, baseline-vs-reform comparison, or a sweep) runs `run_partition` on each
partition of an ingested dataset (costmodel.scenarios.dataset). A partition's work is the in-memory path's on
its rows: the same validation, `quote_portfolio`, `_indicators`, `group_sums`. Its outputs go to
OUT/<table>/<the input's hive folders>/part-NNNNNN.parquet, each written whole (costmodel.files) with an explicit
schema, then a marker OUT/_partitions/part-NNNNNN.json with its row counts and its sums. A partition with a
marker is done: an interrupted study run again does the others only, and never repeats a row.

When every partition is done, the markers are checked (rows in = rows out + rows rejected, per partition and
overall) and written as OUT/manifest.json; the figures of the whole are the sums of the partitions' (counts and
yuan amounts: exact), so they do not depend on the partition count or on who did which partition.

Each worker loads the rule sets itself by name and refuses to work when a content hash differs from the one the
study was started with (`RuleSetRef.load`): a cluster whose machines hold other tariffs never mixes rules.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from costmodel import files
from costmodel.errors import CostmodelError, InputError
from costmodel.files import OutputError
from costmodel.params import RuleSet, available_rulesets, load_ruleset
from costmodel.params.overrides import load_reform, reformed_ruleset, sweep_ruleset
from costmodel.scenarios.dataset import Ingest, Partition, validate_partition
from costmodel.scenarios.portfolio import Portfolio
from costmodel.scenarios.studies import (GROUPS, SUMMARY_COLUMNS, BatchResult, _indicators, comparison_figures, group_sums,
                                         jurisdiction_of, merge_sums, quote_in_force, quote_portfolio, sweep_row)

KINDS = ("batch", "compare", "sweep")
MARKERS = "_partitions"
STATE_FILE = "_study.json"
MANIFEST_FILE = "manifest.json"

# Explicit output schemas: every partition's file has these types, whatever its rows (none included).
LABEL = pa.dictionary(pa.int32(), pa.string())
REJECTED_SCHEMA = pa.schema([("row", pa.int64()), ("application_id", pa.string()), ("field", pa.string()),
                             ("value", pa.string()), ("reason", pa.string())])
QUOTES_SCHEMA = pa.schema([("row", pa.int64()), ("application_id", pa.string()), ("applicant_kind", LABEL), ("area", LABEL),
                           ("park_level", LABEL), ("enterprise_size", LABEL), ("capacity_kva", pa.float64()),
                           ("supply_voltage", LABEL), ("supply_voltage_rule", LABEL), ("boundary", LABEL), ("boundary_rule", LABEL),
                           ("customer_cny", pa.float64()), ("grid_cny", pa.float64()), ("total_cny", pa.float64())])
APPLICATIONS_SCHEMA = pa.schema(
    [("row", pa.int64()), ("application_id", pa.string()), ("customer_delta_cny", pa.float64()), ("grid_delta_cny", pa.float64()),
     ("voltage_changed", pa.bool_()), ("boundary_changed", pa.bool_()), ("moved_to_low_voltage", pa.bool_()), ("affected", pa.bool_()),
     ("supply_voltage_before", LABEL), ("supply_voltage_after", LABEL), ("boundary_before", LABEL), ("boundary_after", LABEL),
     ("customer_before_cny", pa.float64()), ("customer_after_cny", pa.float64()), ("grid_before_cny", pa.float64()),
     ("grid_after_cny", pa.float64()), ("area", LABEL), ("enterprise_size", LABEL), ("capacity_band", LABEL), ("park_level", LABEL),
     ("capacity_kva", pa.float64())])
OUTPUTS = {"batch": {"quotes": QUOTES_SCHEMA, "rejected": REJECTED_SCHEMA},
           "compare": {"applications": APPLICATIONS_SCHEMA, "rejected": REJECTED_SCHEMA},
           "sweep": {"rejected": REJECTED_SCHEMA}}
assert QUOTES_SCHEMA.names == SUMMARY_COLUMNS


class RuleSetMismatch(CostmodelError):
    """A worker's rules differ from those the study was started with."""


@dataclass(frozen=True)
class RuleSetRef:
    """How a worker rebuilds one rule set of the study, and the content hash it must have."""

    baseline: str
    content_hash: str
    reform: str | None = None  # compare: reformed_ruleset(baseline, reform)
    sweep: tuple | None = None  # sweep: (parameter path, value, category) over the baseline

    def build(self) -> RuleSet:
        if self.reform is not None:
            return reformed_ruleset(self.baseline, self.reform)
        baseline = load_ruleset(self.baseline)
        return baseline if self.sweep is None else sweep_ruleset(baseline, *self.sweep)

    def load(self) -> RuleSet:
        ruleset = self.build()
        if ruleset.content_hash != self.content_hash:
            raise RuleSetMismatch(f"rule set {ruleset.id} on worker {socket.gethostname()} has content hash {ruleset.content_hash}, "
                                  f"the study was started with {self.content_hash}; give every worker the same tariffs "
                                  "(the same costmodel version and --tariffs folder) as the machine that starts the study")
        return ruleset

    @property
    def label(self) -> str:
        return self.baseline

    def quoter(self, partition: Partition, chunk_rows: int) -> Callable[[Portfolio], BatchResult]:
        """How a partition's rows are quoted (the same rule set for every partition); the rules checked first."""
        ruleset = self.load()
        return lambda portfolio: quote_portfolio(portfolio, ruleset, chunk_rows)


def ruleset_ref(ruleset: RuleSet, baseline: str, reform: str | None = None, sweep: tuple | None = None) -> RuleSetRef:
    return RuleSetRef(baseline, ruleset.content_hash, reform, sweep)


IN_FORCE = "in-force"


def _tariffs_hashes(reforms: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The content hash of every shipped rule set, and of each reform (over its own baseline)."""
    hashes = [(ruleset_id, load_ruleset(ruleset_id).content_hash) for ruleset_id in available_rulesets()]
    return tuple(hashes + [(f"reform {name}", load_reform(name).ruleset.content_hash) for name in reforms])


@dataclass(frozen=True)
class InForceRef:
    """The rules in force in each partition's province (its `province=` folder; the national layer alone where
    the tariffs hold no layer of that province) on each row's date, with `reforms` over them. Every rule set a
    row may resolve to is checked: the worker's hashes of all shipped rule sets and of the reforms must be the
    study's."""

    reforms: tuple[str, ...]
    hashes: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, reforms: tuple[str, ...]) -> InForceRef:
        return cls(tuple(reforms), _tariffs_hashes(tuple(reforms)))

    @property
    def label(self) -> str:
        return "+".join([IN_FORCE, *self.reforms])

    def check(self) -> None:
        own = dict(_tariffs_hashes(self.reforms))
        for name, expected in self.hashes:
            if own.get(name) != expected:
                raise RuleSetMismatch(f"rule set {name} on worker {socket.gethostname()} has content hash {own.get(name)}, the "
                                      f"study was started with {expected}; give every worker the same tariffs as the machine "
                                      "that starts the study")

    def quoter(self, partition: Partition, chunk_rows: int) -> Callable[[Portfolio], BatchResult]:
        self.check()
        jurisdiction = jurisdiction_of(dict(partition.keys).get("province"))
        return lambda portfolio: quote_in_force(portfolio, jurisdiction, self.reforms, chunk_rows)


@dataclass(frozen=True)
class Study:
    """What to do with each partition. rulesets: batch (the rule set,), compare (baseline, reform), sweep
    (baseline, one per value); `values` are the sweep's values as given."""

    kind: str
    rulesets: tuple[RuleSetRef | InForceRef, ...]
    values: tuple = ()
    chunk_rows: int = 250_000

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"study kind {self.kind!r}; allowed: {', '.join(KINDS)}")

    def key(self, ingest: Ingest) -> dict:
        """What must match for an unfinished output folder to be resumed (as JSON reads it back: lists, not tuples)."""
        return json.loads(json.dumps({"kind": self.kind, "rulesets": [asdict(ref) for ref in self.rulesets], "values": list(map(_plain, self.values)),
                "input": ingest.root, "input_fingerprint": ingest.fingerprint, "partitions": len(ingest.partitions),
                "rows_in": ingest.rows_in}, default=_plain))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------------------------------- one partition

def _write(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> None:
    frame = frame[schema.names].copy(deep=False)
    for column in schema:
        if pa.types.is_dictionary(column.type):  # labels: categorical, unordered (a band's order is not its type's)
            values = frame[column.name]
            frame[column.name] = values.cat.as_unordered() if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    with files.atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def _output_path(out: Path, table: str, partition: Partition) -> Path:
    folder = out / table / partition.folder if partition.folder else out / table
    return folder / f"{partition.name}.parquet"


def _marker_path(out: Path, partition: Partition) -> Path:
    return out / MARKERS / f"{partition.name}.json"


def _sums_json(sums: dict[str, pd.DataFrame]) -> dict:
    return {name: table.astype({column: str for column in table.columns if column in GROUPS}).to_dict("list")
            for name, table in sums.items()}


def _sums_frames(sums: dict) -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(columns) for name, columns in sums.items()}


Quoter = Callable[[Portfolio], BatchResult]


def _batch_outputs(portfolio: Portfolio, quoters: list[Quoter]) -> tuple[dict, int, dict]:
    result = quoters[0](portfolio)
    return {"quotes": result.quotes, "rejected": result.rejected}, len(result.quotes), {}


def _compare_outputs(portfolio: Portfolio, quoters: list[Quoter]) -> tuple[dict, int, dict]:
    before, after = (quote(portfolio) for quote in quoters)
    applications, rejected = _indicators(before, after)
    return {"applications": applications, "rejected": rejected}, len(applications), {"sums": _sums_json(group_sums(applications))}


def _sweep_outputs(portfolio: Portfolio, quoters: list[Quoter]) -> tuple[dict, int, dict]:
    before = quoters[0](portfolio)
    rejected, compared, sums = [before.rejected], None, []
    for quote in quoters[1:]:
        applications, refused = _indicators(before, quote(portfolio))
        rejected.append(refused)
        rows = applications["row"].to_numpy()
        compared = rows if compared is None else np.intersect1d(compared, rows)
        sums.append({**_sums_json({"overall": group_sums(applications)["overall"]}), "rejected": len(refused)})
    rejected = pd.concat(rejected, ignore_index=True).drop_duplicates("row").sort_values("row", kind="stable")
    return {"rejected": rejected.reset_index(drop=True)}, len(compared), {"sums_by_value": sums}


WORK = {"batch": _batch_outputs, "compare": _compare_outputs, "sweep": _sweep_outputs}


def run_partition(study: Study, ingest: Ingest, partition: Partition, out: str) -> dict:
    """Do one partition: its outputs, then its marker (returned). The unit of work of every executor."""
    started = time.perf_counter()
    quoters = [ref.quoter(partition, study.chunk_rows) for ref in study.rulesets]  # the rules checked before any work
    portfolio = validate_partition(ingest, partition)
    tables, rows_out, extra = WORK[study.kind](portfolio, quoters)
    out = Path(out)
    for name, schema in OUTPUTS[study.kind].items():
        _write(tables[name], schema, _output_path(out, name, partition))
    marker = {"partition": partition.index, "file": partition.file, "first_row": partition.first_row,
              "rows_in": partition.rows, "rows_out": rows_out, "rows_rejected": len(tables["rejected"]),
              "seconds": round(time.perf_counter() - started, 3), **extra}
    if marker["rows_in"] != marker["rows_out"] + marker["rows_rejected"]:
        raise AssertionError(f"{partition.label}: {marker['rows_in']} rows in, {rows_out} out + {marker['rows_rejected']} rejected")
    files.write_text(_marker_path(out, partition), json.dumps(marker))
    return marker


# ------------------------------------------------------------------------------------------- the output folder

def prepare_output(out: Path, study: Study, ingest: Ingest, force: bool) -> list[Partition]:
    """The partitions still to do. An empty or new folder starts the study; a folder holding this very study
    unfinished resumes it; anything else is refused without `force` (then the study's own files are removed)."""
    out = Path(out)
    root = Path(ingest.root).resolve()
    if out.resolve() == root or root in out.resolve().parents or out.resolve() in root.parents:
        raise OutputError(f"{out}: the output folder overlaps the input {ingest.root}; choose another folder")
    key = study.key(ingest)
    state = out / STATE_FILE
    unfinished = state.is_file() and not (out / MANIFEST_FILE).is_file()
    if unfinished and json.loads(state.read_text(encoding="utf-8")) == key:
        return [p for p in ingest.partitions if not _marker_path(out, p).is_file()]
    if out.is_dir() and any(out.iterdir()):
        if not force:
            what = "holds an unfinished study of other inputs or rules" if unfinished else "exists and is not empty"
            raise OutputError(f"{out}: the output folder {what}; give --force to overwrite it, or choose another folder")
        for name in [MARKERS, *{table for tables in OUTPUTS.values() for table in tables}]:
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (STATE_FILE, MANIFEST_FILE):
            (out / name).unlink(missing_ok=True)
    files.write_text(state, json.dumps(key, indent=1))
    return list(ingest.partitions)


# ------------------------------------------------------------------------------------------- running it

Progress = Callable[[int, int, int, float], None]  # partitions done, partitions in all, rows done, seconds


def run_local(study: Study, ingest: Ingest, partitions: Iterable[Partition], out: Path) -> Iterator[dict]:
    """Each partition in turn, in this process: the embedded default."""
    for partition in partitions:
        yield run_partition(study, ingest, partition, str(out))


@dataclass
class StudyResult:
    kind: str
    manifest: dict
    overall: dict = field(default_factory=dict)  # compare: the overall figures
    by_group: dict[str, pd.DataFrame] = field(default_factory=dict)  # compare
    table: pd.DataFrame | None = None  # sweep: one row per value
    baseline_id: str = ""
    reform_id: str = ""


def run_study(study: Study, ingest: Ingest, out: Path, pending: list[Partition],
              executor: Callable[[Study, Ingest, list[Partition], Path], Iterator[dict]] = run_local,
              progress: Progress | None = None, rulesets: list[RuleSet] | None = None) -> StudyResult:
    """Every pending partition through `executor` (run_local, or costmodel.scenarios.cluster's), then the
    manifest and the figures of the whole from all the partitions' markers."""
    out = Path(out)
    total = len(ingest.partitions)
    done = total - len(pending)
    rows = sum(p.rows for p in ingest.partitions) - sum(p.rows for p in pending)
    started = time.perf_counter()
    if progress:
        progress(done, total, rows, 0.0)
    for marker in executor(study, ingest, pending, out):
        done += 1
        rows += marker["rows_in"]
        if progress:
            progress(done, total, rows, time.perf_counter() - started)
    return finish(study, ingest, out, rulesets)


def finish(study: Study, ingest: Ingest, out: Path, rulesets: list[RuleSet] | None = None) -> StudyResult:
    markers = []
    for partition in ingest.partitions:
        path = _marker_path(out, partition)
        if not path.is_file():
            raise CostmodelError(f"{out}: partition {partition.name} ({partition.label}) is not done; run the study again to resume")
        markers.append(json.loads(path.read_text(encoding="utf-8")))
    for marker in markers:
        if marker["rows_in"] != marker["rows_out"] + marker["rows_rejected"]:
            raise AssertionError(f"{out}: partition {marker['partition']}: rows in {marker['rows_in']} != "
                                 f"{marker['rows_out']} out + {marker['rows_rejected']} rejected")
    for name in OUTPUTS[study.kind]:  # what writers killed mid-write left (hidden: no dataset reader takes it)
        for leftover in (out / name).rglob(".part-*.tmp.parquet"):
            leftover.unlink(missing_ok=True)
    overall = {key: sum(m[key] for m in markers) for key in ("rows_in", "rows_out", "rows_rejected")}
    if overall["rows_in"] != ingest.rows_in or overall["rows_in"] != overall["rows_out"] + overall["rows_rejected"]:
        raise AssertionError(f"{out}: {ingest.rows_in} rows in the input; the partitions: {overall}")
    manifest = {"study": study.key(ingest), "outputs": {name: f"{name}/" for name in OUTPUTS[study.kind]}, **overall,
                "partitions": [{k: m[k] for k in ("partition", "file", "first_row", "rows_in", "rows_out", "rows_rejected")}
                               for m in markers]}
    result = StudyResult(study.kind, manifest)
    names = [ruleset.id for ruleset in rulesets] if rulesets else [ref.label for ref in study.rulesets]
    if study.kind == "compare":
        sums = merge_sums([_sums_frames(m["sums"]) for m in markers])
        result.overall, result.by_group = comparison_figures(sums, ingest.rows_in, overall["rows_rejected"], names[0], names[1])
        result.baseline_id, result.reform_id = names[0], names[1]
        manifest["overall"] = result.overall
    elif study.kind == "sweep":
        rows = []
        for index, value in enumerate(study.values):
            sums = merge_sums([_sums_frames({"overall": m["sums_by_value"][index]["overall"]}) for m in markers])
            rejected = sum(m["sums_by_value"][index]["rejected"] for m in markers)
            figures, _ = comparison_figures(sums, ingest.rows_in, rejected, names[0], "")
            rows.append(sweep_row(value, figures))
        result.table = pd.DataFrame(rows)
        result.baseline_id = names[0]
    files.write_text(out / MANIFEST_FILE, json.dumps(manifest, indent=1, ensure_ascii=False, default=_plain))
    return result


def read_output(out: Path, table: str) -> pd.DataFrame:
    """A study's output table, all partitions, in row order (for checks and small outputs: it is read whole)."""
    paths = sorted((Path(out) / table).rglob("part-*.parquet"))
    frame = pd.concat([pq.read_table(path).to_pandas() for path in paths], ignore_index=True)
    return frame.sort_values("row", kind="stable").reset_index(drop=True)


def dask_executor(client) -> Callable[[Study, Ingest, list[Partition], Path], Iterator[dict]]:
    """One Dask task per partition (costmodel.scenarios.cluster); keys unique to the run, so a long-lived cluster
    never hands back another run's result."""
    from costmodel.scenarios.cluster import run_tasks

    def execute(study: Study, ingest: Ingest, partitions: list[Partition], out: Path) -> Iterator[dict]:
        run = uuid.uuid4().hex[:12]
        return run_tasks(client, run_partition, [(study, ingest, p, str(out)) for p in partitions],
                         [f"costmodel-partition-{p.name}-{run}" for p in partitions])

    return execute


def stream_study(study: Study, ingest: Ingest, out: Path, *, force: bool = False, cluster: str | None = None,
                 scheduler: str | None = None, progress: Progress | None = None, rulesets: list[RuleSet] | None = None,
                 announce: Callable[[int, int], None] | None = None) -> StudyResult:
    """A study from start (or resumption) to manifest: in this process, or on Dask with `cluster` / `scheduler`.
    `announce(done, total)` is told, before the work, how many partitions an earlier run already did."""
    pending = prepare_output(out, study, ingest, force)
    if announce:
        announce(len(ingest.partitions) - len(pending), len(ingest.partitions))
    if cluster is None and scheduler is None:
        return run_study(study, ingest, out, pending, run_local, progress, rulesets)
    from costmodel.scenarios.cluster import dask_client

    with dask_client(cluster, scheduler) as client:
        return run_study(study, ingest, out, pending, dask_executor(client), progress, rulesets)
