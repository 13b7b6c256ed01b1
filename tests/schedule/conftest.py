"""Helpers to write a small stand-alone tariffs tree for data-error tests."""

from pathlib import Path

import pytest
import yaml

REFERENCE = {"document": "test document", "clause": "test clause", "source": "practice"}


def stage(id, days, predecessors=(), group="grid", applies_to="both", **extra):
    return {"id": id, "name_zh": id, "name_en": id, "applies_to": applies_to, "group": group,
            "working_days": days, "unit": "working_days", "predecessors": list(predecessors),
            "reference": dict(REFERENCE), **extra}


@pytest.fixture
def write_stages(tmp_path):
    """write_stages(ruleset_id, stages, limits=()) -> (root, path) of a tariffs tree in tmp_path."""

    def write(ruleset_id, stages, limits=(), **top):
        path = tmp_path / "rulesets" / ruleset_id / "schedule" / "stages.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"ruleset": ruleset_id, "description": "test", **top, "stages": list(stages), "limits": list(limits)}
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return Path(tmp_path), path

    return write
