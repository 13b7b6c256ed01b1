"""Lost or corrupted files (issue 22): every output is written to a temporary file beside it and renamed;
an existing output needs --force; an output that is an input is refused; an interrupt during the final
write leaves the old file (or none) and exit code 130; spreadsheet formulas are neutralised."""

from __future__ import annotations

import os
import stat

import openpyxl
import pandas as pd
import pytest

from costmodel import files
from costmodel.files import OutputError, atomic_path, check_outputs, neutralise_cell, neutralise_formulas, write_table
from reliability.files_support import EXAMPLES, SMALL_PORTFOLIO, interrupt_while_writing, leftovers, run_cli

OLD = "the old output, which must survive\n"
PARK = EXAMPLES / "park"
WAREHOUSE = EXAMPLES / "applications" / "world-bank-warehouse.yaml"
SCHEDULE_CSV = ("application_id,application_date,supply_voltage,ruleset_id\n"
                + "".join(f"a{i},2019-09-{1 + i % 28:02d},low_voltage,shandong-2019\n" for i in range(200)))
TINY_GR = "SECTION Graph\nNodes 3\nEdges 2\nE 1 2 5\nE 2 3 4\nEND\nSECTION Terminals\nTerminals 2\nT 1\nT 3\nEND\nEOF\n"


@pytest.fixture(autouse=True)
def _no_protected_inputs():
    yield
    files.protect_inputs([])


# --- the atomic writer -------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError, ValueError])
def test_truncated_write_leaves_the_old_file(tmp_path, fault):
    target = tmp_path / "out.csv"
    target.write_text(OLD)
    with pytest.raises(fault):
        with atomic_path(target) as temporary:
            temporary.write_text("half a fi")
            raise fault()
    assert target.read_text() == OLD
    assert leftovers(tmp_path) == []


def test_truncated_write_of_a_new_file_leaves_no_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "new" / "out.csv") as temporary:
            temporary.write_text("half")
            raise KeyboardInterrupt
    assert not (tmp_path / "new" / "out.csv").exists() and leftovers(tmp_path) == []


def test_a_written_file_has_the_usual_mode_not_a_private_temporary_files(tmp_path):
    umask = os.umask(0o022)
    try:
        path = files.write_text(tmp_path / "a.md", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# --- overwrite and input protection ------------------------------------------------------------------

def test_existing_output_without_force_is_refused_naming_path_and_option(tmp_path):
    out = tmp_path / "q.csv"
    out.write_text(OLD)
    with pytest.raises(OutputError, match=r"q\.csv: the output file exists; give --force"):
        check_outputs([out], force=False)
    check_outputs([out], force=True)


def test_output_that_is_an_input_is_refused_even_when_spelt_differently(tmp_path, monkeypatch):
    source = tmp_path / "p.csv"
    source.write_text("x")
    (tmp_path / "link.csv").symlink_to(source)
    monkeypatch.chdir(tmp_path)
    for spelling in ["p.csv", "./sub/../p.csv", "link.csv"]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(OutputError, match="it is also an input"):
            check_outputs([spelling], force=True, inputs=[source])


def test_non_empty_output_folder_needs_force_and_an_empty_one_does_not(tmp_path):
    (tmp_path / "empty").mkdir()
    check_outputs([tmp_path / "empty"], force=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "sweep.csv").write_text(OLD)
    with pytest.raises(OutputError, match="output folder exists and is not empty; give --force"):
        check_outputs([tmp_path / "full"], force=False)


def test_a_write_over_a_protected_input_inside_an_output_folder_is_refused(tmp_path):
    source = tmp_path / "out" / "overall.csv"
    source.parent.mkdir()
    source.write_text(OLD)
    check_outputs([tmp_path / "out"], force=True, inputs=[source])
    with pytest.raises(OutputError, match="also an input"):
        files.write_csv(pd.DataFrame({"a": [1]}), source)
    assert source.read_text() == OLD


def test_cli_refuses_to_overwrite_an_output_without_force(tmp_path):
    out = tmp_path / "p.csv"
    out.write_text(OLD)
    refused = run_cli("portfolio", "generate", "--rows", "5", "--seed", "1", "--out", out)
    assert refused.returncode == 1 and f"{out}: the output file exists; give --force" in refused.stderr
    assert out.read_text() == OLD and "Traceback" not in refused.stderr
    forced = run_cli("portfolio", "generate", "--rows", "5", "--seed", "1", "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(pd.read_csv(out)) == 5


def test_cli_batch_refuses_the_portfolio_as_its_own_output(tmp_path):
    portfolio = tmp_path / "p.csv"
    portfolio.write_bytes(SMALL_PORTFOLIO.read_bytes())
    result = run_cli("batch", portfolio, "--ruleset", "shandong-2019", "--out", portfolio, "--force")
    assert result.returncode == 1 and "it is also an input" in result.stderr and "Traceback" not in result.stderr
    assert portfolio.read_bytes() == SMALL_PORTFOLIO.read_bytes()


def test_cli_unwritable_output_is_a_message_naming_the_path(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = run_cli("portfolio", "generate", "--rows", "5", "--seed", "1", "--out", tmp_path / "file" / "p.csv")
    assert result.returncode == 1 and str(tmp_path / "file") in result.stderr and "Traceback" not in result.stderr


# --- spreadsheet formulas ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["=2+5", "+2+5", "-2+5", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")", "-"])
def test_formula_like_text_is_neutralised(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-5", "+3.25", "-1e6", "2+5", "a=b", "", 12, -4.5, None])
def test_plain_numbers_and_other_text_are_left_alone(value):
    assert neutralise_cell(value) == value


def test_numeric_columns_keep_negative_numbers_and_text_columns_are_neutralised():
    frame = pd.DataFrame({"application_id": ["=2+5", "ok", None], "delta": [-5.0, 1.0, -2.5],
                          "kind": pd.Categorical(["@x", "y", "y"]), "mixed": [3, "=1+1", -2]})
    neutralised = neutralise_formulas(frame)
    assert neutralised["application_id"].tolist() == ["'=2+5", "ok", None]
    assert neutralised["delta"].tolist() == [-5.0, 1.0, -2.5] and neutralised["delta"].dtype == float
    assert neutralised["kind"].tolist() == ["'@x", "y", "y"]
    assert neutralised["mixed"].tolist() == [3, "'=1+1", -2]
    assert frame["application_id"][0] == "=2+5"  # the caller's frame is untouched
    clean = pd.DataFrame({"a": ["x"], "b": [-1]})
    assert neutralise_formulas(clean) is clean


def test_excel_output_has_no_live_formula(tmp_path):
    path = write_table(pd.DataFrame({"application_id": ["=2+5"], "customer_cny": [-100]}), tmp_path / "q.xlsx")
    cell, number = openpyxl.load_workbook(path).active["A2"], openpyxl.load_workbook(path).active["B2"]
    assert (cell.value, cell.data_type) == ("'=2+5", "s")
    assert number.value == -100


def test_batch_outputs_neutralise_an_application_id_formula(tmp_path):
    portfolio = pd.read_csv(SMALL_PORTFOLIO, dtype=str, keep_default_na=False)
    portfolio.loc[0, "application_id"] = "=2+5"
    portfolio.loc[1, "capacity"] = "=1+1"  # rejected: its value goes to the rejected-rows file
    source = tmp_path / "p.csv"
    portfolio.to_csv(source, index=False)
    result = run_cli("batch", source, "--ruleset", "shandong-2019", "--out", tmp_path / "q.xlsx")
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(tmp_path / "q.xlsx").active
    ids = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=2+5" in ids and not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    rejected = (tmp_path / "q.rejected.csv").read_text(encoding="utf-8")
    assert "'=1+1" in rejected and ",=1+1" not in rejected


def test_api_batch_csv_neutralises_formulas():
    from costmodel.api.routes import BATCH_COLUMNS, csv_chunks as _csv_chunks

    frame = pd.DataFrame([{column: None for column in BATCH_COLUMNS}] * 2)
    frame["application_id"] = ["=2+5", "plain"]
    frame["customer_cny"] = [-100.0, 5.0]
    text = "".join(_csv_chunks(frame, header=True))
    assert "'=2+5" in text and "\n=2+5" not in text and "-100.0" in text


# --- an interrupt during each writer's final write ---------------------------------------------------

def _inputs(tmp_path):
    (tmp_path / "tiny.gr").write_text(TINY_GR)
    (tmp_path / "schedule.csv").write_text(SCHEDULE_CSV)


def _portfolio_args(tmp_path):
    return ["batch", SMALL_PORTFOLIO, "--ruleset", "shandong-2019", "--out", tmp_path / "out" / "q.csv", "--force"]


# writer: (file-name pattern paused on, the output path relative to tmp_path, the CLI arguments)
WRITERS = {
    "quote --gantt": ("g.png", "out/g.png", lambda t: ["quote", WAREHOUSE, "--gantt", t / "out" / "g.png", "--force"]),
    "schedule --output": ("s.csv", "out/s.csv",
                          lambda t: ["schedule", "--input", t / "schedule.csv", "--output", t / "out" / "s.csv", "--force"]),
    "schedule --gantt": ("s.svg", "out/s.svg",
                         lambda t: ["schedule", "--ruleset", "shandong-2019", "--date", "2019-09-27", "--gantt", t / "out" / "s.svg", "--force"]),
    "portfolio generate csv": ("p.csv", "out/p.csv", lambda t: ["portfolio", "generate", "--rows", "2000", "--seed", "3",
                                                               "--out", t / "out" / "p.csv", "--force"]),
    "portfolio generate xlsx": ("p.xlsx", "out/p.xlsx", lambda t: ["portfolio", "generate", "--rows", "2000", "--seed", "3",
                                                                  "--out", t / "out" / "p.xlsx", "--force"]),
    "portfolio generate parquet": ("p.parquet", "out/p.parquet", lambda t: ["portfolio", "generate", "--rows", "2000", "--seed", "3",
                                                                           "--out", t / "out" / "p.parquet", "--force"]),
    "batch --out": ("q.csv", "out/q.csv", _portfolio_args),
    "batch rejected rows": ("q.rejected.csv", "out/q.rejected.csv", _portfolio_args),
    "compare-portfolio --out": ("summary.html", "out/summary.html",
                                lambda t: ["compare-portfolio", SMALL_PORTFOLIO, "--baseline", "shandong-2019",
                                           "--reform", "rural-lv-cap-160", "--out", t / "out", "--force"]),
    "compare-portfolio workbook": ("workbook.xlsx", "out/workbook.xlsx",
                                   lambda t: ["compare-portfolio", SMALL_PORTFOLIO, "--baseline", "shandong-2019",
                                              "--reform", "rural-lv-cap-160", "--out", t / "out", "--force"]),
    "sweep --out chart": ("sweep.png", "out/sweep.png",
                          lambda t: ["sweep", SMALL_PORTFOLIO, "--parameter", "supply_voltage.low_voltage_cap", "--category", "rural",
                                     "--values", "100,160", "--out", t / "out", "--force"]),
    "sweep --out table": ("sweep.csv", "out/sweep.csv",
                          lambda t: ["sweep", SMALL_PORTFOLIO, "--parameter", "supply_voltage.low_voltage_cap", "--category", "rural",
                                     "--values", "100,160", "--out", t / "out", "--force"]),
    "optimize --map": ("park.png", "out/park.png",
                       lambda t: ["optimize", PARK, "--customers", PARK / "customers.csv", "--applications", PARK / "applications.csv",
                                  "--ruleset", "shandong-2019", "--map", t / "out" / "park.png", "--force"]),
    "network import-gr --out": ("customers.csv", "out/customers.csv",
                                lambda t: ["network", "import-gr", t / "tiny.gr", "--out", t / "out", "--force"]),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_interrupt_during_the_final_write_keeps_the_old_file(tmp_path, writer):
    pattern, relative, arguments = WRITERS[writer]
    _inputs(tmp_path)
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(OLD)
    code, stderr = interrupt_while_writing(pattern, *arguments(tmp_path), cwd=tmp_path)
    assert code == 130, stderr
    assert target.read_text() == OLD
    assert leftovers(tmp_path) == []
    assert "Traceback" not in stderr


@pytest.mark.parametrize("writer", ["portfolio generate xlsx", "network import-gr --out"])
def test_interrupt_during_the_first_write_of_an_output_leaves_no_file(tmp_path, writer):
    pattern, relative, arguments = WRITERS[writer]
    _inputs(tmp_path)
    code, stderr = interrupt_while_writing(pattern, *arguments(tmp_path), cwd=tmp_path)
    assert code == 130, stderr
    assert not (tmp_path / relative).exists() and leftovers(tmp_path) == []


def test_a_batch_interrupted_in_a_chunk_resumes_to_the_same_quotes(tmp_path):
    arguments = _portfolio_args(tmp_path) + ["--chunk-rows", "50"]
    code, stderr = interrupt_while_writing("rejected-000000000100.parquet", *arguments, cwd=tmp_path)
    assert code == 130, stderr
    parts = tmp_path / "out" / "q.csv.parts"
    assert not (tmp_path / "out" / "q.csv").exists() and not (parts / "rejected-000000000100.parquet").exists()
    assert (parts / "rejected-000000000050.parquet").exists() and leftovers(tmp_path) == []
    resumed = run_cli(*arguments, cwd=tmp_path)
    assert resumed.returncode == 0 and "resuming: 2 chunk(s)" in resumed.stdout
    fresh = run_cli(*_portfolio_args(tmp_path)[:-3], "--out", tmp_path / "fresh.csv", "--chunk-rows", "50", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "out" / "q.csv").read_text() == (tmp_path / "fresh.csv").read_text()
