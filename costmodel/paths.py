"""Where the data lives: one tariffs root that every reader goes through.

The root is, in order: `COSTMODEL_TARIFFS` (a user's own rule sets; the CLI's `--tariffs DIR` sets it
for the whole run, worker processes included); the checkout's `tariffs/` when the code runs from the
repository or an editable install of it; else the copy a wheel ships as package data
(`costmodel/_tariffs`). The examples (`EXAMPLES_DIR`) are found the same way, checkout first.

Loaders that cache what they read key their cache on the root as well (`cached_per_root`), so
pointing the root elsewhere never serves data read from the previous one.
"""

from __future__ import annotations

import os
from functools import lru_cache, wraps
from pathlib import Path

ENV_VAR = "COSTMODEL_TARIFFS"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
_FROM_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "tariffs" / "rulesets").is_dir()
# pyproject.toml maps tariffs/ and examples/ to these folders of the wheel.
SHIPPED_TARIFFS = REPO_ROOT / "tariffs" if _FROM_CHECKOUT else PACKAGE_DIR / "_tariffs"
EXAMPLES_DIR = REPO_ROOT / "examples" if _FROM_CHECKOUT else PACKAGE_DIR / "_examples"


def tariffs_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or SHIPPED_TARIFFS)


def tariffs_dir_problem(folder: Path) -> str | None:
    """Why `folder` cannot be a tariffs root, or None if it can."""
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is not a folder"
    if not (folder / "rulesets").is_dir():
        return "holds no rulesets/ folder"
    return None


def use_tariffs_dir(folder: Path | str) -> Path:
    """Make `folder` the tariffs root of this process and of the processes it starts."""
    root = Path(folder).resolve()
    os.environ[ENV_VAR] = str(root)
    return root


@lru_cache(maxsize=16)
def _resolved(root: str) -> Path:
    return Path(root).resolve()


def cached_per_root(maxsize: int):
    """`functools.lru_cache` keyed on the resolved tariffs root as well as the arguments.

    The wrapped loader keeps `cache_clear` and `cache_info`.
    """

    def decorate(function):
        @lru_cache(maxsize=maxsize)
        def by_root(root: Path, args: tuple, kwargs: tuple):
            return function(*args, **dict(kwargs))

        @wraps(function)
        def loader(*args, **kwargs):
            return by_root(_resolved(str(tariffs_dir())), args, tuple(sorted(kwargs.items())))

        loader.cache_clear = by_root.cache_clear
        loader.cache_info = by_root.cache_info
        return loader

    return decorate
