"""Enterprise size by the MIIT 2011 table (工信部联企业〔2011〕300号, article 4).

Expected sizes are worked out by hand from the text of the standard: an enterprise is small,
medium or micro if either measure is "以下" (strictly below) the ceiling, medium/small need both
measures "及以上" (at or above) the tier's bounds, and micro is the rest.
"""

import shutil

import numpy as np
import pandas as pd
import pytest

from costmodel.classification import (
    allowed_industries,
    classify_enterprise_size,
    load_size_table,
)
from costmodel.errors import InputError
from costmodel.paths import tariffs_dir

nan = np.nan

# (industry, employees, revenue_10k_cny, assets_10k_cny, expected size): for each industry the
# ceiling, the medium bound and the small bound, with each measure at the bound and one below it.
BOUNDARY_CASES = [
    # agriculture
    ("agriculture", nan, 20000, nan, "large"),
    ("agriculture", nan, 19999, nan, "medium"),
    ("agriculture", nan, 500, nan, "medium"),
    ("agriculture", nan, 499, nan, "small"),
    ("agriculture", nan, 50, nan, "small"),
    ("agriculture", nan, 49, nan, "micro"),
    # industry
    ("industry", 1000, 40000, nan, "large"),
    ("industry", 999, 40000, nan, "medium"),
    ("industry", 1000, 39999, nan, "medium"),
    ("industry", 300, 2000, nan, "medium"),
    ("industry", 299, 2000, nan, "small"),
    ("industry", 300, 1999, nan, "small"),
    ("industry", 20, 300, nan, "small"),
    ("industry", 19, 300, nan, "micro"),
    ("industry", 20, 299, nan, "micro"),
    # construction
    ("construction", nan, 80000, 80000, "large"),
    ("construction", nan, 79999, 80000, "medium"),
    ("construction", nan, 80000, 79999, "medium"),
    ("construction", nan, 6000, 5000, "medium"),
    ("construction", nan, 5999, 5000, "small"),
    ("construction", nan, 6000, 4999, "small"),
    ("construction", nan, 300, 300, "small"),
    ("construction", nan, 299, 300, "micro"),
    ("construction", nan, 300, 299, "micro"),
    # wholesale
    ("wholesale", 200, 40000, nan, "large"),
    ("wholesale", 199, 40000, nan, "medium"),
    ("wholesale", 200, 39999, nan, "medium"),
    ("wholesale", 20, 5000, nan, "medium"),
    ("wholesale", 19, 5000, nan, "small"),
    ("wholesale", 20, 4999, nan, "small"),
    ("wholesale", 5, 1000, nan, "small"),
    ("wholesale", 4, 1000, nan, "micro"),
    ("wholesale", 5, 999, nan, "micro"),
    # retail
    ("retail", 300, 20000, nan, "large"),
    ("retail", 299, 20000, nan, "medium"),
    ("retail", 300, 19999, nan, "medium"),
    ("retail", 50, 500, nan, "medium"),
    ("retail", 49, 500, nan, "small"),
    ("retail", 50, 499, nan, "small"),
    ("retail", 10, 100, nan, "small"),
    ("retail", 9, 100, nan, "micro"),
    ("retail", 10, 99, nan, "micro"),
    # transport
    ("transport", 1000, 30000, nan, "large"),
    ("transport", 999, 30000, nan, "medium"),
    ("transport", 1000, 29999, nan, "medium"),
    ("transport", 300, 3000, nan, "medium"),
    ("transport", 299, 3000, nan, "small"),
    ("transport", 300, 2999, nan, "small"),
    ("transport", 20, 200, nan, "small"),
    ("transport", 19, 200, nan, "micro"),
    ("transport", 20, 199, nan, "micro"),
    # warehousing
    ("warehousing", 200, 30000, nan, "large"),
    ("warehousing", 199, 30000, nan, "medium"),
    ("warehousing", 200, 29999, nan, "medium"),
    ("warehousing", 100, 1000, nan, "medium"),
    ("warehousing", 99, 1000, nan, "small"),
    ("warehousing", 100, 999, nan, "small"),
    ("warehousing", 20, 100, nan, "small"),
    ("warehousing", 19, 100, nan, "micro"),
    ("warehousing", 20, 99, nan, "micro"),
    # postal
    ("postal", 1000, 30000, nan, "large"),
    ("postal", 999, 30000, nan, "medium"),
    ("postal", 1000, 29999, nan, "medium"),
    ("postal", 300, 2000, nan, "medium"),
    ("postal", 299, 2000, nan, "small"),
    ("postal", 300, 1999, nan, "small"),
    ("postal", 20, 100, nan, "small"),
    ("postal", 19, 100, nan, "micro"),
    ("postal", 20, 99, nan, "micro"),
    # accommodation
    ("accommodation", 300, 10000, nan, "large"),
    ("accommodation", 299, 10000, nan, "medium"),
    ("accommodation", 300, 9999, nan, "medium"),
    ("accommodation", 100, 2000, nan, "medium"),
    ("accommodation", 99, 2000, nan, "small"),
    ("accommodation", 100, 1999, nan, "small"),
    ("accommodation", 10, 100, nan, "small"),
    ("accommodation", 9, 100, nan, "micro"),
    ("accommodation", 10, 99, nan, "micro"),
    # catering
    ("catering", 300, 10000, nan, "large"),
    ("catering", 299, 10000, nan, "medium"),
    ("catering", 300, 9999, nan, "medium"),
    ("catering", 100, 2000, nan, "medium"),
    ("catering", 99, 2000, nan, "small"),
    ("catering", 100, 1999, nan, "small"),
    ("catering", 10, 100, nan, "small"),
    ("catering", 9, 100, nan, "micro"),
    ("catering", 10, 99, nan, "micro"),
    # information_transmission
    ("information_transmission", 2000, 100000, nan, "large"),
    ("information_transmission", 1999, 100000, nan, "medium"),
    ("information_transmission", 2000, 99999, nan, "medium"),
    ("information_transmission", 100, 1000, nan, "medium"),
    ("information_transmission", 99, 1000, nan, "small"),
    ("information_transmission", 100, 999, nan, "small"),
    ("information_transmission", 10, 100, nan, "small"),
    ("information_transmission", 9, 100, nan, "micro"),
    ("information_transmission", 10, 99, nan, "micro"),
    # software_it
    ("software_it", 300, 10000, nan, "large"),
    ("software_it", 299, 10000, nan, "medium"),
    ("software_it", 300, 9999, nan, "medium"),
    ("software_it", 100, 1000, nan, "medium"),
    ("software_it", 99, 1000, nan, "small"),
    ("software_it", 100, 999, nan, "small"),
    ("software_it", 10, 50, nan, "small"),
    ("software_it", 9, 50, nan, "micro"),
    ("software_it", 10, 49, nan, "micro"),
    # real_estate_development
    ("real_estate_development", nan, 200000, 10000, "large"),
    ("real_estate_development", nan, 199999, 10000, "medium"),
    ("real_estate_development", nan, 200000, 9999, "medium"),
    ("real_estate_development", nan, 1000, 5000, "medium"),
    ("real_estate_development", nan, 999, 5000, "small"),
    ("real_estate_development", nan, 1000, 4999, "small"),
    ("real_estate_development", nan, 100, 2000, "small"),
    ("real_estate_development", nan, 99, 2000, "micro"),
    ("real_estate_development", nan, 100, 1999, "micro"),
    # property_management
    ("property_management", 1000, 5000, nan, "large"),
    ("property_management", 999, 5000, nan, "medium"),
    ("property_management", 1000, 4999, nan, "medium"),
    ("property_management", 300, 1000, nan, "medium"),
    ("property_management", 299, 1000, nan, "small"),
    ("property_management", 300, 999, nan, "small"),
    ("property_management", 100, 500, nan, "small"),
    ("property_management", 99, 500, nan, "micro"),
    ("property_management", 100, 499, nan, "micro"),
    # leasing_business_services
    ("leasing_business_services", 300, nan, 120000, "large"),
    ("leasing_business_services", 299, nan, 120000, "medium"),
    ("leasing_business_services", 300, nan, 119999, "medium"),
    ("leasing_business_services", 100, nan, 8000, "medium"),
    ("leasing_business_services", 99, nan, 8000, "small"),
    ("leasing_business_services", 100, nan, 7999, "small"),
    ("leasing_business_services", 10, nan, 100, "small"),
    ("leasing_business_services", 9, nan, 100, "micro"),
    ("leasing_business_services", 10, nan, 99, "micro"),
    # other
    ("other", 300, nan, nan, "large"),
    ("other", 299, nan, nan, "medium"),
    ("other", 100, nan, nan, "medium"),
    ("other", 99, nan, nan, "small"),
    ("other", 10, nan, nan, "small"),
    ("other", 9, nan, nan, "micro"),
]

# Cases where the measures point to different tiers, or where a measure the industry does not use
# is given (it must be ignored).
CROSS_CASES = [
    # 工业: revenue below 40,000 makes it SME however many staff; revenue below 300 makes it micro.
    ("industry", 5000, 100, nan, "micro"),
    # 房地产开发经营: assets 3,000 < 10,000 -> SME; < 5,000 -> not medium; >= 2,000 and rev >= 100 -> small.
    ("real_estate_development", nan, 500000, 3000, "small"),
    # 租赁和商务服务业 uses assets, not revenue: a huge revenue must not lift assets of 50 out of micro.
    ("leasing_business_services", 200, 999999, 50, "micro"),
    ("leasing_business_services", 50, nan, 200000, "small"),
    # 农、林、牧、渔业 uses revenue only; 其他未列明行业 uses employees only.
    ("agriculture", 100000, 49, 1e9, "micro"),
    ("other", 9, 1e9, 1e9, "micro"),
    # Money is not whole: 99.99 (10^4 CNY) is below the small bound of 100.
    ("retail", 10, 99.99, nan, "micro"),
]

COLUMNS = ["industry", "employees", "revenue_10k_cny", "assets_10k_cny", "expected"]
INDUSTRIES = [
    "agriculture", "industry", "construction", "wholesale", "retail", "transport", "warehousing",
    "postal", "accommodation", "catering", "information_transmission", "software_it",
    "real_estate_development", "property_management", "leasing_business_services", "other",
]


@pytest.fixture(scope="module")
def table():
    return load_size_table("miit-2011")


def _cases(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def test_table_has_the_sixteen_industries_of_article_4(table):
    assert allowed_industries(table) == INDUSTRIES
    assert {case[0] for case in BOUNDARY_CASES} == set(INDUSTRIES)


def test_rows_written_from_memory_are_flagged_unverified(table):
    unverified = table.loc[~table["verified"], "industry"].tolist()
    assert unverified == ["accommodation", "catering", "information_transmission"]


def test_metadata_and_units(table):
    meta = table.attrs["meta"]
    assert table.attrs["version"] == "miit-2011"
    assert "工信部联企业〔2011〕300号" in meta["document"]
    assert str(meta["date"]) == "2011-06-18"
    assert set(meta["units"]) == {"employees", "revenue_10k_cny", "assets_10k_cny"}


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_each_side_of_each_threshold(table, industry):
    cases = _cases([c for c in BOUNDARY_CASES if c[0] == industry])
    size, problems = classify_enterprise_size(cases, table)
    assert problems.isna().all(), problems.dropna().tolist()
    wrong = cases.assign(got=size.astype(str))[size.astype(str) != cases["expected"]]
    assert wrong.empty, "\n" + wrong.to_string()


def test_measures_pointing_to_different_tiers(table):
    cases = _cases(CROSS_CASES)
    size, problems = classify_enterprise_size(cases, table)
    assert problems.isna().all(), problems.dropna().tolist()
    assert size.astype(str).tolist() == cases["expected"].tolist()


def test_result_keeps_the_frame_index_and_orders_sizes(table):
    frame = pd.DataFrame(
        {"industry": ["retail", "retail", "other"], "employees": [300, 9, 150],
         "revenue_10k_cny": [20000, 5000, nan]},
        index=["A-17", "B-2", "C-9"],
    )
    size, problems = classify_enterprise_size(frame, table)
    assert size.index.tolist() == ["A-17", "B-2", "C-9"]
    assert size.tolist() == ["large", "micro", "medium"]
    # Ordered micro < small < medium < large, so an eligibility rule can read size <= "small".
    assert (size <= "small").tolist() == [False, True, False]
    assert problems.tolist() == [None, None, None]


def test_unknown_industry_is_a_problem_naming_value_and_allowed(table):
    frame = pd.DataFrame({"industry": ["retail", "mining", None], "employees": [5, 5, 5],
                          "revenue_10k_cny": [50, 50, 50]})
    size, problems = classify_enterprise_size(frame, table)
    assert size.iloc[0] == "micro"
    assert size.iloc[1:].isna().all()
    assert problems.iloc[0] is None
    for text in problems.iloc[1:]:
        assert text.startswith("industry ")
        assert all(name in text for name in INDUSTRIES)
    assert "'mining' is not in miit-2011" in problems.iloc[1]
    assert "industry is missing" in problems.iloc[2]


def test_missing_metric_the_industry_needs_is_not_guessed(table):
    frame = pd.DataFrame({
        "industry": ["construction", "leasing_business_services", "agriculture", "other"],
        "revenue_10k_cny": [100, 100, 100, nan],
        "assets_10k_cny": [nan, 100, nan, nan],
    })  # no employees column at all
    size, problems = classify_enterprise_size(frame, table)
    assert problems.iloc[0] == (
        "assets_10k_cny is missing; industry 'construction' is classified on revenue_10k_cny and "
        "assets_10k_cny (miit-2011), so a number >= 0 is required"
    )
    assert problems.iloc[1].startswith("employees is missing; industry 'leasing_business_services'")
    # Agriculture needs revenue only, so no employees and no assets is fine: 100 >= 50 -> small.
    assert size.iloc[2] == "small" and problems.iloc[2] is None
    assert problems.iloc[3].startswith("employees is missing; industry 'other' is classified on employees (")
    assert size.iloc[[0, 1, 3]].isna().all()


def test_bad_numbers_are_problems(table):
    frame = pd.DataFrame({"industry": ["retail", "retail", "agriculture"],
                          "employees": ["many", -1, "many"],
                          "revenue_10k_cny": [50, nan, 60]})
    size, problems = classify_enterprise_size(frame, table)
    assert problems.iloc[0] == "employees 'many' is not a number; allowed: a number >= 0"
    assert problems.iloc[1] == (
        "employees -1 is negative; allowed: a number >= 0; revenue_10k_cny is missing; industry "
        "'retail' is classified on employees and revenue_10k_cny (miit-2011), so a number >= 0 is required"
    )
    # Agriculture does not read employees, so its bad value does not matter.
    assert size.iloc[2] == "small" and problems.iloc[2] is None


def test_single_application_gets_an_error(table):
    one = pd.DataFrame({"industry": ["mining"], "employees": [5], "revenue_10k_cny": [50]})
    with pytest.raises(InputError, match=r"row 0: industry 'mining' is not in miit-2011; allowed: agriculture, "):
        classify_enterprise_size(one, table, errors="raise")
    ok = pd.DataFrame({"industry": ["wholesale"], "employees": [20], "revenue_10k_cny": [5000]})
    size, problems = classify_enterprise_size(ok, table, errors="raise")
    assert size.tolist() == ["medium"] and problems.tolist() == [None]


def test_raise_lists_a_bounded_number_of_rows(table):
    frame = pd.DataFrame({"industry": ["mining"] * 25})
    with pytest.raises(InputError, match=r"and 15 more rows"):
        classify_enterprise_size(frame, table, errors="raise")


def test_frame_without_industry_column(table):
    with pytest.raises(InputError, match=r"column 'industry' is missing; columns given: employees"):
        classify_enterprise_size(pd.DataFrame({"employees": [3]}), table)
    with pytest.raises(InputError, match=r"errors='ignore' is not allowed; allowed: 'report', 'raise'"):
        classify_enterprise_size(pd.DataFrame({"industry": ["other"]}), table, errors="ignore")


def test_hundred_thousand_rows_classified_as_each_case_alone(table):
    # its speed is part of every portfolio benchmark (benchmarks/portfolio_million.py), not asserted here: a
    # wall-clock bound flakes on a slow CI machine
    cases = _cases(BOUNDARY_CASES + CROSS_CASES)
    reps = -(-100_000 // len(cases))
    big = pd.concat([cases] * reps, ignore_index=True).iloc[:100_000]
    size, problems = classify_enterprise_size(big, table)
    assert len(size) == 100_000
    assert problems.isna().all()
    assert (size.astype(str) == big["expected"]).all()


# --- validation of the table file ---------------------------------------------------------------

@pytest.fixture
def tariffs_copy(tmp_path):
    shutil.copytree(tariffs_dir() / "classification" / "miit-2011",
                    tmp_path / "classification" / "miit-2011")
    return tmp_path


def _edit_csv(root, old, new):
    path = root / "classification" / "miit-2011" / "size_thresholds.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_unknown_metric_name(tariffs_copy):
    path = _edit_csv(tariffs_copy, "retail,零售业,第四条（五）,employees,revenue_10k_cny",
                     "retail,零售业,第四条（五）,employees,turnover")
    with pytest.raises(InputError) as err:
        load_size_table("miit-2011", tariffs_dir=tariffs_copy)
    assert str(err.value) == (
        f"{path} line 6, column metric_2: value 'turnover' is not allowed; "
        "allowed: empty or one of revenue_10k_cny, assets_10k_cny"
    )


def test_missing_threshold(tariffs_copy):
    _edit_csv(tariffs_copy, "employees,revenue_10k_cny,200,30000,100,1000,20,100",
              "employees,revenue_10k_cny,200,30000,,1000,20,100")
    with pytest.raises(InputError, match=r"line 8, column medium_min_1: value '' is not allowed; "
                                         r"allowed: a number > 0 \(threshold on employees\)"):
        load_size_table("miit-2011", tariffs_dir=tariffs_copy)


def test_threshold_for_absent_second_metric(tariffs_copy):
    _edit_csv(tariffs_copy, "employees,,300,,100,,10,,true", "employees,,300,,100,,10,5,true")
    with pytest.raises(InputError, match=r"line 17, column small_min_2: value '5' is not allowed; "
                                         r"allowed: empty, since metric_2 is empty"):
        load_size_table("miit-2011", tariffs_dir=tariffs_copy)


def test_medium_bound_outside_its_tier(tariffs_copy):
    # Medium bound below the small bound would leave the small tier empty.
    _edit_csv(tariffs_copy, "300,20000,50,500,10,100", "300,20000,5,500,10,100")
    with pytest.raises(InputError, match=r"line 6, column medium_min_1: .* between small_min_1 \(10\) "
                                         r"and sme_ceiling_1 \(300\)"):
        load_size_table("miit-2011", tariffs_dir=tariffs_copy)


def test_duplicate_industry(tariffs_copy):
    _edit_csv(tariffs_copy, "catering,餐饮业", "accommodation,餐饮业")
    with pytest.raises(InputError, match=r"line 11, column industry: value 'accommodation' is not allowed; "
                                         r"allowed: a key not already used \(line 10\)"):
        load_size_table("miit-2011", tariffs_dir=tariffs_copy)


def test_unknown_version(tariffs_copy):
    with pytest.raises(InputError, match=r"size table version 'miit-2030' not found .*; allowed: miit-2011"):
        load_size_table("miit-2030", tariffs_dir=tariffs_copy)
    with pytest.raises(InputError, match=r"version '\.\./miit-2011' not found"):
        load_size_table("../miit-2011", tariffs_dir=tariffs_copy)


def test_meta_id_must_match_folder(tariffs_copy):
    meta = tariffs_copy / "classification" / "miit-2011" / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("id: miit-2011", "id: miit-2012"), encoding="utf-8")
    with pytest.raises(InputError, match=r"key id: value 'miit-2012' is not allowed; allowed: 'miit-2011'"):
        load_size_table("miit-2011", tariffs_dir=tariffs_copy)


def test_a_second_measure_counts_whichever_measure_it_is():
    # a table of one industry read on revenue first and employees second: either measure under its ceiling makes an
    # SME, so 5000 revenue (over the 1000 ceiling) with 50 employees (under 300) is small, not large
    own = pd.DataFrame({"industry": ["testing"], "metric_1": ["revenue_10k_cny"], "metric_2": ["employees"],
                        "sme_ceiling_1": [1000.0], "medium_min_1": [100.0], "small_min_1": [10.0],
                        "sme_ceiling_2": [300.0], "medium_min_2": [100.0], "small_min_2": [10.0]})
    frame = pd.DataFrame({"industry": ["testing", "testing", "mining"], "employees": [50, 300, 5], "revenue_10k_cny": [5000, 5000, 5]})
    size, problems = classify_enterprise_size(frame, own)
    assert size.tolist()[:2] == ["small", "large"]
    # a table read by hand carries no version: it is named as "size table"
    assert problems.iloc[2] == "industry 'mining' is not in size table; allowed: testing"


def test_zero_is_a_measure_not_a_negative_one(table):
    frame = pd.DataFrame({"industry": ["agriculture", "retail"], "employees": [nan, 0], "revenue_10k_cny": [0, 0]})
    size, problems = classify_enterprise_size(frame, table)
    assert size.tolist() == ["micro", "micro"] and problems.tolist() == [None, None]


def test_sizes_and_problems_keep_the_frames_index_and_their_names(table):
    frame = pd.DataFrame({"industry": ["retail", "mining"], "employees": [5, 5], "revenue_10k_cny": [50, 50]}, index=["x", "y"])
    size, problems = classify_enterprise_size(frame, table)
    assert (size.name, problems.name) == ("enterprise_size", "enterprise_size_problem")
    assert list(problems.index) == ["x", "y"] and problems["x"] is None


def test_the_raised_error_lists_each_bad_row_on_its_own_line(table):
    frame = pd.DataFrame({"industry": ["mining", None], "employees": [5, 5], "revenue_10k_cny": [50, 50]}, index=["x", "y"])
    with pytest.raises(InputError) as error:
        classify_enterprise_size(frame, table, errors="raise")
    lines = str(error.value).split("\n")
    assert lines[0] == "enterprise size cannot be classified:"
    assert lines[1].startswith("row 'x': industry 'mining' is not in miit-2011; allowed: ")
    assert lines[2].startswith("row 'y': industry is missing; allowed: ") and len(lines) == 3


def test_without_an_industry_column_the_error_lists_the_columns_given_and_required(table):
    with pytest.raises(InputError) as error:
        classify_enterprise_size(pd.DataFrame({"employees": [3], "revenue_10k_cny": [1]}), table)
    assert str(error.value) == ("column 'industry' is missing; columns given: employees, revenue_10k_cny; required: industry, "
                                "plus employees, revenue_10k_cny, assets_10k_cny as the industry needs")
