"""One validation source (issue 22): YAML, JSON, HTTP and portfolio rows are checked by the same rules, and
reform and sweep values are checked against the parameter they change.

Each fault kind is a named case, checked on a single application (YAML text, as `load_application` reads it)
and on the same application as a portfolio row: both refuse it, naming the same field. The hypothesis
property at the end checks the same over generated applications, good and bad, and that an accepted one
gets the same quote both ways.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from costmodel.application import (COLUMN_FIELDS, Applicant, Application, Enterprise, Request, Site, column_of, load_application,
                                   supported_dates)
from costmodel.errors import InputError
from costmodel.params import load_ruleset
from costmodel.params.overrides import load_reform, sweep_ruleset
from costmodel.paths import tariffs_dir
from costmodel.quote import quote_frame, quotes_from_batch
from costmodel.scenarios.portfolio import validate_frame
from costmodel.yamlio import load_yaml_text

RULESET = "shandong-2019"
GOOD = {
    "id": "a1", "application_date": "2019-09-02",
    "applicant": {"kind": "enterprise", "enterprise": {"industry": "retail", "employees": 20, "operating_revenue_10k_cny": 300,
                                                      "ownership": "private"}},
    "site": {"area": "urban", "park_level": "none", "distance_to_lv_m": 100, "distance_to_10kv_m": 200,
             "transformer_headroom_kva": 500, "road_crossings": 0},
    "request": {"capacity": 120, "capacity_unit": "kVA", "phases": 3, "supply": "single", "duration": "permanent"},
}
SECTION = {Application: (), Applicant: ("applicant",), Enterprise: ("applicant", "enterprise"), Site: ("site",), Request: ("request",)}


def _with(path: str, value, base: dict = GOOD) -> dict:
    data = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[leaf] = value
    return data


def row_of(data: dict) -> dict:
    """The application as a flat portfolio row: each frame column from the field it fills; a key left out is an
    empty cell."""
    row = {}
    for column, (model, name) in COLUMN_FIELDS.items():
        node = data
        for key in SECTION[model]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and name in node:
            row[column] = node[name]
    return row


def yaml_verdict(data: dict) -> tuple[Application | None, set[str]]:
    """(application, set()) when the YAML file of `data` is accepted, else (None, the frame columns named)."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        return Application.model_validate(load_yaml_text(text, "application.yaml")), set()
    except ValidationError as error:
        return None, {column_of(item["loc"]) or ".".join(map(str, item["loc"])) for item in error.errors()}


def portfolio_verdicts(data: dict) -> list:
    """The portfolio of one row, as a spreadsheet or Parquet gives it (values as they are) and with pandas'
    inferred column types: each a (portfolio, set of fields named)."""
    row = row_of(data)
    verdicts = []
    for frame in (pd.DataFrame({c: pd.Series([v], dtype=object) for c, v in row.items()}), pd.DataFrame([row])):
        portfolio = validate_frame(frame)
        named = set(", ".join(portfolio.rejected["field"]).split(", ")) - {""}
        verdicts.append((portfolio, named))
    return verdicts


def assert_same_verdict(data: dict) -> None:
    application, named = yaml_verdict(data)
    for portfolio, portfolio_named in portfolio_verdicts(data):
        assert portfolio_named == named, (data, portfolio.rejected.to_dict("records"))
        if application is not None:
            assert_same_quote(application, portfolio.frame)


def assert_same_quote(application: Application, frame: pd.DataFrame) -> None:
    ruleset = load_ruleset(RULESET)
    alone, row = quote_frame(application.to_frame(), ruleset), quote_frame(frame, ruleset)
    assert alone.rejected["reason"].tolist() == row.rejected["reason"].tolist()
    if alone.rejected.empty:
        [first], [second] = quotes_from_batch(alone), quotes_from_batch(row)
        assert first.model_dump() == second.model_dump()


# --- named cases: each fault kind refused by both paths, naming the same field --------------------------------

BAD = {
    # dates: strict, within the supported window
    "date 'now'": ("application_date", "now"),
    "date 'today'": ("application_date", "today"),
    "US-order date": ("application_date", "09/02/2019"),
    "slashed date": ("application_date", "2019/09/02"),
    "compact date": ("application_date", "20190902"),
    "Excel serial number": ("application_date", 43710),
    "Excel serial as float": ("application_date", 43710.0),
    "Unix time": ("application_date", 1567382400),
    "boolean date": ("application_date", True),
    "impossible date": ("application_date", "2019-02-30"),
    "datetime text": ("application_date", "2019-09-02T00:00:00"),
    "datetime with a time": ("application_date", dt.datetime(2019, 9, 2, 10, 30)),
    "date before the earliest rule set": ("application_date", dt.date(1990, 1, 1)),
    "date beyond the supported window": ("application_date", dt.date(2150, 1, 1)),
    "date near pandas' Timestamp limit": ("application_date", "2262-04-01"),
    "date beyond pandas' Timestamp range": ("application_date", "2300-01-01"),
    # numbers: finite, within declared ranges, never booleans
    "infinite headroom": ("site.transformer_headroom_kva", math.inf),
    "NaN distance to 10 kV": ("site.distance_to_10kv_m", math.nan),  # (headroom may be null: not known)
    "infinite distance as text": ("site.distance_to_lv_m", "inf"),
    "NaN capacity as text": ("request.capacity", "nan"),
    "boolean capacity": ("request.capacity", True),
    "boolean distance": ("site.distance_to_10kv_m", False),
    "boolean road crossings": ("site.road_crossings", True),
    "boolean phases": ("request.phases", True),
    "negative distance": ("site.distance_to_lv_m", -5),
    "capacity beyond the range": ("request.capacity", 5e9),
    "zero capacity": ("request.capacity", 0),
    "power factor above 1": ("request.power_factor", 1.2),
    "fractional employees": ("applicant.enterprise.employees", 10.5),
    "fractional road crossings": ("site.road_crossings", 1.5),
    "not a number": ("request.capacity", "lots"),
    "hexadecimal text": ("request.capacity", "0x10"),
    "phases 2": ("request.phases", 2),
    "phases as words": ("request.phases", "three"),
    # labels
    "unknown area": ("site.area", "suburban"),
    "label in the wrong case": ("site.park_level", "Municipal"),
    "unknown size class": ("applicant.enterprise.size_class", "tiny"),
    "unknown industry": ("applicant.enterprise.industry", "alchemy"),
    "unknown ownership": ("applicant.enterprise.ownership", "public"),
    "project database as a word": ("applicant.enterprise.in_project_database", "maybe"),
    "project database as 2": ("applicant.enterprise.in_project_database", 2),
    # text
    "empty id": ("id", ""),
    "id too long": ("id", "x" * 101),
}


@pytest.mark.parametrize("path, value", list(BAD.values()), ids=list(BAD))
def test_a_fault_is_refused_as_yaml_json_and_a_portfolio_row_naming_the_same_field(path, value):
    data = _with(path, value)
    application, named = yaml_verdict(data)
    assert application is None and named, f"{path}={value!r} accepted as YAML"
    assert_same_verdict(data)
    with pytest.raises(ValidationError) as raised:  # JSON bytes, as the HTTP API validates its body
        Application.model_validate_json(json.dumps(data, default=str))
    assert {column_of(item["loc"]) for item in raised.value.errors()} == named


ACCEPTED = {
    "numeric text": ("request.capacity", "120"),
    "whole number as float": ("applicant.enterprise.employees", 20.0),
    "phases as text": ("request.phases", "1"),
    "date object": ("application_date", dt.date(2019, 9, 2)),
    "datetime at midnight (a spreadsheet's date)": ("application_date", dt.datetime(2019, 9, 2)),
    "project database 'yes'": ("applicant.enterprise.in_project_database", "yes"),
    "project database 'off'": ("applicant.enterprise.in_project_database", "off"),
}


@pytest.mark.parametrize("path, value", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_an_equivalent_spelling_is_accepted_both_ways_with_the_same_quote(path, value):
    data = _with(path, value)
    application, named = yaml_verdict(data)
    assert application is not None, named
    assert_same_verdict(data)


def test_an_application_file_names_the_field_and_the_window(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(_with("application_date", "2262-04-01")), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_application(path)
    earliest, latest = supported_dates()
    assert "application_date" in str(raised.value) and "2262-04-01" in str(raised.value)
    assert f"allowed: {earliest.isoformat()}" in str(raised.value) and latest.isoformat() in str(raised.value)


def test_the_window_starts_with_the_earliest_national_rule_set_and_ends_where_the_data_file_says():
    earliest, latest = supported_dates()
    tariffs = tariffs_dir()
    national = [load_ruleset(p.name) for p in (tariffs / "rulesets").iterdir() if (p / "manifest.yaml").is_file()]
    assert earliest == min(r.in_effect_from for r in national if r.layer == "national")
    declared = yaml.safe_load((tariffs / "calendar" / "supported-dates.yaml").read_text(encoding="utf-8"))
    assert latest == declared["latest_application_date"]["value"]
    assert latest < pd.Timestamp.max.date() - dt.timedelta(days=365 * 100)  # the date arithmetic's margin


@pytest.mark.parametrize("capacity", [30, 800])
def test_the_schedule_on_the_last_supported_day_falls_after_the_application(capacity):
    _, latest = supported_dates()
    data = _with("request.capacity", capacity, _with("application_date", latest.isoformat()))
    application, _ = yaml_verdict(data)
    for ruleset in ("national-1996", RULESET):
        [quote] = quotes_from_batch(quote_frame(application.to_frame(), load_ruleset(ruleset)))
        assert quote.schedule.energisation_due_date > latest
        assert quote.schedule.calendar_days < 366


def test_the_first_supported_day_is_quoted_both_ways():
    earliest, _ = supported_dates()
    assert_same_verdict(_with("application_date", earliest.isoformat()))
    application, named = yaml_verdict(_with("application_date", (earliest - dt.timedelta(days=1)).isoformat()))
    assert application is None and named == {"application_date"}


def test_unknown_keys_and_unknown_columns_are_refused():
    application, named = yaml_verdict(_with("request.colour", "red"))
    assert application is None and named == {"request.colour"}
    application, named = yaml_verdict(_with("rulset", "shandong-2019"))  # a misspelt top-level key
    assert application is None and named == {"rulset"}
    frame = pd.DataFrame([{**row_of(GOOD), "colour": "red"}])
    with pytest.raises(InputError, match=r"unknown \['colour'\]; allowed columns: application_id"):
        validate_frame(frame, "p.csv")


def test_a_csv_portfolio_reads_the_same_rules_from_text(tmp_path):
    from costmodel.scenarios.portfolio import load_portfolio
    rows = [row_of(GOOD), row_of(_with("id", "a2", _with("application_date", "now"))),
            row_of(_with("id", "a3", _with("application_date", "09/02/2019"))),
            row_of(_with("id", "a4", _with("site.transformer_headroom_kva", "inf"))),
            row_of(_with("id", "a5", _with("request.capacity", "True"))),
            row_of(_with("id", "a6", _with("application_date", "43710")))]
    path = tmp_path / "p.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    portfolio = load_portfolio(path)
    assert portfolio.frame["application_id"].tolist() == ["a1"]
    assert portfolio.rejected["field"].tolist() == ["application_date", "application_date", "transformer_headroom_kva", "capacity",
                                                    "application_date"]


# --- reform and sweep values, checked against the parameter they change ----------------------------------------

def _reform(tmp_path, parameters: str):
    path = tmp_path / "reform.yaml"
    path.write_text(f"id: test-reform\ntitle: test\nbaseline: {RULESET}\nparameters:\n{parameters}", encoding="utf-8")
    return load_reform(path)


@pytest.mark.parametrize("parameters, message", [
    ("  red_line_extension.park_levels:\n    2019-07-01: [national, provincal]\n",
     "unknown park_level 'provincal'; allowed: national, provincial, municipal, county, none"),
    ("  zero_investment.enterprise_sizes:\n    2019-07-01: [small, Micro]\n",
     "unknown enterprise_size 'Micro'; allowed: large, medium, small, micro"),
    ("  red_line_extension.park_levels:\n    2019-07-01: [national, national]\n", "repeats a label"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {rural: .inf}\n", "not a finite number"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {rural: .nan}\n", "not a finite number"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {rural: true}\n", "True is not a number"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {rural: -10}\n", "out of range; allowed: a number >= 0 in kVA"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {rural: '160'}\n", "not a number"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: 160\n", "broken down by area"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {suburban: 160}\n", "area ['suburban'] unknown"),
    ("  conversion.power_factor:\n    2019-07-01: 1.5\n", "out of range; allowed: a number > 0 and <= 1 in ratio"),
    ("  conversion.power_factor:\n    2019-07-01: 0\n", "out of range"),
    ("  schedule.stage.construction:\n    2019-07-01: {10kV: 2.5}\n", "not a whole number"),
    ("  red_line_extension.in_effect:\n    2019-07-01: 1\n", "true or false"),
    ("  red_line_extension.park_levels:\n    2019-07-01: national\n", "a list"),
])
def test_a_reform_value_is_checked_against_the_parameter_it_changes(tmp_path, parameters, message):
    with pytest.raises(InputError) as raised:
        _reform(tmp_path, parameters)
    assert message in str(raised.value) and parameters.split(":")[0].strip() in str(raised.value)


def test_a_correct_reform_of_labels_still_loads(tmp_path):
    reform = _reform(tmp_path, "  red_line_extension.park_levels:\n    2019-07-01: [national, provincial, municipal, county]\n")
    assert reform.ruleset.parameter("red_line_extension.park_levels").at(dt.date(2020, 1, 1)) == \
        ["national", "provincial", "municipal", "county"]


@pytest.mark.parametrize("path, value, category, message", [
    ("red_line_extension.park_levels", ["national", "countyy"], None, "unknown park_level 'countyy'"),
    ("supply_voltage.low_voltage_cap", math.inf, "rural", "not a finite number"),
    ("supply_voltage.low_voltage_cap", True, "rural", "not a number"),
    ("supply_voltage.low_voltage_cap", -1, "rural", "out of range"),
    ("supply_voltage.low_voltage_cap", 120, "suburban", "--category 'suburban'"),
    ("conversion.power_factor", 2, None, "out of range"),
])
def test_a_sweep_value_is_checked_against_the_parameter_it_changes(path, value, category, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        sweep_ruleset(load_ruleset(RULESET), path, value, category)


# --- the property: accepted as YAML exactly when accepted as a portfolio row ------------------------------------

EARLIEST, LATEST = supported_dates()
good_dates = st.dates(min_value=EARLIEST, max_value=LATEST)
dates = st.one_of(
    good_dates, good_dates.map(dt.date.isoformat), good_dates.map(lambda d: dt.datetime(d.year, d.month, d.day)),
    good_dates.map(lambda d: dt.datetime(d.year, d.month, d.day, 9, 30)), good_dates.map(lambda d: d.strftime("%m/%d/%Y")),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=EARLIEST - dt.timedelta(days=1)),
    st.dates(min_value=LATEST + dt.timedelta(days=1), max_value=dt.date(2400, 1, 1)).map(dt.date.isoformat),
    st.sampled_from(["now", "today", "", "2019-02-30", "2019-9-2", 43710, 43710.5, True]),
)
ODD_NUMBERS = [math.inf, -math.inf, True, False, -1, "12", " 7 ", "1e3", "1_000", "inf", "abc", "", None]


def numbers(low: float, high: float, whole: bool = False, optional: bool = False, nullable: bool = False):
    """Numbers in range, and odd ones. NaN only for a required field: in a table NaN is the empty cell, so for a
    field with a default it means 'not given', as leaving the key out of a file does (a YAML `.nan` is refused).
    A nullable field ("not known") takes null instead: the empty cell of a table, the null of a file."""
    values = st.integers(int(low), int(high)) if whole else st.floats(low, high, allow_nan=False)
    odd = [v for v in ODD_NUMBERS if v is not None] + ([None] if nullable else [] if optional else [math.nan]) + [high * 10 + 1, 2.5]
    return st.one_of(values, values, st.sampled_from(odd))


def labels(allowed, *odd):
    return st.one_of(st.sampled_from(allowed), st.sampled_from(allowed), st.sampled_from([*odd, "", 1, True]))


def maybe(data, key, strategy, draw):
    if draw(st.booleans()):
        data[key] = draw(strategy)


@st.composite
def applications(draw) -> dict:
    """An application, most of its values good, some odd; its structure (which sections) is valid, since the
    cross-field rules are model validators checked by their own named cases."""
    kind = draw(st.sampled_from(["residential", "enterprise", "individual_business", "public_institution"]))
    applicant: dict = {"kind": kind}
    if kind in ("enterprise", "individual_business"):
        enterprise: dict = {}
        if draw(st.booleans()):
            enterprise["size_class"] = draw(labels(["large", "medium", "small", "micro"], "tiny", "Small"))
        if "size_class" not in enterprise or draw(st.booleans()):
            enterprise["industry"] = draw(labels(["retail", "industry", "warehousing", "software_it"], "alchemy"))
            enterprise["employees"] = draw(numbers(0, 2000, whole=True, optional=True))
            enterprise["operating_revenue_10k_cny"] = draw(numbers(0, 500_000, optional=True))
            maybe(enterprise, "total_assets_10k_cny", numbers(0, 500_000, optional=True), draw)
        if kind == "enterprise":
            maybe(enterprise, "ownership", labels(["private", "state_owned", "collective", "foreign", "other"], "public"), draw)
        maybe(enterprise, "in_project_database", st.sampled_from([True, False, "yes", "no", "on", 1, 0, 2, "maybe"]), draw)
        applicant["enterprise"] = enterprise
    site = {"area": draw(labels(["urban", "rural"], "suburban", "Urban")),
            "distance_to_lv_m": draw(numbers(0, 50_000, nullable=True)), "distance_to_10kv_m": draw(numbers(0, 50_000)),
            "transformer_headroom_kva": draw(numbers(0, 5_000, nullable=True))}
    maybe(site, "park_level", labels(["national", "provincial", "municipal", "county", "none"], "city"), draw)
    maybe(site, "road_crossings", numbers(0, 50, whole=True, optional=True), draw)
    request = {"capacity": draw(numbers(1, 20_000))}
    maybe(request, "capacity_unit", labels(["kVA", "kW"], "MVA", "kva"), draw)
    maybe(request, "power_factor", st.one_of(st.floats(0.5, 1), st.sampled_from([0, 1.2, True, math.inf, "0.9"])), draw)
    maybe(request, "phases", st.sampled_from([1, 3, "3", 3.0, 2, True, "three", 1.5]), draw)
    maybe(request, "supply", labels(["single", "dual"], "triple"), draw)
    maybe(request, "duration", labels(["permanent", "temporary"], "forever"), draw)
    maybe(request, "voltage_requested", labels(["10kV"], "35kV"), draw)
    return {"id": draw(st.sampled_from(["a1", "a1", "", "x" * 101])), "application_date": draw(dates),
            "applicant": applicant, "site": site, "request": request}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(applications())
def test_property_accepted_as_yaml_exactly_when_accepted_as_a_portfolio_row_with_the_same_quote(data):
    assert_same_verdict(data)


def test_the_property_generates_both_verdicts():
    """The generator is not vacuous: it gives accepted and rejected applications, and the fields of each fault kind."""
    accepted, fields = [], set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(applications())
    def collect(data):
        application, named = yaml_verdict(data)
        accepted.append(application is not None)
        fields.update(named)

    collect()
    assert sum(accepted) >= 5 and not all(accepted)
    assert {"application_date", "capacity", "transformer_headroom_kva", "area", "phases"} <= fields
