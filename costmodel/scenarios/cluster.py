"""Dask (`dask.distributed`) as the executor of the streaming studies and of optimize-many: one task per unit
of work (a partition, a park), on a LocalCluster of single-threaded worker processes (`--cluster local[:N]`) or
on an existing cluster (`--scheduler tcp://HOST:PORT`). No scheduling here: Dask's own does it, and re-runs the
tasks of a worker that is lost (up to its `distributed.scheduler.allowed-failures`).

One thread per worker process: Pyomo is not thread-safe, and a quote is numpy work that a second thread in the
same process would only slow. Dask is an optional extra: `pip install costmodel[distributed]`.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from costmodel.errors import InputError

INSTALL_HINT = "pip install 'costmodel[distributed]' (Dask's dask and distributed packages)"
LOCAL = re.compile(r"local(?::(\d+))?")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(f"--cluster and --scheduler run on Dask, which is not installed; install it with {INSTALL_HINT}") from None
    return distributed


def local_workers(cluster: str) -> int:
    """The worker count of `local` (one per core) or `local:N`."""
    match = LOCAL.fullmatch(cluster.strip())
    if not match or (match.group(1) is not None and int(match.group(1)) < 1):
        raise InputError(f"--cluster {cluster!r}; allowed: local (a worker per core) or local:N (N >= 1 worker processes)")
    return int(match.group(1)) if match.group(1) else (os.cpu_count() or 1)


def check_choice(cluster: str | None, scheduler: str | None) -> None:
    """Before any work: at most one of the two, well formed, and Dask installed."""
    if cluster is not None and scheduler is not None:
        raise InputError("give --cluster or --scheduler, not both")
    if cluster is not None:
        local_workers(cluster)
    if scheduler is not None and not re.fullmatch(r"(tcp|tls|inproc|ws|wss)://\S+", scheduler.strip()):
        raise InputError(f"--scheduler {scheduler!r}; allowed: the scheduler's address, e.g. tcp://10.0.0.5:8786")
    if cluster is not None or scheduler is not None:
        _distributed()


# Dask's workers hand freed memory back to the system from 64 kB (glibc's MALLOC_TRIM_THRESHOLD_): a partition's
# arrays are allocated and freed by the hundred MB, so every chunk paid for fresh pages again, and one worker took 1.85x
# the time of the same partitions streamed in one process (benchmarks/streaming.py, both on one core). From 256 MB on,
# memory still goes back between partitions. A worker of an existing cluster (--scheduler) takes the variable from
# the environment it is started in (docs/scaling.md).
WORKER_MALLOC_TRIM_BYTES = 256 * 1024 * 1024


@contextmanager
def dask_client(cluster: str | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A client of a new LocalCluster (closed on leaving) or of the scheduler at `scheduler`. The LocalCluster's
    workers start from this process's environment, so they read the same tariffs folder (COSTMODEL_TARIFFS)."""
    distributed = _distributed()
    if scheduler is not None:
        with distributed.Client(scheduler, set_as_default=False) as client:
            yield client
        return
    import logging

    import dask

    # not daemonic, so that a park's own process can be forked from the worker (costmodel.scenarios.parks)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": WORKER_MALLOC_TRIM_BYTES,
                          "distributed.worker.daemon": False}), \
            distributed.LocalCluster(n_workers=local_workers(cluster or "local"), threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=logging.CRITICAL) as local, \
            distributed.Client(local, set_as_default=False) as client:
        yield client


def run_tasks(client, function: Callable, calls: Sequence[tuple], keys: Sequence[str]) -> Iterator[Any]:
    """function(*call) for each call, one task each, results as they complete. The first task to fail stops the
    others and raises its error (a costmodel error keeps its type, so the command line reports it as such)."""
    distributed = _distributed()
    futures = [client.submit(function, *call, key=key, pure=False) for call, key in zip(calls, keys)]
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            yield future.result()
    finally:
        client.cancel([future for future in futures if not future.done()])
