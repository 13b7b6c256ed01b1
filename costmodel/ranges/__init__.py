"""Budget ranges from a utility's own history (issue 24): how far off might a quote be?

A history is a portfolio with what each connection finally cost (`completed_on`, `outturn_cny`). The model is
of the ratio of that outturn to the engine's own quote total, on a log scale, so a range stays anchored to the
rules and the catalogue: quantile models (scikit-learn's HistGradientBoostingRegressor, loss="quantile")
conformally calibrated per voltage group on the most recent window, with the band table a utility would
draw by hand (empirical quantiles per voltage and capacity band) as the baseline and the fallback.

- `history`: reading and validating a history, quoting it under the rules in force on each date;
- `method`: the settings (tariffs/ranges/method.yaml);
- `model`: features, band table, fit, calibration, prediction, the model file;
- `evaluate`: coverage, pinball loss and width on a held-out window, model and baseline in one run; the chart;
- `generate`: a synthetic history (examples/histories/synthetic.yaml), for demonstrations and tests;
- `attach`: ranges on quotes (`Quote.budget_range`) and the three columns of a batch;
- `schema`: the range's JSON shape; `cli`: `costmodel ranges ...`.

Only `schema` is imported by the quote itself; scikit-learn loads with `model` (the `ranges` extra).
"""

import os

RANGE_MODEL_ENV = "COSTMODEL_RANGE_MODEL"  # `costmodel serve --range MODEL` sets it, so every worker loads the model


def model_from_env():
    """The range model named by COSTMODEL_RANGE_MODEL (the server's `--range`), or None (scikit-learn not loaded)."""
    path = os.environ.get(RANGE_MODEL_ENV, "").strip()
    if not path:
        return None
    from costmodel.ranges.model import load_model

    return load_model(path)
