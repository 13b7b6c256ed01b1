import json

import typer
from typer.testing import CliRunner

from costmodel.schedule.cli import register

app = typer.Typer()
register(app)
runner = CliRunner()


def test_doing_business_json_compares_three_rule_sets():
    result = runner.invoke(app, ["doing-business", "--json", "--cost", "0"])
    assert result.exit_code == 0, result.output
    cases = json.loads(result.output)
    assert [c["ruleset_id"] for c in cases] == ["national-1996", "shandong-2018", "shandong-2019"]
    assert all(c["cost_percent_of_income"] == 0 for c in cases)


def test_schedule_json_and_gantt(tmp_path):
    chart = tmp_path / "g.svg"
    result = runner.invoke(app, ["schedule", "--ruleset", "shandong-2019", "--date", "2019-09-27",
                                 "--voltage", "low_voltage", "--json", "--gantt", str(chart)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["energisation_due_date"].startswith("2019-10-12")
    assert len(record["stages"]) == 6 and chart.exists()


def test_schedule_error_is_a_message_not_a_traceback(capsys):
    from costmodel.cli import run

    assert run(["schedule", "--ruleset", "nowhere", "--date", "2019-09-27"]) == 1  # a user error
    err = capsys.readouterr().err
    assert "ruleset_id = 'nowhere' is not allowed" in err
    assert "Traceback" not in err
