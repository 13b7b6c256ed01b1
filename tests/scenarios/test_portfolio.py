from pathlib import Path

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.scenarios.generate import generate_portfolio
from costmodel.scenarios.portfolio import load_portfolio, validate_frame, write_table

HEADER = ("application_id,application_date,applicant_kind,industry,employees,revenue_10k_cny,assets_10k_cny,size_class,"
          "ownership,in_project_database,area,park_level,distance_to_lv_m,distance_to_10kv_m,transformer_headroom_kva,"
          "road_crossings,capacity,capacity_unit,power_factor,phases,supply,duration\n")
GOOD = "a1,2019-09-02,enterprise,retail,20,300,,,private,false,urban,none,100,200,500,0,120,kVA,,3,single,permanent\n"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "portfolio.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_each_bad_row_is_rejected_with_row_field_value_and_what_is_allowed(tmp_path):
    rows = [
        GOOD,
        GOOD.replace("a1,", "a2,").replace("urban", "suburban"),                 # row 2: unknown category
        GOOD.replace("a1,", "a3,").replace(",100,200,", ",-5,200,"),              # row 3: negative distance
        GOOD.replace("a1,", "a4,").replace(",120,kVA", ",,kVA"),                  # row 4: missing capacity
        GOOD,                                                                      # row 5: duplicate a1
        GOOD.replace("a1,", "a6,").replace(",120,kVA", ",lots,kVA"),              # row 6: not a number
        GOOD.replace("a1,", "a7,").replace("2019-09-02", "2019-13-45"),           # row 7: not a date
        "a8,2019-09-02,residential,retail,,,,,,false,urban,none,10,200,500,0,8,kW,,1,single,permanent\n",  # row 8
        GOOD.replace("a1,", "a9,").replace(",3,single", ",2,single"),             # row 9: phases 2
        GOOD.replace("a1,", "a10,"),                                               # row 10: fine
    ]
    portfolio = load_portfolio(_write(tmp_path, "".join(rows)))
    assert portfolio.rows_in == 10
    assert list(portfolio.frame["application_id"]) == ["a1", "a10"]
    rejected = portfolio.rejected.set_index("row")
    assert list(rejected.index) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert rejected.loc[2, "field"] == "area" and "'suburban'" in rejected.loc[2, "reason"] and "urban, rural" in rejected.loc[2, "reason"]
    assert rejected.loc[3, "field"] == "distance_to_lv_m" and ">= 0" in rejected.loc[3, "reason"]
    assert rejected.loc[4, "field"] == "capacity" and "missing" in rejected.loc[4, "reason"]
    assert rejected.loc[5, "field"] == "application_id" and "once" in rejected.loc[5, "reason"]
    assert rejected.loc[6, "field"] == "capacity" and "'lots'" in rejected.loc[6, "reason"]
    assert rejected.loc[7, "field"] == "application_date"
    assert rejected.loc[8, "field"] == "industry" and "non-enterprise" in rejected.loc[8, "reason"]
    assert rejected.loc[9, "field"] == "phases" and "1, 3" in rejected.loc[9, "reason"]
    assert len(portfolio.frame) + len(portfolio.rejected) == portfolio.rows_in


def test_defaults_of_the_application_model_fill_empty_optional_cells(tmp_path):
    body = "b1,2019-09-02,enterprise,,,,,micro,,,rural,,100,200,500,,120,,,,,\n"
    frame = load_portfolio(_write(tmp_path, body)).frame
    row = frame.iloc[0]
    assert (row["park_level"], row["capacity_unit"], row["phases"], row["supply"], row["duration"]) == \
        ("none", "kVA", 3, "single", "permanent")
    assert pd.isna(row["ownership"]) and pd.isna(row["voltage_requested"])  # ownership has no default: empty is unknown
    assert row["road_crossings"] == 0 and not row["in_project_database"]


@pytest.mark.parametrize("content, message", [("", "empty"), (HEADER, "no application rows"), ("a,b\n1,2\n", "columns missing")])
def test_empty_or_unreadable_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        load_portfolio(path)
    assert str(path) in str(error.value)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="unknown portfolio format"):
        load_portfolio(tmp_path / "x.txt")
    with pytest.raises(InputError, match="file not found"):
        load_portfolio(tmp_path / "x.csv")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_generated_portfolio_round_trips_through_every_format(tmp_path, suffix):
    frame = generate_portfolio(300, seed=3)
    path = write_table(frame, tmp_path / f"p{suffix}")
    portfolio = load_portfolio(path)
    assert portfolio.rejected.empty
    assert len(portfolio.frame) == 300
    pd.testing.assert_series_equal(portfolio.frame["capacity"], frame["capacity"], check_names=False)
    assert portfolio.frame["application_id"].tolist() == frame["application_id"].tolist()


def test_the_generator_is_reproducible_from_its_seed():
    pd.testing.assert_frame_equal(generate_portfolio(500, seed=11), generate_portfolio(500, seed=11))
    assert not generate_portfolio(500, seed=11).equals(generate_portfolio(500, seed=12))


def test_shipped_example_portfolio_loads(examples_dir):
    portfolio = load_portfolio(examples_dir / "portfolios" / "small.csv")
    assert portfolio.rows_in == len(portfolio.frame) + len(portfolio.rejected)
    assert len(portfolio.frame) >= 20


def test_validation_in_memory_frame_keeps_row_numbers():
    frame = generate_portfolio(50, seed=5)
    frame.loc[10, "area"] = "moon"
    portfolio = validate_frame(frame)
    assert portfolio.rejected["row"].tolist() == [11]
    assert 11 not in portfolio.frame["row"].tolist() and len(portfolio.frame) == 49


def test_absurd_values_are_rejected_with_the_bound(tmp_path):
    rows = GOOD.replace(",120,kVA", ",5000000000,kVA") + GOOD.replace("a1,", "a2,").replace(",100,200,", ",100,9e9,")
    portfolio = load_portfolio(_write(tmp_path, rows))
    rejected = portfolio.rejected.set_index("row")
    assert rejected.loc[1, "field"] == "capacity" and "allowed: a number > 0 and <= 1e+06" in rejected.loc[1, "reason"]
    assert rejected.loc[2, "field"] == "distance_to_10kv_m" and "out of range" in rejected.loc[2, "reason"]


def test_a_file_in_another_encoding_names_the_file(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + GOOD.replace("a1", "小店")).encode("gbk"))
    with pytest.raises(InputError) as error:
        load_portfolio(path)
    assert str(path) in str(error.value)


def test_parquet_and_csv_of_the_same_rows_give_the_same_frame_rejections_and_quotes(tmp_path):
    from costmodel.params import load_ruleset
    from costmodel.scenarios.studies import quote_portfolio

    raw = generate_portfolio(600, seed=11).astype({"area": object, "supply": object})
    raw.loc[3, "area"] = "suburban"    # rejected: a category outside the allowed ones
    raw.loc[4, "supply"] = None        # filled with the model's default, "single"
    raw.loc[5, "capacity"] = -1        # rejected: out of range
    loaded = {suffix: load_portfolio(write_table(raw, tmp_path / f"p.{suffix}")) for suffix in ("csv", "parquet")}
    csv, parquet = loaded["csv"], loaded["parquet"]
    assert isinstance(parquet.frame["area"].dtype, pd.CategoricalDtype)
    assert list(parquet.frame["area"].cat.categories) == ["rural", "urban"]  # sorted, the rejected value gone
    for rejected in (csv.rejected, parquet.rejected):  # the value shown is the file's own: text in CSV, a number in Parquet
        assert rejected[["row", "field"]].values.tolist() == [[4, "area"], [6, "capacity"]]
    assert parquet.frame.loc[parquet.frame["row"] == 5, "supply"].item() == "single"
    pd.testing.assert_frame_equal(csv.frame, parquet.frame)
    ruleset = load_ruleset("shandong-2019")
    pd.testing.assert_frame_equal(quote_portfolio(csv, ruleset).quotes, quote_portfolio(parquet, ruleset).quotes)


def _same_verdict_as_the_model(path: Path, rows: dict[str, dict]) -> None:
    """Each row is accepted by the portfolio validator exactly when the same application in YAML is."""
    from costmodel.application import application_from_row, parse_application
    portfolio = load_portfolio(path)
    accepted = set(portfolio.frame["application_id"])
    for application_id, data in rows.items():
        try:
            parse_application(data)
            model_accepts = True
        except InputError:
            model_accepts = False
        assert (application_id in accepted) == model_accepts, application_id
    for _, row in portfolio.frame.iterrows():  # and the accepted rows read back as the model reads them
        assert application_from_row(row).id == row["application_id"]


def test_ownership_individual_business_and_voltage_requested_are_validated_as_the_model_does(tmp_path):
    header = HEADER.replace("duration\n", "duration,voltage_requested\n")
    lines = {
        "u1": GOOD.replace("a1,", "u1,").replace(",private,", ",,").replace("\n", ",\n"),            # ownership unknown
        "i1": GOOD.replace("a1,", "i1,").replace(",enterprise,", ",individual_business,").replace(",private,", ",,").replace("\n", ",\n"),
        "i2": GOOD.replace("a1,", "i2,").replace(",enterprise,", ",individual_business,").replace("\n", ",\n"),
        "i3": GOOD.replace("a1,", "i3,").replace(",enterprise,", ",individual_business,").replace(",private,", ",state_owned,")
                  .replace("\n", ",\n"),                                                               # not private: rejected
        "i4": "i4,2019-09-02,individual_business,,,,,,,false,urban,none,100,200,500,0,120,kVA,,3,single,permanent,\n",  # no size
        "v1": GOOD.replace("a1,", "v1,").replace("\n", ",10kV\n"),
        "v2": GOOD.replace("a1,", "v2,").replace("\n", ",35kV\n"),                                   # only 10kV may be asked
    }
    path = tmp_path / "portfolio.csv"
    path.write_text(header + "".join(lines.values()), encoding="utf-8")
    portfolio = load_portfolio(path)
    frame = portfolio.frame.set_index("application_id")
    assert list(frame.index) == ["u1", "i1", "i2", "v1"]
    assert pd.isna(frame.loc["u1", "ownership"])                                    # empty = unknown, not private
    assert frame.loc["i1", "ownership"] == frame.loc["i2", "ownership"] == "private"  # an individual business is private
    assert frame.loc["v1", "voltage_requested"] == "10kV" and pd.isna(frame.loc["u1", "voltage_requested"])
    rejected = portfolio.rejected.set_index("application_id")
    assert rejected.loc["i3", "field"] == "ownership" and "individual business" in rejected.loc["i3", "reason"]
    assert rejected.loc["i4", "field"] == "size_class"
    assert rejected.loc["v2", "field"] == "voltage_requested" and "'35kV'" in rejected.loc["v2", "reason"]

    def nested(application_id: str, kind: str, ownership, voltage) -> dict:
        enterprise = {"industry": "retail", "employees": 20, "operating_revenue_10k_cny": 300}
        if ownership:
            enterprise["ownership"] = ownership
        return {"id": application_id, "application_date": "2019-09-02", "applicant": {"kind": kind, "enterprise": enterprise},
                "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
                "request": {"capacity": 120, "voltage_requested": voltage}}
    _same_verdict_as_the_model(path, {
        "u1": nested("u1", "enterprise", None, None), "i1": nested("i1", "individual_business", None, None),
        "i2": nested("i2", "individual_business", "private", None), "i3": nested("i3", "individual_business", "state_owned", None),
        "v1": nested("v1", "enterprise", "private", "10kV"), "v2": nested("v2", "enterprise", "private", "35kV"),
    })
