"""Tying patterns to a case's slot: the durable_rules 2.0.28 quirks that decide where the
slot test goes, each pinned on the C core itself, and the rewriting that avoids them.

If a durable_rules release fixes a quirk, its test here fails and says which: the
placement rules in engine/slotting.py can then be simplified.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

import durable_rules_engine as core
import pytest

from itb_triage.engine import Knowledge
from itb_triage.engine.durable_backend import durable_definition, grouped_ruleset
from itb_triage.engine.slotting import (
    ALTERNATIVE_LIMIT,
    EARLY_LIMIT,
    Unslottable,
    slot_test,
    slotted_condition,
    slotted_ruleset,
)

_names = itertools.count()
PHASE = {"p": {"$and": [{"t": "phase"}]}}
OPENER = {"_opener": {"all": [{"o": {"t": "opening"}}]}}


def fired(ruleset: dict[str, Any], facts: list[dict[str, Any]]) -> list[str]:
    """Register `ruleset`, assert `facts` one by one into a fresh session, and return the
    rules that fired, in order (driving the C core as engine/durable_backend.py does)."""
    handle = core.create_ruleset(f"test_slotting_{next(_names)}", json.dumps({**OPENER, **ruleset}))
    names: list[str] = []
    for fact in [{"t": "opening"}, *facts]:
        state = core.assert_fact(handle, json.dumps({**fact, "sid": "1"}))[1]
        started = core.start_action_for_state(handle, state)
        messages = started[1] if started else None
        while messages:
            names += [name for name in json.loads(messages) if name != "_opener"]
            messages = core.complete_and_start_action(handle, state)
    core.delete_state(handle, "1")
    return names


def one_rule(condition: dict[str, Any]) -> dict[str, Any]:
    return {"r": {"all": [PHASE, {"m0": condition}]}}


def fires_across_slots(condition: dict[str, Any], key: str) -> bool:
    """Does a rule with this pattern join slot 1's phase fact with slot 2's fact?"""
    return bool(fired(one_rule(condition), [{"t": "f", "k": key, "s": 2}, {"t": "phase", "s": 1}]))


def fires_in_its_slot(condition: dict[str, Any], key: str) -> bool:
    return bool(fired(one_rule(condition), [{"t": "f", "k": key, "s": 1}, {"t": "phase", "s": 1}]))


ALTERNATIVES = [{"k": k} for k in ("a", "b", "c")]


# --- the quirks ------------------------------------------------------------------------


def test_quirk_a_slot_test_after_an_or_is_silently_dropped() -> None:
    after = {"$and": [{"t": "f"}, {"$or": ALTERNATIVES}, slot_test()]}
    assert all(fires_across_slots(after, key) for key in "abc")


def test_quirk_slot_tests_ahead_of_the_constants_overflow_the_matchers_stack_at_64() -> None:
    def early(count: int) -> dict[str, Any]:
        return {f"r{i}": {"all": [PHASE, {"m0": {"$and": [{"t": "f"}, slot_test(), {"$or": [{"k": f"a{i}"},
                                                                                              {"k": f"b{i}"}]}]}}]}
                for i in range(count)}

    facts = [{"t": "f", "k": "a1", "s": 1}, {"t": "phase", "s": 1}]
    assert fired(early(EARLY_LIMIT), facts) == ["r1"]
    with pytest.raises(core.error, match="303"):
        fired(early(70), facts)


def test_quirk_each_alternative_carrying_the_slot_test_costs_expressions_up_to_error_113() -> None:
    def carried(count: int) -> dict[str, Any]:
        return {"$and": [{"t": "f"}, {"$or": [{"$and": [{"k": f"a{i}"}, slot_test()]} for i in range(count)]}]}

    assert fires_in_its_slot(carried(ALTERNATIVE_LIMIT), "a0")
    with pytest.raises(core.error, match="113"):
        fired(one_rule(carried(ALTERNATIVE_LIMIT + 1)), [])


# --- the placements the rewriting uses are exact -----------------------------------------


@pytest.mark.parametrize("alternatives", [0, 3, ALTERNATIVE_LIMIT, ALTERNATIVE_LIMIT + 1, 30])
def test_a_slotted_pattern_matches_its_own_slot_only(alternatives: int) -> None:
    keys = [f"a{i}" for i in range(max(alternatives, 1))]
    terms: list[Any] = [{"t": "f"}]
    terms.append({"$or": [{"k": k} for k in keys]} if alternatives else {"k": keys[0]})
    condition = slotted_condition({"$and": terms}, "test", Counter())
    for key in keys:
        assert fires_in_its_slot(condition, key)
        assert not fires_across_slots(condition, key)
    assert not fires_in_its_slot(condition, "other")


@pytest.mark.parametrize("alternatives", [2, ALTERNATIVE_LIMIT])
def test_once_its_node_is_full_the_slot_test_goes_inside_each_alternative_and_stays_exact(alternatives: int) -> None:
    keys = [f"a{i}" for i in range(alternatives)]
    early: Counter[str] = Counter()
    first = [slotted_condition({"$and": [{"t": "f"}, {"$or": [{"k": k} for k in keys]}]}, "test", early)
             for _ in range(EARLY_LIMIT)]
    assert all(condition["$and"][1] == slot_test() for condition in first)  # ahead, while there is room
    condition = slotted_condition({"$and": [{"t": "f"}, {"$or": [{"k": k} for k in keys]}]}, "test", early)
    assert condition["$and"][1] == {"$or": [{"$and": [{"k": k}, slot_test()]} for k in keys]}
    for key in keys:
        assert fires_in_its_slot(condition, key)
        assert not fires_across_slots(condition, key)
    assert not fires_in_its_slot(condition, "other")


@pytest.mark.parametrize("alternatives", [1, 3, 12])
def test_a_slotted_negation_is_blocked_by_its_own_slot_only(alternatives: int) -> None:
    keys = [f"a{i}" for i in range(alternatives)]
    terms: list[Any] = [{"t": "f"}, {"$or": [{"k": k} for k in keys]} if alternatives > 1 else {"k": keys[0]}]
    ruleset = slotted_ruleset({"r": {"all": [PHASE, {"m0": {"$and": [{"t": "g"}]}},
                                             {"n0$not": {"$and": terms}}]}})
    own = [{"t": "g", "s": 1}, {"t": "f", "k": keys[-1], "s": 1}, {"t": "phase", "s": 1}]
    other = [{"t": "g", "s": 1}, {"t": "f", "k": keys[-1], "s": 2}, {"t": "phase", "s": 1}]
    assert fired(ruleset, own) == []
    assert fired(ruleset, other) == ["r"]


def test_the_shipped_rules_are_slotted_and_register(knowledge: Knowledge) -> None:
    ruleset = grouped_ruleset(knowledge.rules)
    core.create_ruleset(f"test_slotting_{next(_names)}", json.dumps(ruleset))
    plain = durable_definition(knowledge.rules)
    assert set(ruleset) == {"_opener", *plain}
    for name, rule in plain.items():
        assert len(ruleset[name]["all"]) == len(rule["all"])
        assert ruleset[name]["all"][0] == rule["all"][0]  # the phase fact carries the slot
        for pattern in ruleset[name]["all"][1:]:
            assert "'s': {'p': 's'}" in repr(pattern)


# --- what the rewriting refuses -------------------------------------------------------------


def test_too_many_slot_tests_ahead_of_an_or_under_one_node_are_refused() -> None:
    wide = {"$and": [{"t": "f"}, {"$or": [{"k": f"a{i}"} for i in range(ALTERNATIVE_LIMIT + 1)]}]}
    ruleset = {f"r{i}": {"all": [PHASE, {"m0": wide}]} for i in range(EARLY_LIMIT + 1)}
    with pytest.raises(Unslottable, match="stack"):
        slotted_ruleset(ruleset)
    slotted_ruleset(dict(list(ruleset.items())[:EARLY_LIMIT]))


@pytest.mark.parametrize("condition", [
    {"$or": [{"t": "f"}]},                                            # not an $and
    {"$and": [{"t": "f"}, {"$and": [{"k": "a"}]}]},                   # a nested $and
    {"$and": [{"t": "f"}, {"$or": [{"$and": [{"k": "a"}]}]}]},        # an $or of groups
    {"$and": [{"t": "f"}, {"k": {"p": "k"}}]},                        # a test against another fact
])
def test_a_pattern_of_another_shape_is_refused(condition: dict[str, Any]) -> None:
    with pytest.raises(Unslottable):
        slotted_ruleset(one_rule(condition))


def test_a_rule_that_does_not_start_with_the_phase_fact_is_refused() -> None:
    with pytest.raises(Unslottable, match="phase"):
        slotted_ruleset({"r": {"all": [{"m0": {"$and": [{"t": "f"}]}}]}})
