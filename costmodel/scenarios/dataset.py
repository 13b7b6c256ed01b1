"""A portfolio too large to hold: a Parquet file or a hive-partitioned Parquet dataset, read in partitions.

Ingest reads only the files' footers and their `application_id` column, and fixes for good:
- the partitions: each file in path order, cut into runs of at most `partition_rows` rows;
- each row's global number (1-based, in that order), so a row keeps its number whatever the partition count,
  the workers or the resumption;
- the rows whose `application_id` repeats an earlier row anywhere in the dataset (the in-memory check sees the
  whole file, so a partition alone could not), by 64-bit hashes, verified on the ids themselves.

A partition is then read and validated on its own (`read_partition`, `validate_partition`), with the same
validator as the in-memory path, its rows renumbered to their global numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from costmodel.errors import InputError
from costmodel.scenarios.portfolio import CATEGORY_COLUMNS, Portfolio, check_columns, id_length_bounds, validate_frame

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Partition:
    """Rows [first_in_file, first_in_file + rows) of one file; `first_row` is the global number of the first."""

    index: int
    file: str  # relative to the dataset root ("" root for a single file: its name)
    keys: tuple[tuple[str, str], ...]  # hive keys of the file's folders, e.g. (("province", "shandong"), ("year", "2025"))
    first_in_file: int
    rows: int
    first_row: int
    repeated_rows: tuple[int, ...] = ()  # global rows whose application_id repeats an earlier row

    @property
    def folder(self) -> str:
        """Where its outputs go under each output table: the input's hive folders."""
        return "/".join(f"{key}={value}" for key, value in self.keys)

    @property
    def name(self) -> str:
        return f"part-{self.index:06d}"

    @property
    def label(self) -> str:
        return f"{self.file} rows {self.first_in_file + 1}-{self.first_in_file + self.rows}"


@dataclass(frozen=True)
class Ingest:
    root: str  # the dataset folder, or the single file
    partitions: tuple[Partition, ...]
    rows_in: int
    fingerprint: str  # of the files (path, size, modification time, rows) and the partition size

    def path_of(self, partition: Partition) -> Path:
        root = Path(self.root)
        return root if root.is_file() else root / partition.file


def _files(root: Path) -> list[Path]:
    if root.is_file():
        if root.suffix.lower() not in PARQUET_SUFFIXES:
            raise InputError(f"{root}: streaming reads Parquet ({', '.join(PARQUET_SUFFIXES)}); convert the file, or run "
                             "without --stream")
        return [root]
    if not root.is_dir():
        raise InputError(f"{root}: no such file or folder")
    found = sorted((p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES
                    and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)),
                   key=lambda p: p.relative_to(root).as_posix())
    if not found:
        raise InputError(f"{root}: the folder holds no Parquet files (*.parquet); a partitioned portfolio is a folder of "
                         "them, e.g. province=shandong/year=2025/part-0.parquet")
    return found


def _hive_keys(relative: Path) -> tuple[tuple[str, str], ...]:
    keys = []
    for folder in relative.parent.parts:
        key, equals, value = folder.partition("=")
        if not equals or not key or not value:
            raise InputError(f"{relative}: folder {folder!r} is not a hive partition; allowed: key=value folders, e.g. "
                             "province=shandong/year=2025/")
        keys.append((key, value))
    return tuple(keys)


def _id_hashes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hash, valid?) of each row's application_id; valid = an id the validator accepts as text, the only
    ones the in-memory check compares."""
    column = pq.read_table(path, columns=["application_id"]).column(0)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            or (pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type))):
        return np.zeros(len(column), dtype=np.uint64), np.zeros(len(column), dtype=bool)  # no text id validates
    column = column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
    shortest, longest = id_length_bounds()
    length = pc.utf8_length(column)
    valid = pc.and_(pc.is_valid(column), pc.and_(pc.greater_equal(length, shortest), pc.less_equal(length, longest)))
    valid = valid.to_numpy(zero_copy_only=False).astype(bool)
    ids = column.to_numpy(zero_copy_only=False)
    hashes = pd.util.hash_array(np.where(valid, ids, ""), categorize=False)
    return hashes, valid


def _repeated_rows(files: list[Path], offsets: list[int]) -> np.ndarray:
    """Global rows (1-based) whose valid application_id appeared on an earlier row: candidates by equal hashes, then
    the ids of the candidates compared, so a hash collision never rejects a row."""
    parts = [_id_hashes(path) for path in files]
    hashes = np.concatenate([h for h, _ in parts])
    valid = np.concatenate([v for _, v in parts])
    rows = np.flatnonzero(valid)
    order = np.argsort(hashes[rows], kind="stable")
    sorted_hashes = hashes[rows][order]
    same = sorted_hashes[1:] == sorted_hashes[:-1]
    if not same.any():
        return np.empty(0, dtype=np.int64)
    in_group = np.zeros(len(order), dtype=bool)
    in_group[1:] |= same
    in_group[:-1] |= same
    candidates = np.sort(rows[order[in_group]])  # 0-based global positions, in row order
    ids = np.empty(len(candidates), dtype=object)
    bounds = np.array(offsets + [offsets[-1] + 10**18])
    for number, path in enumerate(files):
        inside = (candidates >= bounds[number]) & (candidates < bounds[number + 1])
        if inside.any():
            column = pq.read_table(path, columns=["application_id"]).column(0).cast(pa.string())
            ids[inside] = column.take(pa.array(candidates[inside] - bounds[number])).to_pylist()
    return candidates[pd.Series(ids).duplicated(keep="first").to_numpy()] + 1


def ingest(root: str | Path, partition_rows: int) -> Ingest:
    """The partitions and global row numbers of a Parquet file or hive-partitioned dataset (see the module)."""
    if partition_rows < 1:
        raise InputError(f"--partition-rows {partition_rows}: allowed: a whole number >= 1")
    root = Path(root)
    files = _files(root)
    digest = hashlib.sha256(str(partition_rows).encode())
    relatives = [Path(path.name) if root.is_file() else path.relative_to(root) for path in files]
    counts, offsets, total = [], [], 0
    for path, relative in zip(files, relatives):
        try:
            metadata = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except Exception as error:  # any parser failure is the user's file
            raise InputError(f"{path}: cannot be read as parquet: {error}") from None
        check_columns(pd.DataFrame(columns=schema.names), str(path))
        stat = path.stat()
        digest.update(json.dumps([relative.as_posix(), stat.st_size, stat.st_mtime_ns, metadata.num_rows]).encode())
        counts.append(metadata.num_rows)
        offsets.append(total)
        total += metadata.num_rows
    if total == 0:
        raise InputError(f"{root}: no application rows")
    repeated = _repeated_rows(files, offsets)
    partitions = []
    for relative, count, offset in zip(relatives, counts, offsets):
        for start in range(0, count, partition_rows):
            rows = min(partition_rows, count - start)
            first = offset + start + 1
            inside = repeated[(repeated >= first) & (repeated < first + rows)]
            partitions.append(Partition(len(partitions), relative.as_posix(), _hive_keys(relative) if root.is_dir() else (),
                                        start, rows, first, tuple(int(r) for r in inside)))
    return Ingest(str(root.resolve()), tuple(partitions), total, digest.hexdigest()[:16])


def read_partition(ingest: Ingest, partition: Partition) -> pd.DataFrame:
    """The raw rows of a partition, read from the row groups that hold them; label columns as categoricals, as the
    in-memory reader gives them."""
    path = ingest.path_of(partition)
    schema = pq.read_schema(path)
    labels = [name for name in CATEGORY_COLUMNS
              if name in schema.names and (pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type))]
    reader = pq.ParquetFile(path, read_dictionary=labels)
    groups, skipped, first, last = [], 0, partition.first_in_file, partition.first_in_file + partition.rows
    start = 0
    for group in range(reader.metadata.num_row_groups):
        end = start + reader.metadata.row_group(group).num_rows
        if end > first and start < last:
            if not groups:
                skipped = first - start
            groups.append(group)
        start = end
    table = reader.read_row_groups(groups).slice(skipped, partition.rows)
    return table.to_pandas(ignore_metadata=True)


def validate_partition(ingest: Ingest, partition: Partition) -> Portfolio:
    """A partition validated as the in-memory path validates the whole file, its rows numbered globally."""
    raw = read_partition(ingest, partition)
    repeated = np.zeros(partition.rows, dtype=bool)
    repeated[np.asarray(partition.repeated_rows, dtype=np.int64) - partition.first_row] = True
    portfolio = validate_frame(raw, f"{ingest.root}: {partition.label}", repeated=repeated)
    shift = partition.first_row - 1
    portfolio.frame["row"] = portfolio.frame["row"].to_numpy() + shift
    portfolio.rejected["row"] = portfolio.rejected["row"].to_numpy(dtype=np.int64) + shift
    return portfolio
