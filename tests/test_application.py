import pytest

from costmodel.application import load_application, parse_application
from costmodel.errors import InputError
from tests_support import EXAMPLES

VALID = {
    "id": "a1",
    "application_date": "2019-09-02",
    "applicant": {"kind": "enterprise", "enterprise": {"industry": "retail", "employees": 4, "operating_revenue_10k_cny": 60}},
    "site": {"area": "urban", "distance_to_lv_m": 40, "distance_to_10kv_m": 400, "transformer_headroom_kva": 120},
    "request": {"capacity": 30, "capacity_unit": "kW"},
}


def _with(path: str, value):
    import copy

    data = copy.deepcopy(VALID)
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[leaf]
    else:
        node[leaf] = value
    return data


def test_every_example_loads():
    for path in EXAMPLES.glob("*.yaml"):
        assert load_application(path).id


@pytest.mark.parametrize("path, value, expected", [
    ("request.capacity", -5, "request.capacity: Input should be greater than 0 (got -5)"),
    ("request.capacity_unit", "MVA", "request.capacity_unit: Input should be 'kVA' or 'kW' (got 'MVA')"),
    ("site.area", KeyError, "site.area: Field required"),
    ("site.area", "suburb", "site.area: Input should be 'urban' or 'rural' (got 'suburb')"),
    ("site.park_level", "city", "site.park_level: Input should be 'national', 'provincial', 'municipal', 'county' or 'none'"),
    ("applicant.kind", "farm", "applicant.kind: Input should be 'residential', 'enterprise', 'individual_business' or 'public_institution'"),
    ("request.colour", "red", "request.colour: Extra inputs are not permitted"),
    ("application_date", "2019-13-01", "application_date: Input should be a valid date"),
])
def test_bad_fields_are_named_with_the_value_and_what_is_allowed(path, value, expected):
    with pytest.raises(InputError) as raised:
        parse_application(_with(path, value))
    assert expected in str(raised.value)


def test_an_unknown_industry_is_rejected_listing_the_allowed_ones():
    # refused by the model itself (as a portfolio row is), not first at quoting time
    with pytest.raises(InputError) as raised:
        parse_application(_with("applicant.enterprise.industry", "alchemy"))
    message = str(raised.value)
    assert "industry" in message and "alchemy" in message and "warehousing" in message


def test_malformed_yaml_and_json_files_name_the_file(tmp_path):
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("id: [1,\n", encoding="utf-8")
    with pytest.raises(InputError, match="a.yaml: malformed YAML"):
        load_application(bad_yaml)
    bad_json = tmp_path / "a.json"
    bad_json.write_text("{\"id\": }", encoding="utf-8")
    with pytest.raises(InputError, match="a.json: malformed JSON at line 1"):
        load_application(bad_json)
    not_mapping = tmp_path / "b.yaml"
    not_mapping.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a mapping"):
        load_application(not_mapping)


@pytest.mark.parametrize("name, content, expected", [
    ("empty.yaml", b"", "expected a mapping"),
    ("gbk.yaml", "id: 小店\n".encode("gbk"), "not UTF-8 text"),
    ("gbk.json", "{\"id\": \"小店\"}".encode("gbk"), "not UTF-8 text"),
    ("huge.yaml", b"# padding\n" * 200_000, "an application file is at most 1,048,576 bytes"),
])
def test_empty_misencoded_and_huge_files_are_refused_by_name(name, content, expected, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        load_application(path)


def test_ownership_has_no_default_and_an_individual_business_is_private():
    unknown = parse_application(VALID)
    assert unknown.applicant.enterprise.ownership is None
    assert unknown.to_frame()["ownership"].isna().all()
    business = parse_application(_with("applicant.kind", "individual_business"))   # same enterprise section
    assert business.to_frame()["ownership"].tolist() == ["private"]              # private by nature, given or not
    with pytest.raises(InputError) as raised:
        parse_application({**VALID, "applicant": {"kind": "individual_business", "enterprise": {"size_class": "micro", "ownership": "state_owned"}}})
    assert "individual business (个体工商户) is a private economic organisation" in str(raised.value)
    with pytest.raises(InputError) as raised:
        parse_application({**VALID, "applicant": {"kind": "individual_business"}})
    assert "needs an 'enterprise' section" in str(raised.value)


def test_voltage_requested_is_optional_and_only_10kv():
    assert parse_application(VALID).request.voltage_requested is None
    asked = parse_application(_with("request.voltage_requested", "10kV"))
    assert asked.to_frame()["voltage_requested"].tolist() == ["10kV"]
    with pytest.raises(InputError) as raised:
        parse_application(_with("request.voltage_requested", "35kV"))
    assert "request.voltage_requested: Input should be '10kV' (got '35kV')" in str(raised.value)
