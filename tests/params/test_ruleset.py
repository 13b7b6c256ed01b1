import datetime as dt

import pytest

from costmodel.errors import InputError
from costmodel.params import load_ruleset, resolve_ruleset
from costmodel.params.ruleset import available_rulesets


def test_shandong_resolves_by_application_date():
    assert resolve_ruleset("shandong", dt.date(2019, 9, 1)).id == "shandong-2019"
    assert resolve_ruleset("shandong", dt.date(2019, 1, 10)).id == "shandong-2018"
    assert resolve_ruleset("national", dt.date(2021, 1, 1)).id == "national-2020"


def test_the_2019_and_2018_values_differ_as_the_texts_say():
    cap_2019 = load_ruleset("shandong-2019").parameter("supply_voltage.low_voltage_cap")
    assert (cap_2019.at(dt.date(2019, 9, 1), "urban"), cap_2019.at(dt.date(2019, 9, 1), "rural")) == (160, 100)
    shandong_2018 = load_ruleset("shandong-2018")
    assert "supply_voltage.low_voltage_cap" not in shandong_2018.parameters
    assert shandong_2018.parameter("supply_voltage.lv_max_transformer_kva").at(dt.date(2019, 1, 10)) == 50


def test_before_any_rule_set_of_a_jurisdiction_is_an_error():
    with pytest.raises(InputError, match="no shandong rule set was in force on 2017-01-01"):
        resolve_ruleset("shandong", dt.date(2017, 1, 1))


def test_unknown_rule_set_lists_the_allowed_ones():
    with pytest.raises(InputError, match="unknown rule set or jurisdiction 'guangdong'; allowed rule sets: national-1996"):
        resolve_ruleset("guangdong", dt.date(2020, 1, 1))
    with pytest.raises(InputError, match="unknown rule set 'nope'"):
        load_ruleset("nope")


def test_children_inherit_and_replace_their_parents_parameters():
    ruleset = load_ruleset("national-2025")
    assert ruleset.lineage == ("national-2025", "national-2020", "national-1996")
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
