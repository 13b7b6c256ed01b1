"""A SYNTHETIC outturn history (examples/histories/synthetic.yaml): applications of the synthetic portfolio mix,
quoted by the engine, with an outturn drawn around each quote. Same assumptions + same seed = same history.

Nothing in it is a utility's data. It lets budget ranges be shown and tested: the outturn's log ratio to the
quote has effects by area, voltage and road crossings, a price drift over time, a late shift that older rows do
not show, and Student t noise (heavy tails) whose scale depends on the voltage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.application import FRAME_COLUMNS
from costmodel.errors import InputError
from costmodel.paths import EXAMPLES_DIR
from costmodel.ranges.history import quote_history_frame
from costmodel.scenarios.generate import generate_portfolio
from costmodel.yamlio import check_keys, load_yaml

DEFAULT_HISTORY_ASSUMPTIONS = EXAMPLES_DIR / "histories" / "synthetic.yaml"
KEYS = {"id", "description", "portfolio", "application_date", "ruleset", "lead_time_days", "log_ratio", "noise"}
RATIO_KEYS = {"intercept", "area", "supply_voltage", "per_road_crossing", "drift_per_year", "step"}


@dataclass
class GeneratedHistory:
    frame: pd.DataFrame  # FRAME_COLUMNS + completed_on, outturn_cny, in completion order
    not_quoted: int  # generated applications the engine refused or quoted at 0 CNY: no outturn can be drawn for them
    assumptions: dict


def load_assumptions(path: str | Path = DEFAULT_HISTORY_ASSUMPTIONS) -> dict:
    path = Path(path)
    raw = check_keys(load_yaml(path), str(path), KEYS)
    check_keys(raw["log_ratio"], f"{path}: log_ratio", RATIO_KEYS)
    check_keys(raw["noise"], f"{path}: noise", {"df", "scale"})
    portfolio = Path(raw["portfolio"])
    return {**raw, "portfolio": portfolio if portfolio.is_absolute() else path.parent / portfolio}


def log_ratio_location(quoted: pd.DataFrame, completed_on: pd.Series, assumptions: dict) -> np.ndarray:
    """The centre of each row's log ratio (the noise's median): effects of area, voltage and crossings, the drift since
    the first application date and the shift after the step date, at the completion date."""
    ratio = assumptions["log_ratio"]
    start = pd.Timestamp(assumptions["application_date"]["start"])
    years = (pd.to_datetime(completed_on) - start).dt.days.to_numpy() / 365.25
    step = ratio["step"]
    shifted = (pd.to_datetime(completed_on) >= pd.Timestamp(step["date"])).to_numpy()
    return (float(ratio["intercept"])
            + quoted["area"].map({k: float(v) for k, v in ratio["area"].items()}).to_numpy(dtype=float)
            + quoted["supply_voltage"].map({k: float(v) for k, v in ratio["supply_voltage"].items()}).to_numpy(dtype=float)
            + float(ratio["per_road_crossing"]) * quoted["road_crossings"].to_numpy(dtype=float)
            + float(ratio["drift_per_year"]) * years
            + np.where(shifted, float(step["shift"]), 0.0))


def noise_scale(quoted: pd.DataFrame, assumptions: dict) -> np.ndarray:
    return quoted["supply_voltage"].map({k: float(v) for k, v in assumptions["noise"]["scale"].items()}).to_numpy(dtype=float)


def generate_history(rows: int, seed: int, assumptions_path: str | Path = DEFAULT_HISTORY_ASSUMPTIONS) -> GeneratedHistory:
    """`rows` applications drawn, quoted and given an outturn; those the engine cannot quote are counted, not kept."""
    assumptions = load_assumptions(assumptions_path)
    frame = generate_portfolio(rows, seed, assumptions["portfolio"])
    rng = np.random.default_rng([seed, 24])  # a stream of its own: the portfolio's draws stay those of `portfolio generate`
    start, end = pd.Timestamp(assumptions["application_date"]["start"]), pd.Timestamp(assumptions["application_date"]["end"])
    if end < start:
        raise InputError(f"{assumptions_path}: application_date end {end.date()} is before start {start.date()}")
    frame["application_date"] = start + pd.to_timedelta(rng.integers(0, (end - start).days + 1, size=rows), unit="D")
    frame["application_id"] = [f"H{seed}-{i:07d}" for i in range(rows)]
    quoted, _, _ = quote_history_frame(frame.assign(row=np.arange(1, rows + 1)), str(assumptions["ruleset"]))
    quoted = quoted[quoted["total_cny"].to_numpy() > 0].reset_index(drop=True)
    kept = frame.iloc[quoted["row"].to_numpy() - 1].reset_index(drop=True)
    n = len(kept)
    lead = np.empty(n)
    for voltage, spec in assumptions["lead_time_days"].items():
        at = (quoted["supply_voltage"] == voltage).to_numpy()
        draws = rng.lognormal(np.log(float(spec["median"])), float(spec["sigma"]), size=int(at.sum()))
        lead[at] = np.clip(np.round(draws), float(spec["min"]), float(spec["max"]))
    completed = kept["application_date"] + pd.to_timedelta(lead, unit="D")
    noise = rng.standard_t(float(assumptions["noise"]["df"]), size=n)
    log_ratio = log_ratio_location(quoted, completed, assumptions) + noise_scale(quoted, assumptions) * noise
    history = kept[FRAME_COLUMNS].assign(completed_on=completed.dt.normalize(),
                                         outturn_cny=np.round(quoted["total_cny"].to_numpy() * np.exp(log_ratio)))
    history = history.sort_values(["completed_on", "application_id"], kind="stable").reset_index(drop=True)
    return GeneratedHistory(history, rows - n, assumptions)
