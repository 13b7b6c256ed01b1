"""The range model against a history whose distribution is known (tests/ranges/conftest.py): ln(outturn / quote) =
0.1 if rural + 0.1 if 10 kV + 0.05 per road crossing + 0.3 from 2023-07-01 on + 0.2 x Student t (5 degrees of
freedom). Its true tau-quantile is that sum with 0.2 x t5.ppf(tau) for the noise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from costmodel.errors import InputError
from costmodel.ranges.evaluate import evaluate, held_out, pinball_loss
from costmodel.ranges.model import (BAND_METHOD, MODEL_METHOD, conformal_corrections, fit, load_model, predict_log_quantiles,
                                    save_model)
from tests.ranges.conftest import STEP, UNTIL

DF, SCALE = 5, 0.2


def true_quantile(rows: pd.DataFrame, tau: float) -> np.ndarray:
    """Worked from the generator's stated law (conftest.known_assumptions), not from its code."""
    after_step = (rows["completed_on"] >= pd.Timestamp("2023-07-01")).to_numpy()
    return (0.1 * (rows["area"] == "rural").to_numpy() + 0.1 * (rows["supply_voltage"] == "10kV").to_numpy()
            + 0.05 * rows["road_crossings"].to_numpy() + STEP * after_step + SCALE * stats.t.ppf(tau, DF))


def quantile_standard_error(tau: float, rows: int) -> float:
    """Standard error of an empirical tau-quantile of `rows` draws of 0.2 x t5: sqrt(tau (1 - tau) / n) / f(q_tau)."""
    density = stats.t.pdf(stats.t.ppf(tau, DF), DF) / SCALE
    return math.sqrt(tau * (1 - tau) / rows) / density


def test_conformal_corrections_are_the_finite_sample_order_statistics():
    # 19 residuals 1..19 in each column: tau 0.85 takes the ceil(20 x 0.85) = 17th smallest, tau 0.5 the ceil(10) = 10th,
    # tau 0.15 the floor(20 x 0.15) = 3rd.
    residuals = np.tile(np.arange(1.0, 20.0)[::-1, None], (1, 3))
    assert conformal_corrections(residuals, (0.15, 0.5, 0.85)).tolist() == [3.0, 10.0, 17.0]
    # With 3 rows, ceil(4 x 0.85) = 4 is past the end: the largest; floor(4 x 0.15) = 0 is before it: the smallest.
    assert conformal_corrections(np.array([[5.0], [1.0], [3.0]]), (0.85,)).tolist() == [5.0]
    assert conformal_corrections(np.array([[5.0], [1.0], [3.0]]), (0.15,)).tolist() == [1.0]


def test_pinball_loss_by_hand():
    # y - q = 1 and -1: at tau 0.85 the losses are 0.85 x 1 and 0.15 x 1; mean 0.5
    assert pinball_loss(np.array([1.0, -1.0]), np.zeros(2), 0.85) == pytest.approx(0.5)
    assert pinball_loss(np.array([2.0]), np.zeros(1), 0.15) == pytest.approx(0.3)


def test_fitted_quantiles_land_on_the_true_ones(fitted, quoted_history, method):
    """Tolerance: the calibrated quantile of a cell is the model's estimate (about an empirical quantile of the cell's
    training rows) plus the group's correction (an empirical quantile of its calibration residuals); their standard
    errors add in quadrature, and 4 of them is the tolerance (a false alarm about once in 16,000 comparisons)."""
    rows = held_out(fitted, quoted_history)
    predicted, source = predict_log_quantiles(fitted, rows)
    assert set(source["method"]) == {MODEL_METHOD}
    training = quoted_history.until(UNTIL, 1).frame
    training = training[training["completed_on"] < pd.Timestamp("2023-07-01")]
    calibration_rows = fitted.metadata["groups"]["low_voltage"]["calibration_rows"]
    checked = 0
    for area in ("urban", "rural"):
        cell = ((rows["supply_voltage"] == "low_voltage") & (rows["area"] == area) & (rows["road_crossings"] == 0)).to_numpy()
        trained = int(((training["supply_voltage"] == "low_voltage") & (training["area"] == area) & (training["road_crossings"] == 0)).sum())
        assert cell.sum() >= 100 and trained >= 300
        for column, tau in enumerate(method.quantiles):
            tolerance = 4 * math.hypot(quantile_standard_error(tau, trained), quantile_standard_error(tau, calibration_rows))
            error = float(np.mean(predicted[cell, column] - true_quantile(rows[cell], tau)))
            assert abs(error) <= tolerance, (area, tau, error, tolerance)
            checked += 1
    assert checked == 6


def test_calibration_keeps_coverage_under_a_drift_the_training_rows_did_not_see(fitted, quoted_history):
    """Tolerance: coverage on n held-out rows is a binomial share, variance 0.7 x 0.3 / n; the calibrated interval's own
    coverage, set by m calibration rows, varies about as a Beta around 0.7, variance 0.7 x 0.3 / m; 4 standard
    deviations of their sum. The raw model, trained before the +0.3 step, covers about P(-0.53 <= 0.2 t5 <= -0.07),
    a third: below 0.7 minus the tolerance in both groups."""
    rows = held_out(fitted, quoted_history)
    y = rows["log_ratio"].to_numpy()
    for group in ("low_voltage", "10kV"):
        in_group = (rows["supply_voltage"] == group).to_numpy()
        calibration_rows = fitted.metadata["groups"][group]["calibration_rows"]
        tolerance = 4 * math.sqrt(0.7 * 0.3 / in_group.sum() + 0.7 * 0.3 / calibration_rows)
        calibrated, _ = predict_log_quantiles(fitted, rows[in_group])
        raw, _ = predict_log_quantiles(fitted, rows[in_group], calibrated=False)
        covered = np.mean((y[in_group] >= calibrated[:, 0]) & (y[in_group] <= calibrated[:, 2]))
        raw_covered = np.mean((y[in_group] >= raw[:, 0]) & (y[in_group] <= raw[:, 2]))
        assert abs(covered - 0.70) <= tolerance, (group, covered, tolerance)
        assert raw_covered < 0.70 - tolerance, (group, raw_covered, tolerance)


def test_evaluation_reports_model_and_baseline_in_one_run(fitted, quoted_history):
    report = evaluate(fitted, quoted_history)
    rows = held_out(fitted, quoted_history)
    assert report["held_out"]["rows"] == len(rows)
    assert report["held_out"]["start"] > fitted.metadata["window"]["end"]
    assert set(report["by_supply_voltage"]) == {"low_voltage", "10kV"}
    assert sum(entry["model"]["rows"] for entry in report["by_capacity_band"].values()) == len(rows)
    overall = report["overall"]
    # the same figures recomputed from the predictions
    predicted, _ = predict_log_quantiles(fitted, rows)
    y = rows["log_ratio"].to_numpy()
    assert overall["model"]["coverage"] == pytest.approx(np.mean((y >= predicted[:, 0]) & (y <= predicted[:, 2])))
    assert overall["model"]["pinball_p50"] == pytest.approx(pinball_loss(y, predicted[:, 1], 0.5))
    # the band table, two years back, half of it before the step, sits too low: the model beats it at every quantile
    for name in ("pinball_p15", "pinball_p50", "pinball_p85"):
        assert overall["model"][name] < overall["baseline"][name]


def test_model_file_round_trip_and_provenance(fitted, quoted_history, tmp_path):
    path = save_model(fitted, tmp_path / "model.zip")
    loaded = load_model(path)
    rows = held_out(fitted, quoted_history).head(50)
    assert np.array_equal(predict_log_quantiles(loaded, rows)[0], predict_log_quantiles(fitted, rows)[0])
    metadata = loaded.metadata
    assert metadata["format_version"] == 1 and metadata["synthetic"] is True
    assert metadata["catalogs"] == ["cn-indicative-2019 2019-1"]
    from costmodel.params import load_ruleset

    assert metadata["rulesets"]["shandong-2019"]["content_hash"] == load_ruleset("shandong-2019").content_hash
    assert metadata["window"]["end"] <= UNTIL.isoformat() and metadata["window"]["calibration_start"] >= "2023-07-01"
    assert loaded.model_id == fitted.model_id and len(loaded.model_id) == 16


def test_a_model_file_of_another_format_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "old.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", '{"format": "costmodel-range-model", "format_version": 99}')
    with pytest.raises(InputError, match="version 99.*allowed: costmodel-range-model version 1"):
        load_model(path)
    (tmp_path / "junk.zip").write_text("not a zip")
    with pytest.raises(InputError, match="not a range model file"):
        load_model(tmp_path / "junk.zip")


def test_a_thin_voltage_group_falls_back_to_the_band_table_with_a_warning(quoted_history, method):
    from dataclasses import replace

    history = quoted_history.until(UNTIL, 1)
    ten_kv = int((history.frame["supply_voltage"] == "10kV").sum())
    thin = replace(method, min_rows_per_group=ten_kv + 1)  # more rows than 10 kV has, fewer than low voltage
    model = fit(history, thin)
    assert model.metadata["groups"]["10kV"]["method"] == BAND_METHOD
    assert model.metadata["groups"]["low_voltage"]["method"] == MODEL_METHOD
    assert any("10kV" in warning and "band table" in warning for warning in model.warnings)
    rows = history.frame[history.frame["supply_voltage"] == "10kV"].head(5)
    predicted, source = predict_log_quantiles(model, rows)
    assert set(source["method"]) == {BAND_METHOD}
    cell_rows = source["group_rows"]
    assert (cell_rows >= thin.min_rows_per_band_cell).all()


def test_the_flat_forest_predicts_what_scikit_learn_predicts(fitted, quoted_history):
    from costmodel.ranges.model import features

    x = features(quoted_history.frame.head(500), fitted.metadata["vocabulary"])
    x[::7, 0] = np.nan  # missing labels take the trees' missing-value branches
    for forest, estimator in zip(fitted.forests, fitted.estimators):
        assert np.allclose(forest.predict(x), estimator.predict(x), rtol=0, atol=1e-12)


def test_band_labels_are_the_study_bands():
    from costmodel.ranges.model import band_labels
    from costmodel.scenarios.studies import capacity_band, capacity_band_edges

    edges = capacity_band_edges()[:-1]
    capacities = np.concatenate([edges, np.array(edges) + 0.5, [0.1, 1e6]])
    assert band_labels(capacities).tolist() == capacity_band(pd.Series(capacities)).astype(str).tolist()
