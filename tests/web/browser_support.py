"""Where the browser tests find Debian's chromium, and what happens when it is missing."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def require_chromium(path: Path = CHROMIUM) -> None:
    """Skip without chromium on a developer's machine; fail on CI (CI=true), where .ci/run installs it."""
    if path.exists():
        return
    reason = f"{path} not found: install Debian's chromium (apt-get install -y chromium) to run the browser tests"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " — on CI the browser tests must run, not skip", pytrace=False)
    pytest.skip(reason)
