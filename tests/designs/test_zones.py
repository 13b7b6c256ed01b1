"""Components carry the zone the scheme gives them, whatever decides that they are needed (a field, a rule-set
parameter); funding then follows the zone (tests/test_funding.py)."""

import datetime as dt
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.designs.standard import ZONES, component_rows, load_scheme
from costmodel.params.parameter import Parameter

RED_LINE = "red_line_extension.urban_building_red_line"


def _rules() -> SimpleNamespace:
    # 129号: investment to the building-area red line from 2021-03-01
    red_line = Parameter.from_yaml(RED_LINE, {
        "description": "red line", "unit": "bool", "reference": {"source": "gbh-2020-129", "paraphrase": "red line"},
        "values": {dt.date(2019, 1, 1): False, dt.date(2021, 3, 1): True}}, Path("p.yaml"))
    return SimpleNamespace(parameter={RED_LINE: red_line}.__getitem__)


def test_the_zones_run_along_the_supply_path_from_the_grid_companys_own_devices():
    assert ZONES == ("grid_owned", "upstream", "extension", "site", "installation")


BOX = {"id": "test.box", "name": "Meter box", "zone": "site", "select": {"std_type": "LV-meter-box-3ph"}, "quantity": 2,
       "when": [{"param": RED_LINE, "eq": True}]}
LINE = {"id": "test.line", "name": "Service line", "zone": "extension", "select": {"std_type": "LV-meter-box-3ph"}, "quantity": 1}


def test_a_component_needed_by_a_rule_set_parameter_comes_with_the_schemes_zone_and_quantity():
    scheme = replace(load_scheme("cn-standard-2019"), components=(LINE, BOX))
    decided = Columns(pd.DataFrame({"evaluation_date": pd.to_datetime(["2021-02-28", "2021-03-01"]), "capacity_kva": [50.0, 50.0]}))
    rows = component_rows(decided, scheme, _rules())
    got = sorted(zip(rows["_row"].tolist(), np.asarray(rows["component"], dtype=object), np.asarray(rows["zone"], dtype=object),
                     rows["quantity"].tolist(), np.asarray(rows["design_rule"], dtype=object)))
    assert got == [(0, "Service line", "extension", 1.0, "cn-standard-2019:test.line"),
                   (1, "Meter box", "site", 2.0, "cn-standard-2019:test.box"),
                   (1, "Service line", "extension", 1.0, "cn-standard-2019:test.line")]


def test_no_application_gives_no_components_but_every_column():
    decided = Columns(pd.DataFrame({"evaluation_date": pd.to_datetime([]), "capacity_kva": np.empty(0)}))
    rows = component_rows(decided, replace(load_scheme("cn-standard-2019"), components=(LINE, BOX)), _rules())
    assert len(rows) == 0
    assert sorted(rows.names) == sorted(["component", "std_type", "zone", "quantity", "unit", "design_rule", "_row", "_order"])
