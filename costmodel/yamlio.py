"""Strict reading of every YAML file the project reads: one loader, and errors that name the file.

Refused with a message, never a traceback: a path that is not a regular file (a directory, a device such as
/dev/zero, a FIFO), a file over `MAX_YAML_BYTES`, text that is not UTF-8, malformed YAML, duplicate keys,
keys that are not strings, numbers or dates, nesting deeper than `MAX_DEPTH`, and documents that hold more than
`MAX_VALUES` values once aliases are expanded (an "alias bomb" of a few lines expands to billions).
"""

import json
import stat
from pathlib import Path
from typing import Any
import datetime as dt

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from costmodel.errors import InputError

MAX_YAML_BYTES = 4 << 20  # the largest shipped YAML is under 10 kB
MAX_DEPTH = 50  # the deepest shipped YAML nests 6 levels
MAX_VALUES = 50_000  # values once aliases are expanded; the largest shipped YAML holds about 1,000
MAX_QUOTED = 120  # characters of a value quoted in a message
KEY_TYPES = (str, int, float, dt.date)  # bool is an int but not a key: YAML 1.1 reads `yes:`/`on:` as true


def quoted(value: Any, limit: int = MAX_QUOTED) -> str:
    """repr of a value for a message, cut to `limit` characters (a value may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def read_text(path: Path | str, what: str = "a file", limit: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes, or an InputError naming the file."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory; expected {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: is not a regular file (a device, pipe or socket); expected {what}")
    if info.st_size > limit:
        raise InputError(f"{path}: {info.st_size:,} bytes; {what} is at most {limit:,} bytes")
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(data) > limit:  # grew since stat
        raise InputError(f"{path}: more than {limit:,} bytes; {what} is at most {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


class _StrictLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise InputError(f"nested deeper than {MAX_DEPTH} levels at line {line}; allowed: at most {MAX_DEPTH}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand to more than MAX_VALUES values, or refer to their own container."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise InputError(f"line {node.start_mark.line + 1}: an alias refers to the value that contains it; "
                             "allowed: aliases to values defined before and outside them")
        open_nodes.add(key)
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_VALUES:
                raise InputError(f"line {node.start_mark.line + 1}: more than {MAX_VALUES:,} values once aliases are "
                                 f"expanded; allowed: at most {MAX_VALUES:,}")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode):
            kind = "list" if isinstance(key_node, SequenceNode) else "mapping"
            raise InputError(f"the key at line {line} is a {kind}; allowed: keys that are strings, numbers or dates")
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, KEY_TYPES) or isinstance(key, bool):
            raise InputError(f"key {quoted(key)} at line {line} is a {type(key).__name__}; "
                             "allowed: keys that are strings, numbers or dates")
        if key in mapping:
            raise InputError(f"duplicate key {quoted(key)} at line {line}: each key may appear once")
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
    except RecursionError:  # a guard behind MAX_DEPTH
        raise InputError(f"{where}: nested too deeply; allowed: at most {MAX_DEPTH} levels") from None


def load_yaml(path: Path, what: str = "a YAML file", limit: int = MAX_YAML_BYTES) -> Any:
    return load_yaml_text(read_text(path, what, limit), str(path))


def load_json(path: Path | str, what: str = "a JSON file", limit: int = MAX_YAML_BYTES) -> Any:
    """A JSON file under the same guards as YAML (a regular file, size, UTF-8, depth), errors naming the file."""
    try:
        data = json.loads(read_text(path, what, limit))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: malformed JSON at line {error.lineno}: {error.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply; allowed: at most {MAX_DEPTH} levels") from None
    level, todo = 0, [data]
    while todo:
        level += 1
        if level > MAX_DEPTH:
            raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH}")
        todo = [child for item in todo if isinstance(item, (dict, list))
                for child in (item.values() if isinstance(item, dict) else item) if isinstance(child, (dict, list))]
    return data


def check_keys(mapping: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> dict:
    """A mapping with exactly the allowed keys, or an error naming the offending key."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where}: expected a mapping, got {type(mapping).__name__} {quoted(mapping, 60)}")
    unknown = set(mapping) - required - set(optional)
    if unknown:
        allowed = ", ".join(sorted(required | set(optional)))
        shown = ", ".join(key if len(key) <= 60 else f"{key[:60]}..." for key in sorted(map(str, unknown))[:10])
        raise InputError(f"{where}: unknown key(s) {shown}; allowed: {allowed}")
    missing = required - set(mapping)
    if missing:
        raise InputError(f"{where}: missing required key(s) {', '.join(sorted(missing))}")
    return mapping


def text_field(value: Any, where: str, field: str) -> str:
    """A non-empty string read from YAML, or an error naming the field and the value."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {field} must be a non-empty string, got {type(value).__name__} {quoted(value, 60)}")
    return value


def text_list(value: Any, where: str, field: str) -> tuple[str, ...]:
    """A list of non-empty strings read from YAML (absent or empty: none), or an error naming the field."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(f"{where}: {field} must be a list of strings, got {type(value).__name__} {quoted(value, 60)}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise InputError(f"{where}: {field} must be a list of strings; item {quoted(item, 60)} is a {type(item).__name__}")
    return tuple(value)
