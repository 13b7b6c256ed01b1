import pytest

from costmodel.params import available_rulesets, load_ruleset
from costmodel.rules.check import check_ruleset


@pytest.mark.parametrize("ruleset_id", available_rulesets())
def test_every_shipped_rule_set_is_free_of_unordered_overlaps(ruleset_id):
    report = check_ruleset(load_ruleset(ruleset_id))
    assert report.ok, report.problems


def test_removing_the_priority_reveals_exactly_the_overlapping_pairs():
    ruleset = load_ruleset("shandong-2019")
    unordered = ruleset.with_decision("investment_boundary", ruleset.decision("investment_boundary").without_priority())
    pairs = {tuple(problem.split("rules ")[1].split(" both")[0].split(" and ")) for problem in check_ruleset(unordered).problems}
    # From the conditions: a small/micro enterprise or a resident at low voltage may sit in a municipal
    # park, and a large enterprise in the project database may too. Zero investment needs small/micro and
    # the project-database rule large/medium, so those two never meet; residents are never enterprises.
    assert pairs == {
        ("boundary.zero_investment_small_micro", "boundary.red_line_park"),
        ("boundary.residential_meter", "boundary.red_line_park"),
        ("boundary.red_line_park", "boundary.red_line_project_database"),
    }


POWER_FACTOR = "rulesets/national-1996/parameters/conversion/power_factor.yaml"


def _set(root, relative: str, old: str, new: str) -> None:
    file = root / relative
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("value", ["1.9", "-0.1"])
def test_a_power_factor_outside_its_unit_range_is_refused(tariffs_copy, value):
    _set(tariffs_copy, POWER_FACTOR, "1996-10-08: 0.9", f"1996-10-08: {value}")
    report = check_ruleset(load_ruleset("national-1996"))
    assert not report.ok
    assert report.problems == [
        f"rule set national-1996: parameter conversion.power_factor, value of 1996-10-08 ({tariffs_copy / POWER_FACTOR}): "
        f"{float(value)!r} is out of range; allowed: a number > 0 and <= 1 in ratio"]
    # a rule set that inherits the value is refused too, naming the file that sets it
    assert any("conversion.power_factor" in problem for problem in check_ruleset(load_ruleset("shandong-2019")).problems)


def test_check_exits_1_naming_the_rule_set_parameter_value_and_range(tariffs_copy):
    import subprocess
    import sys

    _set(tariffs_copy, POWER_FACTOR, "1996-10-08: 0.9", "1996-10-08: 1.9")
    result = subprocess.run([sys.executable, "-c", "from costmodel.cli import main; main()", "check", "national-1996"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert "problem: rule set national-1996: parameter conversion.power_factor" in output
    assert "1.9 is out of range; allowed: a number > 0 and <= 1 in ratio" in output


def test_a_breakdown_value_out_of_range_names_its_category(tariffs_copy):
    _set(tariffs_copy, "rulesets/shandong-2019/parameters/supply_voltage/low_voltage_cap.yaml", "{urban: 160, rural: 100}",
         "{urban: 160, rural: -1}")
    problems = check_ruleset(load_ruleset("shandong-2019")).problems
    assert len(problems) == 1
    assert problems[0].startswith("rule set shandong-2019: parameter supply_voltage.low_voltage_cap, value of 2019-07-01 [rural]")
    assert problems[0].endswith("-1 is out of range; allowed: a number >= 0 in kVA")


def test_a_list_label_the_application_field_does_not_have_is_refused(tariffs_copy):
    _set(tariffs_copy, "rulesets/shandong-2019/parameters/red_line_extension/park_levels.yaml",
         "[national, provincial, municipal]", "[national, provincial, prefecture]")
    problems = check_ruleset(load_ruleset("shandong-2019")).problems
    assert len(problems) == 1
    assert "parameter red_line_extension.park_levels, value of 2019-07-01" in problems[0]
    assert "unknown park_level 'prefecture'; allowed: " in problems[0] and "municipal" in problems[0]


def test_a_fractional_stage_length_is_refused(tariffs_copy):
    # stage lengths are whole working days (units.yaml: integer); the stage loader refuses a fraction first
    from costmodel.errors import InputError

    _set(tariffs_copy, "rulesets/national-2025/schedule/stages.yaml", "working_days: 20\n", "working_days: 20.5\n")
    with pytest.raises(InputError, match="20.5 is not a whole number of working days"):
        check_ruleset(load_ruleset("national-2025"))


def test_a_first_value_not_dated_the_rule_set_start_is_refused(tariffs_copy):
    # the first value applies from the start whatever its key says, so a key a day off would change no quote
    _set(tariffs_copy, "rulesets/national-2025/parameters/zero_investment/private_max_kw.yaml", "2025-06-03: 160", "2025-06-04: 160")
    problems = check_ruleset(load_ruleset("national-2025")).problems
    assert len(problems) == 1
    assert problems[0].startswith("rule set national-2025: parameter zero_investment.private_max_kw (")
    assert problems[0].endswith("its first value is dated 2025-06-04; allowed: 2025-06-03, the start (in_effect_from) "
                                "of national-2025, which sets it")
