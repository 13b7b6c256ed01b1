import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.schedule import gantt, schedule_applications
from costmodel.schedule.gantt import plot_gantt


@pytest.fixture(scope="module")
def stages():
    applications = pd.DataFrame({"application_id": ["f"], "application_date": ["2019-09-27"],
                                 "supply_voltage": ["10kV"], "ruleset_id": ["shandong-2018"]})
    return schedule_applications(applications)[0]


def test_svg_has_every_stage_and_the_critical_colour(stages, tmp_path, monkeypatch):
    monkeypatch.setattr(gantt, "cjk_font", lambda: None)  # English labels, font-independent
    svg = plot_gantt(stages, "f", tmp_path / "f.svg").read_text(encoding="utf-8")
    for name in stages["name_en"]:
        assert str(name).split(" (")[0] in svg
    assert "critical path" in svg


def test_png_is_written(stages, tmp_path):
    path = plot_gantt(stages, "f", tmp_path / "out" / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_application_and_format_are_refused(stages, tmp_path):
    with pytest.raises(InputError, match="application_id: 'nope'"):
        plot_gantt(stages, "nope", tmp_path / "x.png")
    with pytest.raises(InputError, match="must end in one of .png, .svg"):
        plot_gantt(stages, "f", tmp_path / "x.pdf")
