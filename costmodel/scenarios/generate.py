"""Synthetic portfolios drawn from documented, assumed distributions (examples/portfolios/synthetic.yaml).

Same assumptions + same seed = same portfolio, so any study can be rerun exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.application import FRAME_COLUMNS
from costmodel.errors import InputError
from costmodel.paths import EXAMPLES_DIR
from costmodel.yamlio import load_yaml

DEFAULT_ASSUMPTIONS = EXAMPLES_DIR / "portfolios" / "synthetic.yaml"


def _choice(rng: np.random.Generator, shares: dict, n: int, where: str) -> np.ndarray:
    keys = list(shares)
    weights = np.array([float(shares[k]) for k in keys])
    if (weights < 0).any() or abs(weights.sum() - 1) > 1e-6:
        raise InputError(f"{where}: shares must be >= 0 and sum to 1, got {dict(shares)} (sum {weights.sum():g})")
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=weights)]


def _lognormal(rng: np.random.Generator, spec: dict, n: int) -> np.ndarray:
    draws = rng.lognormal(np.log(float(spec["median"])), float(spec["sigma"]), size=n)
    return np.clip(draws, float(spec["min"]), float(spec["max"]))


def generate_portfolio(rows: int, seed: int, assumptions: str | Path = DEFAULT_ASSUMPTIONS) -> pd.DataFrame:
    """`rows` applications in the engine's frame layout (FRAME_COLUMNS)."""
    if rows < 1:
        raise InputError(f"--rows {rows}: allowed: a whole number >= 1")
    a = load_yaml(Path(assumptions))
    where = str(assumptions)
    rng = np.random.default_rng(seed)
    n = rows
    kind = _choice(rng, a["applicant_kind"], n, f"{where}: applicant_kind")
    enterprise = kind == "enterprise"
    residential = kind == "residential"
    e = a["enterprise"]

    start, end = pd.Timestamp(a["application_date"]["start"]), pd.Timestamp(a["application_date"]["end"])
    dates = start + pd.to_timedelta(rng.integers(0, (end - start).days + 1, size=n), unit="D")

    declared = enterprise & (rng.random(n) < float(e["declared_size_share"]))
    figures = enterprise & ~declared
    industry = np.where(enterprise, _choice(rng, e["industry"], n, f"{where}: enterprise.industry"), None)
    size_class = np.where(declared, _choice(rng, e["declared_size"], n, f"{where}: enterprise.declared_size"), None)
    employees = np.where(figures, np.round(_lognormal(rng, e["employees"], n)), np.nan)
    revenue = np.where(figures, np.round(_lognormal(rng, e["revenue_10k_cny"], n), 1), np.nan)
    assets = np.where(figures, np.round(_lognormal(rng, e["assets_10k_cny"], n), 1), np.nan)
    ownership = np.where(enterprise, _choice(rng, e["ownership"], n, f"{where}: enterprise.ownership"), None)
    in_database = enterprise & (rng.random(n) < float(e["in_project_database_share"]))
    park = np.where(enterprise, _choice(rng, e["park_level"], n, f"{where}: enterprise.park_level"),
                    _choice(rng, a["other_park_level"], n, f"{where}: other_park_level"))

    capacity = np.empty(n)
    unit = np.empty(n, dtype=object)
    for applicant, spec in a["capacity"].items():
        if not isinstance(spec, dict):
            continue
        rows_of = kind == applicant
        capacity[rows_of] = np.round(_lognormal(rng, spec, int(rows_of.sum())))
        unit[rows_of] = spec["unit"]
    in_kw = ~residential & (rng.random(n) < float(a["capacity"]["kw_share_of_non_residential"]))
    unit[in_kw] = "kW"
    pf = a["power_factor_stated"]
    power_factor = np.where(rng.random(n) < float(a["power_factor_stated_share"]),
                            np.round(rng.uniform(float(pf["min"]), float(pf["max"]), size=n), 2), np.nan)
    phases = np.where(residential & (capacity <= float(a["single_phase_max_kw"])), 1, 3)
    dual = a["dual_supply"]
    supply = np.where((capacity >= float(dual["min_kva"])) & (rng.random(n) < float(dual["share"])), "dual", "single")
    duration = np.where(rng.random(n) < float(a["temporary_share"]), "temporary", "permanent")

    frame = pd.DataFrame({
        "application_id": [f"S{seed}-{i:07d}" for i in range(n)],
        "application_date": dates,
        "applicant_kind": kind,
        "industry": industry,
        "employees": employees,
        "revenue_10k_cny": revenue,
        "assets_10k_cny": assets,
        "size_class": size_class,
        "ownership": ownership,
        "in_project_database": in_database,
        "area": _choice(rng, a["area"], n, f"{where}: area"),
        "park_level": park,
        "distance_to_lv_m": np.round(_lognormal(rng, a["distance_to_lv_m"], n)),
        "distance_to_10kv_m": np.round(_lognormal(rng, a["distance_to_10kv_m"], n)),
        "transformer_headroom_kva": np.round(_lognormal(rng, a["transformer_headroom_kva"], n)),
        "road_crossings": np.minimum(rng.poisson(float(a["road_crossings_mean"]), size=n), 50),
        "capacity": capacity,
        "capacity_unit": unit,
        "power_factor": power_factor,
        "phases": phases,
        "supply": supply,
        "duration": duration,
        "backup_capacity": np.nan,  # dual supply with a full backup
        "voltage_requested": None,  # the synthetic mix has no explicit requests for 10 kV
    })
    return frame[FRAME_COLUMNS]
