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


# Each module imported first, alone, in a child forked from an interpreter that has imported nothing of
# costmodel: an import cycle shows only in the order a user happens to import.
IMPORT_EACH_ALONE = """
import os, pathlib
import costmodel  # the package itself only: its __init__ imports no submodule
root = pathlib.Path(costmodel.__file__).parent
# found as files, not by pkgutil, which imports each package to walk it (and so hides a cycle)
names = sorted(".".join(("costmodel",) + path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
               for path in root.rglob("*.py") if path.name != "__main__.py")
failed = []
for name in names:
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except Exception as error:
            print(f"{name}: {type(error).__name__}: {error}")
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name)
print(len(names), failed)
"""


def test_every_module_imports_alone():
    probe = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE], capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr
    count, failed = probe.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(count) >= 30 and failed == "[]", probe.stdout
