"""Eligibility the texts name, asked for explicitly: what a request may not have.

- Single-phase supply only within the single-phase limit of the rule set in use (a parameter): above it the
  application is rejected with a reason naming the field, its value and the limit, since the customer must
  apply for three-phase supply and a single-phase design would quote the wrong equipment.
- An unknown ownership grants nothing (costmodel.rules.unknowns says what a known one would change).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.messages import Reason
from costmodel.rules import conditions

SINGLE_PHASE_LIMIT = "supply_voltage.single_phase_under_kw"
# 《供电营业规则》(1996) 第八条: single-phase 220 V when the single-phase equipment totals under (不足) the
# limit, so a request at the limit or above needs three-phase supply.
OVER_SINGLE_PHASE = ({"field": "phases", "eq": 1}, {"quantity": "capacity", "ge": {"param": SINGLE_PHASE_LIMIT}})


def single_phase_problems(decided: Columns, ruleset, problems: np.ndarray) -> np.ndarray:
    """Sets the reason of each row not yet rejected that asks for single-phase supply at or above the limit in
    force; a rule set without the limit rejects none."""
    if SINGLE_PHASE_LIMIT not in ruleset.parameters:
        return problems
    over = conditions.evaluate_all(OVER_SINGLE_PHASE, decided, ruleset) & pd.isna(problems)
    rows = np.flatnonzero(over)
    if not len(rows):
        return problems
    parameter = ruleset.parameter(SINGLE_PHASE_LIMIT)
    capacity = np.asarray(decided[conditions.left_column(OVER_SINGLE_PHASE[1], ruleset)], dtype=float)[rows]
    limits = parameter.array(decided.take(rows, parameter.reads))
    problems[rows] = [
        Reason("reject.single_phase", value=f"{value:g}", unit=parameter.unit, limit=f"{limit:g}", path=parameter.path,
               cites=parameter.reference.cite())
        for value, limit in zip(capacity.tolist(), limits.tolist())
    ]
    return problems
