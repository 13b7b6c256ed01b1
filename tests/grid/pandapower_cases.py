"""A hand-made pandapower net whose existing feeder is nearly full, imported as a network folder with one new
customer: the whole-net AC check's tests (grid/validate, radial/ac_feasible) share it.

110 kV external grid (1.0 pu) - 25 MVA 110/10 kV transformer (vk 12 %, vkr 0.4 %) - feeder bus F (b1).
Feeder 1: F - 5 km of 3x70 cable (r 0.268, x 0.111 ohm/km, 280 nF/km, 215 A: the catalogue's YJV22-8.7/15-3x70) -
B (b2), an existing load of 3,000 kVA at power factor 0.9. Feeder 2: F - the same 5 km - D (b3), `d_kva` (3,300 kVA:
D at 0.934 pu and the cable at 94.9 % in the net's own power flow, within both limits).
The new customer C, 520 kVA at 10 kV, sits 300 m east of B; its candidate corridors go to its nearest nodes
(C-B 0.39 km, C-F 6.89 km: 300 m and 5.3 km x the detour factor 1.3 of tariffs/grid/network-import.yaml).
"""

import math

import pandas as pd
import pandapower as pp

from costmodel.grid.importers import network_from_pandapower, write_network
from costmodel.grid.network import load_grid_limits, load_network
from costmodel.grid.radial import extract, prepare, solve

SIN = math.sqrt(1 - 0.9 ** 2)
CABLE70 = {"r_ohm_per_km": 0.268, "x_ohm_per_km": 0.111, "c_nf_per_km": 280, "max_i_ka": 0.215}
FEEDER_KM, EXISTING_KVA, NEW_KVA, FEEDER2_KVA = 5.0, 3000, 520, 3300


def hand_net(d_kva: float = FEEDER2_KVA):
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110, name="HV", geodata=(0, -1000))
    f = pp.create_bus(net, 10, name="F", geodata=(0, 0))
    b = pp.create_bus(net, 10, name="B", geodata=(FEEDER_KM * 1000, 0))
    pp.create_ext_grid(net, hv, vm_pu=1.0)
    pp.create_transformer_from_parameters(net, hv, f, sn_mva=25, vn_hv_kv=110, vn_lv_kv=10, vkr_percent=0.4, vk_percent=12,
                                          pfe_kw=0, i0_percent=0)
    pp.create_line_from_parameters(net, f, b, FEEDER_KM, type="cs", **CABLE70)
    pp.create_load(net, b, p_mw=EXISTING_KVA / 1000 * 0.9, q_mvar=EXISTING_KVA / 1000 * SIN)
    d = pp.create_bus(net, 10, name="D", geodata=(0, -FEEDER_KM * 1000))
    pp.create_line_from_parameters(net, f, d, FEEDER_KM, type="cs", **CABLE70)
    pp.create_load(net, d, p_mw=d_kva / 1000 * 0.9, q_mvar=d_kva / 1000 * SIN)
    return net


def imported_case(folder, d_kva: float = FEEDER2_KVA, net=None):
    """(net, network, instance, design): the hand net (or `net`) imported with customer C into `folder`, and the
    linear model's design (C from B over the existing feeder and the 0.39 km corridor, the cheapest)."""
    net = hand_net(d_kva) if net is None else net
    customer = pd.DataFrame({"application_id": ["C"], "x_m": [FEEDER_KM * 1000 + 300], "y_m": [0.0], "demand_kva": [NEW_KVA],
                             "voltage_kv": [10]})
    write_network(network_from_pandapower(net, customer, source="hand"), folder, net)
    network = load_network(folder)
    inst = prepare(network, pd.read_csv(folder / "customers.csv"), load_grid_limits("national-1996"))
    return net, network, inst, extract(inst, solve(inst, 20, 1e-6))


def expected_flow(d_kva: float = FEEDER2_KVA, route: str = "B"):
    """A direct pandapower run of the hand net with C added by hand: C's bus, 0.39 km of 3x70 from B (or 6.89 km from
    F), 520 kVA at power factor 0.9."""
    net = hand_net(d_kva)
    c = pp.create_bus(net, 10, name="C")
    start, km = (2, 0.39) if route == "B" else (1, 6.89)
    pp.create_line_from_parameters(net, start, c, km, **CABLE70)
    pp.create_load(net, c, p_mw=NEW_KVA / 1000 * 0.9, q_mvar=NEW_KVA / 1000 * SIN)
    pp.runpp(net, numba=False)
    return net
