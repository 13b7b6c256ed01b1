"""The 129号 list of abolished charges: `check` refuses a rule set that charges one; `audit` finds them in a quote."""

import json
import os
import subprocess
import sys

import pandas as pd

from costmodel.rules.abolished import abolished_charges, audit_lines, charges_named


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from costmodel.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_the_list_holds_the_twelve_named_charges_and_the_metering_device_fee_from_2021_03_01():
    charges = abolished_charges()
    assert len(charges) == 13
    assert {c.applies_from.isoformat() for c in charges} == {"2021-03-01"}
    assert {"移表费", "调试费", "开闭站集资费", "计量装置费"} <= {c.names[0] for c in charges}


def test_a_name_matches_in_chinese_or_english_and_the_surviving_fees_do_not():
    found = charges_named(["调试费", "Commissioning FEE for the switchgear", "高可靠性供电费", "Temporary connection fee"])
    assert [[c.id for c in f] for f in found] == [["commissioning"], ["commissioning"], [], []]


def test_check_refuses_a_copy_of_a_rule_set_that_adds_an_abolished_charge(tariffs_copy):
    fees = tariffs_copy / "rulesets" / "national-1996" / "decisions" / "fees.yaml"
    fees.write_text(fees.read_text(encoding="utf-8") + """  - id: fee.meter_move
    name: Meter relocation
    name_zh: "移表费"
    rate: {param: fees.temporary_connection_rate}
    basis: capacity_kva
    cites: {source: placeholder-rates, paraphrase: "a test charge"}
""", encoding="utf-8")
    result = run("check", "shandong-2019", env={**os.environ, "COSTMODEL_TARIFFS": str(tariffs_copy)})
    assert result.returncode == 1
    assert "fee fee.meter_move (Meter relocation) charges 移表费 (meter_relocation), abolished from 2021-03-01" in result.stdout
    assert "国办函〔2020〕129号" in result.stdout and "取消供电企业及其所属或委托的安装工程公司" in result.stdout


def test_check_refuses_a_catalogue_item_that_is_an_abolished_charge(tariffs_copy):
    items = tariffs_copy / "catalogs" / "cn-indicative-2019" / "unit_costs.csv"
    items.write_text(items.read_text(encoding="utf-8") + "NET-AUTO,charges,网络自动化费 per connection,each,5000,,,,,,,,indicative,true\n",
                     encoding="utf-8")
    result = run("check", "national-1996", env={**os.environ, "COSTMODEL_TARIFFS": str(tariffs_copy)})
    assert result.returncode == 1
    assert "catalogue cn-indicative-2019: item NET-AUTO charges 网络自动化费 (network_automation)" in result.stdout


def test_audit_tells_a_charge_after_the_abolition_from_one_before_it():
    lines = pd.DataFrame({"component": ["Meter box", "Commissioning fee", "Meter relocation"], "component_zh": ["", "", "移表费"],
                          "amount_cny": [2830, 5000, 800], "application_date": ["2021-05-01", "2021-03-01", "2021-02-28"]})
    found = audit_lines(lines)
    assert found[["line", "charge", "after_abolition"]].values.tolist() == [[2, "commissioning", True], [3, "meter_relocation", False]]


def test_audit_cli_exits_1_on_a_charged_line_of_a_csv_and_0_on_a_clean_costmodel_quote(tmp_path):
    csv = tmp_path / "lines.csv"
    csv.write_text("component,amount_cny\nLV cable,16000\n低压电缆试验费,1200\n", encoding="utf-8")
    result = run("audit", str(csv))
    assert result.returncode == 1 and "line 2" in result.stdout and "lv_cable_test" in result.stdout
    quote = run("quote", "examples/applications/world-bank-warehouse.yaml", "--format", "json")
    assert quote.returncode == 0, quote.stderr
    saved = tmp_path / "quote.json"
    saved.write_text(quote.stdout, encoding="utf-8")
    result = run("audit", str(saved), "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout) == []
