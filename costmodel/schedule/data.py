"""References in schedule data are read like a parameter's: the same keys, source tags and citation."""

from __future__ import annotations

from typing import Any


# Reference is imported when called: costmodel.params loads the stage sets (costmodel.schedule.stages, which
# reads this module), so a module-level import made `import costmodel.schedule` alone fail half-initialised.
def check_reference(reference: Any, where: str) -> dict:
    from costmodel.params.parameter import Reference

    Reference.from_yaml(reference, where)
    return reference


def reference_text(reference: dict) -> str:
    from costmodel.params.parameter import Reference

    return Reference.from_yaml(reference, "reference").cite()
