"""POST /quote answers byte-for-byte as recorded, one request at a time and coalesced into batches.

The recorded answers (tests/data/quote_snapshot.jsonl) guard the speed work on the API: a faster
path must give the identical response. The requests are a spread of applications (the example
cases and a seeded synthetic portfolio, some beyond 10 kV and so rejected) under every rule set and
both jurisdictions. Re-record only when a change of answers is intended and reviewed:
`.venv/bin/python tests/test_api_snapshot.py`.
"""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from costmodel.api import create_app
from costmodel.application import application_from_row, load_application
from costmodel.params import available_rulesets
from costmodel.scenarios.generate import generate_portfolio
from tests_support import EXAMPLES

SNAPSHOT = Path(__file__).parent / "data" / "quote_snapshot.jsonl"


def snapshot_requests() -> list[dict]:
    applications = [load_application(path) for path in sorted(EXAMPLES.glob("*.yaml"))]
    portfolio = generate_portfolio(rows=48, seed=4)
    applications += [application_from_row(row) for _, row in portfolio.iterrows()]
    rulesets = available_rulesets() + ["shandong", "national"]
    requests = [{"application": application.model_dump(mode="json"), "ruleset": rulesets[i % len(rulesets)]}
                for i, application in enumerate(applications)]
    for request in requests[8::9]:  # beyond what 10 kV serves: rejected with the reason
        request["application"]["request"].update(capacity=60_000, capacity_unit="kVA")
    return requests


def recorded() -> list[dict]:
    return [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def app():
    return create_app()


def test_the_snapshot_covers_quotes_and_rejections():
    statuses = [entry["status"] for entry in recorded()]
    assert statuses.count(200) >= 40 and statuses.count(422) >= 1


def test_each_quote_alone_is_the_recorded_answer(app):
    client = TestClient(app)
    for entry in recorded():
        response = client.post("/quote", json=entry["request"])
        assert (response.status_code, response.json()) == (entry["status"], entry["response"]), entry["request"]["application"]["id"]


def test_quotes_sent_together_share_batches_and_answer_as_recorded(app):
    entries = recorded()

    async def send_all():
        # The coalescer needs the app's event loop: call the ASGI app directly, all requests at once.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/quote", json=entry["request"]) for entry in entries))

    responses = asyncio.run(send_all())
    for entry, response in zip(entries, responses):
        assert (response.status_code, response.json()) == (entry["status"], entry["response"]), entry["request"]["application"]["id"]


if __name__ == "__main__":
    client = TestClient(create_app())
    SNAPSHOT.parent.mkdir(exist_ok=True)
    with SNAPSHOT.open("w", encoding="utf-8") as out:
        for request in snapshot_requests():
            response = client.post("/quote", json=request)
            out.write(json.dumps({"request": request, "status": response.status_code, "response": response.json()},
                                 ensure_ascii=False) + "\n")
