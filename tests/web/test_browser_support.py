import pytest

from browser_support import require_chromium


def test_missing_chromium_skips_on_a_developer_machine(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require_chromium(tmp_path / "chromium")


def test_missing_chromium_fails_on_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="on CI the browser tests must run"):
        require_chromium(tmp_path / "chromium")


def test_present_chromium_neither_skips_nor_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    (tmp_path / "chromium").touch()
    require_chromium(tmp_path / "chromium")
