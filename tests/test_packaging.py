"""The wheel: built from the repo and installed outside the checkout, it quotes with the data it ships.

Slower than most (about 5-10 s): builds a wheel, installs it into a temporary folder and runs it there.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "test-artifacts", "out")

# Runs in the installed copy: every example application through `costmodel quote --format json`, then
# the API's warm-up (the lifespan loads an example) and its /examples and page.
PROBE = """
import contextlib, io, json, sys
import costmodel
from costmodel.cli import run  # main() exits with run()'s code
from costmodel.paths import EXAMPLES_DIR, tariffs_dir
customer = {}
for path in sorted((EXAMPLES_DIR / "applications").glob("*.yaml")):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run(["quote", str(path), "--format", "json"]) == 0
    customer[path.stem] = json.loads(out.getvalue())["totals"]["customer_cny"]
from fastapi.testclient import TestClient
from costmodel.api import create_app
with TestClient(create_app()) as client:
    examples = client.get("/examples").json()
    page = client.get("/").status_code
    printed = client.post("/quote.html?fragment=true&lang=en", json={"application": client.get("/examples/" + examples[0]).json()})
print(json.dumps({"module": costmodel.__file__, "tariffs": str(tariffs_dir()), "examples_dir": str(EXAMPLES_DIR),
                  "customer": customer, "api_examples": examples, "page": page,
                  "layout": [printed.status_code, 'id="lines"' in printed.text]}))
"""


def _build_wheel(source: Path, out: Path) -> Path:
    # Without build isolation when this environment can build wheels itself (setuptools >= 70.1 or `wheel`);
    # otherwise pip fetches the build backend from the configured index.
    offline = importlib.util.find_spec("wheel") is not None or importlib.util.find_spec("setuptools.command.bdist_wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    if offline:
        command.insert(4, "--no-build-isolation")
    built = subprocess.run(command, capture_output=True, text=True, timeout=180)
    if built.returncode != 0 and not offline:
        pytest.skip(f"cannot build a wheel here (no `wheel` package, build backend not fetchable): {built.stderr[-500:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("costmodel-*.whl")
    return wheel


def test_a_wheel_installed_outside_the_checkout_quotes_every_example_and_serves_the_api(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    wheel = _build_wheel(source, tmp_path / "dist")
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr
    shutil.rmtree(source)  # nothing of the checkout left to fall back on but the installed package

    env = {k: v for k, v in os.environ.items() if k not in ("COSTMODEL_TARIFFS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])

    package = site / "costmodel"
    assert Path(result["module"]).is_relative_to(package)
    assert Path(result["tariffs"]) == package / "_tariffs"
    assert Path(result["examples_dir"]) == package / "_examples"
    names = sorted(p.stem for p in (REPO / "examples" / "applications").glob("*.yaml"))
    assert sorted(result["customer"]) == names and len(names) >= 6
    assert all(isinstance(total, (int, float)) and total >= 0 for total in result["customer"].values())
    assert result["api_examples"] == names
    assert result["page"] == 200
    assert result["layout"] == [200, True]  # the quote's layout (a template) ships in the package
    shipped = sorted(p.relative_to(REPO / "tariffs") for p in (REPO / "tariffs").rglob("*") if p.is_file())
    assert sorted(p.relative_to(package / "_tariffs") for p in (package / "_tariffs").rglob("*") if p.is_file()) == shipped


def test_the_listed_packages_are_the_source_tree():
    # pyproject.toml lists the packages (so that the data folders can be mapped in): a new subpackage must be added.
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    source = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "costmodel").rglob("__init__.py")}
    assert set(config["packages"]) == source | set(config["package-dir"])
    assert config["package-dir"] == {"costmodel._tariffs": "tariffs", "costmodel._examples": "examples"}
