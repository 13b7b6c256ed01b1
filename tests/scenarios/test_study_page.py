"""A study over HTTP: the portfolio as the body, reforms by name, the summary the page draws, the workbook."""

import io

import pytest
from fastapi.testclient import TestClient

from costmodel.api import create_app
from .test_studies import _hand_portfolio


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture(scope="module")
def hand_csv() -> bytes:
    return _hand_portfolio().frame.drop(columns="row").to_csv(index=False).encode()


def test_a_rural_cap_reform_over_http_gives_the_hand_worked_study(client, hand_csv):
    answer = client.post("/study", params={"baseline": "shandong-2019", "reform": "rural-lv-cap-160"}, content=hand_csv,
                         headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    overall = answer.json()["overall"]
    # tests/scenarios/test_studies.py: a rural cap of 160 kVA moves the rural 110, 130, 150 and 160 kVA micro
    # enterprises to low voltage; each saves its whole 10 kV connection (316,500) and the grid funds 8,380 more
    assert (overall["applications"], overall["moved_to_low_voltage"], overall["winners"], overall["losers"]) == (10, 4, 4, 0)
    assert overall["customer_delta_cny"] == pytest.approx(-1_266_000) and overall["grid_delta_cny"] == pytest.approx(33_520)
    rural = next(row for row in answer.json()["by_group"]["area"] if row["area"] == "rural")
    assert rural["moved_to_low_voltage"] == 4


def test_an_upload_sent_in_pieces_without_a_length_gives_the_same_study(client, hand_csv):
    """Chunked transfer, as a large upload arrives: the route spools it to disk as it comes (guard.spool_body)."""
    params = {"baseline": "shandong-2019", "reform": "rural-lv-cap-160"}
    whole = client.post("/study", params=params, content=hand_csv, headers={"Content-Type": "text/csv"})
    pieces = client.post("/study", params=params, content=iter([hand_csv[i:i + 100] for i in range(0, len(hand_csv), 100)]),
                         headers={"Content-Type": "text/csv"})
    assert pieces.status_code == 200 and "content-length" not in pieces.request.headers
    assert pieces.json() == whole.json()


def test_two_reforms_combine_and_an_unknown_one_is_refused(client, hand_csv):
    both = client.post("/study", params={"reform": "rural-lv-cap-160,urban-lv-cap-200"}, content=hand_csv,
                       headers={"Content-Type": "text/csv"}).json()["overall"]
    assert both["reform"] == "shandong-2019+rural-lv-cap-160+urban-lv-cap-200"
    assert both["moved_to_low_voltage"] == 5  # and the urban 170 kVA request under the 200 kVA urban cap
    refused = client.post("/study", params={"reform": "atlantis"}, content=hand_csv, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422 and "atlantis" in refused.json()["message"]


def test_the_workbook_has_the_sheets_chinese_headers_frozen_panes_filters_and_money_formats(client, hand_csv):
    from openpyxl import load_workbook

    answer = client.post("/study.xlsx", params={"reform": "rural-lv-cap-160"}, content=hand_csv, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["overall", "area", "enterprise_size", "capacity_band", "park_level", "affected", "rejected"]
    sheet = book["area"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:3] == ["地区", "申请数", "电压改变"] and [cell.value for cell in sheet[2]][:2] == ["area", "applications"]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
    money = headers.index("客户出资变化(元)") + 1
    assert sheet.cell(row=3, column=money).number_format == "#,##0"
    assert book["affected"].max_row == 2 + 4  # two header rows, the four moved applications
