import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.schedule import schedule_applications


def frame(*rows):
    columns = ["application_id", "application_date", "supply_voltage", "ruleset_id"]
    return pd.DataFrame([dict(zip(columns, row)) for row in rows])


def test_low_voltage_micro_enterprise_skips_national_day_2019():
    # shandong-2019 low voltage with external works: application 1 + approvals 5 (in parallel)
    # + works and energisation 1 = 7 working days. From Friday 2019-09-27: Sun 09-29 (adjusted
    # working day) is day 1, Mon 09-30 day 2, 10-01..10-07 holiday, 10-08..10-11 days 3-6,
    # Sat 10-12 (adjusted working day) day 7.
    stages, summary = schedule_applications(frame(("micro", "2019-09-27", "low_voltage", "shandong-2019")))
    row = summary.iloc[0]
    assert row["total_working_days"] == 7 and row["limit_working_days"] == 7
    assert row["energisation_due_date"] == pd.Timestamp("2019-10-12")
    assert row["calendar_days"] == 15
    assert bool(row["within_limit"]) and row["warnings"] == ""
    by_stage = stages.set_index("stage_id")
    assert by_stage.loc["application", "due_date"] == pd.Timestamp("2019-09-29")
    # Approvals: days 2-6, i.e. 09-30 then 10-08..10-11.
    assert by_stage.loc["approval_planning", "start_date"] == pd.Timestamp("2019-09-30")
    assert by_stage.loc["approval_planning", "due_date"] == pd.Timestamp("2019-10-11")


def test_without_external_works_the_approvals_drop_out():
    stages, summary = schedule_applications(
        frame(("m", "2019-09-27", "low_voltage", "shandong-2019")).assign(has_external_works=False)
    )
    assert not stages["group"].eq("approvals").any()
    # application (1) + works and energisation (1): Sun 09-29, Mon 09-30.
    assert summary["total_working_days"].iloc[0] == 2
    assert summary["energisation_due_date"].iloc[0] == pd.Timestamp("2019-09-30")


def test_critical_path_of_one_serial_three_parallel():
    stages, _ = schedule_applications(frame(("f", "2019-03-04", "10kV", "shandong-2018")))
    critical = dict(zip(stages["stage_id"], stages["on_critical_path"]))
    assert critical["approval_planning"] and critical["approval_road_excavation"]
    assert not critical["approval_green_space"] and not critical["design_review"]
    assert critical["construction"] and critical["energisation"]


def test_every_stage_starts_after_its_predecessors_are_due():
    applications = frame(
        ("a", "2019-09-27", "10kV", "shandong-2019"), ("b", "2020-01-20", "10kV", "national-1996"),
        ("c", "2019-12-31", "low_voltage", "shandong-2018"), ("d", "2024-02-01", "low_voltage", "national-2025"),
    )
    stages, summary = schedule_applications(applications)
    due = stages.set_index(["application_id", "stage_id"])["due_date"]
    for row in stages.itertuples():
        for predecessor in filter(None, row.predecessors.split(",")):
            assert row.start_date > due[(row.application_id, predecessor)]
    last = stages.groupby("application_id")["due_date"].max()
    assert (summary.set_index("application_id")["energisation_due_date"] == last).all()


def test_one_row_and_a_batch_agree():
    applications = frame(
        ("a", "2019-09-27", "10kV", "shandong-2019-qingdao"), ("b", "2018-12-28", "low_voltage", "national-1996"),
        ("c", "2019-09-27", "low_voltage", "shandong-2019-jinan"),
    )
    _, together = schedule_applications(applications)
    alone = pd.concat([schedule_applications(applications.iloc[[i]])[1] for i in range(3)], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone)


def test_2027_and_2028_schedule_with_a_warning():
    stages, summary = schedule_applications(frame(("late", "2027-12-01", "10kV", "shandong-2019")))
    row = summary.iloc[0]
    assert row["energisation_due_date"].year == 2028
    assert "2027" in row["warnings"] and "2028" in row["warnings"] and "Monday to Friday" in row["warnings"]
    # Monday-Friday from Wednesday 2027-12-01: 40 working days = 8 weeks -> Wednesday 2028-01-26.
    assert row["energisation_due_date"] == pd.Timestamp("2028-01-26")


def test_no_limit_gives_na_and_a_warning():
    _, summary = schedule_applications(frame(("h", "2021-03-01", "10kV", "national-2020")))
    assert pd.isna(summary["within_limit"].iloc[0])
    assert "no total time limit" in summary["warnings"].iloc[0]


def test_a_schedule_over_its_limit_is_flagged(write_stages):
    from tests.schedule.conftest import stage

    limit = {"id": "total", "description": "d", "scope": "total", "applies_to": "both", "basis": "maximum",
             "value": 3, "unit": "working_days", "reference": {"document": "d", "clause": "c", "source": "practice"}}
    root, _ = write_stages("slow", [stage("a", 2), stage("b", 2, ["a"])], [limit])
    _, summary = schedule_applications(frame(("s", "2019-03-04", "10kV", "slow")), root=root)
    assert summary["total_working_days"].iloc[0] == 4 and summary["within_limit"].iloc[0] == False  # noqa: E712


@pytest.mark.parametrize(
    "row, message",
    [
        (("x", "2019-09-27", "35kV", "shandong-2019"), "supply_voltage = '35kV'"),
        (("x", "not a date", "10kV", "shandong-2019"), "application_date = 'not a date'"),
        (("x", "2019-09-27", "10kV", "shandong-2030"), "ruleset_id = 'shandong-2030'"),
    ],
)
def test_bad_applications_name_row_and_field(row, message):
    with pytest.raises(InputError, match="row 0 \\(application_id 'x'\\): " + message.replace("(", "\\(")):
        schedule_applications(frame(row))


def test_missing_column_is_named():
    with pytest.raises(InputError, match="missing column\\(s\\) ruleset_id"):
        schedule_applications(frame(("x", "2019-09-27", "10kV", "shandong-2019")).drop(columns="ruleset_id"))


@pytest.mark.parametrize("scope, group", [("approvals", "approvals"), ("grid", "grid")])
def test_a_schedule_over_a_group_limit_is_flagged_though_within_its_total(write_stages, scope, group):
    from tests.schedule.conftest import stage

    def limit(id, scope, value):
        return {"id": id, "description": "d", "scope": scope, "applies_to": "both", "basis": "maximum", "value": value,
                "unit": "working_days", "reference": {"document": "d", "clause": "c", "source": "practice"}}

    # 2 + 2 days in the group, over its 3; 4 days in all, within the total's 10
    root, _ = write_stages(f"slow_{scope}", [stage("a", 2, group=group), stage("b", 2, ["a"], group=group)],
                           [limit("total", "total", 10), limit(scope, scope, 3)])
    _, summary = schedule_applications(frame(("s", "2019-03-04", "10kV", f"slow_{scope}")), root=root)
    assert summary["total_working_days"].iloc[0] == 4 and summary["within_limit"].iloc[0] == False  # noqa: E712
