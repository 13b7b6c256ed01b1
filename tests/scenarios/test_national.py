"""The national synthetic portfolio: counts in proportion to the per-province figure, partitioned by province and
year, reproducible from one seed."""

from __future__ import annotations

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.scenarios.dataset import ingest, validate_partition
from costmodel.scenarios.national import allocate, chosen_provinces, province_weights, weights_reference, write_national
from costmodel.paths import tariffs_dir
from costmodel.yamlio import load_yaml


def test_largest_remainder_allocation_adds_up_and_breaks_ties_in_listed_order():
    assert allocate(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}  # 3 1/3 each: one row left, to the first
    assert allocate(7, {"a": 5, "b": 2}) == {"a": 5, "b": 2}
    assert allocate(10, {"a": 6.5, "b": 3.5}) == {"a": 7, "b": 3}  # remainders 0.5 and 0.5: the first listed
    counts = allocate(1000, {"guangdong": 7870, "shandong": 7559, "xizang": 117})
    # by hand: 7870/15546 * 1000 = 506.24, 7559/15546 * 1000 = 486.23, 117/15546 * 1000 = 7.53: floors 506 + 486 + 7 = 999,
    # the row left to the largest remainder, xizang's
    assert counts == {"guangdong": 506, "shandong": 486, "xizang": 8}


def test_the_figures_cover_the_31_provinces_and_say_they_are_unverified():
    weights = province_weights()
    assert len(weights) == 31 and {"shandong", "guangdong", "xizang", "neimenggu", "xinjiang"} <= set(weights)
    assert weights_reference().unverified and weights_reference().key == "electricity-by-province-2022"
    assert load_yaml(tariffs_dir() / "studies" / "province-electricity-2022.yaml")["unit"] == "100 GWh (亿千瓦时)"
    with pytest.raises(InputError, match="unknown \\['atlantis'\\]"):
        chosen_provinces("shandong,atlantis", weights)


def test_a_national_portfolio_is_partitioned_reproducible_and_valid(tmp_path):
    counts = write_national(tmp_path / "a", 2000, seed=3)
    assert sum(counts.values()) == 2000 and len(counts) == 31
    assert counts == allocate(2000, province_weights())
    provinces = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(provinces) == 31 and provinces[0] == "province=anhui"
    years = {p.name for p in (tmp_path / "a").glob("province=*/year=*")}
    assert years == {"year=2019", "year=2020"}  # examples/portfolios/synthetic.yaml: 2019-07-01 to 2020-06-30
    ingested = ingest(tmp_path / "a", 10**6)
    assert ingested.rows_in == 2000
    per_province = {}
    for partition in ingested.partitions:
        portfolio = validate_partition(ingested, partition)
        assert len(portfolio.rejected) == 0
        province = dict(partition.keys)["province"]
        per_province[province] = per_province.get(province, 0) + partition.rows
        assert set(portfolio.frame["application_date"].dt.year) == {int(dict(partition.keys)["year"])}
    assert per_province == {k: v for k, v in counts.items() if v}
    write_national(tmp_path / "b", 2000, seed=3)
    write_national(tmp_path / "c", 2000, seed=4)
    first, again, other = (pd.read_parquet(tmp_path / name / "province=shandong" / "year=2019" / "part-0000.parquet")
                           for name in "abc")
    pd.testing.assert_frame_equal(first, again)
    assert not first.drop(columns="application_id").equals(other.drop(columns="application_id").head(len(first)))
