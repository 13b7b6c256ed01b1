"""`costmodel ranges generate-history | fit | evaluate` and `quote --range` from the command line."""

from __future__ import annotations

import json

import pandas as pd

from costmodel.cli import run


def test_generate_fit_evaluate_and_quote(tmp_path, examples_dir, capsys):
    history, model = tmp_path / "history.csv", tmp_path / "model.zip"
    assert run(["ranges", "generate-history", "--rows", "1500", "--seed", "3", "--out", str(history)]) == 0
    assert "1,500 rows of a SYNTHETIC history" in capsys.readouterr().out
    frame = pd.read_csv(history)
    assert len(frame) == 1500 and {"completed_on", "outturn_cny"} <= set(frame.columns)
    assert frame["completed_on"].is_monotonic_increasing
    assert run(["ranges", "fit", str(history), "--out", str(model), "--until", "2024-06-30", "--synthetic"]) == 0
    out = capsys.readouterr().out
    held_out = int((pd.to_datetime(frame["completed_on"]) > "2024-06-30").sum())
    assert f"1,500 rows in = {1500 - held_out:,} accepted + 0 rejected (+ {held_out:,} completed after 2024-06-30, held out)" in out
    assert run(["ranges", "fit", str(history), "--out", str(model)]) == 1  # exists, no --force
    assert "give --force" in capsys.readouterr().err
    assert run(["ranges", "evaluate", str(model), str(history), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["held_out"]["rows"] == held_out
    assert set(report["overall"]) == {"model", "baseline"}
    assert (tmp_path / "model.calibration.png").stat().st_size > 0
    assert run(["quote", str(examples_dir / "applications" / "micro-shop.yaml"), "--range", str(model), "--format", "json"]) == 0
    quote = json.loads(capsys.readouterr().out)
    assert quote["budget_range"]["customer"] == {"low_cny": 0.0, "median_cny": 0.0, "high_cny": 0.0}
    assert run(["quote", str(examples_dir / "applications" / "micro-shop.yaml"), "--range", str(model)]) == 0
    assert "How far off it might be (P15 / P50 / P85" in capsys.readouterr().out


def test_a_history_without_outturn_is_a_user_error(tmp_path, examples_dir, capsys):
    assert run(["ranges", "fit", str(examples_dir / "portfolios" / "small.csv"), "--out", str(tmp_path / "m.zip")]) == 1
    assert "column(s) completed_on, outturn_cny missing" in capsys.readouterr().err
    assert run(["quote", str(examples_dir / "applications" / "micro-shop.yaml"), "--range", str(tmp_path / "none.zip")]) == 1
    assert "none.zip: model file not found" in capsys.readouterr().err


def test_batch_and_compare_portfolio_add_the_three_columns(fitted, tmp_path, examples_dir, capsys):
    from costmodel.ranges.model import save_model

    model = save_model(fitted, tmp_path / "model.zip")
    portfolio = examples_dir / "portfolios" / "small.csv"
    quotes = tmp_path / "quotes.csv"
    assert run(["batch", str(portfolio), "--ruleset", "shandong-2019", "--out", str(quotes), "--range", str(model)]) == 0
    table = pd.read_csv(quotes)
    assert list(table.columns[-3:]) == ["total_p15_cny", "total_p50_cny", "total_p85_cny"]
    assert len(table) == len(pd.read_csv(portfolio)) and table["total_p85_cny"].notna().all()
    assert run(["compare-portfolio", str(portfolio), "--baseline", "shandong-2019", "--reform", "rural-lv-cap-160",
                "--out", str(tmp_path / "cmp"), "--range", str(model), "--workers", "1"]) == 0
    affected = pd.read_csv(tmp_path / "cmp" / "affected.csv")
    assert list(affected.columns[-3:]) == ["total_after_p15_cny", "total_after_p50_cny", "total_after_p85_cny"]
    capsys.readouterr()
