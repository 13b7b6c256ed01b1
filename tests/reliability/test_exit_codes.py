"""Exit codes and messages (issue 22): 0 success, 1 user error, 2 usage error, 130 interrupt, for every
command including the schedule ones; a user error is one message, never a traceback, unless
COSTMODEL_DEBUG=1; an unexpected exception is one line and exit 1."""

from __future__ import annotations

import pytest

import costmodel.cli
from costmodel.cli import DEBUG_ENV, run
from reliability.files_support import EXAMPLES, SMALL_PORTFOLIO, interrupt_while_writing, run_cli

WAREHOUSE = EXAMPLES / "applications" / "world-bank-warehouse.yaml"


def test_success_is_0():
    result = run_cli("params", "shandong-2019", "--format", "json")
    assert result.returncode == 0, result.stderr


def test_a_failed_check_is_1(tariffs_copy):
    cases = tariffs_copy / "rulesets" / "shandong-2019" / "tests" / "thresholds.yaml"
    text = cases.read_text(encoding="utf-8")
    assert "customer_cny: 0, grid_cny: 18830}" in text
    cases.write_text(text.replace("customer_cny: 0, grid_cny: 18830}", "customer_cny: 0, grid_cny: 18831}", 1), encoding="utf-8")
    result = run_cli("check", "shandong-2019", env={"COSTMODEL_TARIFFS": str(tariffs_copy)})
    assert result.returncode == 1 and "problem:" in result.stdout and "18831" in result.stdout


@pytest.mark.parametrize("args, says", [
    (["schedule", "--ruleset", "nowhere", "--date", "2019-09-27"], "ruleset_id = 'nowhere' is not allowed"),
    (["schedule", "--input", "missing.csv"], "missing.csv"),
    (["doing-business", "--ruleset", "nowhere"], "nowhere"),
    (["quote", "missing.yaml"], "missing.yaml: file not found"),
    (["quote", str(WAREHOUSE), "--ruleset", "atlantis"], "unknown rule set or jurisdiction 'atlantis'"),
    (["batch", "missing.csv", "--ruleset", "shandong-2019", "--out", "q.csv"], "missing.csv"),
    (["check", "atlantis"], "atlantis"),
    (["portfolio", "generate", "--rows", "3", "--seed", "1", "--out", "p.txt"], "p.txt: unknown table format '.txt'; allowed:"),
], ids=["schedule bad rule set", "schedule missing input", "doing-business bad rule set", "quote missing file",
        "quote unknown rule set", "batch missing portfolio", "check unknown rule set", "portfolio generate unknown output format"])
def test_a_user_error_is_1_with_a_message_and_no_traceback(tmp_path, args, says):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert says in result.stderr and result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [
    ["no-such-command"],
    ["quote", str(WAREHOUSE), "--format", "xml"],
    ["quote"],
    ["schedule", "--no-such-option"],
    ["doing-business", "--date", "27/09/2019"],
    ["params", "shandong", "--date", "yesterday"],
    ["compare", str(WAREHOUSE), "--rulesets", "shandong-2019"],
], ids=["unknown command", "bad choice", "missing argument", "unknown option", "doing-business bad date",
        "params bad date", "compare one rule set"])
def test_a_usage_error_is_2(args):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_an_interrupt_is_130(tmp_path):
    # SIGINT while the batch is at work (its checkpoint manifest, the first file it writes)
    code, stderr = interrupt_while_writing("manifest.json", "batch", SMALL_PORTFOLIO, "--ruleset", "shandong-2019",
                                           "--out", tmp_path / "q.csv")
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr


def test_an_unexpected_exception_is_one_line_and_1(monkeypatch, capsys):
    def broken():
        raise RuntimeError("boom\nsecond line of detail")

    monkeypatch.setattr(costmodel.cli, "available_rulesets", broken)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert run(["rulesets"]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: boom" in err and f"{DEBUG_ENV}=1" in err
    assert "second line" not in err and "Traceback" not in err


def test_debug_shows_the_traceback_with_the_message(monkeypatch, capsys):
    monkeypatch.setenv(DEBUG_ENV, "1")
    assert run(["quote", "missing.yaml"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "missing.yaml: file not found" in err
