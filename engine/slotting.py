"""Several cases in one durable_rules session: every pattern tied to its case's slot.

A durable_rules session costs ~0.3 ms to create and delete (the C core clears a table
for every node of the rule network), so `batch` runs a group of cases in one session.
Each fact carries its case's slot (`s`); each rule's first pattern is its stage's
phase fact (`p`), which carries a slot too, and every other pattern of the rule
(negated ones included) tests `s == p.s`, so no rule can join facts of two cases.

The slot test is an identifier test, and where it goes in a pattern matters in
durable_rules 2.0.28 (tests/test_slotting.py pins each of these):

- After an `$or` in the same `$and` it is silently dropped: the C core's expression
  evaluator ends the enclosing `$and` at the `$or`'s end marker, so the rule joins any
  case's facts (`reduceExpressionSequence`, events.c).
- Ahead of the constant tests, each such test becomes an alpha node that every fact of
  the kind passes through unconditionally; past 64 of them under one node the matcher
  overflows its stack (error 303).
- Inside each alternative of an `$or` it is exact (every alternative tests the same
  thing), but each alternative costs three of a pattern's 31 expressions (error 113
  past 9 alternatives).

So a pattern gets its slot test last when it has no `$or`. With an `$or`, it goes just
ahead of the groups, after the constant tests, as long as no alpha node gets more than
`EARLY_LIMIT` of those; past that, inside each alternative of its one `$or` when that
has at most 9. Ahead is preferred: there the C core joins on a hash of the slot, while
inside the alternatives it tries every case's facts of the kind in turn, so each of a
group's 16 cases paid for the others' (the findings stage's phase assert took 64-71 µs
a case with the test inside, 54-55 µs ahead). A rule the rewriting cannot tie to its
slot safely makes `slotted_ruleset` raise `Unslottable`, and the caller runs every case
in a session of its own.

The rewriting works on the durable_rules JSON that `durable_definition` makes from the
rules, not on the rules' YAML, so it holds for any rule the schema admits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

SLOT = "s"
PHASE_ALIAS = "p"
# Expressions a pattern may hold (MAX_SEQUENCE_EXPRESSIONS is 32, checked on reaching it).
EXPRESSION_LIMIT = 31
# Alternatives of an `$or` that can each carry the slot test: the `$and` and the `$or`
# with their end markers take 4 expressions, each alternative 3 (`$and`, test, end).
ALTERNATIVE_LIMIT = (EXPRESSION_LIMIT - 4) // 3
# Slot tests placed ahead of an `$or` under one alpha node; the matcher's stack holds 64.
EARLY_LIMIT = 16
_GROUPS = ("$or", "$and")


class Unslottable(ValueError):
    """A rule whose patterns cannot all be tied to a slot safely."""


def slot_value(slot: int) -> str:
    """What a fact in `slot` carries as its slot: text, not a number. The C core hashes
    the value of the slot test's field to find a fact's partners; a number it first
    prints with snprintf, which cost about 5 % of a case's instructions."""
    return str(slot)


def slot_test() -> dict[str, Any]:
    """The test that a pattern's fact belongs to the case of the rule's phase fact."""
    return {SLOT: {PHASE_ALIAS: SLOT}}


def _is_constant(term: Any) -> bool:
    """A test of one field against a constant: `{f: c}` or `{"$gte": {f: c}}`."""
    if not isinstance(term, Mapping) or len(term) != 1:
        return False
    (key, value), = term.items()
    if key in _GROUPS:
        return False
    if key.startswith("$"):
        return isinstance(value, Mapping) and len(value) == 1 and _is_plain(next(iter(value.values())))
    return _is_plain(value)


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _terms(condition: Mapping[str, Any], where: str) -> list[Any]:
    if list(condition) != ["$and"] or not isinstance(condition["$and"], list):
        raise Unslottable(f"{where}: a pattern that is not one `$and` of tests")
    return list(condition["$and"])


def slotted_condition(condition: Mapping[str, Any], where: str, early: Counter[str]) -> dict[str, Any]:
    """The condition with the slot test in its safe place; `early` counts early placements."""
    terms = _terms(condition, where)
    groups = [i for i, term in enumerate(terms) if not _is_constant(term)]
    for i in groups:
        term = terms[i]
        alternatives = term.get("$or") if isinstance(term, Mapping) and list(term) == ["$or"] else None
        if not isinstance(alternatives, list) or not all(_is_constant(a) for a in alternatives):
            raise Unslottable(f"{where}: a test that is neither a constant nor an `$or` of constants: {term}")
    if not groups:
        return {"$and": [*terms, slot_test()]}
    # Ahead of every group, after the constants, where the join is hashed on the slot:
    # the alpha node it hangs under is the chain of those constants, so count per chain.
    constants = [term for term in terms if _is_constant(term)]
    chain = repr(constants)
    if early[chain] < EARLY_LIMIT:
        early[chain] += 1
        return {"$and": [*constants, slot_test(), *(term for term in terms if not _is_constant(term))]}
    if len(groups) == 1 and len(terms[groups[0]]["$or"]) <= ALTERNATIVE_LIMIT:
        i = groups[0]
        terms[i] = {"$or": [{"$and": [alternative, slot_test()]} for alternative in terms[i]["$or"]]}
        return {"$and": terms}
    raise Unslottable(f"{where}: more than {EARLY_LIMIT} patterns of the form {constants} need the slot "
                      "test ahead of an `$or`, which would overflow the matcher's stack")


def slotted_ruleset(ruleset: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ruleset with every pattern after each rule's first tied to that pattern's slot.

    `ruleset` is durable_rules JSON whose rules are `{"all": [{"p": phase}, ...]}`.
    Raises Unslottable when a rule has another shape.
    """
    early: Counter[str] = Counter()
    out: dict[str, Any] = {}
    for name, rule in ruleset.items():
        if list(rule) != ["all"] or not rule["all"] or list(rule["all"][0]) != [PHASE_ALIAS]:
            raise Unslottable(f"rule {name}: its first pattern is not the phase fact `{PHASE_ALIAS}`")
        patterns = [dict(rule["all"][0])]
        for pattern in rule["all"][1:]:
            (alias, condition), = pattern.items()
            if alias.removesuffix("$not") == PHASE_ALIAS:
                raise Unslottable(f"rule {name}: a second pattern named `{PHASE_ALIAS}`")
            patterns.append({alias: slotted_condition(condition, f"rule {name}, pattern {alias}", early)})
        out[name] = {"all": patterns}
    return out
