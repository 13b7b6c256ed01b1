"""Streaming studies on Dask: one LocalCluster of 2 single-threaded worker processes for the whole module,
reached as an existing cluster (`--scheduler`)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest

from costmodel.files import PAUSE_ENV
from costmodel.paths import ENV_VAR
from costmodel.scenarios.dataset import ingest
from costmodel.scenarios.streaming import (RuleSetMismatch, dask_executor, prepare_output, run_study,
                                           stream_study)
from tests.scenarios.streaming_support import assert_same_comparison, compare_study, set_environment, write_dataset
from tests_support import require_module

distributed = require_module("distributed", "distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            distributed.Client(local, set_as_default=False) as client:
        yield local.scheduler_address, client


def test_dask_equals_streaming_equals_in_memory_whatever_the_partitions(tmp_path, inputs, in_memory, cluster):
    folder, _ = inputs
    address, _ = cluster
    study, rulesets = compare_study()
    for partition_rows in (100, 333):
        streamed = stream_study(study, ingest(folder, partition_rows), tmp_path / f"dask{partition_rows}", scheduler=address,
                                rulesets=rulesets)
        assert_same_comparison(streamed, tmp_path / f"dask{partition_rows}", in_memory)


def test_a_worker_killed_mid_run_leaves_the_study_complete_and_identical(tmp_path, inputs, in_memory, cluster):
    folder, _ = inputs
    address, client = cluster
    study, rulesets = compare_study()
    out = tmp_path / "out"
    client.run(set_environment, PAUSE_ENV, "part-000004.parquet")  # the worker writing partition 4 waits
    result = {}
    runner = threading.Thread(target=lambda: result.update(done=stream_study(study, ingest(folder, 100), out, scheduler=address,
                                                                             rulesets=rulesets)))
    runner.start()
    try:
        deadline, writing = time.monotonic() + 60, []
        while not writing and time.monotonic() < deadline:
            writing = list((out / "applications").rglob(".part-000004.*.tmp.parquet")) if (out / "applications").exists() else []
            time.sleep(0.05)
        assert writing, "no worker started writing partition 4"
        worker_pid = int(re.match(r"\.part-000004\.(\d+)-", writing[0].name).group(1))  # the atomic writer names its pid
        client.run(set_environment, PAUSE_ENV, None)
        os.kill(worker_pid, signal.SIGKILL)
    finally:
        client.run(set_environment, PAUSE_ENV, None, on_error="ignore")  # the killed worker cannot answer
        runner.join(timeout=120)
    assert "done" in result, "the study did not complete after the worker was lost"
    assert_same_comparison(result["done"], out, in_memory)
    assert not list(out.rglob(".*.tmp*"))


def test_an_interrupted_dask_study_resumes_to_the_same_result(tmp_path, inputs, in_memory, cluster):
    folder, _ = inputs
    address, client = cluster
    study, rulesets = compare_study()
    ingested = ingest(folder, 100)
    out = tmp_path / "out"

    def interrupted_after_three(*arguments):
        for count, marker in enumerate(dask_executor(client)(*arguments), start=1):
            yield marker
            if count == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(study, ingested, out, prepare_output(out, study, ingested, False), interrupted_after_three, rulesets=rulesets)
    pending = prepare_output(out, study, ingested, False)
    assert 3 <= len(ingested.partitions) - len(pending) < len(ingested.partitions)
    resumed = stream_study(study, ingested, out, scheduler=address, rulesets=rulesets)
    assert_same_comparison(resumed, out, in_memory)


def test_a_worker_with_other_rules_is_refused_naming_both_hashes(tmp_path, tariffs_copy, cluster):
    address, client = cluster
    copy_root = os.environ.pop(ENV_VAR)  # the study starts with the shipped tariffs ...
    study, rulesets = compare_study()
    manifest = tariffs_copy / "rulesets" / "shandong-2019" / "manifest.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n# a worker's own edit\n", encoding="utf-8")
    client.run(set_environment, ENV_VAR, str(tariffs_copy))  # ... and the workers hold an edited copy
    try:
        folder, _ = write_dataset(tmp_path)
        with pytest.raises(RuleSetMismatch) as refused:
            stream_study(study, ingest(folder, 600), tmp_path / "out", scheduler=address)
    finally:
        client.run(set_environment, ENV_VAR, None)
        os.environ[ENV_VAR] = copy_root  # as the fixture left it, for its own teardown
    message = str(refused.value)
    assert study.rulesets[0].content_hash in message
    worker_hash = re.search(r"has content hash (\w+)", message).group(1)
    assert worker_hash != study.rulesets[0].content_hash
    assert not (tmp_path / "out" / "manifest.json").exists()
