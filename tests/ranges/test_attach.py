"""Ranges on quotes, batches and comparisons, and in the API's /quote answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from costmodel.application import load_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_frame, quotes_from_batch
from costmodel.ranges.attach import budget_ranges, comparison_range_columns, portfolio_range_columns, range_frame
from costmodel.ranges.model import predict_log_quantiles, save_model


@pytest.fixture(scope="module")
def model_file(fitted, tmp_path_factory):
    return save_model(fitted, tmp_path_factory.mktemp("model") / "model.zip")


def test_a_quote_that_costs_its_customer_nothing_has_a_zero_width_customer_range(fitted, examples_dir):
    application = load_application(examples_dir / "applications" / "micro-shop.yaml")
    batch = quote_frame(application.to_frame(), load_ruleset("shandong-2019"))
    quote = budget_ranges(fitted, batch, quotes_from_batch(batch))[0]
    assert quote.totals.customer_cny == 0 and quote.totals.grid_cny > 0
    budget = quote.budget_range
    assert (budget.customer.low_cny, budget.customer.median_cny, budget.customer.high_cny) == (0, 0, 0)
    assert budget.total.low_cny < budget.total.median_cny < budget.total.high_cny
    # the grid company funds it all, so its range is the total's
    assert (budget.grid.low_cny, budget.grid.high_cny) == (budget.total.low_cny, budget.total.high_cny)
    # the total's range is the quote x exp(the model's log-ratio quantiles)
    quantiles, _ = predict_log_quantiles(fitted, pd.DataFrame({**{name: [np.asarray(batch.decided[name])[0]] for name in
                                                                 ("application_id", "applicant_kind", "area", "park_level", "capacity_kva",
                                                                  "road_crossings", "supply_voltage", "boundary")},
                                                                "customer_cny": [0.0], "grid_cny": [quote.totals.grid_cny],
                                                                "total_cny": [quote.totals.total_cny]}))
    assert budget.total.high_cny == math.floor(quote.totals.total_cny * np.exp(quantiles[0, 2]) + 0.5)  # to the yuan, halves up
    source = budget.source
    assert (source.method, source.group, source.synthetic) == ("quantile_model_cqr", "low_voltage", True)
    assert source.rows == fitted.metadata["rows"]["accepted"] and source.window_end.isoformat() == fitted.metadata["window"]["end"]
    assert any("SYNTHETIC" in warning for warning in budget.warnings)


def test_each_party_takes_its_share_of_the_total_range(fitted, quoted_history):
    rows = quoted_history.frame.head(200)
    ranges = range_frame(fitted, rows)
    for kind in ("low", "median", "high"):
        parties = ranges[f"customer_{kind}_cny"] + ranges[f"grid_{kind}_cny"]
        assert (abs(parties - ranges[f"total_{kind}_cny"]) <= 1).all()  # each rounded to the yuan
    customer_share = rows["customer_cny"] / rows["total_cny"]
    expected = (ranges["total_high_cny"] * customer_share).round()
    assert (abs(ranges["customer_high_cny"] - expected) <= 1).all()


def test_a_quote_without_a_range_model_has_no_budget_range_in_its_json(examples_dir):
    application = load_application(examples_dir / "applications" / "micro-shop.yaml")
    quote = quotes_from_batch(quote_frame(application.to_frame(), load_ruleset("shandong-2019")))[0]
    assert "budget_range" not in json.loads(quote.model_dump_json())


def test_batch_and_comparison_columns(fitted, examples_dir):
    from costmodel.scenarios.portfolio import load_portfolio
    from costmodel.scenarios.studies import compare_portfolio, quote_portfolio

    portfolio = load_portfolio(examples_dir / "portfolios" / "small.csv")
    result = quote_portfolio(portfolio, load_ruleset("shandong-2019"))
    columns = portfolio_range_columns(fitted, result.quotes, portfolio.frame)
    assert list(columns.columns) == ["total_p15_cny", "total_p50_cny", "total_p85_cny"]
    assert len(columns) == len(result.quotes)
    assert (columns["total_p15_cny"] <= columns["total_p50_cny"]).all() and (columns["total_p50_cny"] <= columns["total_p85_cny"]).all()
    comparison = compare_portfolio(portfolio, load_ruleset("shandong-2019"), load_ruleset("shandong-2019"), workers=1)
    after = comparison_range_columns(fitted, comparison.applications, portfolio.frame)
    assert list(after.columns) == ["total_after_p15_cny", "total_after_p50_cny", "total_after_p85_cny"]
    # the same rules on both sides: the reform's ranges are the batch's
    by_row = columns.set_index(result.quotes["row"].to_numpy())
    assert np.array_equal(after["total_after_p50_cny"].to_numpy(), by_row.loc[comparison.applications["row"], "total_p50_cny"].to_numpy())


def test_the_api_answers_with_the_range_when_started_with_a_model(model_file, examples_dir, monkeypatch):
    from fastapi.testclient import TestClient

    from costmodel.api import create_app
    from costmodel.ranges import RANGE_MODEL_ENV

    body = {"application": json.loads(load_application(examples_dir / "applications" / "micro-shop.yaml").model_dump_json()),
            "ruleset": "shandong-2019"}
    monkeypatch.setenv(RANGE_MODEL_ENV, str(model_file))
    with TestClient(create_app()) as client:
        answer = client.post("/quote", json=body).json()
        download = client.post("/quote.json", json=body).json()
    assert answer["budget_range"]["customer"] == {"low_cny": 0.0, "median_cny": 0.0, "high_cny": 0.0}
    from costmodel.ranges.model import load_model

    assert answer["budget_range"]["source"]["model_id"] == load_model(model_file).model_id
    assert download["budget_range"] == answer["budget_range"]
    monkeypatch.delenv(RANGE_MODEL_ENV)
    with TestClient(create_app()) as client:
        assert "budget_range" not in client.post("/quote", json=body).json()
