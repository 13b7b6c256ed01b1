"""Decision tables with Catala semantics: a default rule, exceptions to it, and an explicit priority.

When two exceptions to the same rule both apply to an application and the table does not order
them, evaluation stops with an error that names both: overlaps are resolved on purpose, in data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.errors import CostmodelError, InputError
from costmodel.labels import labels_from_codes
from costmodel.params.parameter import Reference
from costmodel.rules import conditions
from costmodel.yamlio import check_keys, quoted, text_field, text_list


class RuleConflictError(CostmodelError):
    """Two unordered exceptions apply to the same application."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    then: Any
    when: tuple[dict, ...]
    exception_to: str | None
    cites: Reference
    origin: str = ""  # the rule set whose file wrote the rule
    description_zh: str = ""  # the description in Chinese (empty: not translated, the English is shown)

    def parameters(self) -> list[str]:
        return conditions.parameters_in(list(self.when))


def _rules_from_yaml(items: Any, where: str, origin: str) -> tuple[Rule, ...]:
    if not isinstance(items, list):
        raise InputError(f"{where}: rules must be a list of rules, got {items!r}")
    rules = []
    for number, item in enumerate(items, start=1):
        spot = f"{where}: rule {number}"
        check_keys(item, spot, {"id", "description", "then", "cites"}, {"when", "exception_to", "description_zh"})
        text_field(item["id"], spot, "id")
        if item.get("exception_to") is not None:
            text_field(item["exception_to"], f"{spot} ({item['id']})", "exception_to")
        _check_outcome(item["then"], f"{spot} ({item['id']})")
        _check_when(item.get("when"), f"{spot} ({item['id']})")
        for condition in item.get("when", []) or []:
            conditions.validate_condition(condition, f"{spot} ({item['id']})")
        rules.append(Rule(
            id=item["id"],
            description=str(item["description"]),
            then=item["then"],
            when=tuple(item.get("when", []) or []),
            exception_to=item.get("exception_to"),
            cites=Reference.from_yaml(item["cites"], f"{spot} ({item['id']})", old_form=False),
            origin=origin,
            description_zh=str(item.get("description_zh") or ""),
        ))
    return tuple(rules)


def _check_outcome(value: Any, where: str) -> None:
    if not isinstance(value, (str, int, float)):  # bool is an int: outcomes are labels, numbers or true/false
        raise InputError(f"{where}: then must be one outcome (a label), got {type(value).__name__} {quoted(value, 60)}")


def _check_when(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, list):
        raise InputError(f"{where}: when must be a list of conditions, got {type(value).__name__} {quoted(value, 60)}")


@dataclass(frozen=True)
class DecisionTable:
    name: str
    description: str
    outcomes: tuple[str, ...]
    rules: tuple[Rule, ...]
    priority: tuple[str, ...] = ()
    file: str = ""
    # Outcomes best for the customer first: where policy layers disagree, the better one applies.
    customer_preference: tuple[str, ...] = ()
    children: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def from_yaml(cls, raw: Any, file: Path, origin: str = "") -> DecisionTable:
        where = str(file)
        check_keys(raw, where, {"decision", "description", "outcomes", "rules"}, {"priority", "customer_preference"})
        outcomes = raw["outcomes"]
        if not isinstance(outcomes, list) or not outcomes:
            raise InputError(f"{where}: outcomes must be a non-empty list of labels, got {quoted(outcomes, 60)}")
        for outcome in outcomes:
            _check_outcome(outcome, f"{where}: outcomes")
        table = cls(
            name=text_field(raw["decision"], where, "decision"),
            description=str(raw["description"]),
            outcomes=tuple(outcomes),
            rules=_rules_from_yaml(raw["rules"], where, origin),
            priority=text_list(raw.get("priority"), where, "priority"),
            file=where,
            customer_preference=tuple(raw.get("customer_preference", []) or []),
        )
        if not isinstance(raw.get("customer_preference") or [], list):
            raise InputError(f"{where}: customer_preference must be a list of outcomes, got {quoted(raw['customer_preference'], 60)}")
        return table._linked()

    def _linked(self) -> DecisionTable:
        where = self.file
        ids = [rule.id for rule in self.rules]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise InputError(f"{where}: rule id(s) {sorted(duplicates)} appear more than once")
        roots = [rule.id for rule in self.rules if rule.exception_to is None]
        if len(roots) != 1:
            raise InputError(f"{where}: a table needs exactly one default rule (no exception_to); found {roots}")
        root = self.rule(roots[0])
        if root.when:
            raise InputError(f"{where}: the default rule {root.id} must have no conditions, so some rule always applies")
        children: dict[str, list[str]] = {i: [] for i in ids}
        for rule in self.rules:
            if rule.then not in self.outcomes:
                raise InputError(f"{where}: rule {rule.id} gives {rule.then!r}; allowed outcomes: {list(self.outcomes)}")
            if rule.exception_to is not None:
                if rule.exception_to not in children:
                    raise InputError(f"{where}: rule {rule.id} is an exception to unknown rule {rule.exception_to!r}")
                children[rule.exception_to].append(rule.id)
        unknown = set(self.priority) - set(ids)
        if unknown:
            raise InputError(f"{where}: priority names unknown rule(s) {sorted(unknown)}")
        if self.customer_preference and sorted(self.customer_preference) != sorted(self.outcomes):
            raise InputError(f"{where}: customer_preference {list(self.customer_preference)} must list each outcome "
                             f"{list(self.outcomes)} once, best for the customer first")
        return replace(self, children={k: tuple(v) for k, v in children.items()})

    @property
    def default(self) -> Rule:
        return next(rule for rule in self.rules if rule.exception_to is None)

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    def without_priority(self) -> DecisionTable:
        return replace(self, priority=())

    def check_references(self, ruleset) -> None:
        for rule in self.rules:
            for path in rule.parameters():
                if path not in ruleset.parameters:
                    raise InputError(f"{self.file}: rule {rule.id} reads parameter {path!r}, which rule set {ruleset.id} lacks")

    def _rank(self, rule_id: str) -> int:
        return self.priority.index(rule_id) if rule_id in self.priority else len(self.priority)

    def evaluate(self, frame: Columns | pd.DataFrame, ruleset) -> tuple[pd.Categorical, pd.Categorical]:
        """(outcome, deciding rule id) for every row, as categoricals."""
        frame = Columns.of(frame)
        seen: dict = {}
        applies = {rule.id: conditions.evaluate_all(rule.when, frame, ruleset, seen) for rule in self.rules}
        ids = np.asarray(frame["application_id"]) if "application_id" in frame else np.arange(len(frame))
        number = {rule.id: index for index, rule in enumerate(self.rules)}  # rules as integers: no object arrays

        def resolve(rule_id: str) -> np.ndarray:
            """Index of the deciding rule in this subtree per row, -1 where none applies."""
            decided_by = np.full(len(frame), -1, dtype=np.int32)
            results = {child: resolve(child) for child in self.children[rule_id]}
            for a, b in combinations(results, 2):
                both = (results[a] >= 0) & (results[b] >= 0)
                if both.any() and not (a in self.priority and b in self.priority):
                    first = ids[np.flatnonzero(both)[0]]
                    raise RuleConflictError(
                        f"rules {a} and {b} both apply to application {first} "
                        f"({int(both.sum())} application(s) in all) and {self.file} gives no priority between them; "
                        f"list both under 'priority' (first wins)"
                    )
            for child in sorted(results, key=self._rank):
                take = (results[child] >= 0) & (decided_by < 0)
                decided_by[take] = results[child][take]
            decided_by[applies[rule_id] & (decided_by < 0)] = number[rule_id]
            return decided_by

        decided_by = resolve(self.default.id)
        return (labels_from_codes(decided_by, [rule.then for rule in self.rules]),
                labels_from_codes(decided_by, [rule.id for rule in self.rules]))


@dataclass(frozen=True)
class Amendment:
    """A rule set's changes to the table it inherits, rule by rule: rules added (or replacing the inherited
    rule of the same id), rules removed, and a priority whose order goes before the inherited one's."""

    name: str
    rules: tuple[Rule, ...]
    remove: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    file: str = ""

    @classmethod
    def from_yaml(cls, raw: Any, file: Path, origin: str = "") -> Amendment:
        where = str(file)
        check_keys(raw, where, {"amends"}, {"rules", "remove", "priority"})
        return cls(name=text_field(raw["amends"], where, "amends"), rules=_rules_from_yaml(raw.get("rules") or [], where, origin),
                   remove=text_list(raw.get("remove"), where, "remove"), priority=text_list(raw.get("priority"), where, "priority"),
                   file=where)

    def applied_to(self, table: DecisionTable | None) -> DecisionTable:
        """The inherited table with these changes. Removing a rule the table lacks changes nothing, so one
        amendment applies over any national layer (a later one may already have dropped the rule)."""
        if table is None:
            raise InputError(f"{self.file}: amends decision table {self.name!r}, which no rule set underneath defines")
        new = {rule.id: rule for rule in self.rules}
        rules = [new.pop(rule.id, rule) for rule in table.rules if rule.id not in self.remove] + list(new.values())
        present = {rule.id for rule in rules}
        priority = tuple(dict.fromkeys(p for p in (*self.priority, *table.priority) if p in present))
        return replace(table, rules=tuple(rules), priority=priority, file=f"{table.file} + {self.file}")._linked()


# What a fee is charged on: a derived column of the engine (kVA or kW of the request, or of its backup circuits).
FEE_BASES = ("capacity_kva", "capacity_kw", "backup_capacity_kva")


@dataclass(frozen=True)
class Fee:
    id: str
    name: str
    when: tuple[dict, ...]
    rate_parameter: str
    basis: str
    cites: Reference
    name_zh: str = ""  # the name in Chinese (empty: not translated)
    # A prepayment refunded on a condition (the clause that says so), not a cost: shown apart from the totals.
    refund: Reference | None = None


@dataclass(frozen=True)
class FeeTable:
    """Charges other than works, each payable by the customer where its conditions hold."""

    name: str
    description: str
    fees: tuple[Fee, ...]
    file: str = ""

    @classmethod
    def from_yaml(cls, raw: Any, file: Path, origin: str = "") -> FeeTable:
        where = str(file)
        check_keys(raw, where, {"fees", "description"})
        fees = []
        if not isinstance(raw["fees"], list):
            raise InputError(f"{where}: fees must be a list of fees, got {type(raw['fees']).__name__} {quoted(raw['fees'], 60)}")
        for number, item in enumerate(raw["fees"], start=1):
            spot = f"{where}: fee {number}"
            check_keys(item, spot, {"id", "name", "rate", "basis", "cites"}, {"when", "name_zh", "refund"})
            text_field(item["id"], spot, "id")
            _check_when(item.get("when"), spot)
            for condition in item.get("when", []) or []:
                conditions.validate_condition(condition, spot)
            if not (isinstance(item["rate"], dict) and set(item["rate"]) == {"param"}):
                raise InputError(f"{spot}: rate must be {{param: path}}, got {item['rate']!r}")
            if item["basis"] not in FEE_BASES:
                raise InputError(f"{spot}: basis is {item['basis']!r}; allowed: {', '.join(FEE_BASES)}")
            fees.append(
                Fee(item["id"], str(item["name"]), tuple(item.get("when", []) or []), item["rate"]["param"],
                    item["basis"], Reference.from_yaml(item["cites"], spot, old_form=False), str(item.get("name_zh") or ""),
                    Reference.from_yaml(item["refund"], f"{spot}: refund", old_form=False) if "refund" in item else None)
            )
        return cls(name="fees", description=str(raw["description"]), fees=tuple(fees), file=where)

    def check_references(self, ruleset) -> None:
        for fee in self.fees:
            for path in [fee.rate_parameter] + conditions.parameters_in(list(fee.when)):
                if path not in ruleset.parameters:
                    raise InputError(f"{self.file}: fee {fee.id} reads parameter {path!r}, which rule set {ruleset.id} lacks")
