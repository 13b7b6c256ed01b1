"""The connection application: validated input models and their one-row frame."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, \
    model_validator

from costmodel.errors import InputError
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_json, load_yaml, quoted

ApplicantKind = Literal["residential", "enterprise", "individual_business", "public_institution"]
# Kinds that take an `enterprise` section (industry and figures, or a declared size class). An individual
# business (个体工商户) is sized by reference to the MIIT 2011 standard (see tariffs/classification/miit-2011).
ENTERPRISE_KINDS = ("enterprise", "individual_business")
# An individual business is a private economic organisation by nature (a natural person's or a family's own
# business; reports of the 2025 opinion count 个体工商户 among 民营经济组织, POLICY.md §4): its ownership is
# private whether given or not, and no other value is accepted.
INDIVIDUAL_BUSINESS_OWNERSHIP = "private"
SizeClass = Literal["large", "medium", "small", "micro"]
Ownership = Literal["private", "state_owned", "collective", "foreign", "other"]
Area = Literal["urban", "rural"]
ParkLevel = Literal["national", "provincial", "municipal", "county", "none"]

# Every input path (YAML, JSON, HTTP, portfolio rows) is validated by these models; the portfolio validator
# reads each column's rule from the field it fills (`COLUMN_FIELDS`, `field_adapter`), so there is one
# definition. The rules beyond pydantic's own: numbers are finite and never booleans; a date is a date
# (YYYY-MM-DD text, a date, or a datetime at midnight), within the supported window.
SUPPORTED_DATES_FILE = Path("calendar") / "supported-dates.yaml"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _not_boolean(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{value!r} is a boolean, not a number")
    return value


def _whole_number(value: Any) -> Any:
    """An integer choice (phases) from a whole number, its text ("3") included, as the other numbers take text."""
    value = _not_boolean(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


@cached_per_root(maxsize=1)
def supported_dates() -> tuple[dt.date, dt.date]:
    """(earliest, latest) application date quoted: the earliest national rule set's start, and the latest date
    declared with its reason in tariffs/calendar/supported-dates.yaml."""
    rulesets = tariffs_dir() / "rulesets"
    starts = []
    for manifest in sorted(rulesets.glob("*/manifest.yaml")):
        raw = load_yaml(manifest)
        if isinstance(raw, dict) and raw.get("layer") == "national" and isinstance(raw.get("in_effect_from"), dt.date):
            starts.append(raw["in_effect_from"])
    if not starts:
        raise InputError(f"{rulesets}: no national rule set with an in_effect_from date; cannot tell the earliest application date")
    path = tariffs_dir() / SUPPORTED_DATES_FILE
    raw = check_keys(load_yaml(path), str(path), {"description", "latest_application_date"})
    latest = check_keys(raw["latest_application_date"], f"{path}: latest_application_date", {"value", "unit", "reference"})
    if not isinstance(latest["value"], dt.date) or latest["unit"] != "date":
        raise InputError(f"{path}: latest_application_date needs value: YYYY-MM-DD and unit: date, got {latest!r}")
    return min(starts), latest["value"]


def _strict_date(value: Any) -> dt.date | str:
    """A calendar date: a date, a datetime at midnight, or text YYYY-MM-DD; nothing else (no 'now', no US-order
    or compact text, no numbers such as Excel serials or Unix times)."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None or value.time() != dt.time(0):
            raise ValueError(f"{value!s} has a time of day; allowed: a date YYYY-MM-DD")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if not ISO_DATE.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
        return value.strip()  # pydantic's own date parser: a calendar date, else "Input should be a valid date"
    raise ValueError(f"{value!r} is not a date; allowed: a date YYYY-MM-DD (numbers such as spreadsheet serials are refused)")


def _supported_date(value: dt.date) -> dt.date:
    earliest, latest = supported_dates()
    if not earliest <= value <= latest:
        raise ValueError(f"{value.isoformat()} is outside the supported dates; allowed: {earliest.isoformat()} (the earliest "
                         f"national rule set's start) to {latest.isoformat()} (tariffs/{SUPPORTED_DATES_FILE.as_posix()})")
    return value


def _known_industry(industry: str) -> str:
    from costmodel.classification import known_industries  # the size table's industries

    allowed = known_industries()
    if industry not in allowed:
        raise ValueError(f"unknown industry {industry!r}; allowed: {', '.join(allowed)}")
    return industry


Number = Annotated[float, BeforeValidator(_not_boolean)]
Industry = Annotated[str, AfterValidator(_known_industry)]
Count = Annotated[int, BeforeValidator(_not_boolean)]
Phases = Annotated[Literal[1, 3], BeforeValidator(_whole_number)]
ApplicationDate = Annotated[dt.date, BeforeValidator(_strict_date), AfterValidator(_supported_date)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Enterprise(_Model):
    industry: Industry | None = Field(None, description="MIIT 2011 industry key, e.g. industry, warehousing, retail")
    employees: Count | None = Field(None, ge=0, description="Number of employees (persons)")
    operating_revenue_10k_cny: Number | None = Field(None, ge=0, description="Operating revenue, 10^4 CNY (万元)")
    total_assets_10k_cny: Number | None = Field(None, ge=0, description="Total assets, 10^4 CNY (万元)")
    size_class: SizeClass | None = Field(None, description="Declared size class; derived from the MIIT table when absent")
    ownership: Ownership | None = Field(None, description="Economic type on the business licence (营业执照); unknown when absent, "
                                                           "and then no ownership-based entitlement applies")
    in_project_database: bool = Field(False, description="Listed in the provincial new-old growth-driver project database")

    @model_validator(mode="after")
    def _size_derivable(self) -> Enterprise:
        if self.size_class is None and self.industry is None:
            raise ValueError("give either size_class (large, medium, small, micro) or industry with its figures")
        return self


class Applicant(_Model):
    kind: ApplicantKind
    name: str | None = None
    enterprise: Enterprise | None = None

    @model_validator(mode="after")
    def _enterprise_details(self) -> Applicant:
        if self.kind in ENTERPRISE_KINDS and self.enterprise is None:
            raise ValueError(f"an {self.kind} applicant needs an 'enterprise' section (industry and figures, or size_class)")
        if self.kind not in ENTERPRISE_KINDS and self.enterprise is not None:
            raise ValueError(f"a {self.kind} applicant takes no 'enterprise' section")
        if self.kind == "individual_business" and self.enterprise.ownership not in (None, INDIVIDUAL_BUSINESS_OWNERSHIP):
            raise ValueError(f"an individual business (个体工商户) is a private economic organisation: ownership is "
                             f"{INDIVIDUAL_BUSINESS_OWNERSHIP} or left out, not {self.enterprise.ownership!r}")
        return self


class Site(_Model):
    area: Area = Field(description="urban (city planning area) or rural")
    park_level: ParkLevel = Field("none", description="Level of the industrial park the site is in, or none")
    distance_to_lv_m: Number | None = Field(ge=0, le=50_000, description="Route length to the nearest public low-voltage point, m; "
                                                                      "null: not known, the design scheme's assumption is used")
    distance_to_10kv_m: Number = Field(ge=0, le=50_000, description="Route length to the nearest 10 kV point of connection, m")
    transformer_headroom_kva: Number | None = Field(ge=0, description="Spare capacity of the nearest public transformer, kVA; "
                                                                      "null: not known, the design scheme's assumption is used")
    road_crossings: Count = Field(0, ge=0, le=50, description="Roads the new line must cross")


class Request(_Model):
    capacity: Number = Field(gt=0, le=1_000_000, description="Requested capacity, in capacity_unit")
    capacity_unit: Literal["kVA", "kW"] = "kVA"
    power_factor: Number | None = Field(None, gt=0, le=1, description="Needed to convert kW and kVA; the rule set's default when absent")
    phases: Phases = 3
    voltage_requested: Literal["10kV"] | None = Field(None, description="Asked for 10 kV supply although the request is within the "
                                                                        "low-voltage cap; absent: the rule set decides")
    supply: Literal["single", "dual"] = "single"
    backup_capacity: Number | None = Field(None, ge=0, le=1_000_000, description=(
        "Dual supply only: capacity of the backup circuit(s), in capacity_unit, on which the high-reliability fee is "
        "charged (the circuits other than the largest); absent: a full backup, as large as the request"))
    duration: Literal["permanent", "temporary"] = "permanent"

    @model_validator(mode="after")
    def _backup_with_dual_supply(self) -> Request:
        if self.backup_capacity is not None and self.supply != "dual":
            raise ValueError(f"backup_capacity {self.backup_capacity:g} is given for {self.supply} supply; allowed: only with supply dual")
        if self.backup_capacity is not None and self.backup_capacity > self.capacity:
            raise ValueError(f"backup_capacity {self.backup_capacity:g} exceeds capacity {self.capacity:g}; allowed: at most the capacity")
        return self


class Application(_Model):
    id: str = Field(min_length=1, max_length=100)
    application_date: ApplicationDate = Field(description="Date of the application, YYYY-MM-DD, within the supported dates "
                                                          "(tariffs/calendar/supported-dates.yaml)")
    applicant: Applicant
    site: Site
    request: Request

    def to_frame(self) -> pd.DataFrame:
        return applications_frame([self])


# The engine's input columns and their types (object: text, possibly missing).
FRAME_DTYPES = {
    "application_id": object, "application_date": "datetime64[ns]", "applicant_kind": object, "industry": object,
    "employees": float, "revenue_10k_cny": float, "assets_10k_cny": float, "size_class": object, "ownership": object,
    "in_project_database": bool, "area": object, "park_level": object, "distance_to_lv_m": float,
    "distance_to_10kv_m": float, "transformer_headroom_kva": float, "road_crossings": np.int64, "capacity": float,
    "capacity_unit": object, "power_factor": float, "phases": np.int64, "supply": object, "backup_capacity": float, "duration": object,
    "voltage_requested": object,
}
FRAME_COLUMNS = list(FRAME_DTYPES)
# frame column -> (model, field) it fills: a portfolio column is checked by that field's rule (`field_adapter`)
COLUMN_FIELDS = {
    "application_id": (Application, "id"), "application_date": (Application, "application_date"),
    "applicant_kind": (Applicant, "kind"), "industry": (Enterprise, "industry"), "employees": (Enterprise, "employees"),
    "revenue_10k_cny": (Enterprise, "operating_revenue_10k_cny"), "assets_10k_cny": (Enterprise, "total_assets_10k_cny"),
    "size_class": (Enterprise, "size_class"), "ownership": (Enterprise, "ownership"),
    "in_project_database": (Enterprise, "in_project_database"), "area": (Site, "area"), "park_level": (Site, "park_level"),
    "distance_to_lv_m": (Site, "distance_to_lv_m"), "distance_to_10kv_m": (Site, "distance_to_10kv_m"),
    "transformer_headroom_kva": (Site, "transformer_headroom_kva"), "road_crossings": (Site, "road_crossings"),
    "capacity": (Request, "capacity"), "capacity_unit": (Request, "capacity_unit"), "power_factor": (Request, "power_factor"),
    "phases": (Request, "phases"), "supply": (Request, "supply"), "backup_capacity": (Request, "backup_capacity"),
    "duration": (Request, "duration"),
    "voltage_requested": (Request, "voltage_requested"),
}
_FIELD_COLUMNS = {name: column for column, (_, name) in COLUMN_FIELDS.items()}


@lru_cache(maxsize=None)
def field_adapter(column: str, many: bool = False) -> TypeAdapter:
    """The validator of one frame column's values (of a list of them with `many`): its field's type, constraints
    and validators, with the model's config."""
    model, name = COLUMN_FIELDS[column]
    info = model.model_fields[name]
    annotated = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(list[annotated] if many else annotated, config=ConfigDict(allow_inf_nan=model.model_config["allow_inf_nan"]))


# A decided column whose labels are those of an application field: the enterprise size the rules compare is the
# declared size class, or one derived from the MIIT table in the same classes.
DECIDED_LIKE = {"enterprise_size": "size_class"}


def field_labels(column: str) -> tuple | None:
    """The labels a frame column (or a decided column of DECIDED_LIKE) may take: its field's Literal; None if free."""
    column = DECIDED_LIKE.get(column, column)
    if column not in COLUMN_FIELDS:
        return None
    model, name = COLUMN_FIELDS[column]
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_args(annotation) if typing.get_origin(annotation) is Literal else None


def column_of(loc: tuple) -> str | None:
    """The frame column of a validation error's location (('site', 'area') -> 'area'); None for a whole section."""
    return _FIELD_COLUMNS.get(loc[-1]) if loc and isinstance(loc[-1], str) else None


def _row(app: Application) -> dict:
    enterprise = app.applicant.enterprise
    return {
        "application_id": app.id,
        "application_date": pd.Timestamp(app.application_date),
        "applicant_kind": app.applicant.kind,
        "industry": enterprise.industry if enterprise else None,
        "employees": float(enterprise.employees) if enterprise and enterprise.employees is not None else float("nan"),
        "revenue_10k_cny": enterprise.operating_revenue_10k_cny if enterprise and enterprise.operating_revenue_10k_cny is not None else float("nan"),
        "assets_10k_cny": enterprise.total_assets_10k_cny if enterprise and enterprise.total_assets_10k_cny is not None else float("nan"),
        "size_class": enterprise.size_class if enterprise else None,
        "ownership": _ownership(app.applicant.kind, enterprise.ownership) if enterprise else None,
        "in_project_database": bool(enterprise.in_project_database) if enterprise else False,
        "area": app.site.area,
        "park_level": app.site.park_level,
        "distance_to_lv_m": app.site.distance_to_lv_m,
        "distance_to_10kv_m": app.site.distance_to_10kv_m,
        "transformer_headroom_kva": app.site.transformer_headroom_kva,
        "road_crossings": app.site.road_crossings,
        "capacity": app.request.capacity,
        "capacity_unit": app.request.capacity_unit,
        "power_factor": app.request.power_factor if app.request.power_factor is not None else float("nan"),
        "phases": app.request.phases,
        "supply": app.request.supply,
        "backup_capacity": app.request.backup_capacity if app.request.backup_capacity is not None else float("nan"),
        "duration": app.request.duration,
        "voltage_requested": app.request.voltage_requested,
    }


def _ownership(kind: str, given: str | None) -> str | None:
    """The ownership the rules read: an individual business's is private even when not given."""
    return INDIVIDUAL_BUSINESS_OWNERSHIP if kind == "individual_business" else given


def applications_frame(apps: list[Application]) -> pd.DataFrame:
    """The engine's input: one row per application, flat unit-suffixed columns of FRAME_DTYPES (declared, so
    pandas need not infer them: half the cost for the 16 applications of a coalesced web request)."""
    rows = [_row(app) for app in apps]
    return pd.DataFrame({column: np.array([row[column] for row in rows], dtype=dtype) for column, dtype in FRAME_DTYPES.items()},
                        copy=False)


def application_from_row(row: pd.Series) -> Application:
    """One row of the application frame back as the nested Application a user writes (the inverse of `_row`)."""
    def value(name):
        v = row[name]
        return None if pd.isna(v) else v.item() if hasattr(v, "item") else v

    applicant: dict = {"kind": value("applicant_kind")}
    if applicant["kind"] in ENTERPRISE_KINDS:
        employees = value("employees")
        applicant["enterprise"] = {
            "industry": value("industry"), "employees": None if employees is None else int(employees),
            "operating_revenue_10k_cny": value("revenue_10k_cny"), "total_assets_10k_cny": value("assets_10k_cny"),
            "size_class": value("size_class"), "ownership": value("ownership"),
            "in_project_database": bool(value("in_project_database"))}
    return parse_application({
        "id": row["application_id"], "application_date": pd.Timestamp(row["application_date"]).date(), "applicant": applicant,
        "site": {k: value(k) for k in ("area", "park_level", "distance_to_lv_m", "distance_to_10kv_m", "transformer_headroom_kva",
                                       "road_crossings")},
        "request": {"capacity": value("capacity"), "capacity_unit": value("capacity_unit"), "power_factor": value("power_factor"),
                    "phases": int(value("phases")), "supply": value("supply"), "duration": value("duration"),
                    "backup_capacity": value("backup_capacity") if "backup_capacity" in row else None,
                    "voltage_requested": value("voltage_requested") if "voltage_requested" in row else None},
    }, f"application {row['application_id']}")


def _describe_validation(error: ValidationError, where: str) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(application)"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {quoted(value)})"  # a value may be huge: cut
        problems.append(f"{field}: {item['msg'].removeprefix('Value error, ')}{shown}")
    return f"{where}: invalid application\n  - " + "\n  - ".join(problems)


def parse_application(data: object, where: str = "application") -> Application:
    try:
        return Application.model_validate(data)
    except ValidationError as error:
        raise InputError(_describe_validation(error, where)) from None


MAX_APPLICATION_BYTES = 1 << 20  # one application is a few hundred bytes; more is a mistaken file


def load_application(path: str | Path) -> Application:
    """Read an application from YAML or JSON; every problem names its field."""
    path = Path(path)
    # One guarded reader for both (a regular file, at most MAX_APPLICATION_BYTES, UTF-8, depth, aliases).
    if path.suffix.lower() == ".json":
        data = load_json(path, "an application file", MAX_APPLICATION_BYTES)
    else:
        data = load_yaml(path, "an application file", MAX_APPLICATION_BYTES)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping with id, application_date, applicant, site, request")
    return parse_application(data, str(path))
