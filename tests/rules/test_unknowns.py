"""An unknown ownership grants nothing; the quote says what a known one would change and what evidence settles it.
Amounts worked out by hand from catalogue cn-indicative-2019."""

import datetime as dt

import pytest

from costmodel.params import load_ruleset, resolve_ruleset
from costmodel.quote import quote_application
from costmodel.rules.unknowns import tables_reading
from tests.rules.test_eligibility import MEDIUM, _application


def test_rules_reading_ownership_are_found_from_the_conditions():
    assert tables_reading(load_ruleset("national-2025"), "ownership") == ["investment_boundary"]
    assert tables_reading(load_ruleset("shandong-2019"), "ownership") == []


def test_unknown_ownership_grants_nothing_and_the_quote_says_what_evidence_would_change_it():
    ruleset = load_ruleset("national-2025")
    unknown = quote_application(_application({"kind": "enterprise", "enterprise": MEDIUM}, {"capacity": 150, "capacity_unit": "kW"}), ruleset)
    # medium, 150 kW urban: not small/micro, ownership unknown, so only the urban building red line: the customer
    # funds its meter box, 2,830 at 2019 prices, 2,889.64 -> 2,890 at the application's 2025 level (x 1.021074, NBS PPI)
    assert (unknown.boundary, unknown.totals.customer_cny) == ("red_line", 2890)
    [warning] = [w for w in unknown.warnings if w.startswith("ownership unknown")]
    assert "with ownership private, investment_boundary would be meter (rule boundary.zero_investment_private) instead of red_line" in warning
    assert "营业执照" in warning
    private = quote_application(_application({"kind": "enterprise", "enterprise": {**MEDIUM, "ownership": "private"}},
                                             {"capacity": 150, "capacity_unit": "kW"}), ruleset)
    assert (private.boundary, private.totals.customer_cny) == ("meter", 0)
    assert not any(w.startswith("ownership") for w in private.warnings)


@pytest.mark.parametrize("ruleset_id, enterprise, site", [
    ("shandong-2019", MEDIUM, {}),                                 # no rule of the rule set reads ownership
    ("national-2025", {"size_class": "small"}, {}),                # small: zero investment whatever the ownership
    ("national-2025", MEDIUM, {"area": "rural"}),                  # 150 kW rural is 10 kV, beyond the private rule
])
def test_no_ownership_warning_where_knowing_it_would_change_nothing(ruleset_id, enterprise, site):
    application = _application({"kind": "enterprise", "enterprise": enterprise}, {"capacity": 150, "capacity_unit": "kW"}, **site)
    assert not any(w.startswith("ownership") for w in quote_application(application, load_ruleset(ruleset_id)).warnings)


def test_under_layers_the_what_if_decides_as_the_quote_does():
    # Shandong in 2025-09: its layer carries the national private rule; a medium firm of 150 kW at 0.9 (166.7 kVA) is
    # 10 kV under Shandong's kVA cap but low voltage under the national kW cap, so the quote is low voltage with the
    # urban red line (customer: meter box 2,830 at 2019 prices, 2,890 at 2025's), and ownership private would make it
    # the meter (nothing)
    policy = resolve_ruleset("shandong", dt.date(2025, 9, 1))
    assert tables_reading(policy, "ownership") == ["investment_boundary"]
    quote = quote_application(_application({"kind": "enterprise", "enterprise": MEDIUM},
                                           {"capacity": 150, "capacity_unit": "kW", "power_factor": 0.9}), policy)
    assert (quote.supply_voltage, quote.boundary, quote.totals.customer_cny) == ("low_voltage", "red_line", 2890)
    [warning] = [w for w in quote.warnings if w.startswith("ownership unknown")]
    assert "with ownership private, investment_boundary would be meter" in warning
    # with no difference the ownership makes, no warning: state-owned is what the quote already assumes
    assert "with ownership state_owned" not in warning
