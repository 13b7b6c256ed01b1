"""The suite's own guard: tests against ../shared's known optima never pass silently on CI."""

import pytest

from tests_support import require_shared


def test_a_missing_shared_folder_fails_on_ci_and_skips_elsewhere(tmp_path, monkeypatch):
    missing = tmp_path / "shared" / "benchmarks"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="benchmarks not found"):
        require_shared(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="benchmarks not found"):
        require_shared(missing)
    require_shared(tmp_path)  # present: nothing happens
