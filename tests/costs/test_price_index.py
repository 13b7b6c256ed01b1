"""The price-level index (tariffs/price-index) and the price year of a quote (issue 19)."""

import datetime as dt
import math

import numpy as np
import pytest

from costmodel.application import parse_application
from costmodel.costs.price_index import chained_levels, load_price_index
from costmodel.errors import InputError
from costmodel.params import resolve_ruleset
from costmodel.quote import quote_from_batch, quote_frame

APPLICATION = {
    "id": "p", "application_date": "2026-03-02",
    "applicant": {"kind": "enterprise", "enterprise": {"size_class": "medium"}},
    "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
    "request": {"capacity": 100, "capacity_unit": "kVA"},
}


def quote(date: str, price_level: str = "catalogue", ruleset: str = "shandong-2019"):
    application = parse_application({**APPLICATION, "application_date": date})
    batch = quote_frame(application.to_frame(), resolve_ruleset(ruleset, application.application_date), price_level=price_level)
    return quote_from_batch(batch, "p")


def test_levels_chain_the_yearly_changes_from_the_base_year_both_ways():
    levels = chained_levels(2019, {2019: -0.3, 2020: -1.8, 2021: 8.1})
    assert levels[2019] == 100
    assert levels[2021] == pytest.approx(100 * 0.982 * 1.081)
    assert levels[2018] == pytest.approx(100 / 0.997)


def test_the_shipped_ppi_ends_in_2025_and_a_later_year_takes_2025s_level():
    index = load_price_index("nbs-ppi")
    assert (index.first_year, index.last_year) == (2018, 2025)
    expected_2025 = 0.982 * 1.081 * 1.041 * 0.970 * 0.978 * 0.974  # 2020-2025 changes, on 2019
    assert index.factors(np.array([2025, 2026, 2019]), 2019).tolist() == pytest.approx([expected_2025, expected_2025, 1.0])


def test_a_2026_quote_at_the_application_level_says_it_used_2025_and_warns():
    result = quote("2026-03-02", "application")
    assert (result.price_level.price_year, result.price_level.index) == (2025, "nbs-ppi")
    assert any("does not cover 2026, so its nearest year was used" in w for w in result.warnings)
    box = next(line for line in result.lines if line.std_type == "LV-meter-box-3ph")
    assert box.amount_cny == math.floor(2830 * result.price_level.factor + 0.5)
    # conservation holds at any price level
    assert sum(line.amount_cny or 0 for line in result.lines) == result.totals.customer_cny + result.totals.grid_cny


def test_a_2026_quote_is_at_the_2026_level_when_the_index_covers_2026(tariffs_copy):
    index = tariffs_copy / "price-index" / "nbs-ppi.yaml"
    index.write_text(index.read_text(encoding="utf-8").replace(
        "# 2026: not released", '  2026: {percent: 10.0, reference: {source: nbs-ppi-annual, paraphrase: "a test year"}}\n# 2026:'),
        encoding="utf-8")
    result = quote("2026-03-02", "application")
    assert result.price_level.price_year == 2026
    assert result.price_level.factor == pytest.approx(0.982 * 1.081 * 1.041 * 0.970 * 0.978 * 0.974 * 1.10)
    assert not any("price level" in w for w in result.warnings)


def test_at_the_catalogue_level_a_quote_states_2019_and_warns_for_another_year():
    assert quote("2019-09-02").price_level.price_year == 2019
    assert not any("price level" in w for w in quote("2019-09-02").warnings)
    later = quote("2026-03-02")
    assert (later.price_level.price_year, later.price_level.factor) == (2019, 1.0)
    assert any("priced at the 2019 price level of the catalogue, not the application's 2026" in w for w in later.warnings)


def test_the_catalogue_age_warning_starts_the_day_after_two_years():
    def aged(date):
        return any("more than 2 year(s) older" in w for w in quote(date, ruleset="national-2020").warnings)

    assert not aged("2021-01-01") and aged("2021-01-04")  # edition 2019-01-01; 2021-01-02/03 is a weekend, both quoted alike


def test_the_catalogue_sets_its_own_review_period(tariffs_copy):
    meta = tariffs_copy / "catalogs" / "cn-indicative-2019" / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("review_after_years: 2", "review_after_years: 1"), encoding="utf-8")
    warnings = quote("2020-01-02", ruleset="national-2020").warnings   # edition 2019-01-01: one year and a day later
    assert any("more than 1 year(s) older than the application (2020-01-02)" in w for w in warnings)


def test_a_review_period_of_zero_years_is_refused(tariffs_copy):
    meta = tariffs_copy / "catalogs" / "cn-indicative-2019" / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("review_after_years: 2", "review_after_years: 0"), encoding="utf-8")
    with pytest.raises(InputError, match="review_after_years is 0; allowed: a whole number of years >= 1"):
        quote("2020-01-02", ruleset="national-2020")


def test_china_southern_grid_rows_are_marked_ceilings_and_the_fujian_figure_indicative():
    application = parse_application({**APPLICATION, "application_date": "2019-09-02", "site": {**APPLICATION["site"], "area": "rural"}})
    result = quote_from_batch(quote_frame(application.to_frame(), resolve_ruleset("shandong-2019", dt.date(2019, 9, 2))), "p")
    lines = {line.std_type: line for line in result.lines}
    assert lines["JKLYJ-1-120"].ceiling and not lines["JKLYJ-1-120"].indicative  # rural LV overhead: a CSG 2019 ceiling
    assert lines["LV-meter-box-3ph"].indicative and not lines["LV-meter-box-3ph"].ceiling  # the Fujian total, indicative
    assert "1 line(s) priced at China Southern Grid cost ceilings (限额): upper limits, not typical costs" in result.warnings


def test_catalog_option_prices_with_another_catalogue(tariffs_copy):
    import shutil

    shutil.copytree(tariffs_copy / "catalogs" / "cn-indicative-2019", tariffs_copy / "catalogs" / "utility-2026")
    meta = tariffs_copy / "catalogs" / "utility-2026" / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("id: cn-indicative-2019", "id: utility-2026"), encoding="utf-8")
    items = tariffs_copy / "catalogs" / "utility-2026" / "unit_costs.csv"
    items.write_text(items.read_text(encoding="utf-8").replace("each,2830,", "each,3000,"), encoding="utf-8")
    application = parse_application({**APPLICATION, "application_date": "2019-09-02"})
    ruleset = resolve_ruleset("shandong-2019", dt.date(2019, 9, 2)).with_catalog("utility-2026")
    result = quote_from_batch(quote_frame(application.to_frame(), ruleset), "p")
    assert result.provenance.catalog_id == "utility-2026"
    assert next(line for line in result.lines if line.std_type == "LV-meter-box-3ph").amount_cny == 3000
