"""The rule language: patterns that test one fact, and conclusions that make one.

A pattern is parsed once from its YAML form, then used three ways: matched against a
fact in Python (to decide what the engine must see, and for why-not analysis), and
compiled to a durable_rules condition. One model keeps the two in agreement.

YAML forms (see knowledge/schemas/pattern.schema.json):

    answer: {pain_locations: lateral_knee}      # equal, or included in a multiple choice
    answer: {trauma_onset: ["yes", "unsure"]}   # any of
    answer: {duration_weeks: {gte: 6}}          # comparison
    answer: {race_in_days: {answered: true}}    # any value
    finding: lateral_pain                       # also red_flag, unanswered, recommend, avoid
    condition: {itbs: [likely, possible]}
    disposition: [emergency, same_day]
    tier: {at_least: supervised}
    not: {finding: itbs_against}
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .facts import Fact, Value, id_field, normalise_number

COMPARATORS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "gte": ("$gte", operator.ge),
    "gt": ("$gt", operator.gt),
    "lte": ("$lte", operator.le),
    "lt": ("$lt", operator.lt),
}

# Kinds whose pattern is just one id or a list of ids.
NAME_KINDS = ("finding", "red_flag", "unanswered", "recommend", "avoid", "disposition")


@dataclass(frozen=True)
class Pattern:
    """A test on one fact: its kind, which ids, which values, which comparisons."""

    kind: str
    ids: tuple[str, ...]
    values: tuple[Value, ...] = ()
    comparisons: tuple[tuple[str, float], ...] = ()
    compare_field: str = "v"
    negated: bool = False
    source: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    def matches(self, fact: Fact) -> bool:
        """True when `fact` satisfies the test (ignoring negation)."""
        if fact.kind != self.kind or (self.ids and fact.id not in self.ids):
            return False
        if self.values and fact.value not in self.values:
            return False
        operand = fact.rank if self.compare_field == "r" else fact.value
        for name, bound in self.comparisons:
            if not isinstance(operand, (int, float)) or not COMPARATORS[name][1](operand, bound):
                return False
        return True

    def to_durable(self) -> dict[str, Any]:
        """The durable_rules condition for one fact (the negation is in the alias)."""
        terms: list[dict[str, Any]] = [{"t": self.kind}]
        if self.ids:
            terms.append(_any_id(self.ids))
        if self.values:
            terms.append(_any_of("v", self.values))
        for name, bound in self.comparisons:
            terms.append({COMPARATORS[name][0]: {self.compare_field: bound}})
        return {"$and": terms}

    def describe(self) -> str:
        """Readable form for explanations: `no answer duration_weeks`, `tier >= 2`."""
        text = f"{self.kind} {'/'.join(self.ids)}" if self.ids else self.kind
        if self.values:
            text += f" in {list(self.values)}" if len(self.values) > 1 else f" = {self.values[0]}"
        for name, bound in self.comparisons:
            text += f" {name} {bound}"
        return f"not ({text})" if self.negated else text


def _any_of(field: str, options: tuple[Value, ...]) -> dict[str, Any]:
    if len(options) == 1:
        return {field: options[0]}
    return {"$or": [{field: option} for option in options]}


def _any_id(ids: tuple[str, ...]) -> dict[str, Any]:
    """The test that a fact has one of these ids (see facts.id_field)."""
    if len(ids) == 1:
        return {id_field(ids[0]): 1}
    return {"$or": [{id_field(i): 1} for i in ids]}


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(normalise_number(v) for v in value) if isinstance(value, list) else (normalise_number(value),)


def parse_pattern(raw: Mapping[str, Any], tier_rungs: Mapping[str, int], negated: bool = False) -> Pattern:
    """Build a Pattern from its (schema-valid) YAML form."""
    (kind, body), = raw.items()
    if kind == "not":
        return parse_pattern(body, tier_rungs, negated=True)
    if kind == "answer":
        (question, test), = body.items()
        if isinstance(test, dict):
            if test.get("answered"):
                return Pattern("answer", (question,), negated=negated, source=raw)
            comparisons = tuple((name, normalise_number(bound)) for name, bound in test.items())
            return Pattern("answer", (question,), comparisons=comparisons, negated=negated, source=raw)
        return Pattern("answer", (question,), values=_as_tuple(test), negated=negated, source=raw)
    if kind == "condition":
        (condition, assessments), = body.items()
        return Pattern("condition", (condition,), values=_as_tuple(assessments), negated=negated, source=raw)
    if kind == "tier":
        if isinstance(body, dict):
            rung = tier_rungs.get(body["at_least"])
            if rung is None:  # unknown tier: keep the name so the loader reports it
                return Pattern("tier", (body["at_least"],), negated=negated, source=raw)
            return Pattern("tier", (), comparisons=(("gte", rung),), compare_field="r", negated=negated, source=raw)
        return Pattern("tier", _as_tuple(body), negated=negated, source=raw)
    return Pattern(kind, _as_tuple(body), negated=negated, source=raw)


def parse_conclusion(raw: Mapping[str, Any], ranks: Mapping[str, Mapping[str, int]]) -> Fact:
    """Build the Fact a rule concludes. `ranks` gives disposition and tier positions."""
    (kind, body), = raw.items()
    if kind == "condition":
        (condition, assessment), = body.items()
        return Fact("condition", condition, assessment)
    return Fact(kind, body, None, ranks.get(kind, {}).get(body))
