"""How good a range model is on a held-out window: the history's rows completed after the model's window.

Reported overall, per voltage group and per capacity band, for the model and for the band-table baseline in the
same run: coverage of [low, high] (the share of outturns inside), pinball loss at each quantile (on the log
ratio ln(outturn / quote): scale-free, so a 10 kV project does not outweigh a thousand households), the mean
width of [low, high] as a share of the quote and in CNY, and each quantile's observed level (the share of
outturns at or below it), which the calibration chart draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from costmodel import files
from costmodel.errors import InputError
from costmodel.ranges.history import QuotedHistory
from costmodel.ranges.model import RangeModel, band_labels, band_log_quantiles, band_order, predict_log_quantiles, window_dates


def pinball_loss(y: np.ndarray, predicted: np.ndarray, tau: float) -> float:
    difference = y - predicted
    return float(np.mean(np.maximum(tau * difference, (tau - 1) * difference)))


def metrics(y: np.ndarray, quantiles: np.ndarray, total_cny: np.ndarray, levels: tuple[float, ...]) -> dict:
    """Coverage, pinball loss per quantile, widths and observed levels of one set of predicted log-ratio quantiles."""
    low, high = quantiles[:, 0], quantiles[:, -1]
    result = {"rows": int(len(y)), "coverage": float(np.mean((y >= low) & (y <= high)))}
    for column, tau in enumerate(levels):
        result[f"pinball_p{round(tau * 100)}"] = pinball_loss(y, quantiles[:, column], tau)
    result["mean_width_ratio"] = float(np.mean(np.exp(high) - np.exp(low)))
    result["mean_width_cny"] = float(np.mean(total_cny * (np.exp(high) - np.exp(low))))
    result["observed_levels"] = [float(np.mean(y <= quantiles[:, column])) for column in range(len(levels))]
    return result


def held_out(model: RangeModel, history: QuotedHistory) -> pd.DataFrame:
    """The history's rows completed after the model's window: the time-ordered held-out window."""
    end = pd.Timestamp(window_dates(model)["end"])
    rows = history.frame[history.frame["completed_on"] > end]
    if rows.empty:
        raise InputError(f"{history.source}: no row completed after {end.date()}, the end of the model's window; allowed: a "
                         "history with later completions (fit with --until to hold some out)")
    return rows.reset_index(drop=True)


def evaluate(model: RangeModel, history: QuotedHistory) -> dict:
    """Model and band-table baseline on the held-out window, overall, per voltage group and per capacity band."""
    rows = held_out(model, history)
    levels = model.quantiles
    y, total = rows["log_ratio"].to_numpy(), rows["total_cny"].to_numpy()
    predicted, source = predict_log_quantiles(model, rows)
    baseline = band_log_quantiles(model, rows)
    bands = band_labels(rows["capacity_kva"])
    groupings = {"supply_voltage": (rows["supply_voltage"].astype(str).to_numpy(), sorted(set(rows["supply_voltage"].astype(str)))),
                 "capacity_band": (bands, [band for band in band_order() if (bands == band).any()])}

    def both(mask: np.ndarray) -> dict:
        return {"model": metrics(y[mask], predicted[mask], total[mask], levels),
                "baseline": metrics(y[mask], baseline[mask], total[mask], levels)}

    everything = np.ones(len(rows), dtype=bool)
    return {
        "model_id": model.model_id, "synthetic": model.metadata["synthetic"], "quantiles": list(levels),
        "model_window": model.metadata["window"],
        "held_out": {"source": history.source, "start": rows["completed_on"].min().date().isoformat(),
                     "end": rows["completed_on"].max().date().isoformat(), "rows": len(rows), "history_rows_in": history.rows_in,
                     "history_rows_rejected": len(history.rejected)},
        "methods": pd.Series(source["method"]).value_counts().to_dict(),
        "overall": both(everything),
        **{f"by_{name}": {group: both(labels == group) for group in order} for name, (labels, order) in groupings.items()},
        "warnings": history.warnings,
    }


def calibration_chart(report: dict, path: str | Path) -> Path:
    """Observed against nominal level of each quantile (model and baseline, overall and per voltage group), and the
    coverage of [low, high] per group against the nominal coverage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = report["quantiles"]
    nominal = levels[-1] - levels[0]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle=":", label="perfect calibration")
    groups = {"overall": report["overall"], **report["by_supply_voltage"]}
    for (name, entry), marker in zip(groups.items(), "osd^v"):
        for kind, colour in (("model", "tab:blue"), ("baseline", "tab:orange")):
            left.plot(levels, entry[kind]["observed_levels"], marker=marker, color=colour, linewidth=1,
                      label=f"{kind}, {name}")
    left.set_xlabel("nominal quantile")
    left.set_ylabel("share of outturns at or below it")
    left.set_xlim(0, 1)
    left.set_ylim(0, 1)
    left.legend(fontsize=7)
    left.set_title(f"Calibration on {report['held_out']['rows']:,} held-out rows")
    names = list(groups)
    positions = np.arange(len(names))
    for offset, (kind, colour) in zip((-0.2, 0.2), (("model", "tab:blue"), ("baseline", "tab:orange"))):
        right.bar(positions + offset, [groups[name][kind]["coverage"] for name in names], width=0.4, color=colour, label=kind)
    right.axhline(nominal, color="grey", linestyle=":", label=f"nominal {nominal:.0%}")
    right.set_xticks(positions, names)
    right.set_ylim(0, 1)
    right.set_ylabel(f"coverage of [P{round(levels[0] * 100)}, P{round(levels[-1] * 100)}]")
    right.legend(fontsize=7)
    right.set_title("Coverage by voltage group" + (" (synthetic history)" if report["synthetic"] else ""))
    figure.tight_layout()
    try:
        return files.save_figure(figure, path)
    finally:
        plt.close(figure)
