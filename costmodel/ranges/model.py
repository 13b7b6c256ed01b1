"""The range model: quantiles of ln(outturn / quote total), fitted, calibrated and written as one versioned file.

- **Quantile model**: one scikit-learn HistGradientBoostingRegressor(loss="quantile") per quantile over the
  application's features and the quote's (voltage, boundary, total, the customer's share), fitted on the history
  before the calibration window.
- **Conformal calibration** (conformalized quantile regression, CQR, in its asymmetric form: Romano, Patterson and
  Candès 2019, section 6; each quantile corrected on its own), per voltage group, on the most recent window: the
  correction of quantile tau is the ceil((n+1) tau)-th (for tau < 0.5 the floor) smallest of the n residuals
  y - q_tau(x) of the group's calibration rows. Exchangeable rows then fall below the low quantile at most 15 % and
  above the high one at most 15 % of the time, so [low, high] covers at least 70 %; a drift the training rows did
  not see is absorbed by the corrections as far as the recent window shows it. Written here, not with MAPIE: it is
  these few lines, the groups and the recent window are ours to choose, and the model file keeps plain numbers
  (MAPIE's objects would have to be pickled too, and its API changed at 1.0).
- **Band table** (the baseline, and the fallback of a voltage group with too few rows): the empirical quantiles of
  the log ratio per voltage x capacity band over the last two years, as a utility would draw it by hand; a thin cell
  takes its voltage group's, a thin group the whole window's.
- Quantiles that cross are sorted.

The file is a zip: `metadata.json` (format version, catalogue edition, rule-set hashes, windows, row counts, the
corrections, the band table, the settings; readable without loading any model) and `estimators.pkl` (the fitted
regressors, pickled: load only model files you trust, as with any pickle).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import pickle
import zipfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel import files
from costmodel.errors import InputError
from costmodel.ranges.history import QuotedHistory
from costmodel.ranges.method import Method
from costmodel.scenarios.studies import capacity_band, capacity_band_edges

try:
    import sklearn
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - the message is the point
    raise InputError("budget ranges need scikit-learn: pip install 'costmodel[ranges]'") from None

FORMAT = "costmodel-range-model"
FORMAT_VERSION = 1
CATEGORICAL = ["supply_voltage", "area", "applicant_kind", "boundary", "park_level"]
LOGGED = ["capacity_kva", "total_cny"]  # ln(1 + x): they span orders of magnitude
PLAIN = ["road_crossings", "customer_share"]
FEATURES = CATEGORICAL + LOGGED + PLAIN
MODEL_METHOD, BAND_METHOD = "quantile_model_cqr", "band_table"
# scikit-learn's boosting runs OpenMP threads; on a busy machine they wait on each other: a fit of 3,000 rows took
# 11.4 s with two threads and 1.3 s with one on the shared two-core machine, and a one-row prediction pays the
# threads' start for nothing. One thread, always (docs/performance.md, "Budget ranges").


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()  # finding the loaded libraries costs 4 ms: once per process


def one_thread():
    return _threadpools().limit(limits=1, user_api="openmp")


# Up to this many (row x tree) pairs, predictions walk every tree at once in numpy (Forest); beyond, scikit-learn's own
# loop over the trees, which is faster on many rows. Both give the same numbers (tests/ranges/test_model.py).
FLAT_PAIRS = 2_000_000


@dataclass
class Forest:
    """The trees of one fitted HistGradientBoostingRegressor as flat arrays, so a few rows go down all of them
    together: scikit-learn's predict calls each tree in turn, 3 x 150 calls and 4 ms for a one-row quote. Read from the
    fitted trees' node records (scikit-learn's PREDICTOR_RECORD_DTYPE; the version is pinned and checked on load)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray  # node positions in these arrays
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray  # one per tree
    baseline: float
    depth: int

    @classmethod
    def of(cls, estimator) -> Forest:
        trees = [predictor.nodes for predictors in estimator._predictors for predictor in predictors]
        offsets = np.cumsum([0] + [len(nodes) for nodes in trees[:-1]])
        nodes = np.concatenate(trees)
        shift = np.repeat(offsets, [len(nodes) for nodes in trees])
        return cls(nodes["feature_idx"].astype(np.intp), nodes["num_threshold"], nodes["missing_go_to_left"].astype(bool),
                   nodes["left"].astype(np.intp) + shift, nodes["right"].astype(np.intp) + shift, nodes["is_leaf"].astype(bool),
                   nodes["value"], offsets.astype(np.intp), float(np.ravel(estimator._baseline_prediction)[0]), int(nodes["depth"].max()))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """As the estimator's predict: a row goes left where its value is at most the threshold (or is missing and
        missing values go left); the prediction is the baseline plus the leaves' values."""
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            inner = ~self.leaf[node]
            if not inner.any():
                break
            value = x[rows, self.feature[node]]
            left = np.where(np.isnan(value), self.missing_left[node], value <= self.threshold[node])
            node = np.where(inner, np.where(left, self.left[node], self.right[node]), node)
        return self.baseline + self.value[node].sum(axis=1)


@dataclass
class RangeModel:
    metadata: dict
    estimators: list  # one fitted regressor per quantile, low to high
    model_id: str = ""  # content hash of the file it was read from (or written to)
    warnings: list[str] = field(default_factory=list)

    @property
    def quantiles(self) -> tuple[float, ...]:
        return tuple(self.metadata["settings"]["quantiles"])

    @cached_property
    def forests(self) -> list[Forest]:
        return [Forest.of(estimator) for estimator in self.estimators]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The quantile models' raw predictions, one column per quantile."""
        if len(x) * len(self.forests[0].roots) <= FLAT_PAIRS:
            return np.column_stack([forest.predict(x) for forest in self.forests])
        with one_thread():
            return np.column_stack([estimator.predict(x) for estimator in self.estimators])


def features(frame: pd.DataFrame, vocabulary: dict[str, list[str]]) -> np.ndarray:
    """The model's inputs, one row per application: label columns as codes of the fitted vocabulary (an unseen label
    is missing), sizes and money as ln(1 + x), the crossings and the customer's share of the quote.

    The codes go in as numbers, not as scikit-learn categorical features: with a handful of labels per column the
    trees split them as well, and the categorical path runs a column transformer on every prediction, which made a
    one-row prediction cost 5 ms per quantile (docs/performance.md, "Budget ranges")."""
    total = np.asarray(frame["total_cny"], dtype=float)
    columns = []
    for name in CATEGORICAL:  # each distinct label looked up once
        labels, inverse = np.unique(np.asarray(frame[name]).astype(str), return_inverse=True)
        codes = np.array([vocabulary[name].index(label) if label in vocabulary[name] else np.nan for label in labels.tolist()])
        columns.append(codes[inverse.reshape(-1)] if len(labels) else np.empty(0))
    columns += [np.log1p(np.clip(np.asarray(frame[name], dtype=float), 0, None)) for name in LOGGED]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, np.asarray(frame["customer_cny"], dtype=float) / total, np.nan)
    columns += [np.asarray(frame["road_crossings"], dtype=float), share]
    return np.column_stack(columns)


def conformal_corrections(residuals: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """Per quantile tau, the order statistic of the residuals y - q_tau(x) that makes the corrected quantile hold
    with finite-sample validity: the ceil((n+1) tau)-th smallest for tau >= 0.5, the floor for tau < 0.5 (clipped to
    1..n). `residuals` is (n, len(quantiles))."""
    n = len(residuals)
    ordered = np.sort(residuals, axis=0)
    ranks = [min(max(math.ceil((n + 1) * tau) if tau >= 0.5 else math.floor((n + 1) * tau), 1), n) for tau in quantiles]
    return np.array([ordered[rank - 1, column] for column, rank in enumerate(ranks)])


@lru_cache(maxsize=4)
def _band_names(edges: tuple[float, ...]) -> tuple[str, ...]:
    return tuple(capacity_band(pd.Series(edges[:-1])).cat.categories)


def band_codes(capacity_kva, edges: list[float]) -> np.ndarray:
    """Each capacity's band among `edges` (the last one infinite), as scenarios.studies.capacity_band draws them
    (closed on the right, the first also on the left), by binary search: pd.cut costs a quarter of a millisecond even
    on one row."""
    return np.clip(np.searchsorted(edges, np.asarray(capacity_kva, dtype=float), side="left") - 1, 0, len(edges) - 2)


def band_labels(capacity_kva) -> np.ndarray:
    """Each capacity's study band (the bands in force: tariffs/studies/capacity-bands.yaml), as its label."""
    edges = capacity_band_edges()
    return np.array(_band_names(tuple(edges)), dtype=object)[band_codes(capacity_kva, edges)]


def band_order() -> list[str]:
    return list(_band_names(tuple(capacity_band_edges())))


def model_edges(model: RangeModel) -> list[float]:
    """The capacity bands the model's band table was drawn with (a later change of the study's bands leaves it alone)."""
    return model.metadata["capacity_band_edges"] + [float("inf")]


def band_table(history: pd.DataFrame, method: Method) -> list[dict]:
    """Empirical quantiles of the log ratio over the window's rows: per voltage x capacity band (keyed by the band's lower
    edge, labelled as the study labels it), per voltage, overall."""
    edges = capacity_band_edges()
    names = _band_names(tuple(edges))
    frame = pd.DataFrame({"supply_voltage": history["supply_voltage"].to_numpy(), "band": band_codes(history["capacity_kva"], edges),
                          "log_ratio": history["log_ratio"].to_numpy()})
    rows = []
    for level, keys in (("cell", ["supply_voltage", "band"]), ("voltage", ["supply_voltage"]), ("all", [])):
        groups = frame.groupby(keys, sort=True)["log_ratio"] if keys else [((), frame["log_ratio"])]
        for key, values in groups:
            key = key if isinstance(key, tuple) else (key,)
            named = dict(zip(keys, key))
            band = named.get("band")
            rows.append({"level": level, "supply_voltage": named.get("supply_voltage", ""),
                         "band_from_kva": None if band is None else float(edges[band]), "capacity_band": "" if band is None else names[band],
                         "rows": len(values), "quantiles": np.quantile(values.to_numpy(), method.quantiles).tolist()})
    return rows


def band_quantiles(table: list[dict], frame, min_rows: int, edges: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's band-table quantiles (its cell's, else its voltage group's, else the whole window's) and the rows
    behind them; `table` as band_table's records, drawn with `edges`. Looked up once per distinct (voltage, band)."""
    entries = {(entry["level"], entry["supply_voltage"], entry["band_from_kva"]): entry for entry in table}
    voltage = np.asarray(frame["supply_voltage"]).astype(str)
    groups, group_codes = np.unique(voltage, return_inverse=True)
    keys = group_codes.reshape(-1) * len(edges) + band_codes(frame["capacity_kva"], edges)
    pairs, codes = np.unique(keys, return_inverse=True)
    codes = codes.reshape(-1)
    chosen = []
    for pair in pairs.tolist():
        group, band = str(groups[pair // len(edges)]), float(edges[pair % len(edges)])
        for key in (("cell", group, band), ("voltage", group, None), ("all", "", None)):
            entry = entries.get(key)
            if entry is not None and (entry["rows"] >= min_rows or key[0] == "all"):
                chosen.append(entry)
                break
    width = len(table[0]["quantiles"])
    quantiles = np.array([entry["quantiles"] for entry in chosen], dtype=float).reshape(len(chosen), width)[codes]
    rows = np.array([entry["rows"] for entry in chosen], dtype=int)[codes]
    return quantiles, rows


def _window_start(end: pd.Timestamp, months: int) -> pd.Timestamp:
    return end - pd.DateOffset(months=months)


def fit(history: QuotedHistory, method: Method, *, synthetic: bool = False) -> RangeModel:
    """The quantile models on the rows before the calibration window, the per-group corrections on that window, the
    band table on the last two years; a voltage group with too few training or calibration rows is served by the
    band table, with a warning."""
    frame = history.frame
    end = frame["completed_on"].max()
    calibration_start = _window_start(end, method.calibration_window_months)
    recent = (frame["completed_on"] > calibration_start).to_numpy()
    if recent.all() or not recent.any():
        raise InputError(f"{history.source}: the history spans {frame['completed_on'].min().date()} to {end.date()}; allowed: "
                         f"completions both within and before the last {method.calibration_window_months} months (the calibration window)")
    vocabulary = {name: sorted(frame[name].astype(str).unique().tolist()) for name in CATEGORICAL}
    x = features(frame, vocabulary)
    y = frame["log_ratio"].to_numpy()
    with one_thread():
        estimators = [HistGradientBoostingRegressor(loss="quantile", quantile=tau, early_stopping=False, **method.model)
                      .fit(x[~recent], y[~recent]) for tau in method.quantiles]
        predicted = np.column_stack([estimator.predict(x[recent]) for estimator in estimators])
    voltage = frame["supply_voltage"].to_numpy()
    groups, warnings = {}, list(history.warnings)
    for group in sorted(set(voltage)):
        trained = int(((voltage == group) & ~recent).sum())
        in_window = (voltage == group)[recent]
        calibration_rows = int(in_window.sum())
        if trained >= method.min_rows_per_group and calibration_rows >= method.min_calibration_rows:
            residuals = y[recent][in_window][:, None] - predicted[in_window]
            groups[group] = {"method": MODEL_METHOD, "training_rows": trained, "calibration_rows": calibration_rows,
                             "corrections": conformal_corrections(residuals, method.quantiles).tolist()}
        else:
            groups[group] = {"method": BAND_METHOD, "training_rows": trained, "calibration_rows": calibration_rows, "corrections": None}
            warnings.append(f"voltage group {group}: {trained} training and {calibration_rows} calibration rows (allowed for the "
                            f"model: at least {method.min_rows_per_group} and {method.min_calibration_rows}); its ranges come from the band table")
    band_rows = frame[frame["completed_on"] > _window_start(end, method.band_table_window_months)]
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "sklearn_version": sklearn.__version__,
        "synthetic": synthetic, "source": Path(history.source).name, "ruleset_name": history.ruleset_name,
        "window": {"start": frame["completed_on"].min().date().isoformat(), "end": end.date().isoformat(),
                   "calibration_start": (frame["completed_on"][recent].min()).date().isoformat(),
                   "band_table_start": band_rows["completed_on"].min().date().isoformat()},
        "rows": {"in": history.rows_in, "accepted": len(frame), "rejected": len(history.rejected), "held_out": history.held_out,
                 "training": int((~recent).sum()), "calibration": int(recent.sum()), "band_table": len(band_rows)},
        "rulesets": history.rulesets,
        "catalogs": sorted({f"{entry['catalog_id']} {entry['catalog_edition']}" for entry in history.rulesets.values()}),
        "settings": method.as_dict(), "capacity_band_edges": capacity_band_edges()[:-1],
        "features": FEATURES, "vocabulary": vocabulary, "groups": groups,
        "band_table": band_table(band_rows, method),
        "warnings": warnings,
    }
    return RangeModel(metadata, estimators, warnings=warnings)


def predict_log_quantiles(model: RangeModel, frame, *, calibrated: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each row's quantiles of ln(outturn / quote), sorted, and where they come from (group, method, group_rows: the
    rows behind them). `frame`: a DataFrame or a mapping of column arrays. calibrated=False gives the quantile model's
    raw output (to show what the calibration does)."""
    metadata = model.metadata
    groups, row_group = np.unique(np.asarray(frame["supply_voltage"]).astype(str), return_inverse=True)
    row_group = row_group.reshape(-1)
    entries = [metadata["groups"].get(group, {"method": BAND_METHOD}) for group in groups.tolist()]
    quantiles, rows_behind = band_quantiles(metadata["band_table"], frame, metadata["settings"]["min_rows_per_band_cell"], model_edges(model))
    use_model = np.array([entry["method"] == MODEL_METHOD for entry in entries], dtype=bool)[row_group] \
        if len(groups) else np.zeros(0, dtype=bool)
    if use_model.any():
        raw = model.predict(features(frame, metadata["vocabulary"])[use_model])
        if calibrated:
            corrections = np.array([entry["corrections"] or [0.0] * raw.shape[1] for entry in entries])
            raw += corrections[row_group[use_model]]
            calibration_rows = np.array([entry.get("calibration_rows", 0) for entry in entries])
            rows_behind[use_model] = calibration_rows[row_group[use_model]]
        quantiles[use_model] = raw
    source = {"group": groups[row_group] if len(groups) else np.empty(0, dtype=str),
              "method": np.where(use_model, MODEL_METHOD, BAND_METHOD), "group_rows": rows_behind}
    return np.sort(quantiles, axis=1), source


def band_log_quantiles(model: RangeModel, frame: pd.DataFrame) -> np.ndarray:
    """The baseline's quantiles for each row: the band table alone."""
    quantiles, _ = band_quantiles(model.metadata["band_table"], frame, model.metadata["settings"]["min_rows_per_band_cell"], model_edges(model))
    return quantiles


def model_bytes(model: RangeModel) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # fixed timestamps: the same model gives the same bytes, and so the same id
        archive.writestr(zipfile.ZipInfo("metadata.json", date_time=(2020, 1, 1, 0, 0, 0)),
                         json.dumps(model.metadata, indent=1, ensure_ascii=False, default=str))
        archive.writestr(zipfile.ZipInfo("estimators.pkl", date_time=(2020, 1, 1, 0, 0, 0)),
                         pickle.dumps(model.estimators, protocol=pickle.HIGHEST_PROTOCOL))
    return buffer.getvalue()


def save_model(model: RangeModel, path: str | Path) -> Path:
    data = model_bytes(model)
    model.model_id = hashlib.sha256(data).hexdigest()[:16]
    return files.write_bytes(path, data)


def read_metadata(path: str | Path) -> tuple[dict, zipfile.ZipFile, bytes]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    data = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        metadata = json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise InputError(f"{path}: not a range model file (costmodel ranges fit writes one)") from None
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: format {metadata.get('format')!r} version {metadata.get('format_version')!r}; allowed: {FORMAT} "
                         f"version {FORMAT_VERSION} (fit the model again with this costmodel)")
    return metadata, archive, data


def load_model(path: str | Path) -> RangeModel:
    """A model file, checked before its estimators are unpickled: format, version, scikit-learn's version."""
    metadata, archive, data = read_metadata(path)
    fitted, running = metadata["sklearn_version"].split(".")[:2], sklearn.__version__.split(".")[:2]
    if fitted != running:
        raise InputError(f"{path}: fitted with scikit-learn {metadata['sklearn_version']}, this is {sklearn.__version__}; "
                         "allowed: the same major.minor version (fit the model again)")
    estimators = pickle.loads(archive.read("estimators.pkl"))
    return RangeModel(metadata, estimators, hashlib.sha256(data).hexdigest()[:16], list(metadata.get("warnings", [])))


def window_dates(model: RangeModel) -> dict[str, dt.date]:
    return {key: dt.date.fromisoformat(value) for key, value in model.metadata["window"].items()}
