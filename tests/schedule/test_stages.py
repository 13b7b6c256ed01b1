import pytest

from costmodel.errors import InputError
from costmodel.schedule.stages import VOLTAGES, available_rulesets, limit_text, load_stage_set, template
from tests.schedule.conftest import stage

RULESETS = ["beijing-2018", "beijing-2020", "national-1996", "national-2020", "national-2025", "shandong-2018", "shandong-2019",
            "shandong-2019-jinan", "shandong-2019-qingdao", "shanghai-2024"]


def totals(ruleset_id, voltage, external_works=True, root=None):
    return template(load_stage_set(ruleset_id, root), voltage, external_works)[1]


def test_every_rule_set_has_schedule_data():
    assert available_rulesets() == sorted(RULESETS)


def test_parallel_approvals_take_the_longest_and_serial_ones_the_sum(write_stages):
    approvals = [("road", 2), ("planning", 4), ("green", 3)]
    parallel = [stage("application", 1)] + [
        stage(a, d, ["application"], group="approvals") for a, d in approvals
    ] + [stage("energisation", 1, [a for a, _ in approvals])]
    root, _ = write_stages("parallel", parallel)
    assert totals("parallel", "10kV", root=root)["totals"] == {"total": 1 + 4 + 1, "approvals": 4, "grid": 2}

    serial = [stage("application", 1), stage("road", 2, ["application"], group="approvals"),
              stage("planning", 4, ["road"], group="approvals"), stage("green", 3, ["planning"], group="approvals"),
              stage("energisation", 1, ["green"])]
    root, _ = write_stages("serial", serial)
    assert totals("serial", "10kV", root=root)["totals"] == {"total": 1 + 9 + 1, "approvals": 9, "grid": 2}


def test_shandong_2018_one_serial_three_parallel_and_2019_all_parallel():
    # 2018: planning permit (7) then road excavation 5 / green space 4 / road occupation 3 in parallel.
    assert totals("shandong-2018", "10kV")["totals"]["approvals"] == 7 + 5
    # 2019: the four permits (5, 5, 3, 3) all in parallel: the longest.
    assert totals("shandong-2019", "10kV")["totals"]["approvals"] == 5


@pytest.mark.parametrize("voltage, limit", [("10kV", 40), ("low_voltage", 7)])
def test_shandong_2019_totals_within_40_and_7(voltage, limit):
    check = totals("shandong-2019", voltage)
    assert check["limits"]["total"]["value"] == limit
    assert check["totals"]["total"] <= limit
    assert check["limits"]["approvals"]["value"] == 5


@pytest.mark.parametrize("voltage, limit", [("10kV", 11), ("low_voltage", 3)])
def test_qingdao_grid_stage_limits(voltage, limit):
    check = totals("shandong-2019-qingdao", voltage)
    assert check["limits"]["grid"]["value"] == limit
    assert 0 < check["totals"]["grid"] <= limit
    assert check["limits"]["approvals"]["value"] == 5


def test_jinan_approvals_within_4_and_inherits_the_rest():
    check = totals("shandong-2019-jinan", "10kV")
    assert check["limits"]["approvals"]["value"] == 4 and check["totals"]["approvals"] <= 4
    assert check["limits"]["total"]["value"] == 40  # inherited from shandong-2019


def test_national_2025_low_voltage_5_without_and_15_with_external_works():
    assert totals("national-2025", "low_voltage", False)["limits"]["total"]["value"] == 5
    assert totals("national-2025", "low_voltage", True)["limits"]["total"]["value"] == 15


def test_pre_reform_baseline_is_67_and_28():
    assert totals("national-1996", "10kV")["totals"]["total"] == 67
    assert totals("national-1996", "low_voltage")["totals"]["total"] == 28


@pytest.mark.parametrize("ruleset_id", RULESETS)
def test_every_stage_split_stays_within_its_rule_sets_limits(ruleset_id):
    for voltage in VOLTAGES:
        for external_works in (True, False):
            check = totals(ruleset_id, voltage, external_works)
            for scope, limit in check["limits"].items():
                if limit is not None:
                    assert check["totals"][scope] <= limit["value"], (voltage, external_works, scope)


def test_a_cycle_in_predecessors_is_named(write_stages):
    root, path = write_stages("cyclic", [stage("a", 1, ["c"]), stage("b", 1, ["a"]), stage("c", 1, ["b"])])
    with pytest.raises(InputError) as error:
        load_stage_set("cyclic", root)
    message = str(error.value)
    assert str(path) in message and "predecessors" in message and "cycle" in message


@pytest.mark.parametrize(
    "broken, field",
    [
        ({"unit": None}, "missing required key(s) unit"),
        ({"reference": None}, "missing required key(s) reference"),
        ({"working_days": -2}, "working_days: -2 is negative"),
        ({"unit": "days"}, ".unit: 'days'"),
        ({"predecessors": ["nowhere"]}, "predecessors: 'nowhere' is not a stage"),
        ({"applies_to": "35kV"}, "applies_to: '35kV'"),
    ],
)
def test_bad_stage_data_names_file_and_field(write_stages, broken, field):
    bad = stage("b", 2, ["a"])
    for key, value in broken.items():
        if value is None:
            del bad[key]
        else:
            bad[key] = value
    root, path = write_stages("broken", [stage("a", 1), bad])
    with pytest.raises(InputError) as error:
        load_stage_set("broken", root)
    assert str(path) in str(error.value) and "(id 'b')" in str(error.value) and field in str(error.value)


def test_a_limit_without_unit_or_reference_is_refused(write_stages):
    limit = {"id": "total", "description": "d", "scope": "total", "applies_to": "both", "basis": "average",
             "value": 10, "unit": "working_days"}
    root, path = write_stages("nolimitref", [stage("a", 1)], [limit])
    with pytest.raises(InputError, match="limits\\[0\\].*missing required key\\(s\\) reference"):
        load_stage_set("nolimitref", root)


def test_unknown_rule_set_lists_the_available_ones():
    with pytest.raises(InputError, match="shandong-2019"):
        load_stage_set("shandong-2030")


def _limit(id, value, scope="total", applies_to="both", **extra):
    return {"id": id, "description": id, "scope": scope, "applies_to": applies_to, "basis": "maximum", "value": value,
            "unit": "working_days", "reference": {"document": "test document", "clause": "test clause", "source": "practice"}, **extra}


def test_each_combination_takes_the_one_limit_for_its_scope_voltage_and_external_works(write_stages):
    limits = [_limit("lv_with_works", 15, applies_to="low_voltage", external_works=True),
              _limit("lv_without_works", 5, applies_to="low_voltage", external_works=False),
              _limit("ten_kv", 40, applies_to="10kV"), _limit("grid_both", 3, scope="grid")]
    root, _ = write_stages("split", [stage("a", 1), stage("b", 2, group="approvals")], limits)
    stage_set = load_stage_set("split", root)

    def limit(voltage, external_works, scope):
        chosen = template(stage_set, voltage, external_works)[1]["limits"][scope]
        return chosen and chosen["id"]

    assert [limit("low_voltage", True, "total"), limit("low_voltage", False, "total")] == ["lv_with_works", "lv_without_works"]
    assert [limit("10kV", True, "total"), limit("10kV", False, "total")] == ["ten_kv", "ten_kv"]   # no external_works: both
    assert [limit("10kV", True, "grid"), limit("low_voltage", False, "grid")] == ["grid_both", "grid_both"]
    assert limit("low_voltage", True, "approvals") is None


@pytest.mark.parametrize("second", [
    _limit("again", 9),                                                   # the same scope and voltages
    _limit("lv_only", 9, applies_to="low_voltage"),                       # one voltage of the first's two
    _limit("without_works", 9, applies_to="10kV", external_works=False),  # one case of the first's external works
    _limit("with_works", 9, applies_to="low_voltage", external_works=True),  # the other case
])
def test_two_limits_for_the_same_case_are_refused_naming_both(write_stages, second):
    root, path = write_stages("overlap", [stage("a", 1)], [_limit("first", 10), second])
    with pytest.raises(InputError) as error:
        load_stage_set("overlap", root)
    assert f"limit '{second['id']}' overlaps 'first'" in str(error.value) and str(path) in str(error.value)


def test_limits_for_other_scopes_voltages_or_external_works_do_not_overlap(write_stages):
    limits = [_limit("total_lv", 10, applies_to="low_voltage"), _limit("total_10kv", 20, applies_to="10kV"),
              _limit("grid_with", 3, scope="grid", external_works=True), _limit("grid_without", 2, scope="grid", external_works=False),
              _limit("approvals", 4, scope="approvals")]
    root, _ = write_stages("apart", [stage("a", 1)], limits)
    assert list(load_stage_set("apart", root).limits) == ["total_lv", "total_10kv", "grid_with", "grid_without", "approvals"]


@pytest.mark.parametrize("days, basis, within, text", [
    (None, None, None, "no limit set"),
    (float("nan"), "maximum", None, "no limit set"),
    (40, "maximum", True, "limit 40 (within)"),
    (40.0, "maximum", False, "limit 40 (OVER)"),
    (4.5, "maximum", True, "limit 4.5 (within)"),
    (28, "average", True, "average target 28 working days (this plan within it)"),
    (28, "average", False, "average target 28 working days (this plan takes longer)"),
])
def test_the_limit_in_words_says_whether_it_is_owed_or_an_average(days, basis, within, text):
    assert limit_text(days, basis, within) == text
