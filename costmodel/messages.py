"""The texts the code composes, in English and Chinese, from messages.yaml (one source for every surface)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from costmodel.errors import InputError
from costmodel.yamlio import load_yaml

LANGUAGES = ("en", "zh")
FILE = Path(__file__).with_name("messages.yaml")


@lru_cache(maxsize=1)
def _messages() -> dict[str, dict[str, str]]:
    raw = load_yaml(FILE)
    for key, texts in raw.items():
        if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
            raise InputError(f"{FILE}: {key} needs exactly {list(LANGUAGES)}, got {texts!r}")
    return raw


def say(key: str, **values) -> tuple[str, str]:
    """(English, Chinese) of a message with its fields filled in."""
    texts = _messages()[key]
    return texts["en"].format(**values), texts["zh"].format(**values)


def word(key: str, language: str) -> str:
    """One message without fields, in one language."""
    return _messages()[key][language]
