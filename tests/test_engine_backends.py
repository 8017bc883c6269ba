"""The durable_rules backend against a plain-Python evaluation of the same rules.

For every generated case both must conclude the same facts and the same result
(disposition, tier, conditions, advice); durable_rules may order firings differently.
Also: no exception inside an action is swallowed, no session outlives its case, and no
fact is ever retracted.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from itb_triage.engine import EngineError, Knowledge, Triage
from itb_triage.engine.aggregate import aggregate
from itb_triage.engine.durable_backend import DurableBackend
from itb_triage.engine.facts import Fact, answer_facts
from itb_triage.engine.python_backend import PythonBackend

from .conftest import VIGNETTES, examples, vignette
from .strategies import answers


def _summary(result: Any) -> dict[str, Any]:
    document = result.to_json()
    return {key: document[key] for key in (
        "disposition", "treatment_tier", "red_flags", "conditions", "recommendations", "avoid",
        "withheld", "unanswered_screening", "citations",
    )}


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answers())
def test_durable_and_plain_python_conclude_the_same(
    triage: Triage, knowledge: Knowledge, answers: dict[str, Any]
) -> None:
    case = triage.assess_answers(answers)
    facts = answer_facts(case.answers)
    python_firings = PythonBackend(knowledge.rules).run_case(facts)
    durable_firings = DurableBackend.for_rules(knowledge.rules, knowledge.version).run_case(facts)

    def firing_keys(firings: list[Any]) -> set[tuple[str, int, frozenset[Fact]]]:
        return {(f.rule.id, f.branch, frozenset(f.matched)) for f in firings}

    assert firing_keys(durable_firings) == firing_keys(python_firings)
    from_python = aggregate(knowledge, python_firings, case.answers, None)
    assert _summary(from_python) == _summary(case)


def test_every_firing_is_traced_with_rule_facts_conclusions_and_citations(
    triage: Triage, classic_answers: dict[str, Any]
) -> None:
    result = triage.assess_answers(classic_answers)
    assert result.trace
    for step in result.trace:
        rule = triage.knowledge.rule(step.rule)
        assert step.concluded == rule.then
        assert step.citations == rule.cite and step.citations
        for fact in step.facts:
            if fact.kind == "answer":
                value = classic_answers[fact.id]
                assert fact.value == value or fact.value in value
    assert "self_care_typical_itbs" in [s.rule for s in result.trace]


def test_an_exception_inside_an_action_is_raised_not_swallowed(
    triage: Triage, classic_answers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_messages: str) -> Any:
        raise ValueError("boom")

    # Each action starts by looking up the firing its engine message stands for.
    monkeypatch.setattr(triage._backend, "_firing", broken)
    with pytest.raises(EngineError, match="boom"):
        triage.assess_answers(classic_answers)


def test_sessions_are_deleted_so_thousands_of_cases_run(triage: Triage, classic_answers: dict[str, Any]) -> None:
    # durable_rules allows at most 1024 live sessions per ruleset; 1100 cases prove each is deleted.
    for _ in range(1100):
        triage.assess_answers(classic_answers)
    backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
    assert not backend.session_open()


class _NoRetraction:
    """The C core, except that retracting fails the test (see test_the_engine_never_retracts)."""

    def __init__(self, core: Any) -> None:
        self._core = core

    def __getattr__(self, name: str) -> Any:
        if name.startswith("retract"):
            raise AssertionError(f"durable_rules_engine.{name} was called")
        return getattr(self._core, name)


def test_the_engine_never_retracts(triage: Triage, monkeypatch: pytest.MonkeyPatch) -> None:
    # durable_rules 2.0.28 reads freed memory when a fact that took part in a completed
    # firing is retracted (engine/durable_backend.py); sessions are deleted instead.
    from itb_triage.engine import durable_backend

    monkeypatch.setattr(durable_backend, "_core", _NoRetraction(durable_backend._core))
    for path in VIGNETTES:
        triage.assess_answers(vignette(path)["case"]["answers"])
    backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
    facts = answer_facts(triage.assess_answers(vignette(VIGNETTES[0])["case"]["answers"]).answers)
    with pytest.raises(EngineError, match="already in the session"):
        backend.run_case([facts[0], *facts])  # a case stopped part-way is cleared without retracting too


def test_rules_find_a_fact_by_a_field_named_for_its_id() -> None:
    # durable_rules picks a node's next tests by field name; a test of `k` under a kind
    # would compare each fact with every id's test in turn (docs/durable-rules.md).
    from itb_triage.engine.durable_backend import durable_definition
    from itb_triage.engine.facts import Fact, id_field
    from itb_triage.engine.knowledge import load_knowledge

    def keys(condition: Any) -> list[str]:
        if isinstance(condition, dict):
            return [k for key, value in condition.items() for k in [key, *keys(value)]]
        if isinstance(condition, list):
            return [k for item in condition for k in keys(item)]
        return []

    rules = load_knowledge().rules
    ruleset = durable_definition(rules)
    tested = {k for rule in ruleset.values() for pattern in rule["all"][1:] for k in keys(pattern)}
    ids = {i for rule in rules for branch in rule.branches for p in branch.patterns for i in p.ids}
    assert "k" not in tested
    assert ids and {id_field(i) for i in ids} <= tested
    assert all(Fact("finding", i).to_engine("1")[id_field(i)] == 1 for i in ids)
