"""The CJK font is found by file path, for the PDF and for matplotlib's charts alike."""

import pytest

from costmodel import fonts


def test_the_environment_names_the_font_file_first(tmp_path, monkeypatch):
    chosen = tmp_path / "my-font.ttc"
    chosen.write_bytes(b"")
    monkeypatch.setenv("COSTMODEL_CJK_FONT", str(chosen))
    assert fonts.find_cjk_font() == chosen
    monkeypatch.setenv("COSTMODEL_CJK_FONT", str(tmp_path / "missing.ttc"))
    assert fonts.find_cjk_font() != tmp_path / "missing.ttc"


def test_matplotlib_draws_chinese_with_the_font_found_by_path():
    path = fonts.find_cjk_font()
    if path is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    from matplotlib import font_manager

    family = fonts.matplotlib_cjk_family()
    assert font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False) == str(path)
