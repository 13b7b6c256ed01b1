"""Strict YAML reading: duplicate keys and malformed files are errors that name the file."""

from pathlib import Path
from typing import Any

import yaml

from costmodel.errors import InputError


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise InputError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1}: each key may appear once"
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_text(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except InputError as error:
        raise InputError(f"{where}: {error}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{where}: malformed YAML: {error}") from None
    except ValueError as error:  # an impossible date such as 2019-17-01 fails inside PyYAML's date constructor
        raise InputError(f"{where}: a date is not valid ({error}); write dates as YYYY-MM-DD") from None


def load_yaml(path: Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return load_yaml_text(text, str(path))


def check_keys(mapping: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> dict:
    """A mapping with exactly the allowed keys, or an error naming the offending key."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    unknown = set(mapping) - required - set(optional)
    if unknown:
        allowed = ", ".join(sorted(required | set(optional)))
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: {allowed}")
    missing = required - set(mapping)
    if missing:
        raise InputError(f"{where}: missing required key(s) {', '.join(sorted(missing))}")
    return mapping
