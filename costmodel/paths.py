"""Where the shipped data lives; COSTMODEL_TARIFFS points elsewhere for a user's own rule sets."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def tariffs_dir() -> Path:
    return Path(os.environ.get("COSTMODEL_TARIFFS", REPO_ROOT / "tariffs"))
