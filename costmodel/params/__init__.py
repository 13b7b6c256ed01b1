"""Dated policy parameters and rule sets, loaded strictly from tariffs/."""

from costmodel.params.parameter import Parameter, Reference
from costmodel.params.ruleset import RuleSet, available_rulesets, load_ruleset, resolve_ruleset

__all__ = ["Parameter", "Reference", "RuleSet", "available_rulesets", "load_ruleset", "resolve_ruleset"]
