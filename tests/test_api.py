"""The HTTP API: a thin layer over the library, never a 500 for bad input."""

import io
import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from costmodel.api import create_app
from costmodel.application import load_application
from costmodel.params import available_rulesets, load_ruleset
from costmodel.quote import quote_application
from tests_support import EXAMPLES

WAREHOUSE = load_application(EXAMPLES / "world-bank-warehouse.yaml")


@pytest.fixture(scope="module")
def client():
    # raise_server_exceptions=False: a server error must show up as a 500 the test can see, as a client would
    return TestClient(create_app(), raise_server_exceptions=False)


def warehouse(**changes) -> dict:
    data = WAREHOUSE.model_dump(mode="json")
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[leaf] = value
    return data


def test_health_and_rulesets(client):
    assert client.get("/health").json() == {"status": "ok", "rulesets": len(available_rulesets())}
    listed = client.get("/rulesets").json()
    assert [r["id"] for r in listed] == available_rulesets()
    qingdao = next(r for r in listed if r["id"] == "shandong-2019-qingdao")
    assert qingdao["lineage"][:2] == ["shandong-2019-qingdao", "shandong-2019"]


def test_quote_is_the_library_quote(client):
    response = client.post("/quote", json={"application": warehouse(), "ruleset": "shandong-2019"})
    assert response.status_code == 200
    body = response.json()
    # hand-worked in tests/test_quote.py: 85,000 transformer + 24,000 cable + 30,000 crossing + 2,830 meter box, all grid
    assert body["totals"] == {"customer_cny": 0.0, "grid_cny": 141_830.0, "total_cny": 141_830.0, "customer_placeholder_cny": 0.0,
                              "grid_placeholder_cny": 0.0, "total_placeholder_cny": 0.0, "prepayment_cny": 0.0}
    assert body == json.loads(quote_application(WAREHOUSE, load_ruleset("shandong-2019")).model_dump_json())


@pytest.mark.parametrize(("date", "expected"), [
    ("2019-09-02", "shandong-2019+national-1996"), ("2019-06-30", "shandong-2018+national-1996"),
    ("2018-08-01", "shandong-2018+national-1996"), ("2018-07-31", "national-1996"),
    ("2026-03-02", "shandong-2019+national-2025")])
def test_the_default_ruleset_is_shandong_in_force_on_the_application_date(client, date, expected):
    body = client.post("/quote", json={"application": warehouse(application_date=date)}).json()
    assert body["ruleset"] == expected


def test_compare_gives_the_difference_last_minus_first(client):
    body = client.post("/compare", json={"application": warehouse(), "rulesets": ["national-1996", "shandong-2019"]}).json()
    assert [q["ruleset"] for q in body["quotes"]] == ["national-1996", "shandong-2019"]
    # national-1996: the customer pays 389,000 (hand-worked in tests/test_quote.py); shandong-2019: nothing
    assert body["difference_last_minus_first"] == {"customer_cny": -389_000.0, "grid_cny": 141_830.0, "total_cny": -247_170.0}


def test_what_if_gives_the_160_kva_cliff_of_the_warehouse(client):
    body = client.post("/what-if", json={"application": warehouse(), "ruleset": "shandong-2019"}).json()
    cliff = body["cliffs"][0]
    # hand-worked in tests/test_whatif.py: nothing to pay at 160 kVA, 402,000 CNY at 161 kVA (10 kV)
    assert (cliff["threshold"], cliff["below"]["customer_cny"], cliff["above"]["customer_cny"]) == (160, 0, 402_000)
    assert client.post("/what-if", json={"application": warehouse(), "ruleset": "atlantis"}).status_code == 422


def test_calendar_gives_the_working_days_with_holidays_and_adjusted_weekends(client):
    # National Day 2019 (国办发明电〔2018〕15号): 1-7 October off; Sunday 29 September and Saturday 12 October worked
    body = client.get("/calendar", params={"start": "2019-09-28", "end": "2019-10-14"}).json()
    assert body["working_days"] == ["2019-09-29", "2019-09-30", "2019-10-08", "2019-10-09", "2019-10-10", "2019-10-11",
                                    "2019-10-12", "2019-10-14"]
    assert client.get("/calendar", params={"start": "2019-09-28", "end": "2019-09-27"}).status_code == 422


def test_compare_needs_two_rulesets(client):
    response = client.post("/compare", json={"application": warehouse(), "rulesets": ["shandong-2019"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "rulesets"


@pytest.mark.parametrize(("changes", "field", "value", "allowed"), [
    ({"site__area": "suburb"}, "application.site.area", "suburb", "'urban' or 'rural'"),
    ({"request__capacity": -5}, "application.request.capacity", -5, "greater than 0"),
    ({"request__phases": 2}, "application.request.phases", 2, "1 or 3"),
    ({"application_date": "2019-13-01"}, "application.application_date", "2019-13-01", "valid date"),
    ({"site__colour": "red"}, "application.site.colour", "red", "Extra inputs are not permitted"),
])
def test_validation_errors_name_field_value_and_what_is_allowed(client, changes, field, value, allowed):
    response = client.post("/quote", json={"application": warehouse(**changes)})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == field and problem["value"] == value and allowed in problem["allowed"]


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"application": warehouse(), "ruleset": "mars"}, 422, "allowed rule sets: beijing-2018, beijing-2020"),
    ({"application": warehouse(application_date="1990-01-01")}, 422, "1990-01-01 is outside the supported dates; allowed: 1996-10-08"),
    # beyond what 10 kV serves: the core rejects the row; the API must say why, not fail
    ({"application": warehouse(request__capacity=99_999)}, 422, "exceeds what 10 kV serves"),
    ({"application": warehouse(applicant__enterprise__industry="mining")}, 422, "industry"),
    ({}, 422, "application: Field required"),
])
def test_bad_input_is_never_a_500(client, body, status, says):
    response = client.post("/quote", json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["message"]


def test_malformed_json_is_a_422(client):
    response = client.post("/quote", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "(body)"


def test_parameters_of_a_ruleset_and_the_history_of_one(client):
    rows = client.get("/rulesets/shandong-2019/parameters").json()
    ruleset = load_ruleset("shandong-2019")
    assert {r["path"] for r in rows} == set(ruleset.parameters)
    history = client.get("/parameters/supply_voltage.low_voltage_cap", params={"ruleset": "shandong-2019"}).json()
    # Shandong 2019 raised the urban low-voltage cap to 160 kVA and the rural one to 100 kVA
    latest = max(history, key=lambda r: r["since"])
    assert latest["since"] == "2019-07-01" and latest["value"] == {"urban": 160, "rural": 100} and latest["unit"] == "kVA"
    assert "城市规划区低压接入容量扩大至160千伏安" in latest["clause"] and latest["source_tag"] == "article"
    across = client.get("/parameters/supply_voltage.low_voltage_cap").json()
    assert {r["ruleset"] for r in across} == {r for r in available_rulesets() if "supply_voltage.low_voltage_cap" in load_ruleset(r).parameters}


def test_unknown_ruleset_or_parameter_in_the_url_is_a_404(client):
    assert client.get("/rulesets/../../etc/parameters").status_code == 404
    missing = client.get("/rulesets/shandong-2030/parameters")
    assert missing.status_code == 404 and "allowed: beijing-2018, beijing-2020" in missing.json()["message"]
    unknown = client.get("/parameters/no.such", params={"ruleset": "shandong-2019"})
    assert unknown.status_code == 404 and "supply_voltage.low_voltage_cap" in unknown.json()["message"]


BATCH_CSV = """application_id,application_date,applicant_kind,industry,employees,revenue_10k_cny,area,distance_to_lv_m,distance_to_10kv_m,transformer_headroom_kva,capacity,road_crossings,phases
wh,2019-09-02,enterprise,warehousing,60,2000,urban,150,150,100,140,1,3
bad-area,2019-09-02,enterprise,warehousing,60,2000,suburb,150,150,100,140,1,3
home,2019-09-02,residential,,,,rural,10,300,50,8,0,1
wh,2019-09-02,residential,,,,rural,10,300,50,8,0,1
huge,2019-09-02,enterprise,warehousing,60,2000,urban,150,150,100,99999,1,3
"""


def test_batch_quotes_valid_rows_and_gives_reasons_for_the_rest(client):
    response = client.post("/batch", content=BATCH_CSV, params={"ruleset": "shandong-2019"}, headers={"content-type": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(response.text)).fillna({"reason": ""})
    status = dict(zip(table["application_id"] + "/" + table["status"], table["reason"]))
    assert set(status) == {"wh/quoted", "home/quoted", "bad-area/rejected", "wh/rejected", "huge/rejected"}
    assert "area 'suburb' is not allowed; allowed: urban, rural" in status["bad-area/rejected"]
    assert status["bad-area/rejected"].startswith("line 3: ")
    assert "repeats an earlier row" in status["wh/rejected"]
    assert "exceeds what 10 kV serves" in status["huge/rejected"]
    quoted = table[table["status"] == "quoted"].set_index("application_id")
    assert quoted.loc["wh", "grid_cny"] == 141_830 and quoted.loc["wh", "customer_cny"] == 0
    assert quoted.loc["wh", "boundary"] == "meter"


@pytest.mark.parametrize(("content", "says"), [
    (b"x,y\n1,2\n", "columns missing"),
    (b"", "cannot read it"),
    ("application_id,application_date\n".encode(), "columns missing"),
])
def test_a_batch_that_cannot_be_read_is_a_422(client, content, says):
    response = client.post("/batch", content=content, headers={"content-type": "text/csv"})
    assert response.status_code == 422 and says in response.json()["message"]


def test_batch_with_dates_under_two_rulesets_asks_for_one(client):
    two_dates = BATCH_CSV.splitlines()[0] + "\n" + BATCH_CSV.splitlines()[1] + "\n" + BATCH_CSV.splitlines()[1].replace("wh,2019-09-02", "old,2019-01-02") + "\n"
    response = client.post("/batch", content=two_dates, headers={"content-type": "text/csv"})
    assert response.status_code == 422 and "shandong-2018+national-1996, shandong-2019+national-1996" in response.json()["message"]


def test_downloads(client):
    request = {"application": warehouse(), "ruleset": "shandong-2019"}
    page = client.post("/quote.html", json=request, params={"lang": "zh"})
    assert page.status_code == 200 and "客户出资" in page.text and "141,830" in page.text and "389,000" in page.text
    english = client.post("/quote.html", json=request, params={"lang": "en", "compare_with": ""})
    assert "Grid company invests" in english.text and "Before and after the reform" not in english.text
    pdf = client.post("/quote.pdf", json=request)
    assert pdf.content.startswith(b"%PDF-") and 'filename="quote-wb-warehouse.pdf"' in pdf.headers["content-disposition"]
    as_json = client.post("/quote.json", json=request)
    assert json.loads(as_json.content)["totals"]["grid_cny"] == 141_830
    assert client.post("/quote.pdf", json=request, params={"lang": "fr"}).status_code == 422


def test_page_and_openapi_are_served(client):
    assert "application-form" in client.get("/").text
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/quote", "/compare", "/batch", "/rulesets", "/rulesets/{ruleset_id}/parameters", "/parameters/{path}", "/health"} <= set(paths)
    assert client.get("/examples/world-bank-warehouse").json()["id"] == "wb-warehouse"
    assert client.get("/examples/nope").status_code == 404


def test_a_body_sent_as_text_is_a_422_not_a_500(client):
    # found by schemathesis: the raw bytes of the body came back in the error and could not be serialised
    response = client.post("/quote", content=json.dumps({"application": warehouse()}), headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "(body)"


def test_a_non_ascii_application_id_downloads_under_an_ascii_file_name(client):
    # found by schemathesis: the id went into the Content-Disposition header, which must be Latin-1
    response = client.post("/quote.json", json={"application": warehouse(id="仓库-1")})
    assert response.status_code == 200
    assert 'filename="quote-__-1.json"' in response.headers["content-disposition"]


def test_concurrent_quotes_share_a_batch_yet_each_gets_its_own_answer():
    import asyncio

    import httpx

    from costmodel.application import parse_application

    base = WAREHOUSE.model_dump(mode="json")
    capacities = [20, 140, 161, 900, 20_000, 140]  # the same id every time; 20,000 kVA is beyond 10 kV

    def variant(capacity):
        return {**base, "request": {**base["request"], "capacity": capacity}}

    async def send_all():
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/quote", json={"application": variant(c), "ruleset": "shandong-2019"})
                                          for c in capacities))

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 422, 200]
    assert "exceeds what 10 kV serves" in responses[4].json()["message"]
    for capacity, response in zip(capacities, responses):
        if response.status_code == 200:
            alone = quote_application(parse_application(variant(capacity)), load_ruleset("shandong-2019"))
            assert response.json() == alone.model_dump(mode="json")


def test_startup_loads_the_tariffs_and_freezes_them_out_of_the_collector():
    import gc

    gc.unfreeze()
    with TestClient(create_app()) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/health").status_code == 200
    gc.unfreeze()


def test_the_coalescer_closes_its_window_once_the_last_batch_size_is_back(monkeypatch):
    import asyncio
    import time

    import costmodel.api.coalescer as api

    batches = []
    monkeypatch.setattr(api, "quote_many", lambda items, range_model=None: batches.append(len(items)) or [None] * len(items))
    ruleset = load_ruleset("shandong-2019")
    window_s = 1.0  # long, and the bounds below at half of it: an event loop's delays on a slow machine stay inside
    coalescer = api.QuoteCoalescer(window_s=window_s)

    async def requests(count: int, gap_s: float = 0.0) -> float:
        """`count` requests, each `gap_s` after the previous; seconds until all are answered."""
        start = time.perf_counter()

        async def one(delay_s: float):
            await asyncio.sleep(delay_s)
            return await coalescer.quote(WAREHOUSE, ruleset)

        await asyncio.gather(*(one(i * gap_s) for i in range(count)))
        return time.perf_counter() - start

    async def scenario():
        sent_together = await requests(3)  # no batch yet, nothing to wait for: all three arrive in one tick
        trickling = await requests(3, gap_s=0.05)  # the last batch held 3: the window closes when the third arrives
        fewer = await requests(2)  # 2 < 3: the window runs its full length for a third that never comes
        return sent_together, trickling, fewer

    sent_together, trickling, fewer = asyncio.run(scenario())
    assert batches == [3, 3, 2]
    assert sent_together < window_s / 2 and 0.1 <= trickling < window_s / 2 and fewer >= window_s


def test_the_quote_fast_path_reads_a_body_in_pieces_and_hands_what_it_cannot_answer_to_the_route():
    import asyncio

    app = create_app()

    def call(body: bytes, pieces: int, content_type: bytes = b"application/json") -> tuple[int, dict]:
        size = -(-len(body) // pieces)
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)]
        sent = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/quote", "raw_path": b"/quote", "query_string": b"",
                 "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
                 "http_version": "1.1", "scheme": "http", "server": ("test", 80), "client": ("test", 1), "root_path": ""}
        asyncio.run(app(scope, receive, send))
        return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))

    good = json.dumps({"application": warehouse(), "ruleset": "shandong-2019"}).encode()
    status, body = call(good, pieces=3)
    assert status == 200 and body == quote_application(WAREHOUSE, load_ruleset("shandong-2019")).model_dump(mode="json")
    # a rule error and a body that is not JSON: the route answers, from the replayed body, in its own format
    status, body = call(json.dumps({"application": warehouse(request__capacity=99_999)}).encode(), pieces=2)
    assert status == 422 and "exceeds what 10 kV serves" in body["message"]
    status, body = call(good, pieces=2, content_type=b"text/plain")
    assert status == 422 and body["detail"][0]["field"] == "(body)"


def test_a_middleware_added_to_the_app_sees_the_quotes_the_fast_path_answers():
    """A deployment's own middleware (auth, CORS, logging), added after create_app, wraps the /quote fast path too:
    Starlette puts the middleware added last outermost."""
    from fastapi.responses import JSONResponse
    from starlette.middleware.base import BaseHTTPMiddleware

    app = create_app()
    seen = []

    async def refuse_without_a_key(request, call_next):
        seen.append(request.url.path)
        if request.headers.get("x-api-key") != "secret":
            return JSONResponse({"detail": "no key"}, status_code=401)
        return await call_next(request)

    app.add_middleware(BaseHTTPMiddleware, dispatch=refuse_without_a_key)
    with TestClient(app) as client:
        body = {"application": warehouse(), "ruleset": "shandong-2019"}
        assert client.post("/quote", json=body).status_code == 401
        answered = client.post("/quote", json=body, headers={"x-api-key": "secret"})
    # the grid company funds the small enterprise's whole connection: 85,000 + 24,000 + 30,000 + 2,830 (tests/test_quote.py)
    assert answered.status_code == 200 and answered.json()["totals"]["grid_cny"] == 141_830
    assert seen == ["/quote", "/quote"]
