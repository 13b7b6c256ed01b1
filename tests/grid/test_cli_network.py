"""optimize_network on the shipped park example: the dict the CLI prints from."""

from pathlib import Path

from costmodel.grid.cli_network import optimize_network

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "park"


def test_optimize_network_example(tmp_path):
    out = optimize_network(EXAMPLE, EXAMPLE / "customers.csv", "national-1996", time_limit_s=20, mip_gap=0.05,
                           out_map=tmp_path / "park.svg")
    report = out["report"]
    assert report["status"] in ("optimal", "time_limit")
    if report["status"] == "optimal":
        assert report["gap"] <= 0.05
    assert report["objective_cny"] >= report["bound_cny"]
    assert set(out["components"]["application_id"]) == set(out["design"].customers["application_id"])
    assert out["validation"]["violations"] == []
    assert out["validation"]["summary"]["worst_voltage_pu_ac"] >= 0.93
    assert Path(out["map"]).is_file()
    # every feeder and transformer within its spare capacity
    sources = out["design"].sources
    assert (sources["load_kva"] <= sources["spare_capacity_kva"]).all()
