import json
import os
import subprocess
import sys
from pathlib import Path

from tests_support import EXAMPLES

WAREHOUSE = str(EXAMPLES / "world-bank-warehouse.yaml")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from costmodel.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def test_quote_json_carries_the_documented_fields():
    result = run("quote", WAREHOUSE, "--ruleset", "shandong-2019", "--format", "json")
    assert result.returncode == 0, result.stderr
    quote = json.loads(result.stdout)
    assert quote["supply_voltage"] == "low_voltage"
    assert quote["boundary"] == "meter"
    assert quote["totals"]["customer_cny"] == 0
    assert quote["totals"]["grid_cny"] == 141830
    assert quote["lines"] and quote["trace"]


def test_compare_reports_the_difference_per_party():
    result = run("compare", WAREHOUSE, "--rulesets", "national-1996,shandong-2019", "--format", "json")
    assert result.returncode == 0, result.stderr
    difference = json.loads(result.stdout)["difference_last_minus_first"]
    assert difference == {"customer_cny": -389000, "grid_cny": 141830, "total_cny": -247170}


def test_params_of_a_jurisdiction_on_a_date_lists_each_layers_values_in_force():
    result = run("params", "shandong", "--date", "2026-03-02", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {(row["path"], row["layer"]): row for row in json.loads(result.stdout)}
    # both caps apply, each in its layer: the national kW cap of 1479号 and Shandong's own kVA cap
    national_cap = rows[("supply_voltage.low_voltage_cap", "national-2025 (national)")]
    shandong_cap = rows[("supply_voltage.low_voltage_cap", "shandong-2019 (provincial)")]
    assert (national_cap["unit"], national_cap["defined_in"], national_cap["since"]) == ("kW", "national-2020", "2020-09-22")
    assert (shandong_cap["unit"], shandong_cap["defined_in"], shandong_cap["value"]) == ("kVA", "shandong-2019", {"urban": 160, "rural": 100})
    # one value per parameter and layer: the one in force (129号's red line from 2021-03-01; the 2025 private cap)
    assert rows[("red_line_extension.urban_building_red_line", "national-2025 (national)")]["value"] is True
    assert rows[("zero_investment.private_max_kw", "national-2025 (national)")]["since"] == "2025-06-03"
    assert rows[("conversion.power_factor", "national-2025 (national)")]["defined_in"] == "national-2024"
    assert len(rows) == len(json.loads(result.stdout))
    # a national parameter Shandong does not set is listed once, under the national layer
    assert ("grid.voltage_deviation_limit", "shandong-2019 (provincial)") not in rows


def test_params_of_a_jurisdiction_before_its_national_rules_changed():
    rows = json.loads(run("params", "shandong", "--date", "2019-09-02", "--format", "json").stdout)
    layers = {row["layer"] for row in rows}
    assert layers == {"national-1996 (national)", "shandong-2019 (provincial)"}
    assert not any(row["path"] == "zero_investment.private_max_kw" for row in rows)


def test_params_with_a_bad_date_is_a_usage_error():
    result = run("params", "shandong", "--date", "2026-02-30")
    assert result.returncode == 2 and "--date" in result.stderr


def test_params_shows_value_unit_date_and_source():
    result = run("params", "shandong-2019", "--format", "json")
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    cap = rows["supply_voltage.low_voltage_cap"]
    assert (cap["value"], cap["unit"], cap["since"]) == ({"urban": 160, "rural": 100}, "kVA", "2019-07-01")
    assert "160千伏安" in cap["source"]


def test_params_shows_the_planning_loading_limit_the_optimiser_plans_to():
    result = run("params", "shandong-2019", "--format", "json")
    limit = {row["path"]: row for row in json.loads(result.stdout)}["grid.planning_loading_limit"]
    # plan to the rating itself: no margin was found in a national text, so the value is the library's, marked so
    assert (limit["value"], limit["unit"], limit["since"], limit["defined_in"]) == (100, "percent", "1996-10-08", "national-1996")
    assert "costmodel" in limit["source"] and "unverified" in limit["source"]


def test_params_cites_each_value_by_its_own_reference():
    result = run("params", "national-2020", "--format", "json")
    red_line = [row for row in json.loads(result.stdout) if row["path"] == "red_line_extension.urban_building_red_line"]
    assert [(row["since"], row["value"]) for row in red_line] == [("2020-09-22", False), ("2021-03-01", True)]
    assert "1479号" in red_line[0]["source"] and "129号" not in red_line[0]["source"]
    assert "129号" in red_line[1]["source"]


def test_user_errors_are_one_message_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\napplication_date: 2019-01-01\napplicant: {kind: residential}\n"
                   "site: {distance_to_lv_m: 1, distance_to_10kv_m: 1, transformer_headroom_kva: 1}\n"
                   "request: {capacity: -1}\n", encoding="utf-8")
    for args, expected, code in [  # exit code 1: a user error; 2: a usage error
        (("quote", str(bad)), "site.area: Field required", 1),
        (("quote", str(bad)), "request.capacity: Input should be greater than 0", 1),
        (("quote", WAREHOUSE, "--ruleset", "atlantis"), "unknown rule set or jurisdiction 'atlantis'", 1),
        (("quote", WAREHOUSE, "--format", "xml"), "allowed: table, json", 2),
    ]:
        result = run(*args)
        assert result.returncode == code, (args, result.stderr)
        assert expected in result.stderr.replace("\n", " ") or expected in result.stderr
        assert "Traceback" not in result.stderr


def test_compare_portfolio_gives_the_same_figures_in_one_thread_or_two():
    portfolio = str(EXAMPLES.parent / "portfolios" / "small.csv")
    figures = []
    for workers in ("1", "2"):
        result = run("compare-portfolio", portfolio, "--baseline", "shandong-2019", "--reform", "rural-lv-cap-160",
                     "--json", "--workers", workers)
        assert result.returncode == 0, result.stderr
        figures.append(json.loads(result.stdout))
    assert figures[0] == figures[1]
    # the five rural 100-160 kVA customers of docs/policy-studies.md move to low voltage
    assert (figures[0]["rows_in"], figures[0]["moved_to_low_voltage"], figures[0]["boundary_changed"]) == (200, 5, 4)


def test_compare_portfolio_allows_at_most_two_threads():
    result = run("compare-portfolio", str(EXAMPLES.parent / "portfolios" / "small.csv"), "--baseline", "shandong-2019",
                 "--reform", "rural-lv-cap-160", "--workers", "3")
    assert result.returncode != 0 and "--workers" in result.stderr


def test_the_tariffs_option_sets_the_root_for_the_run_over_the_environment(tariffs_industry_medium_400):
    # 350-employee industry factory: medium under the shipped size table, small with the medium bound at 400
    # (worked out in tests/test_paths.py). The environment names the shipped root; the option wins.
    factory = str(EXAMPLES / "municipal-park-factory.yaml")
    shipped = str(Path(__file__).resolve().parents[1] / "tariffs")
    result = run("--tariffs", str(tariffs_industry_medium_400), "quote", factory, "--format", "json",
                 env={**os.environ, "COSTMODEL_TARIFFS": shipped})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["enterprise_size"] == "small"


def test_a_tariffs_option_without_rule_sets_is_a_usage_error_naming_it(tmp_path):
    result = run("--tariffs", str(tmp_path), "rulesets")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"Invalid value for '--tariffs': '{tmp_path}' holds no rulesets/ folder" in message
    assert "expected a tariffs folder holding rulesets/" in message
    assert "Traceback" not in result.stderr


def test_an_average_time_target_prints_as_an_average_target_and_a_maximum_as_a_limit():
    # shandong-2019: low voltage <= 7 working days on average (basis average); jinan: approvals <= 4 (basis maximum)
    result = run("quote", WAREHOUSE, "--ruleset", "shandong-2019")
    assert result.returncode == 0, result.stderr
    when = next(line for line in result.stdout.splitlines() if line.startswith("When"))
    assert "average target 7 working days (this plan within it)" in when and "limit" not in when
    assert json.loads(run("quote", WAREHOUSE, "--ruleset", "shandong-2019", "--format", "json").stdout)["schedule"]["limit_basis"] == "average"


def test_limit_text_words_each_basis():
    from costmodel.schedule.stages import limit_text
    assert limit_text(40, "average", False) == "average target 40 working days (this plan takes longer)"
    assert limit_text(15, "maximum", True) == "limit 15 (within)"
    assert limit_text(None, None, None) == "no limit set"


def test_rulesets_lists_national_layers_first_then_each_jurisdiction_by_date():
    result = run("rulesets")
    assert result.returncode == 0, result.stderr
    rows = [line.split("│")[1:4] for line in result.stdout.splitlines() if line.startswith("│") and line.split("│")[3].strip()]
    listed = [(jurisdiction.strip(), start.strip(), ruleset.strip()) for jurisdiction, start, ruleset in rows]
    assert [r for _, _, r in listed][:4] == ["national-1996", "national-2020", "national-2024", "national-2025"]
    shanghai = [(start, r) for j, start, r in listed if j == "shanghai"]
    assert shanghai == [("2018-03-01", "shanghai-2018"), ("2024-12-31", "shanghai-2024")]


def test_quote_of_the_shanghai_example_prints_the_price_year_and_the_placeholder_free_totals():
    result = run("quote", str(EXAMPLES / "shanghai-cafe.yaml"), "--ruleset", "shanghai", "--format", "json")
    assert result.returncode == 0, result.stderr
    quote = json.loads(result.stdout)
    # 120 kW < 160 kW: low voltage, zero investment; 0.08 km x 160,000 + meter box 2,830 + road crossing 30,000 at the
    # catalogue's 2019 prices; the quote is at the application's 2025 level, 1.021074 times that (NBS PPI 2020-2025:
    # 0.982 x 1.081 x 1.041 x 0.970 x 0.978 x 0.974): 13,069.75 -> 13,070 + 2,889.64 -> 2,890 + 30,632.22 -> 30,632
    assert (quote["supply_voltage"], quote["boundary"], quote["totals"]["grid_cny"]) == ("low_voltage", "meter", 46592)
    assert quote["totals"]["total_placeholder_cny"] == 0 and quote["prepayments"] == []
    assert quote["price_level"]["price_year"] == 2025 and quote["schedule"]["limit_working_days"] == 10
    at_2019 = json.loads(run("quote", str(EXAMPLES / "shanghai-cafe.yaml"), "--ruleset", "shanghai", "--format", "json",
                             "--price-level", "catalogue").stdout)
    assert at_2019["price_level"]["price_year"] == 2019 and at_2019["totals"]["grid_cny"] == 12800 + 2830 + 30000
    refused = run("quote", str(EXAMPLES / "shanghai-cafe.yaml"), "--price-level", "2026")
    assert refused.returncode == 2 and "allowed: catalogue, application" in refused.stderr


def test_doing_business_china_weights_shanghai_and_beijing():
    result = run("doing-business", "--china", "--json")
    assert result.returncode == 0, result.stderr
    china = json.loads(result.stdout)
    assert [c["city"] for c in china["cities"]] == ["shanghai", "beijing"]
    assert china["weighted"]["time_working_days"] == 0.55 * china["cities"][0]["time_working_days"] + 0.45 * china["cities"][1]["time_working_days"]


def test_the_doing_business_table_names_the_case_of_its_data(tariffs_copy):
    case = tariffs_copy / "doing-business" / "case.yaml"
    case.write_text(case.read_text(encoding="utf-8").replace("values: {2004-01-01: 140}", "values: {2004-01-01: 150}"),
                    encoding="utf-8")
    result = run("doing-business", "--ruleset", "shandong-2019", env=os.environ | {"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "standard case (150 kVA, 150 m, road crossing)" in result.stdout
