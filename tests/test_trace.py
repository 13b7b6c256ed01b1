import datetime as dt

import pytest

from costmodel.application import load_application, parse_application
from costmodel.params import resolve_ruleset
from costmodel.quote import quote_application
from tests_support import EXAMPLES


@pytest.mark.parametrize("day, line, cited", [
    (dt.date(2021, 2, 28), "red_line_extension.urban_building_red_line<2020-09-22> = False bool (", "(发改能源规〔2020〕1479号): "),
    (dt.date(2021, 3, 1), "red_line_extension.urban_building_red_line<2021-03-01> = True bool (", "(国办函〔2020〕129号): "),
])
def test_the_trace_cites_the_reference_of_the_value_in_force(day, line, cited):
    application = load_application(EXAMPLES / "world-bank-warehouse.yaml").model_copy(update={"application_date": day})
    quote = quote_application(application, resolve_ruleset("national", day))
    step = next(step for step in quote.trace if step.decision == "investment_boundary")
    [read] = [text for text in step.parameters if text.startswith("red_line_extension.urban_building_red_line")]
    assert read.startswith(line) and cited in read


@pytest.mark.parametrize("day, document", [("2024-05-31", "电力工业部令第8号"), ("2024-06-01", "国家发展和改革委员会令第14号")])
def test_a_defaulted_power_factor_is_a_trace_step_citing_the_rules_in_force(day, document):
    raw = {"id": "pf", "application_date": day, "applicant": {"kind": "residential"},
           "site": {"area": "urban", "distance_to_lv_m": 50, "distance_to_10kv_m": 200, "transformer_headroom_kva": 100},
           "request": {"capacity": 45, "capacity_unit": "kW"}}
    quote = quote_application(parse_application(raw), resolve_ruleset("national", dt.date.fromisoformat(day)))
    [step] = [s for s in quote.trace if s.decision == "conversion"]
    # 45 kW at the default 0.9 is 50 kVA
    assert (step.outcome, step.rule_id) == ("power factor 0.9", "conversion.power_factor")
    assert "45 kW" in step.description and "50 kVA" in step.description and document in step.cites
    stated = quote_application(parse_application({**raw, "request": {**raw["request"], "power_factor": 1.0}}),
                               resolve_ruleset("national", dt.date.fromisoformat(day)))
    assert not any(s.decision == "conversion" for s in stated.trace)
