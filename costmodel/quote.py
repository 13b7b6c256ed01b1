"""Quotes: price the components, fund each line by its zone and the boundary, total per party.

`quote_frame` serves one application and a million alike; `quote_application` is the same call on a
one-row frame, with the trace added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel

from costmodel.application import Application
from costmodel.designs.standard import ZONES, Scheme, design_components, load_scheme
from costmodel.errors import InputError
from costmodel.params import RuleSet
from costmodel.rules.engine import decide, fee_lines
from costmodel.schedule import schedule_applications
from costmodel.trace import TraceStep, traces_for

# Boundary points in order along the supply path. The grid company funds every zone upstream of the
# application's boundary point; charges lie past every boundary, so the customer pays them.
BOUNDARY_POINTS = ("point_of_connection", "red_line", "meter")
ZONE_RANK = {zone: rank for rank, zone in enumerate(ZONES + ("charges",))}
BOUNDARY_RANK = {point: rank + 1 for rank, point in enumerate(BOUNDARY_POINTS)}
LINE_COLUMNS = [
    "application_id", "component", "std_type", "zone", "quantity", "unit", "unit_cost_cny", "amount_cny",
    "funded_by", "rule_id", "design_rule", "catalogue_ref", "indicative", "placeholder",
]


def price_components(components: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Component x catalogue row -> priced line."""
    items = scheme.catalog.items
    unit_cost = items["unit_cost_cny"].reindex(components["std_type"]).to_numpy()
    return components.assign(
        unit_cost_cny=unit_cost,
        amount_cny=components["quantity"].to_numpy() * unit_cost,
        catalogue_ref=scheme.catalog.id + ":" + components["std_type"].astype(str),
        indicative=items["indicative"].reindex(components["std_type"]).to_numpy(),
        placeholder=False,
    )


def fund_lines(lines: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """Who funds each line follows only from its zone and the application's boundary point."""
    by_application = decided.set_index("application_id")
    boundary = by_application["boundary"].reindex(lines["application_id"]).to_numpy()
    zone_rank = lines["zone"].map(ZONE_RANK).to_numpy()
    boundary_rank = pd.Series(boundary).map(BOUNDARY_RANK).to_numpy()
    grid = zone_rank < boundary_rank
    rule = by_application["boundary_rule"].reindex(lines["application_id"]).to_numpy()
    funded = lines.assign(funded_by=np.where(grid, "grid", "customer"))
    is_works = funded["zone"].ne("charges").to_numpy()
    funded["rule_id"] = np.where(is_works, rule, funded["rule_id"]) if "rule_id" in funded else rule
    return funded


def totals_by_application(lines: pd.DataFrame, application_ids: pd.Series) -> pd.DataFrame:
    table = lines.pivot_table(index="application_id", columns="funded_by", values="amount_cny", aggfunc="sum", fill_value=0.0)
    table = table.reindex(index=application_ids.to_numpy(), columns=["customer", "grid"], fill_value=0.0).fillna(0.0)
    table.columns = ["customer_cny", "grid_cny"]
    table["total_cny"] = table["customer_cny"] + table["grid_cny"]
    table.index.name = "application_id"
    return table.reset_index()


@dataclass
class QuoteBatch:
    """Every application's decisions, lines and totals, plus the rows that could not be quoted."""

    decisions: pd.DataFrame
    lines: pd.DataFrame
    totals: pd.DataFrame
    rejected: pd.DataFrame  # application_id, reason
    ruleset: RuleSet
    scheme: Scheme

    def schedules(self, application_ids=None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Stage dates and totals of every (or the given) application: the schedule's one path."""
        decided = self.decisions
        if application_ids is not None:
            decided = decided[decided["application_id"].isin(application_ids)]
        route_m = np.where(decided["supply_voltage"].eq("10kV"), decided["distance_to_10kv_m"], decided["distance_to_lv_m"])
        return schedule_applications(pd.DataFrame({
            "application_id": decided["application_id"].to_numpy(),
            "application_date": decided["application_date"].to_numpy(),
            "supply_voltage": decided["supply_voltage"].to_numpy(),
            "ruleset_id": self.ruleset.schedule_id,
            # A line that leaves the plot or crosses a road needs external-works approvals.
            "has_external_works": (decided["road_crossings"].to_numpy() > 0) | (route_m > 0),
        }))

    def summary(self) -> pd.DataFrame:
        keep = ["application_id", "enterprise_size", "supply_voltage", "supply_voltage_rule", "boundary", "boundary_rule"]
        return self.decisions[keep].merge(self.totals, on="application_id", how="left")


def quote_frame(frame: pd.DataFrame, ruleset: RuleSet, scheme: Scheme | None = None) -> QuoteBatch:
    """Quote every application of a frame through one vectorised path."""
    scheme = scheme or load_scheme()
    decided, problems = decide(frame, ruleset)
    bad = problems.notna()
    rejected = pd.DataFrame({"application_id": decided.loc[bad, "application_id"], "reason": problems[bad]})
    decided = decided[~bad].reset_index(drop=True)
    works = price_components(design_components(decided, scheme, ruleset), scheme)
    charges = fee_lines(decided, ruleset)
    lines = pd.concat([works, charges], ignore_index=True) if not charges.empty else works
    lines = fund_lines(lines, decided)[LINE_COLUMNS]
    totals = totals_by_application(lines, decided["application_id"])
    return QuoteBatch(decided, lines, totals, rejected.reset_index(drop=True), ruleset, scheme)


class QuoteLine(BaseModel):
    component: str
    std_type: str | None
    zone: str
    quantity: float
    unit: str
    unit_cost_cny: float
    amount_cny: float
    funded_by: str
    rule_id: str
    design_rule: str | None
    catalogue_ref: str
    indicative: bool
    placeholder: bool


class Totals(BaseModel):
    customer_cny: float
    grid_cny: float
    total_cny: float


class ScheduleStage(BaseModel):
    stage_id: str
    name_zh: str
    name_en: str
    working_days: int
    start_date: dt.date
    due_date: dt.date
    on_critical_path: bool
    reference: str


class Schedule(BaseModel):
    ruleset_id: str
    total_working_days: int
    limit_working_days: int | None
    within_limit: bool | None
    energisation_due_date: dt.date
    calendar_days: int
    limit_reference: str
    stages: list[ScheduleStage]
    warnings: list[str]


def _schedules(batch: QuoteBatch, application_ids: list[str]) -> dict[str, Schedule]:
    stages, summary = batch.schedules(application_ids)
    stages_by_application = {key: group for key, group in stages.groupby("application_id", sort=False, observed=True)}
    schedules = {}
    for row in summary.itertuples(index=False):
        schedules[row.application_id] = Schedule(
            ruleset_id=str(row.ruleset_id),
            total_working_days=int(row.total_working_days),
            limit_working_days=None if pd.isna(row.limit_working_days) else int(row.limit_working_days),
            within_limit=None if pd.isna(row.within_limit) else bool(row.within_limit),
            energisation_due_date=row.energisation_due_date.date(),
            calendar_days=int(row.calendar_days),
            limit_reference=str(row.limit_reference),
            stages=[ScheduleStage(stage_id=str(s.stage_id), name_zh=str(s.name_zh), name_en=str(s.name_en),
                                  working_days=int(s.working_days), start_date=s.start_date.date(), due_date=s.due_date.date(),
                                  on_critical_path=bool(s.on_critical_path), reference=str(s.reference))
                    for s in stages_by_application[row.application_id].itertuples()],
            warnings=[w for w in str(row.warnings).split("; ") if w],
        )
    return schedules


class Provenance(BaseModel):
    ruleset_id: str
    ruleset_title: str
    ruleset_lineage: list[str]
    ruleset_content_hash: str
    overrides: list[str]
    evaluation_date: dt.date
    catalog_id: str
    catalog_edition: str
    design_scheme: str


class Quote(BaseModel):
    application_id: str
    ruleset: str
    enterprise_size: str
    capacity_kva: float
    capacity_kw: float
    supply_voltage: str
    boundary: str
    totals: Totals
    lines: list[QuoteLine]
    trace: list[TraceStep]
    schedule: Schedule
    provenance: Provenance
    warnings: list[str]


def _warnings(lines: list[dict]) -> list[str]:
    notes = []
    placeholders = sorted({line["component"] for line in lines if line["placeholder"]})
    if placeholders:
        notes.append(f"placeholder rates (set the province's own before relying on them): {', '.join(placeholders)}")
    indicative = sum(bool(line["indicative"]) for line in lines)
    if indicative:
        notes.append(f"{indicative} line(s) priced with indicative unit costs, not cited figures")
    return notes


def quotes_from_batch(batch: QuoteBatch, application_ids: list[str] | None = None) -> list[Quote]:
    """Full quotes, with trace and schedule, of the (given) applications of a batch, in batch order."""
    decided = batch.decisions
    if application_ids is not None:
        wanted = set(application_ids)
        missing = wanted - set(decided["application_id"])
        if missing:
            first = sorted(missing)[0]
            reason = batch.rejected.loc[batch.rejected["application_id"] == first, "reason"]
            raise InputError(reason.iloc[0] if len(reason) else f"no application {first!r} in the batch")
        decided = decided[decided["application_id"].isin(wanted)]
    ids = decided["application_id"].tolist()
    if not ids:
        return []
    traces = traces_for(decided, batch.ruleset)
    schedules = _schedules(batch, ids)
    lines = batch.lines[batch.lines["application_id"].isin(ids)]
    records = lines.astype(object).where(lines.notna(), None)
    lines_by_application: dict[str, list[dict]] = {i: [] for i in ids}
    for record in records.to_dict("records"):
        lines_by_application[record.pop("application_id")].append(record)
    totals = batch.totals.set_index("application_id")
    quotes = []
    for row in decided.itertuples(index=False):
        own_lines = lines_by_application[row.application_id]
        quotes.append(Quote(
            application_id=row.application_id,
            ruleset=batch.ruleset.id,
            enterprise_size=str(row.enterprise_size),
            capacity_kva=float(row.capacity_kva),
            capacity_kw=float(row.capacity_kw),
            supply_voltage=str(row.supply_voltage),
            boundary=str(row.boundary),
            totals=Totals(**totals.loc[row.application_id, ["customer_cny", "grid_cny", "total_cny"]].to_dict()),
            lines=[QuoteLine(**record) for record in own_lines],
            trace=traces[row.application_id],
            schedule=schedules[row.application_id],
            provenance=Provenance(
                ruleset_id=batch.ruleset.id,
                ruleset_title=batch.ruleset.title,
                ruleset_lineage=list(batch.ruleset.lineage),
                ruleset_content_hash=batch.ruleset.content_hash,
                overrides=list(batch.ruleset.overrides),
                evaluation_date=row.evaluation_date.date(),
                catalog_id=batch.scheme.catalog.id,
                catalog_edition=batch.scheme.catalog.edition,
                design_scheme=batch.scheme.id,
            ),
            warnings=_warnings(own_lines),
        ))
    return quotes


def quote_from_batch(batch: QuoteBatch, application_id: str) -> Quote:
    """The full quote of one application of a batch."""
    return quotes_from_batch(batch, [application_id])[0]


def quote_application(application: Application, ruleset: RuleSet, scheme: Scheme | None = None) -> Quote:
    """One application's quote: the batch path on a one-row frame."""
    return quote_from_batch(quote_frame(application.to_frame(), ruleset, scheme), application.id)
