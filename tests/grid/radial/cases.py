"""Hand-solved networks shared by the radial optimiser's tests, and the figures they are worked out from.

Catalogue figures used (tariffs/catalogs/cn-indicative-2019): 3x70 cable 420,000 CNY/km, 215 A,
r 0.268, x 0.111 ohm/km; 3x240 cable 680,000 CNY/km, 430 A; JKLYJ-10-70 overhead 352,500 CNY/km,
250 A, r 0.443, x 0.35 ohm/km. Limits of national-1996: 7% drop, power factor 0.9.
Drop in % = S[kVA] * L[km] * (r*0.9 + x*sqrt(1-0.81)) / (10 * 10 kV^2).
"""

import math

import pandas as pd

from costmodel.grid.network import load_grid_limits, network_from_frames
from costmodel.grid.radial import extract, optimise as run_optimiser, prepare

CABLE70, CABLE240 = "YJV22-8.7/15-3x70", "YJV22-8.7/15-3x240"
OVERHEAD70 = "JKLYJ-10-70"
SIN = math.sqrt(1 - 0.9 ** 2)
# New transformers at candidate sites. Catalogue figures: S13-M-100/10 68,000 CNY (100 kVA),
# S13-M-160/10 85,000, S13-M-200/10 98,000; 4x120 LV cable 160,000 CNY/km, 270 A (187 kVA at
# 0.4 kV), r 0.153, x 0.077 ohm/km. LV drop in % = S * L * (0.153*0.9 + 0.077*0.436) / (10 * 0.4^2).

LV240 = "YJV22-0.6/1-4x240"
LV_DROP_PER_KVA_KM = (0.153 * 0.9 + 0.077 * SIN) / 1.6


def build(nodes, corridors, customers):
    """nodes: (id, kind, spare, demand) at 10 kV; corridors: (id, a, b, km, types[, status])."""
    node_frame = pd.DataFrame([{"id": n, "x_m": i * 100.0, "y_m": 0.0, "kind": k, "voltage_kv": 10,
                                "spare_capacity_kva": s, "demand_kva": d} for i, (n, k, s, d) in enumerate(nodes)])
    corridor_frame = pd.DataFrame([{"id": c[0], "from_node": c[1], "to_node": c[2], "length_km": c[3],
                                    "allowed_std_types": c[4], "cost_multiplier": 1.0,
                                    "status": c[5] if len(c) > 5 else "candidate"} for c in corridors])
    network = network_from_frames(node_frame, corridor_frame)
    customer_frame = pd.DataFrame([{"application_id": a, "node_id": n, "demand_kva": d} for a, n, d in customers])
    return network, customer_frame


def optimise(network, customers, limits=None):
    """prepare, optimise (diagnoses included) and extract, to a 1e-6 gap."""
    limits = limits or load_grid_limits("national-1996")
    inst = prepare(network, customers, limits)
    return extract(inst, run_optimiser(inst, time_limit_s=20, mip_gap=1e-6))


def voltage_case(overhead_km=4.5):
    # F1: 4.5 km overhead JKLYJ-10-70, 1,586,250 CNY, drop 3000*4.5*(0.443*0.9+0.35*0.436)/1000 = 7.44% > 7%
    # F2: 5.0 km cable 3x70, 2,100,000 CNY, drop 3000*5*(0.268*0.9+0.111*0.436)/1000 = 4.34%
    return build([("F1", "feeder_point", 5000, 0), ("F2", "feeder_point", 5000, 0), ("C", "customer", 0, 3000)],
                 [("OH", "F1", "C", overhead_km, OVERHEAD70), ("UG", "F2", "C", 5.0, CABLE70)],
                 [("app-1", "C", 3000)])


def triangle():
    """Feeder F, junction J, customer C; corridors F-J, J-C and F-C."""
    network, customers = build([("F", "feeder_point", 5000, 0), ("J", "junction", 0, 0), ("C", "customer", 0, 500)],
                               [("FJ", "F", "J", 1.0, CABLE70), ("JC", "J", "C", 1.0, CABLE70), ("FC", "F", "C", 3.0, CABLE70)],
                               [("app-1", "C", 500)])
    return prepare(network, customers, load_grid_limits("national-1996"))


def arc_index(inst, corridor, head):
    arcs = inst.arcs
    return int(arcs.index[(arcs["corridor_id"] == corridor) & (arcs["head"] == inst.node_ids.index(head))][0])
