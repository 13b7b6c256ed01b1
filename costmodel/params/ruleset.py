"""A rule set: manifest, dated parameters and decision tables, inherited through `extends`."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from costmodel.errors import InputError
from costmodel.params.parameter import Parameter
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_yaml

MANIFEST_KEYS = {"id", "title", "jurisdiction", "in_effect_from"}
MANIFEST_OPTIONAL = {"extends", "sources", "description"}


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    jurisdiction: str
    in_effect_from: dt.date
    parameters: dict[str, Parameter]
    decisions: dict[str, Any]  # name -> costmodel.rules.table.DecisionTable
    lineage: tuple[str, ...]  # this rule set, then its ancestors
    content_hash: str
    sources: dict = field(default_factory=dict)
    overrides: tuple[str, ...] = ()

    @property
    def schedule_id(self) -> str:
        """The rule set (this or an ancestor) whose process stages apply: reforms keep their base's."""
        for ruleset_id in self.lineage:
            if (rulesets_root() / ruleset_id / "schedule" / "stages.yaml").is_file():
                return ruleset_id
        raise InputError(f"rule set {self.id!r} and its ancestors have no schedule/stages.yaml")

    def parameter(self, path: str) -> Parameter:
        try:
            return self.parameters[path]
        except KeyError:
            raise InputError(
                f"rule set {self.id!r} has no parameter {path!r}; known: {', '.join(sorted(self.parameters))}"
            ) from None

    def decision(self, name: str):
        try:
            return self.decisions[name]
        except KeyError:
            raise InputError(f"rule set {self.id!r} has no decision table {name!r}") from None

    def with_decision(self, name: str, table) -> RuleSet:
        return replace(self, decisions={**self.decisions, name: table})

    def with_parameters(self, parameters: dict[str, Parameter], tag: str) -> RuleSet:
        return replace(self, parameters={**self.parameters, **parameters}, overrides=self.overrides + (tag,))


def rulesets_root() -> Path:
    return tariffs_dir() / "rulesets"


def available_rulesets() -> list[str]:
    root = rulesets_root()
    return sorted(p.name for p in root.iterdir() if (p / "manifest.yaml").is_file())


def _hash_files(files: list[Path], parent_hash: str) -> str:
    # Paths relative to the tariffs folder: the same rules hash the same wherever the repo lives.
    digest = hashlib.sha256(parent_hash.encode())
    for file in sorted(files):
        digest.update(file.relative_to(tariffs_dir()).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@cached_per_root(maxsize=64)
def load_ruleset(ruleset_id: str) -> RuleSet:
    """Load a rule set by id, with its ancestors' parameters and decisions underneath."""
    from costmodel.rules.table import DecisionTable, FeeTable

    known = available_rulesets()
    if ruleset_id not in known:
        raise InputError(f"unknown rule set {ruleset_id!r}; allowed: {', '.join(known)}")
    folder = rulesets_root() / ruleset_id
    manifest_file = folder / "manifest.yaml"
    manifest = check_keys(load_yaml(manifest_file), str(manifest_file), MANIFEST_KEYS, MANIFEST_OPTIONAL)
    if manifest["id"] != ruleset_id:
        raise InputError(f"{manifest_file}: id is {manifest['id']!r} but the folder is {ruleset_id!r}")
    if not isinstance(manifest["in_effect_from"], dt.date):
        raise InputError(f"{manifest_file}: in_effect_from must be a date YYYY-MM-DD, got {manifest['in_effect_from']!r}")

    parameters: dict[str, Parameter] = {}
    decisions: dict[str, Any] = {}
    lineage: tuple[str, ...] = (ruleset_id,)
    files = [manifest_file]
    parent_hash = ""
    if manifest.get("extends"):
        parent = load_ruleset(manifest["extends"])
        parameters.update(parent.parameters)
        decisions.update(parent.decisions)
        lineage += parent.lineage
        parent_hash = parent.content_hash

    for file in sorted((folder / "parameters").rglob("*.yaml")):
        path = ".".join(file.relative_to(folder / "parameters").with_suffix("").parts)
        parameters[path] = Parameter.from_yaml(path, load_yaml(file), file)
        files.append(file)
    for file in sorted((folder / "decisions").glob("*.yaml")):
        raw = load_yaml(file)
        table = (FeeTable if isinstance(raw, dict) and "fees" in raw else DecisionTable).from_yaml(raw, file)
        decisions[table.name] = table
        files.append(file)

    ruleset = RuleSet(
        id=ruleset_id,
        title=str(manifest["title"]),
        jurisdiction=str(manifest["jurisdiction"]),
        in_effect_from=manifest["in_effect_from"],
        parameters=parameters,
        decisions=decisions,
        lineage=lineage,
        content_hash=_hash_files(files, parent_hash),
        sources=manifest.get("sources") or {},
    )
    for table in decisions.values():
        table.check_references(ruleset)
    return ruleset


def resolve_ruleset(name: str, when: dt.date) -> RuleSet:
    """A rule-set id as is; a jurisdiction name (`shandong`) to the rule set in force on `when`."""
    if name in available_rulesets():
        return load_ruleset(name)
    candidates = [(ruleset.in_effect_from, ruleset.id) for ruleset in map(load_ruleset, available_rulesets())
                  if ruleset.jurisdiction == name]
    if not candidates:
        raise InputError(
            f"unknown rule set or jurisdiction {name!r}; allowed rule sets: {', '.join(available_rulesets())}"
        )
    in_force = [c for c in sorted(candidates) if c[0] <= when]
    if not in_force:
        earliest = min(candidates)
        raise InputError(f"no {name} rule set was in force on {when}; the earliest starts {earliest[0]} ({earliest[1]})")
    return load_ruleset(in_force[-1][1])
