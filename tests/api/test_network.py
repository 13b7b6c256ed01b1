"""POST /optimize and GET /networks: the library's optimiser behind the API, who pays, the map, bad input."""

import pytest
from fastapi.testclient import TestClient

from costmodel.api import create_app
from costmodel.api.schemas import MAX_OPTIMIZE_TIME_S
from costmodel.grid.cli_network import optimize_network
from costmodel.paths import EXAMPLES_DIR
from tests.api.network_support import TINY_APPLICATIONS, TINY_COST_CNY, TINY_TABLES

PARK = EXAMPLES_DIR / "park"
# Short and generous: the park stops within the gap asked for, the same way in the test and through the API.
PARK_SETTINGS = {"time_limit_s": 20.0, "mip_gap": 0.2, "ac_rounds": 1}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), raise_server_exceptions=False)


def test_networks_lists_the_shipped_park_with_its_size(client):
    listed = client.get("/networks").json()
    park = next(network for network in listed if network["name"] == "park")
    # examples/park: 57 nodes, 79 corridors, 15 customers, and their applications
    assert park == {"name": "park", "nodes": 57, "corridors": 79, "customers": 15, "has_applications": True}


def test_the_park_costs_what_the_library_gives_with_the_same_settings(client):
    answer = client.post("/optimize", json={"example": "park", "ruleset": "shandong-2019", **PARK_SETTINGS})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    library = optimize_network(PARK, PARK / "customers.csv", "shandong-2019", PARK_SETTINGS["time_limit_s"], PARK_SETTINGS["mip_gap"],
                               when=None, ac_rounds=PARK_SETTINGS["ac_rounds"])
    assert body["report"]["objective_cny"] == pytest.approx(library["report"]["objective_cny"])
    assert body["report"]["status"] == library["report"]["status"]
    assert sorted(row["corridor_id"] for row in body["corridors"]) == sorted(library["design"].corridors["corridor_id"])
    assert [row["node_id"] for row in body["transformers"]] == list(library["design"].transformers["node_id"])
    assert body["validation"]["summary"]["worst_voltage_node"] == library["validation"]["summary"]["worst_voltage_node"]
    # who pays: the park's 15 applications are quoted; their totals add up to the design's cost
    totals = body["quote"]["totals"]
    assert len(totals) == 15
    assert sum(row["customer_cny"] + row["grid_cny"] for row in totals) == pytest.approx(body["report"]["objective_cny"])
    # the map, in both languages, inline and without style attributes (the page's CSP refuses them)
    for lang, legend in (("zh", "用户产权分界点"), ("en", "customer red-line point")):
        svg = body["map_svg"][lang]
        assert svg.startswith("<svg") and 'class="network-map"' in svg and "style=" not in svg and "<style" not in svg
        assert legend in svg and "park-p01" in svg


def test_a_tiny_network_costs_its_hand_worked_route_and_the_grid_pays_for_it(client, capfd):
    body = client.post("/optimize", json={"network": TINY_TABLES | {"applications": TINY_APPLICATIONS},
                                          "ruleset": "shandong-2019"}).json()
    assert body["report"]["status"] == "optimal"
    assert body["report"]["objective_cny"] == pytest.approx(TINY_COST_CNY)   # 126,000: via J, not the direct crossing
    assert sorted(row["corridor_id"] for row in body["corridors"]) == ["FJ", "JC"]
    # a private 10 kV enterprise in a municipal park under shandong-2019: the grid company builds up to the red line
    assert [(row["customer_cny"], row["grid_cny"]) for row in body["quote"]["totals"]] == [(0.0, TINY_COST_CNY)]
    assert {(line["component"], line["amount_cny"], line["funded_by"]) for line in body["quote"]["lines"]} == {
        ("new cable YJV22-8.7/15-3x70, corridor FJ (F-J)", 84_000.0, "grid"),
        ("new cable YJV22-8.7/15-3x70, corridor JC (J-C)", 42_000.0, "grid")}
    assert capfd.readouterr().out == ""   # the solver said nothing on the server's stdout


def test_without_applications_the_design_is_given_but_not_quoted(client):
    body = client.post("/optimize", json={"network": TINY_TABLES}).json()
    assert body["quote"] is None
    assert [(row["application_id"], row["quantity"], row["unit"]) for row in body["components"]] == [
        ("tiny-c", 0.2, "km"), ("tiny-c", 0.1, "km")]


def test_a_customer_beyond_the_feeders_spare_capacity_is_diagnosed_in_both_languages(client):
    # 6,000 kVA over F-J-C (the direct crossing left out): the 3x70's 215 A at 10 kV, 3,724 kVA, binds at F-J first
    corridors = "\n".join(line for line in TINY_TABLES["corridors"].splitlines() if not line.startswith("DC,")) + "\n"
    tables = {**TINY_TABLES, "corridors": corridors, "customers": "application_id,node_id,demand_kva\ntiny-c,C,6000\n"}
    report = client.post("/optimize", json={"network": tables}).json()["report"]
    assert report["status"] == "infeasible"
    assert report["diagnosis"] == ["customer tiny-c (node C, 6000 kVA) cannot be supplied under the capacity limits: at most "
                                   "3724 kVA reach it, limited by the largest conductor on corridor FJ (YJV22-8.7/15-3x70, "
                                   "3724 kVA) (the largest allowed conductor or transformer on every route and the spare "
                                   "capacity of every reachable source)"]
    assert report["diagnosis_zh"] == ["用户 tiny-c（节点 C，6000 kVA）在容量限制下无法供电：最多 3724 kVA 能送达，受限于走廊 FJ "
                                      "可选的最大导线（YJV22-8.7/15-3x70，3724 kVA）（各路径允许的最大导线或变压器，以及各可达电源的剩余容量）"]


@pytest.mark.parametrize(("changes", "field", "value", "allowed"), [
    ({"example": "atlantis"}, "example", "atlantis", "no such example network; allowed: park"),
    ({"time_limit_s": MAX_OPTIMIZE_TIME_S + 1}, "time_limit_s", MAX_OPTIMIZE_TIME_S + 1,
     f"more than 0 and at most {MAX_OPTIMIZE_TIME_S:g} seconds"),
    ({"time_limit_s": 0}, "time_limit_s", 0, "more than 0 and at most"),
    ({"ruleset": "atlantis-2030"}, "ruleset", "atlantis-2030", "unknown rule set; allowed: beijing-2018"),
    ({"ac_rounds": -1}, "ac_rounds", -1, "greater than or equal to 0"),
    ({"formulation": "magic"}, "formulation", "magic", "unknown formulation; allowed: tree, multicommodity, plain"),
])
def test_bad_settings_are_named_in_the_422(client, changes, field, value, allowed):
    answer = client.post("/optimize", json={"example": "park"} | changes)
    assert answer.status_code == 422
    item = answer.json()["detail"][0]
    assert (item["field"], item["value"]) == (field, value) and allowed in item["allowed"]


def test_an_uploaded_table_at_fault_is_named_by_its_field(client):
    corridors = TINY_TABLES["corridors"].replace("JC,J,C", "JC,J,Z")
    answer = client.post("/optimize", json={"network": TINY_TABLES | {"corridors": corridors}})
    assert answer.status_code == 422
    item = answer.json()["detail"][0]
    assert item["field"] == "network.corridors"
    assert item["allowed"].startswith("network.corridors (CSV) line 3 (id 'JC'), column to_node: node 'Z' is not in nodes.csv")


def test_an_example_and_a_network_together_are_refused(client):
    answer = client.post("/optimize", json={"example": "park", "network": TINY_TABLES})
    assert answer.status_code == 422
    assert "exactly one of example" in answer.json()["message"]


def _stream(client, request: dict) -> list[dict]:
    import json

    answer = client.post("/optimize/stream", json=request)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in answer.text.splitlines()]


def test_the_stream_reports_progress_then_the_same_answer_as_a_plain_request(client):
    request = {"network": TINY_TABLES | {"applications": TINY_APPLICATIONS}, "ruleset": "shandong-2019"}
    lines = _stream(client, request)
    progress, last = [line["progress"] for line in lines[:-1]], lines[-1]
    # the solver reports the warm start and its end at least; every line but the last is progress
    assert len(progress) >= 2 and all(set(line) == {"progress"} for line in lines[:-1])
    seconds = [sample["seconds"] for sample in progress]
    assert seconds == sorted(seconds)
    # the hand-worked route: the warm start finds it, and the end proves it (bound = incumbent, gap 0)
    assert progress[-1] == {"seconds": seconds[-1], "incumbent_cny": TINY_COST_CNY, "bound_cny": TINY_COST_CNY, "gap": 0.0}
    plain = client.post("/optimize", json=request).json()
    streamed = last["answer"]
    assert streamed["report"]["objective_cny"] == TINY_COST_CNY == plain["report"]["objective_cny"]
    assert streamed["quote"] == plain["quote"] and streamed["corridors"] == plain["corridors"]


def test_a_table_at_fault_ends_the_stream_with_the_error_a_plain_request_answers_422(client):
    corridors = TINY_TABLES["corridors"].replace("JC,J,C", "JC,J,Z")
    lines = _stream(client, {"network": TINY_TABLES | {"corridors": corridors}})
    assert len(lines) == 1 and lines[0]["status"] == 422
    item = lines[0]["error"]["detail"][0]
    assert item["field"] == "network.corridors" and item["allowed"].startswith("network.corridors (CSV) line 3 (id 'JC')")


def test_the_stream_refuses_bad_settings_with_a_422_before_any_line(client):
    answer = client.post("/optimize/stream", json={"example": "park", "time_limit_s": 0})
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "time_limit_s"
