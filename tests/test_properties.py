"""Properties that must hold for any valid application (hypothesis)."""

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.application import applications_frame, parse_application
from costmodel.params import available_rulesets, load_ruleset
from costmodel.quote import BOUNDARY_RANK, ZONE_RANK, quote_application, quote_frame

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

enterprises = st.one_of(
    st.fixed_dictionaries({"size_class": st.sampled_from(["large", "medium", "small", "micro"])}),
    st.fixed_dictionaries({
        "industry": st.sampled_from(["industry", "retail", "wholesale", "warehousing", "software_it", "other"]),
        "employees": st.integers(0, 3000),
        "operating_revenue_10k_cny": st.floats(0, 100_000),
    }),
).flatmap(lambda e: st.fixed_dictionaries({
    **{k: st.just(v) for k, v in e.items()},
    "ownership": st.sampled_from(["private", "state_owned", "collective", "foreign", "other"]),
    "in_project_database": st.booleans(),
}))

applicants = st.one_of(
    st.fixed_dictionaries({"kind": st.just("enterprise"), "enterprise": enterprises}),
    st.fixed_dictionaries({"kind": st.sampled_from(["residential", "public_institution"])}),
)

applications = st.fixed_dictionaries({
    "id": st.just("x"),
    "application_date": st.dates(min_value=pd.Timestamp("2019-07-01").date(), max_value=pd.Timestamp("2026-06-30").date()),
    "applicant": applicants,
    "site": st.fixed_dictionaries({
        "area": st.sampled_from(["urban", "rural"]),
        "park_level": st.sampled_from(["national", "provincial", "municipal", "county", "none"]),
        "distance_to_lv_m": st.floats(0, 3000),
        "distance_to_10kv_m": st.floats(0, 5000),
        "transformer_headroom_kva": st.floats(0, 800),
        "road_crossings": st.integers(0, 3),
    }),
    "request": st.fixed_dictionaries({
        "capacity": st.floats(1, 5000),
        "capacity_unit": st.sampled_from(["kVA", "kW"]),
        "power_factor": st.one_of(st.none(), st.floats(0.7, 1.0)),
        "supply": st.sampled_from(["single", "dual"]),
        "duration": st.sampled_from(["permanent", "temporary"]),
    }),
})
portfolios = st.lists(applications, min_size=1, max_size=25)


def _frame(raw_applications: list[dict]) -> pd.DataFrame:
    return applications_frame([parse_application({**raw, "id": f"a{i}"}) for i, raw in enumerate(raw_applications)])


@SETTINGS
@given(portfolios, st.sampled_from(available_rulesets()))
def test_customer_plus_grid_is_the_sum_of_lines_and_funding_follows_the_boundary(raw, ruleset_id):
    batch = quote_frame(_frame(raw), load_ruleset(ruleset_id))
    assert len(batch.totals) + len(batch.rejected) == len(raw)
    sums = batch.lines.groupby("application_id")["amount_cny"].sum().reindex(batch.totals["application_id"]).fillna(0)
    np.testing.assert_allclose(batch.totals["customer_cny"] + batch.totals["grid_cny"], sums.to_numpy(), rtol=1e-12)
    boundary = batch.decisions.set_index("application_id")["boundary"].reindex(batch.lines["application_id"])
    upstream = batch.lines["zone"].map(ZONE_RANK).to_numpy() < boundary.map(BOUNDARY_RANK).to_numpy()
    assert (batch.lines["funded_by"].eq("grid").to_numpy() == upstream).all()


def _raised_cap(ruleset, path: str, new_cap: float):
    parameter = ruleset.parameter(path)
    values = tuple({k: max(v, new_cap) for k, v in value.items()} if isinstance(value, dict) else max(value, new_cap)
                   for value in parameter.values)
    return ruleset.with_parameters({path: dataclasses.replace(parameter, values=values)}, f"{path} raised to {new_cap}")


@SETTINGS
@given(portfolios, st.sampled_from([
    ("shandong-2019", "supply_voltage.low_voltage_cap"),
    ("national-2020", "supply_voltage.low_voltage_cap"),
    ("national-1996", "supply_voltage.lv_max_equipment_kw"),
]), st.floats(0, 630))
def test_raising_a_low_voltage_cap_never_raises_what_a_customer_pays(raw, target, new_cap):
    ruleset_id, path = target
    baseline = load_ruleset(ruleset_id)
    reform = _raised_cap(baseline, path, new_cap)
    frame = _frame(raw)
    before = quote_frame(frame, baseline).totals.set_index("application_id")["customer_cny"]
    after = quote_frame(frame, reform).totals.set_index("application_id")["customer_cny"]
    common = before.index.intersection(after.index)
    assert (after[common] <= before[common] + 1e-6).all(), pd.DataFrame({"before": before[common], "after": after[common]})


@settings(max_examples=10, deadline=None)
@given(portfolios)
def test_a_batch_row_equals_the_single_quote(raw):
    ruleset = load_ruleset("shandong-2019")
    frame = _frame(raw)
    batch = quote_frame(frame, ruleset).totals.set_index("application_id")
    for i, row in enumerate(raw[:5]):
        application = parse_application({**row, "id": f"a{i}"})
        if application.id not in batch.index:
            continue
        single = quote_application(application, ruleset)
        assert single.totals.customer_cny == batch.at[application.id, "customer_cny"]
        assert single.totals.grid_cny == batch.at[application.id, "grid_cny"]
