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
    """A writable copy of tariffs/ that the loaders read instead, for tests that break a shipped file."""
    from costmodel.costs.catalog import load_catalog
    from costmodel.designs.standard import load_scheme
    from costmodel.params import load_ruleset
    from costmodel.paths import tariffs_dir

    copy = tmp_path / "tariffs"
    shutil.copytree(tariffs_dir(), copy)
    monkeypatch.setenv("COSTMODEL_TARIFFS", str(copy))
    caches = (load_ruleset, load_catalog, load_scheme)
    for loader in caches:
        loader.cache_clear()
    yield copy
    for loader in caches:
        loader.cache_clear()
