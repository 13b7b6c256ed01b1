import os
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "applications"
# Public instances with known optima (../shared beside the repository, as CI's clean clone has it).
PACE = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "steiner-pace2018"


def require_module(name: str, extra: str):
    """An optional dependency's module: skipped without it on a developer's machine, failed on CI (CI=true), which
    installs every extra the tests use (`dev`), so a silent skip there would hide tests never run."""
    try:
        return __import__(name)
    except ImportError:
        message = f"{name} not installed: pip install 'costmodel[{extra}]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)


def require_shared(path: Path) -> None:
    """A test against ../shared's known optima: skipped on a developer's machine without it, failed on CI
    (CI=true), where a silent skip would hide that the known optima were never checked."""
    if path.exists():
        return
    message = f"{path} not found: ../shared/benchmarks must sit beside the repository"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)

# Who funds each zone, by boundary point: the table of ../shared/DESIGN.md ("grid funds" column), written
# out here rather than derived from costmodel.quote's ranks, so a wrong order there is caught. The grid
# company funds its own devices (`grid_owned`) whatever the boundary; charges are always the customer's.
GRID_FUNDED_ZONES = {
    "point_of_connection": {"grid_owned", "upstream"},
    "red_line": {"grid_owned", "upstream", "extension"},
    "meter": {"grid_owned", "upstream", "extension", "site"},
}
