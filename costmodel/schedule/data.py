"""Reading schedule data files strictly: every error names the file and the field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from costmodel.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("article", "national", "practice")


def tariffs_dir() -> Path:
    """Shipped data, or COSTMODEL_TARIFFS for a user's own (same convention as the rules engine)."""
    return Path(os.environ.get("COSTMODEL_TARIFFS", REPO_ROOT / "tariffs"))


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise InputError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> Any:
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_StrictLoader)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except InputError as error:
        raise InputError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: malformed YAML: {error}") from None


def check_keys(mapping: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> dict:
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: expected a mapping, got {mapping!r}")
    unknown = set(mapping) - required - set(optional)
    if unknown:
        allowed = ", ".join(sorted(required | set(optional)))
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: {allowed}")
    missing = required - set(mapping)
    if missing:
        raise InputError(f"{where}: missing required key(s) {', '.join(sorted(missing))}")
    return mapping


def check_reference(reference: Any, where: str) -> dict:
    check_keys(reference, where, {"document", "clause", "source"})
    for key in ("document", "clause"):
        if not isinstance(reference[key], str) or not reference[key].strip():
            raise InputError(f"{where}.{key}: must be a non-empty text, got {reference[key]!r}")
    if reference["source"] not in SOURCES:
        raise InputError(f"{where}.source: {reference['source']!r} is not allowed; allowed: {', '.join(SOURCES)}")
    return reference


def reference_text(reference: dict) -> str:
    return f"{reference['document']}, {reference['clause']} [{reference['source']}]"
