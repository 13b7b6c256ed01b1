"""Streaming studies on one machine: the same answers as the in-memory path to the row, whatever the partition
size; rows in = rows out + rows rejected per partition and overall; an interrupted study resumes."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.files import OutputError
from costmodel.params import load_ruleset
from costmodel.params.overrides import sweep_ruleset
from costmodel.scenarios.cluster import INSTALL_HINT, check_choice
from costmodel.scenarios.dataset import ingest
from costmodel.scenarios.national import write_national
from costmodel.scenarios.portfolio import Portfolio, load_portfolio, validate_frame
from costmodel.scenarios.streaming import InForceRef, Study, prepare_output, read_output, ruleset_ref, stream_study
from costmodel.scenarios.studies import (BatchResult, _indicators, jurisdiction_of, policies_in_force, quote_in_force,
                                         quote_portfolio, sweep)
from tests.reliability.files_support import interrupt_while_writing, leftovers, run_cli
from tests.scenarios.streaming_support import BAD_ROWS, BASELINE, REFORM, ROWS, as_text, assert_same_comparison, compare_study

CAP = "supply_voltage.low_voltage_cap"


@pytest.mark.parametrize("partition_rows", [45, 100, ROWS])
def test_a_streamed_comparison_equals_the_in_memory_one_to_the_row(tmp_path, inputs, in_memory, partition_rows):
    folder, _ = inputs
    study, rulesets = compare_study()
    streamed = stream_study(study, ingest(folder, partition_rows), tmp_path / "out", rulesets=rulesets)
    assert_same_comparison(streamed, tmp_path / "out", in_memory)
    assert in_memory.rejected["row"].tolist() == BAD_ROWS  # worked out from the files' sizes (streaming_support)


def test_the_manifest_keeps_rows_in_equal_to_rows_out_plus_rejected(tmp_path, inputs):
    folder, _ = inputs
    study, rulesets = compare_study()
    stream_study(study, ingest(folder, 100), tmp_path / "out", rulesets=rulesets)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert (manifest["rows_in"], manifest["rows_out"], manifest["rows_rejected"]) == (ROWS, ROWS - 2, 2)
    rejected = {p["first_row"]: p["rows_rejected"] for p in manifest["partitions"] if p["rows_rejected"]}
    assert rejected == {301: 1, 951: 1}  # the partitions holding rows 310 and 955
    assert all(p["rows_in"] == p["rows_out"] + p["rows_rejected"] for p in manifest["partitions"])
    # the outputs keep the input's partitions
    assert (tmp_path / "out" / "applications" / "province=shandong" / "year=2025" / "part-000006.parquet").is_file()


def test_a_streamed_batch_equals_the_in_memory_quotes(tmp_path, inputs):
    folder, single = inputs
    ruleset = load_ruleset(BASELINE)
    expected = quote_portfolio(load_portfolio(single), ruleset)
    stream_study(Study("batch", (ruleset_ref(ruleset, BASELINE),)), ingest(folder, 160), tmp_path / "out", rulesets=[ruleset])
    pd.testing.assert_frame_equal(as_text(read_output(tmp_path / "out", "quotes")), as_text(expected.quotes))
    assert read_output(tmp_path / "out", "rejected")["row"].tolist() == BAD_ROWS


def test_a_streamed_sweep_equals_the_in_memory_sweep(tmp_path, inputs):
    folder, single = inputs
    base = load_ruleset(BASELINE)
    values = [100, 160, 250]
    expected = sweep(load_portfolio(single), base, CAP, values)
    references = [ruleset_ref(base, BASELINE)] + [ruleset_ref(sweep_ruleset(base, CAP, v), BASELINE, sweep=(CAP, v, None)) for v in values]
    streamed = stream_study(Study("sweep", tuple(references), tuple(values)), ingest(folder, 300), tmp_path / "out", rulesets=[base])
    pd.testing.assert_frame_equal(streamed.table, expected, check_dtype=False)
    assert expected["moved_to_low_voltage"].iloc[0] == 0  # a cap of 100 kVA, below the baseline's, moves nobody down


def test_a_finished_study_is_not_overwritten_without_force(tmp_path, inputs):
    folder, _ = inputs
    study, rulesets = compare_study()
    ingested = ingest(folder, 400)
    stream_study(study, ingested, tmp_path / "out", rulesets=rulesets)
    with pytest.raises(OutputError, match="--force"):
        stream_study(study, ingested, tmp_path / "out", rulesets=rulesets)
    again = stream_study(study, ingest(folder, 1000), tmp_path / "out", rulesets=rulesets, force=True)
    assert len(again.manifest["partitions"]) == 4  # one per file: the earlier run's part files are gone
    assert len(list((tmp_path / "out" / "applications").rglob("*.parquet"))) == 4


def test_an_interrupted_study_resumes_without_losing_or_repeating_a_row(tmp_path, inputs):
    folder, _ = inputs
    arguments = ["compare-portfolio", folder, "--baseline", BASELINE, "--reform", REFORM, "--partition-rows", "100",
                 "--out", tmp_path / "out"]
    code, stderr = interrupt_while_writing("part-000005.parquet", *arguments, cwd=tmp_path)
    assert code == 130, stderr
    markers = tmp_path / "out" / "_partitions"
    assert sorted(p.name for p in markers.iterdir()) == [f"part-00000{i}.json" for i in range(5)]
    assert leftovers(tmp_path) == [] and not (tmp_path / "out" / "manifest.json").exists()
    written = {p.name: p.stat().st_mtime_ns for p in markers.iterdir()}
    resumed = run_cli(*arguments, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: 5 of 13 partitions already done" in resumed.stdout
    assert all(markers.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in written.items())  # not done again
    fresh = run_cli(*arguments[:-1], tmp_path / "fresh", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    resumed_rows = read_output(tmp_path / "out", "applications")
    assert resumed_rows["row"].is_unique and len(resumed_rows) == ROWS - 2
    pd.testing.assert_frame_equal(resumed_rows, read_output(tmp_path / "fresh", "applications"))


def test_cluster_options_without_dask_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: importing it fails
    with pytest.raises(InputError) as refused:
        check_choice("local:2", None)
    assert INSTALL_HINT in str(refused.value) and "costmodel[distributed]" in str(refused.value)


@pytest.mark.parametrize("cluster, scheduler, message", [
    ("local:0", None, "allowed: local"), ("remote", None, "allowed: local"), ("local", "tcp://h:1", "not both"),
    (None, "h:8786", "allowed: the scheduler's address")])
def test_cluster_options_are_checked_before_any_work(cluster, scheduler, message):
    with pytest.raises(InputError, match=message):
        check_choice(cluster, scheduler)


NATIONAL_REFORM = """id: national-lv-200kw
title: Low voltage up to 200 kW of equipment (a test reform of the national layer)
baseline: national-1996
description: a what-if for the tests
reference: {source: policy-study, paraphrase: "low-voltage equipment capacity 100 -> 200 kW", note: "a what-if, not law"}
parameters:
  supply_voltage.lv_max_equipment_kw:
    1996-10-08: 200 kW
"""


def test_each_row_takes_the_rules_in_force_in_its_province_on_its_date():
    dates = pd.Series(pd.to_datetime(["2019-01-05", "2019-08-01", "2021-05-01", "2026-01-01"]))
    # by the manifests' start dates: shandong-2018 from 2018-08-01, shandong-2019 from 2019-07-01; national-2020 from
    # 2020-09-22, national-2025 from 2025-06-03; hebei has no layer of its own, so the national layer alone
    policy_of_row, policies = policies_in_force(jurisdiction_of("shandong"), dates)
    assert [policies[i].id for i in policy_of_row] == ["shandong-2018+national-1996", "shandong-2019+national-1996",
                                                        "shandong-2019+national-2020", "shandong-2019+national-2025"]
    policy_of_row, policies = policies_in_force(jurisdiction_of("hebei"), dates)
    assert [policies[i].id for i in policy_of_row] == ["national-1996", "national-1996", "national-2020", "national-2025"]


def test_a_national_study_in_force_equals_each_province_quoted_in_memory(tmp_path):
    write_national(tmp_path / "china", 900, seed=2, provinces="shandong,hebei")
    reform = tmp_path / "national-lv-200kw.yaml"
    reform.write_text(NATIONAL_REFORM, encoding="utf-8")
    study = Study("compare", (InForceRef.of(()), InForceRef.of((str(reform),))))
    ingested = ingest(tmp_path / "china", 200)
    streamed = stream_study(study, ingested, tmp_path / "out")
    # in memory: the same files in the same order as one frame, each province's rows under its own rules
    files = sorted((tmp_path / "china").rglob("*.parquet"))
    whole = pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)
    portfolio = validate_frame(whole)
    province = np.concatenate([[path.parent.parent.name.removeprefix("province=")] * len(pd.read_parquet(path)) for path in files])
    quoted = {}
    for reforms in ((), (str(reform),)):
        parts = [quote_in_force(Portfolio(portfolio.frame[province[portfolio.frame["row"] - 1] == name], portfolio.rejected,
                                          int((province == name).sum()), name), jurisdiction_of(name), reforms)
                 for name in ("hebei", "shandong")]
        quoted[reforms] = BatchResult(pd.concat([p.quotes for p in parts]).sort_values("row").reset_index(drop=True),
                                      portfolio.rejected, len(whole))
    applications, _ = _indicators(quoted[()], quoted[(str(reform),)])
    pd.testing.assert_frame_equal(as_text(read_output(tmp_path / "out", "applications")), as_text(applications))
    assert streamed.overall["rows_in"] == 900 and streamed.overall["moved_to_low_voltage"] > 0
    assert streamed.baseline_id == "in-force" and streamed.reform_id == f"in-force+{reform}"


def test_a_sweep_in_a_folder_it_left_unfinished_resumes(tmp_path, inputs):
    folder, _ = inputs
    base = load_ruleset(BASELINE)
    references = (ruleset_ref(base, BASELINE), ruleset_ref(sweep_ruleset(base, CAP, 200), BASELINE, sweep=(CAP, 200, None)))
    study = Study("sweep", references, (200,))
    ingested = ingest(folder, 300)
    first = stream_study(study, ingested, tmp_path / "out", rulesets=[base])
    (tmp_path / "out" / "manifest.json").unlink()  # as if stopped before its last step
    (tmp_path / "out" / "_partitions" / "part-000001.json").unlink()
    assert len(prepare_output(tmp_path / "out", study, ingested, False)) == 1  # the study's key survives JSON
    again = stream_study(study, ingested, tmp_path / "out", rulesets=[base])
    pd.testing.assert_frame_equal(first.table, again.table)


def test_streaming_refuses_budget_ranges_and_needs_an_out_folder(tmp_path, inputs):
    folder, _ = inputs
    refused = run_cli("batch", folder, "--ruleset", BASELINE, "--out", tmp_path / "out", "--range", tmp_path / "model.yaml")
    assert refused.returncode == 2 and "leave --range out when streaming" in refused.stderr
    no_out = run_cli("compare-portfolio", folder, "--baseline", BASELINE, "--reform", REFORM)
    assert no_out.returncode == 2 and "give --out" in no_out.stderr
    assert not (tmp_path / "out").exists()
