import pytest

from costmodel.costs.catalog import load_catalog
from costmodel.errors import InputError


def test_cited_figures_are_the_midpoints_of_the_cited_ranges():
    items = load_catalog().items
    # 10 kV overhead <= 95 mm2: 16.8-53.7 万元/km -> midpoint 35.25 万元/km
    assert items.at["JKLYJ-10-70", "unit_cost_cny"] == 352_500
    # <= 1 kV overhead: 3.8-7.3 万元/km -> 5.55 万元/km
    assert items.at["JKLYJ-1-120", "unit_cost_cny"] == 55_500
    # 10 kV cable <= 3x120: 34.5-66.0 万元/km -> 50.25 万元/km
    assert items.at["YJV22-8.7/15-3x120", "unit_cost_cny"] == 502_500
    assert not items.at["JKLYJ-10-70", "indicative"] and items.at["S13-M-160/10", "indicative"]


@pytest.mark.parametrize("old, new, message", [
    ("LV-switchboard,switchgear,0.4 kV incoming switchboard per transformer,each,45000",
     "LV-switchboard,switchgear,0.4 kV incoming switchboard per transformer,each,-1", "row 29, column unit_cost_cny: -1; allowed: a cost >= 0"),
    ("road-crossing,civil,road crossing by directional drilling or pipe jacking,crossing,30000",
     "road-crossing,civil,road crossing by directional drilling or pipe jacking,furlong,30000", "column unit: 'furlong'"),
    ("road-crossing,civil,road crossing by directional drilling or pipe jacking,crossing,30000",
     "road-crossing,civil,road crossing by directional drilling or pipe jacking,crossing,lots", "column unit_cost_cny: 'lots' is not a number"),
])
def test_bad_catalogue_rows_name_row_column_and_value(old, new, message, tariffs_copy):
    file = tariffs_copy / "catalogs/cn-indicative-2019/unit_costs.csv"
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_catalog()


@pytest.mark.parametrize("content, message", [(b"", "the file is empty"), ("std_type,family\n电缆,x\n".encode("gbk"), "not UTF-8")])
def test_an_empty_or_misencoded_catalogue_is_named(content, message, tariffs_copy):
    (tariffs_copy / "catalogs/cn-indicative-2019/unit_costs.csv").write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_catalog()
