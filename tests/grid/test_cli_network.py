"""optimize_network on the shipped park example: the dict the CLI prints from."""

from pathlib import Path

import pytest

from costmodel.grid.cli_network import optimize_network

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "park"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return optimize_network(EXAMPLE, EXAMPLE / "customers.csv", "national-1996", time_limit_s=20, mip_gap=0.05,
                            out_map=tmp_path_factory.mktemp("map") / "park.svg")


def test_optimize_network_example(example):
    out = example
    report = out["report"]
    assert report["status"] in ("optimal", "feasible")
    if report["status"] == "optimal":  # within the default tolerance, whatever gap was asked for
        assert report["gap"] <= 0.005
    assert report["objective_cny"] >= report["bound_cny"]
    assert set(out["components"]["application_id"]) == set(out["design"].customers["application_id"])
    assert out["validation"]["violations"] == []
    assert out["validation"]["summary"]["worst_voltage_pu_ac"] >= 0.93
    assert Path(out["map"]).is_file()
    # every feeder and transformer within its spare capacity
    sources = out["design"].sources
    assert (sources["load_kva"] <= sources["spare_capacity_kva"]).all()


def test_the_example_places_a_new_transformer_for_the_low_voltage_plot(example):
    # Q3 (150 kVA at 0.4 kV) has no public transformer in reach: T2 is 0.85 km away, a drop of
    # 150 x 0.85 x (0.0754 x 0.9 + 0.075 x 0.436) / 1.6 = 8.0 % > 7 % even on the 4x240 cable, so
    # the candidate site X1 gets the smallest transformer that carries 150 kVA (S13-M-160/10)
    out = example
    new = out["design"].transformers
    assert new[["node_id", "hv_node", "std_type"]].values.tolist() == [["X1", "S45", "S13-M-160/10"]]
    lines = out["components"]
    item = lines[lines["std_type"] == "S13-M-160/10"]
    assert item[["application_id", "zone", "quantity", "unit"]].values.tolist() == [["park-q3", "extension", 1.0, "each"]]
    assert out["validation"]["violations"] == []


PACE = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "steiner-pace2018"


@pytest.mark.skipif(not PACE.is_dir(), reason="shared/benchmarks is not beside the repository")
def test_an_imported_steiner_instance_reaches_its_optimum_with_the_multicommodity_formulation(tmp_path):
    from costmodel.grid.importers import from_steiner, write_network

    folder = write_network(from_steiner(PACE / "instance056.gr"), tmp_path / "net")
    result = optimize_network(folder, folder / "customers.csv", "national-1996", time_limit_s=60, mip_gap=1e-6,
                              formulation="multicommodity")
    # optima.csv: weight 302; the cheapest 10 kV cable at 420,000 CNY/km over 1 m per unit of weight
    assert result["report"]["status"] == "optimal"
    assert result["report"]["objective_cny"] == pytest.approx(302 * 420)


def test_an_unknown_formulation_names_the_allowed_ones():
    from costmodel.errors import InputError

    with pytest.raises(InputError, match="formulation 'flow' is not allowed; allowed: tree, multicommodity, plain"):
        optimize_network(EXAMPLE, EXAMPLE / "customers.csv", "national-1996", formulation="flow")
