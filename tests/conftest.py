import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def tariffs_copy(tmp_path, monkeypatch):
    """A writable copy of tariffs/ that the loaders read instead, for tests that break a shipped file.
    (The loaders' caches are keyed on the root, so nothing read from the shipped tariffs is served.)"""
    from costmodel.paths import tariffs_dir

    copy = tmp_path / "tariffs"
    shutil.copytree(tariffs_dir(), copy)
    monkeypatch.setenv("COSTMODEL_TARIFFS", str(copy))
    return copy


@pytest.fixture
def tariffs_industry_medium_400(tmp_path) -> Path:
    """A copy of tariffs/ (not yet the root) whose size table moves industry's medium bound from 300
    to 400 employees: a 350-employee factory, medium under the shipped table, becomes small."""
    from costmodel.paths import tariffs_dir

    copy = tmp_path / "tariffs-industry-medium-400"
    shutil.copytree(tariffs_dir(), copy)
    table = copy / "classification" / "miit-2011" / "size_thresholds.csv"
    shipped_row = "industry,工业,第四条（二）,employees,revenue_10k_cny,1000,40000,300,2000,20,300,true"
    text = table.read_text(encoding="utf-8")
    assert shipped_row in text
    table.write_text(text.replace(shipped_row, shipped_row.replace(",300,2000,", ",400,2000,")), encoding="utf-8")
    return copy
