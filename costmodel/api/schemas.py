"""The API's request and answer models, and the error body every error answer has (`Problem`)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from costmodel.api.guard import MAX_BATCH_BYTES, MAX_BODY_BYTES
from costmodel.application import Application
from costmodel.grid.status import AC_ROUNDS, NETWORK_GAP
from costmodel.quote import Quote

# /compare quotes one application under at most this many rule sets.
MAX_COMPARE_RULESETS = 10


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: Application
    ruleset: str = Field("shandong", description="Rule-set id, or a jurisdiction (shandong, national) resolved by the application date")


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: Application
    rulesets: list[str] = Field(["national-1996", "shandong"], min_length=2, max_length=MAX_COMPARE_RULESETS,
                                description=f"Rule-set ids or jurisdictions, first is the baseline; 2 to {MAX_COMPARE_RULESETS}")


class Comparison(BaseModel):
    application_id: str
    quotes: list[Quote]
    difference_last_minus_first: dict[str, float]


class ErrorItem(BaseModel):
    field: str | None = Field(description="The field at fault, dotted (application.site.area), (body) for the body as a whole, "
                                           "null for an error of the request as a whole or of several fields together")
    value: Any = Field(None, description="The value given (NaN and infinities as text), or null")
    allowed: str = Field(description="What is allowed there")


class Problem(BaseModel):
    """The body of every error answer."""
    detail: list[ErrorItem]
    message: str = Field(description="The errors in one sentence")
ERROR_MEANINGS = {
    400: "The body could not be parsed at all (for example JSON nested too deep)",
    404: "No such rule set, parameter or example (named in the URL)",
    408: "The request body did not arrive in time",
    413: f"The request body is too large: at most {MAX_BODY_BYTES} bytes ({MAX_BATCH_BYTES} on /batch)",
    422: "Invalid input, each error with the field, the value and what is allowed: a field's type or range, an unknown "
         "field, or a rule across fields (an unknown or unresolvable rule set, a capacity beyond what 10 kV serves, "
         "enterprise figures without an industry, ...)",
    500: "A fault on the server, reported without its details (they are logged)",
}


def error_responses(*codes: int) -> dict:
    """OpenAPI `responses` for these error statuses, all with the Problem body."""
    return {code: {"model": Problem, "description": ERROR_MEANINGS[code]} for code in codes}


class RuleSetInfo(BaseModel):
    id: str
    title: str
    jurisdiction: str
    in_effect_from: dt.date
    lineage: list[str]
    content_hash: str


class ParameterValue(BaseModel):
    ruleset: str
    path: str
    since: dt.date
    value: Any
    unit: str
    breakdown: str | None
    description: str
    source: str
    document: str
    clause: str
    source_tag: str
    placeholder: bool


def comparison_of(application_id: str, quotes: list[Quote]) -> Comparison:
    first, last = quotes[0].totals, quotes[-1].totals
    return Comparison(application_id=application_id, quotes=quotes, difference_last_minus_first={
        key: getattr(last, key) - getattr(first, key) for key in ("customer_cny", "grid_cny", "total_cny")})


def error_item(error: dict, body_model: type[BaseModel] | None = None) -> dict:
    if error["type"] == "json_invalid":
        return {"field": "(body)", "value": None, "allowed": f'valid JSON ({error.get("ctx", {}).get("error", "")})'}
    loc = [part for part in error["loc"] if part != "body"]
    field = ".".join(str(part) for part in loc) or "(body)"
    allowed = error["msg"].removeprefix("Value error, ")  # our validators' own words, as the file path gives them
    if error["type"] == "extra_forbidden":
        known = _fields_at(body_model, loc[:-1])
        allowed = f"{allowed}: no field {loc[-1]!r} here (misspelt?)" + (f"; allowed: {', '.join(known)}" if known else "")
    return {"field": field, "value": _json_safe(error.get("input")), "allowed": allowed}


def _fields_at(model: type[BaseModel] | None, loc: list) -> list[str]:
    """The field names of the model found at `loc` inside `model` (empty when it cannot be followed)."""
    for part in loc:
        field = model.model_fields.get(part) if model is not None else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields) if model is not None else []


def _json_safe(value: Any) -> Any:
    """The offending value as JSON can carry it: NaN and infinities as text, raw bytes decoded, objects left out."""
    if isinstance(value, bytes):  # a body that is not JSON (e.g. sent as text/plain) arrives raw
        return value[:200].decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or Infinity
        return str(value)
    if isinstance(value, list):
        return [_json_safe(item) for item in value[:50]]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return None if isinstance(value, dict) else str(value)


# POST /optimize: the solver's time limit is the client's choice up to this maximum (a request holds a worker and,
# one solve at a time, the requests behind it); the default keeps the page's answer quick.
MAX_OPTIMIZE_TIME_S = 60.0
DEFAULT_OPTIMIZE_TIME_S = 10.0
MAX_AC_ROUNDS = 10


class NetworkTables(BaseModel):
    """A network as the CSV texts of its folder's files (`costmodel optimize DIR` reads the same files, same columns)."""
    model_config = ConfigDict(extra="forbid")

    nodes: str = Field(description="nodes.csv: id, x_m, y_m, kind, voltage_kv, spare_capacity_kva, demand_kva, hv_node")
    corridors: str = Field(description="corridors.csv: id, from_node, to_node, length_km, allowed_std_types (;-separated), "
                                       "cost_multiplier, status")
    customers: str = Field(description="customers.csv: application_id, node_id[, demand_kva]")
    applications: str | None = Field(None, description="The customers' applications (the portfolio CSV columns, one row per "
                                                       "application_id): who pays; without them the design is not quoted")


class OptimizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    example: str | None = Field(None, description="A shipped example network (GET /networks), e.g. park; or give `network`")
    network: NetworkTables | None = Field(None, description="The network's tables; or name an `example`")
    ruleset: str = Field("shandong-2019", description="Rule-set id: the network limits, the catalogue and the funding rules")
    time_limit_s: float = Field(DEFAULT_OPTIMIZE_TIME_S, description=f"Solver time limit in seconds, more than 0 and at most "
                                f"{MAX_OPTIMIZE_TIME_S:g}", json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_OPTIMIZE_TIME_S})
    mip_gap: float = Field(NETWORK_GAP, ge=0, le=1, description="Relative gap at which the solver stops; 'optimal' is reported "
                                                               "only within the default gap")
    ac_rounds: int = Field(AC_ROUNDS, ge=0, le=MAX_AC_ROUNDS, description="Rounds of solve, AC check and tightening; 0: the linear "
                                                                  "model's design, its AC check only reported")
    formulation: str = Field("plain", description="plain, tree or multicommodity (see `costmodel optimize --help`)")

    @field_validator("time_limit_s")
    @classmethod
    def _bounded_time(cls, value: float) -> float:
        if not (math.isfinite(value) and 0 < value <= MAX_OPTIMIZE_TIME_S):
            raise ValueError(f"more than 0 and at most {MAX_OPTIMIZE_TIME_S:g} seconds (the server's maximum)")
        return value

    @field_validator("ruleset")
    @classmethod
    def _known_ruleset(cls, value: str) -> str:
        from costmodel.params import available_rulesets

        if value not in available_rulesets():
            raise ValueError(f"unknown rule set; allowed: {', '.join(available_rulesets())}")
        return value

    @field_validator("example")
    @classmethod
    def _known_example(cls, value: str | None) -> str | None:
        from costmodel.api.network import example_networks

        if value is not None and value not in example_networks():
            raise ValueError(f"no such example network; allowed: {', '.join(example_networks())}")
        return value

    @field_validator("formulation")
    @classmethod
    def _known_formulation(cls, value: str) -> str:
        from costmodel.grid.radial import FORMULATIONS

        if value not in FORMULATIONS:
            raise ValueError(f"unknown formulation; allowed: {', '.join(FORMULATIONS)}")
        return value

    @model_validator(mode="after")
    def _one_network(self) -> "OptimizeRequest":
        if (self.example is None) == (self.network is None):
            raise ValueError("give exactly one of example (a shipped network, GET /networks) and network (its CSV tables)")
        return self


class NetworkInfo(BaseModel):
    name: str
    nodes: int
    corridors: int
    customers: int
    has_applications: bool = Field(description="The example's applications are shipped: its design is quoted (who pays)")


class OptimizeQuote(BaseModel):
    totals: list[dict[str, Any]] = Field(description="Per application: size, voltage, boundary, customer_cny, grid_cny, total_cny")
    lines: list[dict[str, Any]] = Field(description="The quote lines: component, quantity, amount_cny, funded_by (customer|grid), rule")


class OptimizeAnswer(BaseModel):
    network: str
    ruleset: str
    report: dict[str, Any] = Field(description="status, summary, stopped, objective_cny, bound_cny, gap, seconds, ac_summary, "
                                               "diagnosis (diagnosis_zh: in Chinese), references, ... (as `costmodel optimize --json`)")
    validation: dict[str, Any] = Field(description="The AC power flow check: summary (worst voltage, loading, losses), violations "
                                                   "and pre_existing breaches, each also in Chinese (violations_zh, pre_existing_zh)")
    corridors: list[dict[str, Any]] = Field(description="The design's corridors: conductor, change, length, cost, flow, loading")
    transformers: list[dict[str, Any]] = Field(description="New transformers at candidate sites")
    customers: list[dict[str, Any]] = Field(description="Each customer's node, demand, source and voltage drop")
    components: list[dict[str, Any]] = Field(description="The design as the quote's components, per application (zone: "
                                                         "extension for new corridors, upstream for reinforcements)")
    quote: OptimizeQuote | None = Field(description="Who pays, when the network has applications; null otherwise")
    map_svg: dict[str, str] | None = Field(description="The map as an inline <svg> element (no style attributes), by language "
                                                        "(zh, en); null without a design")
