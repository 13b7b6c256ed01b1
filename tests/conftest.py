import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
