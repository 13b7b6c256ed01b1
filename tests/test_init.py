import os
import subprocess
import sys

import pytest

PROBE = "import costmodel, numpy._core.multiarray as m; print(m._get_madvise_hugepage())"


@pytest.mark.parametrize(("setting", "expected"), [(None, "False"), ("1", "True")])
def test_importing_costmodel_turns_numpy_huge_pages_off_unless_told_otherwise(setting, expected):
    env = {key: value for key, value in os.environ.items() if key != "NUMPY_MADVISE_HUGEPAGE"}
    if setting is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = setting
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == expected
