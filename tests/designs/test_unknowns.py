"""Grid-side facts the applicant does not know: the scheme's assumption, cited, and the range it could hide."""

import pytest

from costmodel.application import load_application, parse_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_application
from tests_support import EXAMPLES


def _warehouse(**site):
    raw = load_application(EXAMPLES / "world-bank-warehouse.yaml").model_dump(mode="json")
    raw["site"].update(site)
    return parse_application(raw)


def test_unknown_headroom_and_distance_assume_the_costlier_case_and_show_the_range():
    quote = quote_application(_warehouse(transformer_headroom_kva=None, distance_to_lv_m=None), load_ruleset("shandong-2019"))
    # Assumed: no headroom (a new S13-M-160/10, 85,000) and the urban LV supply radius of 250 m (Q/GDW 1738):
    # 0.25 km x 160,000 = 40,000 of LV cable, the road crossing 30,000 and the meter box 2,830, all the grid's
    assert quote.totals.grid_cny == pytest.approx(85_000 + 40_000 + 30_000 + 2_830)
    assumed = {a.field: (a.value, a.low, a.high, a.unit) for a in quote.assumptions}
    assert assumed == {"transformer_headroom_kva": (0, 0, 140, "kVA"), "distance_to_lv_m": (250, 0, 250, "m")}
    assert "Q/GDW 1738-2012" in next(a.cites for a in quote.assumptions if a.field == "distance_to_lv_m")
    # The other end: room for all 140 kVA and the meter box at the network: the crossing and the box only
    spread = quote.assumption_range
    assert (spread.grid_min_cny, spread.grid_max_cny) == (30_000 + 2_830, 157_830)
    assert (spread.customer_min_cny, spread.customer_max_cny) == (0, 0)  # a small enterprise pays nothing either way
    assert "not known, so assumed" in quote.warnings[-1] and "未知，按假设计算" in quote.warnings_zh[-1]


def test_a_known_fact_is_not_assumed():
    quote = quote_application(_warehouse(), load_ruleset("shandong-2019"))
    assert quote.assumptions == [] and quote.assumption_range is None


def test_under_the_1996_rules_the_unknown_route_moves_what_the_customer_pays():
    # national-1996 supplies the 140 kVA warehouse at 10 kV: the LV route does not enter its design, so the range is one point
    quote = quote_application(_warehouse(distance_to_lv_m=None), load_ruleset("national-1996"))
    spread = quote.assumption_range
    assert spread.customer_min_cny == spread.customer_max_cny == quote.totals.customer_cny
