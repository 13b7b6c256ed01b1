"""Network data for the optimiser: nodes.csv, corridors.csv, customers, conductors, grid limits.

Everything is validated on load; errors name the file, the line, the column, the value and what
is allowed. A node of kind candidate_transformer is a site where a new transformer may go: its
hv_node column names the higher-voltage node its primary connects to, and the catalogue's
transformer sizes of that voltage become its options (network_options). An existing corridor may carry a load
already (optional column existing_load_kva, an imported net's own power flow): its options offer what that load
leaves of their rating. Line numbers count the header as line 1, as an editor shows them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel.errors import InputError
from costmodel.params import load_ruleset
from costmodel.costs.catalog import load_catalog
from costmodel.yamlio import read_text

DEFAULT_CATALOGUE = "cn-indicative-2019"
MAX_CSV_BYTES = 256 << 20  # a network of a million corridors is about 60 MB

NODE_KINDS = ("substation", "feeder_point", "public_transformer", "junction", "customer", "candidate_transformer")
SOURCE_KINDS = ("substation", "feeder_point", "public_transformer")
CORRIDOR_STATUS = ("existing", "candidate")
CONDUCTOR_FAMILIES = ("mv_cable", "mv_overhead", "lv_cable", "lv_overhead")
# std_types a corridor may use when its allowed_std_types cell is empty, by voltage class
DEFAULT_FAMILY = {"mv": "mv_cable", "lv": "lv_cable"}

NODE_COLUMNS = ("id", "x_m", "y_m", "kind", "voltage_kv")
NODE_OPTIONAL = ("spare_capacity_kva", "demand_kva", "hv_node")
TRANSFORMER_FAMILY = "transformer"
CORRIDOR_COLUMNS = ("id", "from_node", "to_node", "length_km", "allowed_std_types", "cost_multiplier", "status")
CORRIDOR_OPTIONAL = ("existing_load_kva",)   # what an existing corridor carries already (an imported net's power flow)
CUSTOMER_COLUMNS = ("application_id", "node_id")
NETWORK_META = "network.json"   # optional: {"crs": ..., "source": ...} of an imported network
MAX_NETWORK_META_BYTES = 16 << 20   # it maps every bus and line of an imported net to our ids


@dataclass(frozen=True)
class Network:
    """Validated network: nodes indexed by id, corridors indexed by id, conductor options (long)."""

    nodes: pd.DataFrame
    corridors: pd.DataFrame
    options: pd.DataFrame
    source: str = ""
    crs: str = ""          # coordinate reference system of x_m / y_m (e.g. "EPSG:32632"); "" if local or schematic


@dataclass(frozen=True)
class GridLimits:
    voltage_deviation_limit_pct: float
    power_factor: float
    loading_limit_pct: float          # of a conductor's or new transformer's rating: the planning limit
    references: dict[str, str]


def _where(file: str, frame: pd.DataFrame, bad: pd.Series, column: str) -> str:
    """'nodes.csv line 4 (id 'J3'), column kind' for the first row flagged in `bad`."""
    position = int(np.flatnonzero(bad.to_numpy())[0])
    row_id = frame["id"].iloc[position] if "id" in frame.columns else None
    label = f" (id {row_id!r})" if isinstance(row_id, str) and row_id else ""
    return f"{file} line {position + 2}{label}, column {column}"


def _first_value(frame: pd.DataFrame, bad: pd.Series, column: str):
    return frame[column].iloc[int(np.flatnonzero(bad.to_numpy())[0])]


def _require_columns(frame: pd.DataFrame, file: str, required) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{file}: missing column(s) {', '.join(missing)}; required: {', '.join(required)}")


def _numeric(frame: pd.DataFrame, file: str, column: str, *, minimum: float | None = None,
             default: float | None = None, strict: bool = False) -> pd.Series:
    raw = frame[column] if column in frame.columns else pd.Series(default, index=frame.index)
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    # float64, not the nullable Float64 a string column gives: a missing value is NaN, never pd.NA
    values = pd.to_numeric(text.where(~empty), errors="coerce").astype("float64")
    if default is not None:
        values = values.where(~empty, default)
    bad = values.isna() & (~empty | (default is None))
    if bad.any():
        raise InputError(f"{_where(file, frame, bad, column)}: value {_first_value(frame, bad, column)!r} is not a number; "
                         "allowed: a finite number")
    infinite = pd.Series(np.isinf(values.to_numpy()), index=values.index)
    if infinite.any():
        raise InputError(f"{_where(file, frame, infinite, column)}: value {_first_value(frame, infinite, column)!r} is not "
                         "finite; allowed: a finite number")
    if minimum is not None:
        low = (values <= minimum) if strict else (values < minimum)
        if low.any():
            sign = ">" if strict else ">="
            raise InputError(f"{_where(file, frame, low, column)}: value {_first_value(frame, low, column)!r} is not allowed; must be {sign} {minimum}")
    return values.astype(float)


def _ids(frame: pd.DataFrame, file: str, column: str = "id") -> pd.Series:
    ids = frame[column].astype("string").str.strip()
    empty = ids.isna() | (ids == "")
    if empty.any():
        raise InputError(f"{_where(file, frame, empty, column)}: empty; every row needs an {column}")
    duplicated = ids.duplicated()
    if duplicated.any():
        raise InputError(f"{_where(file, frame, duplicated, column)}: duplicate id {ids[duplicated].iloc[0]!r}; ids must be unique")
    return ids.astype(str)


def _choice(frame: pd.DataFrame, file: str, column: str, allowed) -> pd.Series:
    values = frame[column].astype("string").str.strip()
    bad = ~values.isin(allowed)
    if bad.any():
        raise InputError(f"{_where(file, frame, bad, column)}: value {_first_value(frame, bad, column)!r} is not allowed; allowed: {', '.join(allowed)}")
    return values.astype(str)


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV file of the network (or its customers) as text columns; a clear error when it cannot be read."""
    text = read_text(path, "a CSV file", MAX_CSV_BYTES)  # a directory, a device or a FIFO is refused, not read
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; it needs a header row and one row per item") from None
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: cannot be read as CSV: {str(error).strip()}") from None
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def load_conductors(catalogue: str = DEFAULT_CATALOGUE) -> pd.DataFrame:
    """Conductor rows of the unit-cost catalogue (validated and cached by the catalogue loader), by std_type."""
    items = load_catalog(catalogue).items
    table = items[items["family"].isin(CONDUCTOR_FAMILIES)]
    return table[["family", "unit", "unit_cost_cny", "voltage_kv", "ampacity_a",
                  "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km"]]


def load_transformers(catalogue: str = DEFAULT_CATALOGUE) -> pd.DataFrame:
    """Transformer sizes of the unit-cost catalogue, by std_type: cost, primary voltage, rating."""
    items = load_catalog(catalogue).items
    return items[items["family"] == TRANSFORMER_FAMILY][["unit", "unit_cost_cny", "voltage_kv", "rating_kva"]]


def validate_nodes(raw: pd.DataFrame, file: str = "nodes.csv") -> pd.DataFrame:
    _require_columns(raw, file, NODE_COLUMNS)
    nodes = pd.DataFrame({"id": _ids(raw, file)})
    nodes["x_m"] = _numeric(raw, file, "x_m")
    nodes["y_m"] = _numeric(raw, file, "y_m")
    nodes["kind"] = _choice(raw, file, "kind", NODE_KINDS)
    nodes["voltage_kv"] = _numeric(raw, file, "voltage_kv", minimum=0, strict=True)
    nodes["spare_capacity_kva"] = _numeric(raw, file, "spare_capacity_kva", minimum=0, default=0.0)
    nodes["demand_kva"] = _numeric(raw, file, "demand_kva", minimum=0, default=0.0)
    misplaced = (nodes["spare_capacity_kva"] > 0) & ~nodes["kind"].isin(SOURCE_KINDS)
    if misplaced.any():
        raise InputError(f"{_where(file, nodes, misplaced, 'spare_capacity_kva')}: value {nodes['spare_capacity_kva'][misplaced].iloc[0]:g} "
                         f"on a {nodes['kind'][misplaced].iloc[0]} node; only {', '.join(SOURCE_KINDS)} nodes have spare capacity")
    misplaced = (nodes["demand_kva"] > 0) & (nodes["kind"] != "customer")
    if misplaced.any():
        raise InputError(f"{_where(file, nodes, misplaced, 'demand_kva')}: value {nodes['demand_kva'][misplaced].iloc[0]:g} "
                         f"on a {nodes['kind'][misplaced].iloc[0]} node; only customer nodes have demand")
    nodes["hv_node"] = _hv_nodes(raw, nodes, file)
    return nodes.set_index("id")


def _hv_nodes(raw: pd.DataFrame, nodes: pd.DataFrame, file: str) -> pd.Series:
    """hv_node of each candidate_transformer: a node of higher voltage; empty on every other kind."""
    hv = (raw["hv_node"].astype("string").str.strip().fillna("") if "hv_node" in raw.columns
          else pd.Series("", index=raw.index, dtype="string"))
    site = nodes["kind"] == "candidate_transformer"
    misplaced = ~site & (hv != "")
    if misplaced.any():
        raise InputError(f"{_where(file, nodes, misplaced, 'hv_node')}: value {hv[misplaced].iloc[0]!r} on a "
                         f"{nodes['kind'][misplaced].iloc[0]} node; only candidate_transformer nodes have an hv_node")
    voltage = pd.Series(nodes["voltage_kv"].to_numpy(), index=nodes["id"].to_numpy())
    unknown = site & ~hv.isin(nodes["id"])
    if unknown.any():
        raise InputError(f"{_where(file, nodes, unknown, 'hv_node')}: value {hv[unknown].iloc[0]!r} is not a node id; a "
                         "candidate_transformer names the higher-voltage node its primary connects to")
    low = site & (hv.map(voltage).fillna(0).to_numpy() <= nodes["voltage_kv"])
    if low.any():
        raise InputError(f"{_where(file, nodes, low, 'hv_node')}: node {hv[low].iloc[0]!r} is at "
                         f"{voltage[hv[low].iloc[0]]:g} kV, not above the site's {nodes['voltage_kv'][low].iloc[0]:g} kV")
    return hv.astype(str)


def validate_corridors(raw: pd.DataFrame, nodes: pd.DataFrame, conductors: pd.DataFrame,
                       file: str = "corridors.csv") -> pd.DataFrame:
    _require_columns(raw, file, CORRIDOR_COLUMNS)
    corridors = pd.DataFrame({"id": _ids(raw, file)})
    for end in ("from_node", "to_node"):
        ref = raw[end].astype(str).str.strip()
        unknown = ~ref.isin(nodes.index)
        if unknown.any():
            raise InputError(f"{_where(file, raw, unknown, end)}: node {ref[unknown].iloc[0]!r} is not in nodes.csv")
        corridors[end] = ref
    loop = corridors["from_node"] == corridors["to_node"]
    if loop.any():
        raise InputError(f"{_where(file, raw, loop, 'to_node')}: corridor joins node {corridors['to_node'][loop].iloc[0]!r} to itself")
    v_from = nodes.loc[corridors["from_node"], "voltage_kv"].to_numpy()
    v_to = nodes.loc[corridors["to_node"], "voltage_kv"].to_numpy()
    mismatch = pd.Series(~np.isclose(v_from, v_to), index=corridors.index)
    if mismatch.any():
        i = int(np.flatnonzero(mismatch)[0])
        raise InputError(f"{_where(file, raw, mismatch, 'to_node')}: joins nodes at {v_from[i]} kV and {v_to[i]} kV; "
                         "a corridor must join nodes of one voltage (transformers are nodes, not corridors)")
    corridors["voltage_kv"] = v_from
    corridors["length_km"] = _numeric(raw, file, "length_km", minimum=0)
    corridors["cost_multiplier"] = _numeric(raw, file, "cost_multiplier", minimum=0, default=1.0, strict=True)
    corridors["status"] = _choice(raw, file, "status", CORRIDOR_STATUS)
    corridors["existing_load_kva"] = _numeric(raw, file, "existing_load_kva", minimum=0, default=0.0)
    loaded_candidate = (corridors["existing_load_kva"] > 0) & (corridors["status"] != "existing")
    if loaded_candidate.any():
        raise InputError(f"{_where(file, raw, loaded_candidate, 'existing_load_kva')}: value "
                         f"{corridors['existing_load_kva'][loaded_candidate].iloc[0]:g} on a {corridors['status'][loaded_candidate].iloc[0]} "
                         "corridor; allowed: a load on existing corridors only (0 or empty elsewhere)")

    lists = raw["allowed_std_types"].astype(str).str.split(";").map(lambda items: [s.strip() for s in items if s.strip()])
    known = set(conductors.index)
    for position, items in enumerate(lists):
        unknown = [s for s in items if s not in known]
        if unknown:
            bad = pd.Series(np.arange(len(raw)) == position, index=raw.index)
            raise InputError(f"{_where(file, raw, bad, 'allowed_std_types')}: std_type {unknown[0]!r} is not a conductor of the "
                             f"catalogue; allowed: {', '.join(sorted(known))}")
    existing_without_type = (lists.map(len) == 0) & (corridors["status"] == "existing")
    if existing_without_type.any():
        raise InputError(f"{_where(file, raw, existing_without_type, 'allowed_std_types')}: an existing corridor must name its "
                         "installed conductor first (further std_types are reinforcement options)")
    corridors["allowed_std_types"] = lists
    return corridors.set_index("id")


def conductor_options(corridors: pd.DataFrame, conductors: pd.DataFrame) -> pd.DataFrame:
    """One row per (corridor, std_type) the design may choose, with cost, capacity and impedance.

    An existing corridor's first std_type is its installed conductor (cost 0); the others replace
    it (reinforcement) at full cost. An empty list allows every cable of the corridor's voltage class.
    """
    default = {cls: list(conductors.index[conductors["family"] == family]) for cls, family in DEFAULT_FAMILY.items()}
    voltage_class = np.where(corridors["voltage_kv"] > 1.0, "mv", "lv")
    lists = pd.Series([items or default[cls] for items, cls in zip(corridors["allowed_std_types"], voltage_class)],
                      index=corridors.index)
    long = lists.rename("std_type").explode().reset_index().rename(columns={"id": "corridor_id"})
    long["installed"] = long.groupby("corridor_id").cumcount().eq(0) & long["corridor_id"].map(corridors["status"]).eq("existing")
    corridor = corridors.loc[long["corridor_id"]].reset_index(drop=True)
    conductor = conductors.loc[long["std_type"]].reset_index(drop=True)
    long["from_node"] = corridor["from_node"].to_numpy()
    long["to_node"] = corridor["to_node"].to_numpy()
    long["length_km"] = corridor["length_km"].to_numpy()
    long["voltage_kv"] = corridor["voltage_kv"].to_numpy()
    long["status"] = corridor["status"].to_numpy()
    long["cost_cny"] = np.where(long["installed"], 0.0,
                                conductor["unit_cost_cny"].to_numpy() * long["length_km"] * corridor["cost_multiplier"].to_numpy())
    # what the existing load leaves, whichever conductor carries it (the installed one or its replacement); taken as
    # adding to the new flow, whatever its direction
    rating_kva = math.sqrt(3) * long["voltage_kv"] * conductor["ampacity_a"].to_numpy()
    long["capacity_kva"] = np.maximum(rating_kva - corridor["existing_load_kva"].to_numpy(), 0.0)
    for column in ("ampacity_a", "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km"):
        long[column] = conductor[column].to_numpy()
    long["element"] = "line"
    return long


def transformer_options(nodes: pd.DataFrame, transformers: pd.DataFrame, file: str = "nodes.csv") -> pd.DataFrame:
    """One option per (candidate_transformer site, catalogue size of its hv_node's voltage), in the
    layout of conductor_options: corridor_id "<site>:transformer", from hv_node to the site, no
    length and no impedance (the site is a new source for its low-voltage side), capacity the rating.
    """
    sites = nodes[nodes["kind"] == "candidate_transformer"]
    hv_kv = nodes.loc[sites["hv_node"], "voltage_kv"].to_numpy()
    sizes = [list(transformers.index[np.isclose(transformers["voltage_kv"], kv)]) for kv in hv_kv]
    for site, kv, fitting in zip(sites.index, hv_kv, sizes):
        if not fitting:
            raise InputError(f"{file} (id {site!r}), column hv_node: no transformer of the catalogue has a {kv:g} kV "
                             f"primary; catalogue primaries: {', '.join(f'{v:g} kV' for v in sorted(set(transformers['voltage_kv'])))}")
    long = pd.DataFrame({"site": sites.index.repeat([len(f) for f in sizes]),
                         "std_type": [t for f in sizes for t in f]})
    size = transformers.loc[long["std_type"]].reset_index(drop=True)
    return pd.DataFrame({
        "corridor_id": long["site"] + ":transformer", "std_type": long["std_type"], "installed": False,
        "from_node": nodes.loc[long["site"], "hv_node"].to_numpy(), "to_node": long["site"].to_numpy(),
        "length_km": 0.0, "voltage_kv": nodes.loc[long["site"], "voltage_kv"].to_numpy(), "status": "candidate",
        "cost_cny": size["unit_cost_cny"].to_numpy(), "capacity_kva": size["rating_kva"].to_numpy(),
        "ampacity_a": np.nan, "r_ohm_per_km": 0.0, "x_ohm_per_km": 0.0, "c_nf_per_km": 0.0, "element": "transformer"})


def network_options(nodes: pd.DataFrame, corridors: pd.DataFrame, conductors: pd.DataFrame,
                    catalogue: str, file: str) -> pd.DataFrame:
    """Conductor options of the corridors, then transformer sizes of the candidate sites."""
    lines = conductor_options(corridors, conductors)
    if not (nodes["kind"] == "candidate_transformer").any():
        return lines
    return pd.concat([lines, transformer_options(nodes, load_transformers(catalogue), file)], ignore_index=True)


def load_network(network_dir: Path | str, catalogue: str = DEFAULT_CATALOGUE) -> Network:
    """Read and validate `nodes.csv` and `corridors.csv` of a network directory (and its CRS from `network.json`)."""
    folder = Path(network_dir)
    nodes = validate_nodes(read_csv(folder / "nodes.csv"), str(folder / "nodes.csv"))
    conductors = load_conductors(catalogue)
    corridors = validate_corridors(read_csv(folder / "corridors.csv"), nodes, conductors, str(folder / "corridors.csv"))
    return Network(nodes, corridors, network_options(nodes, corridors, conductors, catalogue, str(folder / "nodes.csv")), str(folder),
                   _crs_of(folder / NETWORK_META))


def _crs_of(path: Path) -> str:
    """The `crs` of a network directory's optional metadata file ("" without one)."""
    if not path.exists():
        return ""
    try:
        meta = json.loads(read_text(path, "a JSON file", MAX_NETWORK_META_BYTES))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not JSON ({error.msg} at line {error.lineno}); allowed: {{\"crs\": \"EPSG:...\"}}") from None
    crs = meta.get("crs", "") if isinstance(meta, dict) else None
    if not isinstance(crs, str):
        raise InputError(f"{path}: crs {crs!r} is not allowed; allowed: a text such as \"EPSG:32632\"")
    return crs


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index() if "id" not in frame.columns else frame.reset_index(drop=True)
    if "allowed_std_types" in frame.columns:
        frame = frame.assign(allowed_std_types=frame["allowed_std_types"].map(
            lambda v: ";".join(v) if isinstance(v, (list, tuple)) else v))
    return frame.astype(object).where(frame.notna(), "").astype(str)


def network_from_frames(nodes: pd.DataFrame, corridors: pd.DataFrame,
                        catalogue: str = DEFAULT_CATALOGUE, source: str = "frames", crs: str = "") -> Network:
    """The same validation for frames built in code (importers, benchmarks, tests)."""
    checked_nodes = validate_nodes(_as_text(nodes), f"{source}:nodes")
    conductors = load_conductors(catalogue)
    checked = validate_corridors(_as_text(corridors), checked_nodes, conductors, f"{source}:corridors")
    return Network(checked_nodes, checked, network_options(checked_nodes, checked, conductors, catalogue, f"{source}:nodes"),
                   source, crs)


def load_customers(path: Path | str, network: Network) -> pd.DataFrame:
    """Customers to connect: application_id, node_id, demand_kva (default: the node's demand_kva)."""
    file = str(path)
    raw = read_csv(Path(path))
    return validate_customers(raw, network, file)


def validate_customers(raw: pd.DataFrame, network: Network, file: str = "customers.csv") -> pd.DataFrame:
    _require_columns(raw, file, CUSTOMER_COLUMNS)
    customers = pd.DataFrame({"application_id": raw["application_id"].astype(str).str.strip()})
    customers["node_id"] = _ids(raw, file, "node_id")
    unknown = ~customers["node_id"].isin(network.nodes.index)
    if unknown.any():
        raise InputError(f"{_where(file, raw, unknown, 'node_id')}: node {customers['node_id'][unknown].iloc[0]!r} is not in nodes.csv")
    kinds = network.nodes.loc[customers["node_id"], "kind"].to_numpy()
    wrong = pd.Series(kinds != "customer", index=customers.index)
    if wrong.any():
        raise InputError(f"{_where(file, raw, wrong, 'node_id')}: node {customers['node_id'][wrong].iloc[0]!r} is a "
                         f"{kinds[wrong.to_numpy()][0]} node; allowed: a node of kind customer (its red-line point)")
    empty_app = customers["application_id"] == ""
    if empty_app.any():
        raise InputError(f"{_where(file, raw, empty_app, 'application_id')}: empty; every customer needs an application_id")
    node_demand = network.nodes.loc[customers["node_id"], "demand_kva"].to_numpy()
    given = _numeric(raw, file, "demand_kva", minimum=0, default=float("nan")) if "demand_kva" in raw else pd.Series(np.nan, index=raw.index)
    customers["demand_kva"] = given.fillna(pd.Series(node_demand, index=raw.index))
    zero = customers["demand_kva"] <= 0
    if zero.any():
        raise InputError(f"{_where(file, raw, zero, 'demand_kva')}: demand of node {customers['node_id'][zero].iloc[0]!r} is 0; "
                         "give demand_kva > 0 here or in nodes.csv")
    return customers.reset_index(drop=True)


def customers_from_nodes(network: Network) -> pd.DataFrame:
    """Every customer node with demand, its node id as application id."""
    rows = network.nodes[(network.nodes["kind"] == "customer") & (network.nodes["demand_kva"] > 0)]
    return pd.DataFrame({"application_id": rows.index, "node_id": rows.index, "demand_kva": rows["demand_kva"].to_numpy()})


def ruleset_catalogue(ruleset_id: str) -> str:
    """The unit-cost catalogue a rule set's quotes are priced with (the one it names, else its design scheme's):
    the optimiser prices corridors and transformers from the same one, so its design and the quote agree."""
    from costmodel.designs.standard import scheme_for
    return scheme_for(load_ruleset(ruleset_id)).catalog.id


def load_grid_limits(ruleset_id: str, when: dt.date | None = None) -> GridLimits:
    """grid.voltage_deviation_limit, conversion.power_factor and grid.planning_loading_limit of a rule set at a date
    (default: its latest values)."""
    ruleset = load_ruleset(ruleset_id)
    values, references = {}, {}
    for path in ("grid.voltage_deviation_limit", "conversion.power_factor", "grid.planning_loading_limit"):
        parameter = ruleset.parameter(path)
        values[path] = float(parameter.at(when or parameter.dates[-1]))
        references[path] = parameter.reference.cite()
    return GridLimits(values["grid.voltage_deviation_limit"], values["conversion.power_factor"],
                      values["grid.planning_loading_limit"], references)
