import numpy as np
import pytest

from costmodel.costs.catalog import load_catalog
from costmodel.errors import InputError
from costmodel.params import load_ruleset
from costmodel.designs.standard import _cover, load_scheme


@pytest.mark.parametrize("need_kva, expected", [
    (160, ("S13-M-160/10", 1)),      # exactly a standard rating
    (161, ("S13-M-200/10", 1)),      # next rating up
    (2000, ("S13-M-2000/10", 1)),    # the largest unit
    (2001, ("S13-M-1250/10", 2)),    # two units share 1,000.5 kVA each
    (5000, ("S13-M-2000/10", 3)),    # ceil(5000/2000) = 3 units of 1,666.7 kVA each need the 2,000 kVA rating
])
def test_smallest_units_that_cover_the_need(need_kva, expected):
    catalog = load_catalog()
    codes, units = _cover(np.array([float(need_kva)]), *catalog.family_ratings("transformer", "rating_kva"))
    assert (catalog.items.index[codes[0]], int(units[0])) == expected


def test_the_scheme_uses_only_catalogue_std_types_and_known_zones():
    scheme = load_scheme(load_ruleset("shandong-2019").design_scheme)
    assert scheme.catalog.id == "cn-indicative-2019"
    assert {item["zone"] for item in scheme.components} <= {"upstream", "extension", "site", "installation"}
    items = scheme.catalog.items
    rating_of_cover = {"capacity_kva": "rating_kva", "current": "ampacity_a"}
    for item in scheme.components:
        select = item["select"]
        named = [select["std_type"]] if "std_type" in select else list((select.get("std_types") or {}).values())
        assert set(named) <= set(items.index), item["id"]
        families = [select["family"]] if "family" in select else list((select.get("families") or {}).values())
        for family in families:  # a family a design picks from has members rated in the column it covers
            members = items[items["family"] == family]
            assert len(members) and members[rating_of_cover[select["cover"]]].notna().all(), (item["id"], family)
        assert named or families, item["id"]


def test_a_scheme_naming_a_std_type_the_catalogue_lacks_is_refused(tariffs_copy):
    file = tariffs_copy / "designs" / "cn-standard-2019" / "scheme.yaml"
    text = file.read_text(encoding="utf-8")
    assert "{std_type: LV-switchboard}" in text
    file.write_text(text.replace("{std_type: LV-switchboard}", "{std_type: LV-switchboard-gold}"), encoding="utf-8")
    with pytest.raises(InputError, match=r"no std_type \['LV-switchboard-gold'\]"):
        load_scheme("cn-standard-2019")
