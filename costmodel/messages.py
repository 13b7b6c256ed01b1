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
    texts = _messages()[key]   # a value that is itself a Reason fills each language with its own words
    return texts["en"].format(**values), texts["zh"].format(**{name: in_chinese(value) for name, value in values.items()})


def word(key: str, language: str) -> str:
    """One message without fields, in one language."""
    return _messages()[key][language]


class Reason(str):
    """Why a row cannot be quoted: the English text (the string itself, as every table and file shows it), carrying
    its Chinese as `zh` for the surfaces that speak it."""

    zh: str

    def __new__(cls, key: str, **values) -> "Reason":
        en, zh = say(key, **values)
        return cls.of(en, zh)

    @classmethod
    def of(cls, en: str, zh: str) -> "Reason":
        reason = str.__new__(cls, en)
        reason.zh = zh
        return reason

    def __reduce__(self):  # to another process (a Dask worker) with both languages
        return Reason.of, (str(self), self.zh)


def joined(texts: list, separator: str) -> Reason:
    """Texts joined, each language with its own words (a plain text is the same in both)."""
    return Reason.of(separator.join(map(str, texts)), separator.join(in_chinese(text) for text in texts))


def in_chinese(text: str | None) -> str | None:
    """A reason's Chinese where it carries one, else the text as it is."""
    return getattr(text, "zh", text)
