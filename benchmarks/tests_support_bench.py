"""A portfolio row as the nested Application a user would write: the input of quote_application."""

import pandas as pd

from costmodel.application import parse_application


def application_from_row(row: pd.Series):
    def value(name):
        v = row[name]
        return None if pd.isna(v) else v.item() if hasattr(v, "item") else v
    applicant = {"kind": value("applicant_kind")}
    if applicant["kind"] == "enterprise":
        employees = value("employees")
        applicant["enterprise"] = {
            "industry": value("industry"), "employees": None if employees is None else int(employees),
            "operating_revenue_10k_cny": value("revenue_10k_cny"), "total_assets_10k_cny": value("assets_10k_cny"),
            "size_class": value("size_class"), "ownership": value("ownership"), "in_project_database": bool(value("in_project_database"))}
    return parse_application({
        "id": row["application_id"], "application_date": row["application_date"].date(), "applicant": applicant,
        "site": {k: value(k) for k in ("area", "park_level", "distance_to_lv_m", "distance_to_10kv_m", "transformer_headroom_kva", "road_crossings")},
        "request": {"capacity": value("capacity"), "capacity_unit": value("capacity_unit"), "power_factor": value("power_factor"),
                    "phases": int(value("phases")), "supply": value("supply"), "duration": value("duration")},
    })
