"""References in schedule data are read like a parameter's: the same keys, source tags and citation."""

from __future__ import annotations

from typing import Any

from costmodel.params.parameter import Reference


def check_reference(reference: Any, where: str) -> dict:
    Reference.from_yaml(reference, where)
    return reference


def reference_text(reference: dict) -> str:
    return Reference.from_yaml(reference, "reference").cite()
