import datetime as dt

import pytest

from costmodel.errors import InputError
from costmodel.params import load_ruleset, resolve_ruleset
from costmodel.params.ruleset import available_rulesets


@pytest.mark.parametrize("name, day, expected", [
    # national layers by their start dates (manifests: 1996-10-08, 2020-09-22, 2024-06-01, 2025-06-03)
    ("national", dt.date(2020, 9, 21), "national-1996"),
    ("national", dt.date(2021, 1, 1), "national-2020"),
    ("national", dt.date(2024, 5, 31), "national-2020"),
    ("national", dt.date(2024, 6, 1), "national-2024"),
    ("national", dt.date(2025, 6, 2), "national-2024"),
    ("national", dt.date(2025, 6, 3), "national-2025"),
    # a province: its layer in force over the national one in force
    ("shandong", dt.date(2019, 1, 10), "shandong-2018+national-1996"),
    ("shandong", dt.date(2019, 9, 1), "shandong-2019+national-1996"),
    ("shandong", dt.date(2026, 3, 2), "shandong-2019+national-2025"),
    # before any provincial layer: the national one alone
    ("shandong", dt.date(2017, 1, 1), "national-1996"),
    # a pilot city, and before its pilot the province
    ("shandong.jinan", dt.date(2026, 3, 2), "shandong-2019-jinan+national-2025"),
    ("shandong.jinan", dt.date(2019, 1, 10), "shandong-2018+national-1996"),
    # an explicit id is that rule set alone, whatever the date; name@date is the policy of that date
    ("shandong-2019", dt.date(2026, 3, 2), "shandong-2019"),
    ("shandong@2019-09-01", dt.date(2026, 3, 2), "shandong-2019+national-1996"),
])
def test_a_jurisdiction_resolves_to_the_layers_in_force(name, day, expected):
    assert resolve_ruleset(name, day).id == expected


def test_a_composed_policy_names_its_layers_and_applies_the_province_over_the_national_layer():
    policy = resolve_ruleset("shandong", dt.date(2026, 3, 2))
    national, provincial = policy.layers
    assert (national.id, national.layer, provincial.id, provincial.layer) == ("national-2025", "national", "shandong-2019", "provincial")
    # Shandong's own kVA cap over the national layer; the national layer keeps its kW cap
    assert provincial.parameter("supply_voltage.low_voltage_cap").unit == "kVA"
    assert national.parameter("supply_voltage.low_voltage_cap").unit == "kW"
    # the province's boundary table is the national one with Shandong's rules added: 129号's red line and the
    # 2025 private rule are there, and the default rule cites the 2024 rules, not the repealed 1996 article
    table = provincial.decision("investment_boundary")
    ids = {rule.id for rule in table.rules}
    assert {"boundary.red_line_urban", "boundary.zero_investment_private", "boundary.red_line_park"} <= ids
    assert table.default.origin == "national-2024" and "2024" in table.default.cites.document
    assert policy.parameter("conversion.power_factor").reference.document.startswith("《供电营业规则》(国家发展和改革委员会令第14号")


def test_before_any_national_rule_set_is_an_error():
    with pytest.raises(InputError, match="no national rule set was in force on 1990-01-01; the earliest starts 1996-10-08"):
        resolve_ruleset("shandong", dt.date(1990, 1, 1))


def test_a_bad_date_after_the_at_sign_says_what_is_expected():
    with pytest.raises(InputError, match="the date after @ must be YYYY-MM-DD"):
        resolve_ruleset("shandong@2026-13-01", dt.date(2026, 3, 2))


def test_unknown_rule_set_lists_the_allowed_ones():
    with pytest.raises(InputError, match="unknown rule set or jurisdiction 'hainan'; allowed rule sets: beijing-2018"):
        resolve_ruleset("hainan", dt.date(2020, 1, 1))
    with pytest.raises(InputError, match="unknown rule set 'nope'"):
        load_ruleset("nope")


def test_children_inherit_and_replace_their_parents_parameters():
    ruleset = load_ruleset("national-2025")
    assert ruleset.lineage == ("national-2025", "national-2024", "national-2020", "national-1996")
    assert ruleset.parameter("supply_voltage.low_voltage_cap").unit == "kW"
    assert ruleset.parameter("conversion.power_factor").at(dt.date(2025, 9, 1)) == 0.9


def test_every_shipped_parameter_has_unit_and_reference():
    for ruleset_id in available_rulesets():
        for parameter in load_ruleset(ruleset_id).parameters.values():
            assert parameter.unit and parameter.reference.document and parameter.reference.clause


def test_a_rule_reading_a_missing_parameter_is_a_load_error(tariffs_copy):
    (tariffs_copy / "rulesets/shandong-2019/parameters/red_line_extension/park_levels.yaml").unlink()
    with pytest.raises(InputError, match="reads parameter 'red_line_extension.park_levels', which rule set shandong-2019 lacks"):
        load_ruleset("shandong-2019")


def test_an_unknown_key_in_a_shipped_parameter_file_is_a_load_error(tariffs_copy):
    file = tariffs_copy / "rulesets/shandong-2019/parameters/supply_voltage/low_voltage_cap.yaml"
    file.write_text(file.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    with pytest.raises(InputError, match="low_voltage_cap.yaml: unknown key"):
        load_ruleset("shandong-2019")


def test_the_content_hash_depends_on_the_rules_not_on_where_they_live(tariffs_copy):
    copied = load_ruleset("shandong-2019").content_hash
    load_ruleset.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COSTMODEL_TARIFFS")
        shipped = load_ruleset("shandong-2019").content_hash
    load_ruleset.cache_clear()
    assert copied == shipped
    (tariffs_copy / "rulesets" / "shandong-2019" / "manifest.yaml").open("a").write("\n# edited\n")
    assert load_ruleset("shandong-2019").content_hash != shipped


def _citations(ruleset) -> list[tuple[str, str]]:
    """(what, cited document) of every rule, fee and parameter a rule set applies."""
    cited = [(f"parameter {path}", parameter.reference.document) for path, parameter in ruleset.parameters.items()]
    for table in ruleset.decisions.values():
        cited += [(f"rule {item.id}", item.cites.document) for item in getattr(table, "rules", getattr(table, "fees", ()))]
    return cited


@pytest.mark.parametrize("name, day", [("national", dt.date(2024, 6, 1)), ("national", dt.date(2026, 3, 2)),
                                       ("shandong", dt.date(2024, 6, 1)), ("shandong.qingdao", dt.date(2026, 3, 2))])
def test_from_2024_06_01_nothing_applied_cites_the_repealed_1996_rules(name, day):
    policy = resolve_ruleset(name, day)
    for layer in policy.layers or (policy,):
        citing_1996 = [what for what, document in _citations(layer) if "1996" in document or "电力工业部令第8号" in document]
        assert citing_1996 == [], f"{layer.id} still cites the 1996 rules: {citing_1996}"


def test_before_2024_06_01_the_1996_rules_are_still_cited():
    # the same check fails where it should: the day before, the default boundary rests on 1996 art. 47
    citing = [what for what, document in _citations(resolve_ruleset("national", dt.date(2024, 5, 31))) if "1996" in document]
    assert "rule boundary.point_of_connection" in citing
