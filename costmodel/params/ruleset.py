"""Rule sets and the policy in force: national and provincial layers composed by date.

A rule-set folder is a layer: its manifest, its own dated parameters and its decision tables, written
either whole or as amendments (rule by rule) to the table underneath. Standing alone, a folder applies
over the folder it `extends`. In the policy in force for a province on a date, the province's folders
apply over the national layer in force on that date instead, and both layers decide: see `compose`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from costmodel.errors import InputError
from costmodel.params.parameter import Parameter
from costmodel.params.sources import check_source_keys
from costmodel.paths import tariffs_dir
from costmodel.schedule.stages import LIMIT_PARAMETER, STAGE_PARAMETER, load_stage_set, stage_parameters, stages_path
from costmodel.yamlio import check_keys, load_yaml, quoted, text_field, text_list

MANIFEST_KEYS = {"id", "title", "jurisdiction", "layer", "in_effect_from"}
MANIFEST_OPTIONAL = {"extends", "sources", "description", "withdraws", "not_found", "design_scheme", "title_zh", "catalog"}
LAYERS = ("national", "provincial")
NATIONAL = "national"
SCHEDULE_PARAMETERS = (STAGE_PARAMETER, LIMIT_PARAMETER)


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    jurisdiction: str
    in_effect_from: dt.date
    parameters: dict[str, Parameter]
    decisions: dict[str, Any]  # name -> costmodel.rules.table.DecisionTable or FeeTable
    lineage: tuple[str, ...]  # this rule set, then the layers underneath
    content_hash: str
    sources: tuple[str, ...] = ()  # keys of tariffs/sources.yaml the layers implement, the lowest first
    overrides: tuple[str, ...] = ()
    layer: str = NATIONAL
    # A composed policy: the national layer in force, then the provincial layer over it. Empty for a rule
    # set applied alone.
    layers: tuple[RuleSet, ...] = ()
    not_found: tuple[str, ...] = ()
    design_scheme: str = ""  # the standard connection schemes (tariffs/designs/<id>) its quotes are designed with
    title_zh: str | None = None  # the title in Chinese, where the manifest gives one
    catalog: str = ""  # the unit-cost catalogue (tariffs/catalogs/<id>) its quotes are priced with; "": the scheme's own

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

    def layer_named(self, ruleset_id: str) -> RuleSet:
        """The layer of a composed policy with this id (the rule set itself when it stands alone)."""
        return next((layer for layer in self.layers if layer.id == ruleset_id), self)

    def with_decision(self, name: str, table) -> RuleSet:
        return replace(self, decisions={**self.decisions, name: table},
                       layers=tuple(layer.with_decision(name, table) for layer in self.layers))

    def with_catalog(self, catalog_id: str) -> RuleSet:
        """The same rules, their quotes priced with another catalogue (a utility's own, tariffs/catalogs/<id>)."""
        from costmodel.costs.catalog import load_catalog

        load_catalog(catalog_id)  # an unknown catalogue is refused here, naming the ones there are
        return replace(self, catalog=catalog_id, layers=tuple(replace(layer, catalog=catalog_id) for layer in self.layers))

    def with_parameters(self, parameters: dict[str, Parameter], tag: str) -> RuleSet:
        """A reform: these values replace the parameters of the same path. Under a composed policy they change the
        provincial layer, and the national layer only where the province does not set the parameter itself (so a
        provincial reform can never take a national entitlement away)."""
        layers = self.layers
        if layers:
            national, provincial = layers
            national_paths = {p for p in parameters if p in national.parameters and defined_in(provincial.parameter(p)) in national.lineage}
            layers = (replace(national, parameters={**national.parameters, **{p: parameters[p] for p in national_paths}}),
                      replace(provincial, parameters={**provincial.parameters, **parameters}))
        return replace(self, parameters={**self.parameters, **parameters}, overrides=self.overrides + (tag,), layers=layers)


def defined_in(parameter: Parameter) -> str:
    """The rule set whose folder sets a parameter (a reform's values are set by the override file)."""
    try:
        return Path(parameter.file).resolve().relative_to(rulesets_root().resolve()).parts[0]
    except ValueError:
        return Path(parameter.file).stem


def first_date_problems(ruleset: RuleSet) -> list[str]:
    """Each parameter whose first value is not dated the start (in_effect_from) of the rule set whose folder sets it.
    The first value applies from the rule set's start whatever its key says (`Parameter.at` takes it before its
    date), so a key a day off would change nothing a quote shows: a value that starts later is written as a second
    dated value after the one in force from the start."""
    problems = []
    for path, parameter in sorted(ruleset.parameters.items()):
        origin = defined_in(parameter)
        if origin not in available_rulesets():
            continue  # a reform's value, dated by the reform
        start = _folder(origin, tariffs_dir()).manifest["in_effect_from"]
        if parameter.dates[0] != start:
            problems.append(f"rule set {ruleset.id}: parameter {path} ({parameter.file}): its first value is dated "
                            f"{parameter.dates[0].isoformat()}; allowed: {start.isoformat()}, the start (in_effect_from) "
                            f"of {origin}, which sets it")
    return problems


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


@dataclass(frozen=True)
class _Folder:
    """One rule-set folder as written: what it adds to whatever lies underneath."""

    manifest: dict
    parameters: dict[str, Parameter]
    tables: dict[str, Any]  # DecisionTable or FeeTable (whole), or Amendment
    files: tuple[Path, ...]
    has_schedule: bool = False  # its schedule/stages.yaml replaces the stages and limits underneath

    @property
    def id(self) -> str:
        return self.manifest["id"]


@lru_cache(maxsize=64)
def _folder(ruleset_id: str, root: Path) -> _Folder:
    from costmodel.rules.table import Amendment, DecisionTable, FeeTable

    folder = root / "rulesets" / ruleset_id
    manifest_file = folder / "manifest.yaml"
    if not manifest_file.is_file():
        raise InputError(f"{manifest_file}: file not found; a rule-set folder needs a manifest.yaml")
    manifest = check_keys(load_yaml(manifest_file), str(manifest_file), MANIFEST_KEYS, MANIFEST_OPTIONAL)
    for key in ("id", "title", "jurisdiction", "layer") + tuple(k for k in ("extends", "description", "design_scheme", "title_zh", "catalog") if k in manifest):
        text_field(manifest[key], str(manifest_file), key)
    for key in ("withdraws", "not_found"):
        text_list(manifest.get(key), str(manifest_file), key)
    if manifest["id"] != ruleset_id:
        raise InputError(f"{manifest_file}: id is {quoted(manifest['id'])} but the folder is {ruleset_id!r}")
    if not isinstance(manifest["in_effect_from"], dt.date):
        raise InputError(f"{manifest_file}: in_effect_from must be a date YYYY-MM-DD, got {manifest['in_effect_from']!r}")
    if manifest["layer"] not in LAYERS:
        raise InputError(f"{manifest_file}: layer is {manifest['layer']!r}; allowed: {', '.join(LAYERS)}")
    if (manifest["layer"] == NATIONAL) != (manifest["jurisdiction"] == NATIONAL):
        raise InputError(f"{manifest_file}: a national layer has jurisdiction 'national' and a provincial one a province's; "
                         f"got layer {manifest['layer']!r} with jurisdiction {manifest['jurisdiction']!r}")
    check_source_keys(manifest.get("sources") or [], f"{manifest_file}: sources")
    files = [manifest_file]
    parameters = {}
    for file in sorted((folder / "parameters").rglob("*.yaml")):
        path = ".".join(file.relative_to(folder / "parameters").with_suffix("").parts)
        parameters[path] = Parameter.from_yaml(path, load_yaml(file), file)
        files.append(file)
    schedule = stages_path(ruleset_id, root)
    if schedule.is_file():  # stage working days and limits, as parameters a reform can change
        for path, raw in stage_parameters(load_stage_set(ruleset_id, root), manifest["in_effect_from"]).items():
            parameters[path] = Parameter.from_yaml(path, raw, schedule)
        files.append(schedule)
    tables: dict[str, Any] = {}
    for file in sorted((folder / "decisions").glob("*.yaml")):
        raw = load_yaml(file)
        kind = (Amendment if isinstance(raw, dict) and "amends" in raw
                else FeeTable if isinstance(raw, dict) and "fees" in raw else DecisionTable)
        table = kind.from_yaml(raw, file, origin=ruleset_id)
        tables[table.name] = table
        files.append(file)
    return _Folder(manifest, parameters, tables, tuple(files), schedule.is_file())


def _over(base: RuleSet | None, folder: _Folder) -> RuleSet:
    """The folder applied over `base`: its parameters and whole tables replace, its amendments amend."""
    from costmodel.rules.table import Amendment

    manifest = folder.manifest
    parameters = dict(base.parameters) if base else {}
    if folder.has_schedule:
        parameters = {path: value for path, value in parameters.items() if not path.startswith(SCHEDULE_PARAMETERS)}
    for withdrawn in manifest.get("withdraws") or []:
        if parameters.pop(withdrawn, None) is None and base is not None and base.layer == NATIONAL == manifest["layer"]:
            raise InputError(f"{folder.files[0]}: withdraws {withdrawn!r}, which no rule set underneath defines")
    parameters.update(folder.parameters)
    decisions = dict(base.decisions) if base else {}
    for name, table in folder.tables.items():
        decisions[name] = table.applied_to(decisions.get(name)) if isinstance(table, Amendment) else table
    return RuleSet(
        id=folder.id,
        title=str(manifest["title"]),
        jurisdiction=str(manifest["jurisdiction"]),
        in_effect_from=manifest["in_effect_from"],
        parameters=parameters,
        decisions=decisions,
        lineage=(folder.id,) + (base.lineage if base else ()),
        content_hash=_hash_files(list(folder.files), base.content_hash if base else ""),
        sources=tuple(dict.fromkeys((*(base.sources if base else ()), *(manifest.get("sources") or ())))),
        layer=manifest["layer"],
        not_found=(base.not_found if base else ()) + tuple(manifest.get("not_found") or ()),
        design_scheme=str(manifest.get("design_scheme") or (base.design_scheme if base else "")),
        title_zh=manifest.get("title_zh"),
        catalog=str(manifest.get("catalog") or (base.catalog if base else "")),
    )


def _checked(ruleset: RuleSet) -> RuleSet:
    if not ruleset.design_scheme:
        raise InputError(f"rule set {ruleset.id!r}: no design_scheme in its manifest or any it extends")
    for table in ruleset.decisions.values():
        table.check_references(ruleset)
    return ruleset


def _check_extends(ruleset_id: str, root: Path) -> None:
    """Every rule set the chain of `extends` names exists, and the chain ends (no rule set extends itself)."""
    chain = [ruleset_id]
    while (parent := _folder(chain[-1], root).manifest.get("extends")) is not None:
        where = root / "rulesets" / chain[-1] / "manifest.yaml"
        if parent in chain:
            raise InputError(f"{where}: extends {parent!r}, a cycle ({' -> '.join(chain + [parent])}); "
                             "allowed: a chain of rule sets that ends in one extending nothing")
        if not (root / "rulesets" / parent / "manifest.yaml").is_file():
            known = sorted(p.name for p in (root / "rulesets").iterdir() if (p / "manifest.yaml").is_file())
            raise InputError(f"{where}: extends {parent!r}, which is not a rule set; allowed: {', '.join(known)}")
        chain.append(parent)


@lru_cache(maxsize=64)
def _load(ruleset_id: str, root: Path) -> RuleSet:
    _check_extends(ruleset_id, root)
    folder = _folder(ruleset_id, root)
    parent = folder.manifest.get("extends")
    return _checked(_over(_load(parent, root) if parent else None, folder))


def load_ruleset(ruleset_id: str) -> RuleSet:
    """A rule set alone, by id: its folder over the folders it extends (a counterfactual when not in force)."""
    known = available_rulesets()
    if ruleset_id not in known:
        raise InputError(f"unknown rule set {ruleset_id!r}; allowed: {', '.join(known)}")
    return _load(ruleset_id, tariffs_dir())


def _clear_caches() -> None:
    """Forget every folder read: for a caller that edits the files under the same tariffs root."""
    for cached in (_folder, _load, _composed):
        cached.cache_clear()


load_ruleset.cache_clear = _clear_caches  # type: ignore[attr-defined]


def _provincial_folders(provincial: RuleSet, root: Path) -> list[_Folder]:
    """The provincial folders of a rule set's lineage, the lowest first."""
    folders = [_folder(ruleset_id, root) for ruleset_id in provincial.lineage]
    return [folder for folder in reversed(folders) if folder.manifest["layer"] != NATIONAL]


@lru_cache(maxsize=64)
def _composed(national_id: str, provincial_id: str, root: Path) -> RuleSet:
    national = _load(national_id, root)
    provincial = _load(provincial_id, root)
    layer = national
    for folder in _provincial_folders(provincial, root):
        layer = _over(layer, folder)
    layer = _checked(layer)
    return replace(
        layer,
        id=f"{provincial.id}+{national.id}",
        title=f"{provincial.title}, over {national.title}",
        title_zh=f"{provincial.title_zh}，基于{national.title_zh}" if provincial.title_zh and national.title_zh else None,
        in_effect_from=max(national.in_effect_from, provincial.in_effect_from),
        content_hash=hashlib.sha256(f"{national.content_hash}{layer.content_hash}".encode()).hexdigest()[:16],
        layers=(national, layer),
    )


def compose(national: RuleSet, provincial: RuleSet) -> RuleSet:
    """The policy of a province over a national layer. The province's own folders apply over `national` (not
    over the national rule set they extend when alone), and both layers decide: on each decision the outcome
    better for the customer applies, so a province may give more than the national texts but never less."""
    if national.layer != NATIONAL or provincial.layer == NATIONAL:
        raise InputError(f"compose takes a national and a provincial rule set, got {national.id!r} and {provincial.id!r}")
    return _composed(national.id, provincial.id, tariffs_dir())


def _in_force(jurisdiction: str, when: dt.date) -> RuleSet | None:
    """The latest rule set of exactly this jurisdiction in force on `when`, if any."""
    candidates = sorted((ruleset.in_effect_from, ruleset.id) for ruleset in map(load_ruleset, available_rulesets())
                        if ruleset.jurisdiction == jurisdiction and ruleset.in_effect_from <= when)
    return load_ruleset(candidates[-1][1]) if candidates else None


def jurisdictions() -> list[str]:
    return sorted({load_ruleset(ruleset_id).jurisdiction for ruleset_id in available_rulesets()})


def _reforms_named(name: str) -> tuple[str, list[str]]:
    """`<rule set>+<reform>+<reform>` -> the rules' name and the reforms after it (the trailing `+` parts that name
    a reform of tariffs/overrides, not a rule set)."""
    if "+" not in name:  # the common case: no need to list the reforms folder
        return name, []
    from costmodel.params.overrides import available_reforms

    parts = name.split("+")
    reforms = available_reforms()
    first = len(parts)
    while first > 1 and parts[first - 1] in reforms and parts[first - 1] not in available_rulesets():
        first -= 1
    return "+".join(parts[:first]), parts[first:]


def resolve_ruleset(name: str, when: dt.date) -> RuleSet:
    """The rules to apply. A rule-set id means exactly that rule set (a counterfactual where not in force).
    A jurisdiction means the policy in force there on `when`: the national layer in force, with the
    province's layer in force over it (a city's pilot falls back to its province's); before any provincial
    layer, the national layer alone. `name@YYYY-MM-DD` takes the policy in force on that date instead, and
    `name+reform[+reform...]` the rules of `name` with those reforms (tariffs/overrides) applied in turn."""
    if "@" in name:
        name, _, day = name.partition("@")
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            raise InputError(f"{name}@{day}: the date after @ must be YYYY-MM-DD") from None
    base, reforms = _reforms_named(name)
    if reforms:  # `rules+reform[+reform...]`: the rules resolved as any name, then each reform over them
        from costmodel.params.overrides import with_reforms

        return with_reforms(resolve_ruleset(base, when), reforms)
    if name in available_rulesets():
        return load_ruleset(name)
    if "+" in name:  # a composed policy's own id: the same layers again
        provincial, _, national = name.partition("+")
        return compose(load_ruleset(national), load_ruleset(provincial))
    known = jurisdictions()
    if name not in known:
        raise InputError(f"unknown rule set or jurisdiction {name!r}; allowed rule sets: {', '.join(available_rulesets())}; "
                         f"jurisdictions: {', '.join(known)}")
    national = _in_force(NATIONAL, when)
    if national is None:
        earliest = min(load_ruleset(r).in_effect_from for r in available_rulesets() if load_ruleset(r).layer == NATIONAL)
        raise InputError(f"no national rule set was in force on {when}; the earliest starts {earliest}")
    if name == NATIONAL:
        return national
    parts = name.split(".")
    provincial = next(filter(None, (_in_force(".".join(parts[:n]), when) for n in range(len(parts), 0, -1))), None)
    return national if provincial is None else compose(national, provincial)
