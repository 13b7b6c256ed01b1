"""A tiny network whose cheapest extension is worked out by hand, for the API and the page's tests.

Feeder point F, junction J 200 m east, customer C 100 m further (500 kVA at 10 kV). Candidate corridors: F-J (0.2 km)
and J-C (0.1 km), or F-C direct (0.25 km, cost multiplier 1.5: a road crossing), each of the 10 kV cable
YJV22-8.7/15-3x70 alone, 420,000 CNY/km in tariffs/catalogs/cn-indicative-2019/unit_costs.csv (shandong-2019's catalogue).
Via J: (0.2 + 0.1) x 420,000 = 126,000 CNY; direct: 0.25 x 1.5 x 420,000 = 157,500 CNY. 500 kVA on a 3x70 cable
(215 A, 3,724 kVA at 10 kV) over 300 m is far inside the loading and voltage limits, so the route via J is the optimum.
"""

from pathlib import Path

CABLE = "YJV22-8.7/15-3x70"
TINY_COST_CNY = 126_000.0   # (0.2 + 0.1) km x 420,000 CNY/km
TINY_TABLES = {
    "nodes": "id,x_m,y_m,kind,voltage_kv,spare_capacity_kva,demand_kva,hv_node\n"
             "F,0,0,feeder_point,10,5000,,\nJ,200,0,junction,10,,,\nC,300,0,customer,10,,500,\n",
    "corridors": "id,from_node,to_node,length_km,allowed_std_types,cost_multiplier,status\n"
                 f"FJ,F,J,0.2,{CABLE},1.0,candidate\nJC,J,C,0.1,{CABLE},1.0,candidate\nDC,F,C,0.25,{CABLE},1.5,candidate\n",
    "customers": "application_id,node_id,demand_kva\ntiny-c,C,500\n",
}
# The customer's application (the portfolio columns): a private 10 kV enterprise in a municipal park, as the shipped
# park's plots (examples/park/applications.csv).
TINY_APPLICATIONS = (
    "application_id,application_date,applicant_kind,industry,employees,revenue_10k_cny,assets_10k_cny,size_class,ownership,"
    "in_project_database,area,park_level,distance_to_lv_m,distance_to_10kv_m,transformer_headroom_kva,road_crossings,capacity,"
    "capacity_unit,power_factor,phases,supply,duration\n"
    "tiny-c,2019-10-08,enterprise,industry,150,3000,,,private,false,urban,municipal,0,0,0,0,500,kVA,,3,single,permanent\n")


def write_tiny_network(folder: Path) -> Path:
    """The tiny network as a network folder (the files `costmodel optimize DIR` and the page's upload read)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, text in TINY_TABLES.items():
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    return folder
