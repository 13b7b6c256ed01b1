"""A network with a candidate transformer site, shared by the model, components and AC-check tests."""

import pandas as pd
import pytest

from costmodel.grid.network import network_from_frames

CABLE70, LV120 = "YJV22-8.7/15-3x70", "YJV22-0.6/1-4x120"


@pytest.fixture
def transformer_case():
    """build(lv_km, demands, feeder_spare, public_spare, lv_type) -> (network, customers)."""
    def build(lv_km, demands, feeder_spare=5000, public_spare=300, lv_type=LV120):
        """Feeder F - existing 3x70 - junction J (10 kV); candidate site X behind J; a public transformer
        T; customers C1.. at 0.4 kV, 50 m from X and `lv_km` from T."""
        nodes = [{"id": "F", "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": feeder_spare},
                 {"id": "J", "kind": "junction", "voltage_kv": 10},
                 {"id": "X", "kind": "candidate_transformer", "voltage_kv": 0.4, "hv_node": "J"},
                 {"id": "T", "kind": "public_transformer", "voltage_kv": 0.4, "spare_capacity_kva": public_spare}]
        nodes += [{"id": f"C{i + 1}", "kind": "customer", "voltage_kv": 0.4, "demand_kva": d} for i, d in enumerate(demands)]
        node_frame = pd.DataFrame(nodes).assign(x_m=lambda f: 100.0 * f.index, y_m=0.0)
        corridors = [("FJ", "F", "J", 0.1, CABLE70, "existing")]
        corridors += [(f"X{i + 1}", "X", f"C{i + 1}", 0.05, lv_type, "candidate") for i in range(len(demands))]
        corridors += [(f"T{i + 1}", "T", f"C{i + 1}", lv_km, lv_type, "candidate") for i in range(len(demands))]
        corridor_frame = pd.DataFrame([{"id": c[0], "from_node": c[1], "to_node": c[2], "length_km": c[3],
                                        "allowed_std_types": c[4], "cost_multiplier": 1.0, "status": c[5]} for c in corridors])
        customers = pd.DataFrame({"application_id": [f"app-{i + 1}" for i in range(len(demands))],
                                  "node_id": [f"C{i + 1}" for i in range(len(demands))], "demand_kva": demands})
        return network_from_frames(node_frame, corridor_frame), customers

    return build
