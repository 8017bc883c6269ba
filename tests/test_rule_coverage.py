"""Every rule is pinned by a test: it fires on its witness and changes what the result says.

The witnesses are in tests/data/rule_witnesses.yaml: per rule, answers and the outcome
they must get, and for a rule with several `any` branches one witness per branch on
which that branch alone fires. Checked:

- the outcome holds, the rule fires, and everything it concludes that a result can show
  shows (`test_rule_fires_and_its_conclusion_shows`);
- the outcome needs the rule: evaluated without it (plain-Python backend), the witness's
  outcome no longer holds (`test_the_witness_outcome_needs_its_rule`), so deleting a rule
  changes what the runner is told, not only the trace;
- each branch witness gets the outcome through that branch alone, and not without the
  rule (`test_each_branch_alone_fires_its_rule`), so negating any pattern of a branch shows;
- the table covers every rule and every branch of the loaded knowledge, and nothing else.

Mutation testing (scripts/mutate_rules.py) runs this file first.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from itb_triage.engine import EngineError, Knowledge, Result, Triage
from itb_triage.engine.aggregate import aggregate
from itb_triage.engine.documents import load_yaml
from itb_triage.engine.durable_backend import DurableBackend
from itb_triage.engine.facts import Fact, answer_facts
from itb_triage.engine.python_backend import PythonBackend

from .conftest import DATA, vignette

WITNESSES: dict[str, dict[str, Any]] = load_yaml((DATA / "rule_witnesses.yaml").read_text(encoding="utf-8"))["rules"]
CLASSIC: dict[str, Any] = vignette(DATA / "vignettes" / "v01_classic.json")["case"]["answers"]
LIST_KEYS = ("red_flags", "recommendations", "avoid", "withheld", "unanswered", "reasons")
EXPECT_KEYS = ("disposition", "tier", "conditions", *LIST_KEYS)


BRANCHES = [(rule_id, b) for rule_id, entry in sorted(WITNESSES.items()) for b in range(len(entry.get("branches", [])))]


def witness(rule_id: str, branch: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answers and the expected outcome of a rule's witness, or of one of its branches."""
    entry = WITNESSES[rule_id]
    if branch is not None:
        entry = {"from": entry.get("from"), "expect": entry["expect"], **entry["branches"][branch]}
    answers: dict[str, Any] = dict(CLASSIC) if entry.get("from") == "classic" else {}
    answers.update(entry.get("answers", {}))
    for question in entry.get("drop", []):
        answers.pop(question)
    return answers, entry["expect"]


def witness_answers(rule_id: str) -> dict[str, Any]:
    return witness(rule_id)[0]


def outcome(result: Result) -> dict[str, Any]:
    """What the runner is told, in the witness table's terms."""
    return {
        "disposition": result.disposition,
        "tier": result.treatment_tier,
        "conditions": {c["id"]: c["assessment"] for c in result.conditions},
        "red_flags": [f["id"] for f in result.red_flags],
        "recommendations": list(result.recommendation_ids),
        "avoid": list(result.avoid_ids),
        "withheld": [w["id"] for w in result.withheld],
        "unanswered": list(result.unanswered_screening),
        "reasons": [r.rule for r in result.reasons],
    }


def mismatches(seen: Mapping[str, Any], expect: Mapping[str, Any]) -> list[str]:
    """Every way `seen` falls short of `expect` (empty when it holds)."""
    problems = []
    for key in ("disposition", "tier"):
        if key in expect and seen[key] != expect[key]:
            problems.append(f"{key} is {seen[key]!r}, expected {expect[key]!r}")
    for condition, assessment in expect.get("conditions", {}).items():
        if seen["conditions"].get(condition) != assessment:
            problems.append(f"condition {condition} is {seen['conditions'].get(condition)!r}, expected {assessment!r}")
    for key in LIST_KEYS:
        missing = [item for item in expect.get(key, []) if item not in seen[key]]
        if missing:
            problems.append(f"{key} lacks {missing} (has {seen[key]})")
    return problems


def shows(fact: Fact, seen: Mapping[str, Any]) -> bool:
    """Does the result show this concluded fact? Findings never show themselves."""
    if fact.kind == "disposition":
        return bool(seen["disposition"] == fact.id)
    if fact.kind == "tier":
        return bool(seen["tier"] == fact.id)
    if fact.kind == "condition":
        return bool(seen["conditions"].get(fact.id) == fact.value)
    if fact.kind == "recommend":
        return fact.id in seen["recommendations"] or fact.id in seen["withheld"]
    table = {"avoid": "avoid", "red_flag": "red_flags", "unanswered": "unanswered"}
    return fact.kind not in table or fact.id in seen[table[fact.kind]]


@pytest.mark.parametrize("rule_id", sorted(WITNESSES))
def test_the_witness_is_well_formed(rule_id: str) -> None:
    entry = WITNESSES[rule_id]
    assert set(entry) <= {"from", "answers", "drop", "expect", "branches"}
    assert entry.get("from", "classic") == "classic"
    for spec in [entry, *entry.get("branches", [])]:
        assert set(spec) <= {"from", "answers", "drop", "expect"} | ({"branches"} if spec is entry else set())
        assert spec.get("expect", entry["expect"]), "a witness must say what the rule changes"
        assert set(spec.get("expect", {})) <= set(EXPECT_KEYS)


@pytest.mark.parametrize("rule_id", sorted(WITNESSES))
def test_rule_fires_and_its_conclusion_shows(rule_id: str, triage: Triage) -> None:
    result = triage.assess_answers(witness_answers(rule_id))
    seen = outcome(result)
    assert mismatches(seen, WITNESSES[rule_id]["expect"]) == []
    assert rule_id in {step.rule for step in result.trace}, f"{rule_id} does not fire on its witness"
    hidden = [fact.describe() for fact in triage.knowledge.rule(rule_id).then if not shows(fact, seen)]
    assert hidden == [], f"{rule_id} concludes what its witness's result does not show"


def _run(rules: tuple[Any, ...], knowledge: Knowledge, answers: Mapping[str, Any]) -> dict[str, Any] | None:
    """The outcome under the plain-Python backend, or None when no result can be formed."""
    try:
        return outcome(aggregate(knowledge, PythonBackend(rules).run_case(answer_facts(answers)), answers, None))
    except EngineError:
        return None


@pytest.mark.parametrize("rule_id", sorted(WITNESSES))
def test_the_witness_outcome_needs_its_rule(rule_id: str, triage: Triage, knowledge: Knowledge) -> None:
    assert rule_id in {rule.id for rule in knowledge.rules}, f"{rule_id} is not in the rule base"
    answers = triage.assess_answers(witness_answers(rule_id)).answers  # checked and normalised
    expect = WITNESSES[rule_id]["expect"]
    with_rule = _run(knowledge.rules, knowledge, answers)
    assert with_rule is not None and mismatches(with_rule, expect) == []
    without = _run(tuple(r for r in knowledge.rules if r.id != rule_id), knowledge, answers)
    assert without is None or mismatches(without, expect), f"the witness of {rule_id} holds without it"



@pytest.mark.parametrize(("rule_id", "branch"), [pytest.param(r, b, id=f"{r}.any{b}") for r, b in BRANCHES])
def test_each_branch_alone_fires_its_rule(rule_id: str, branch: int, triage: Triage, knowledge: Knowledge) -> None:
    answers, expect = witness(rule_id, branch)
    result = triage.assess_answers(answers)
    firings = DurableBackend.for_rules(knowledge.rules, knowledge.version).run_case(answer_facts(result.answers))
    assert mismatches(outcome(result), expect) == []
    assert {f.branch for f in firings if f.rule.id == rule_id} == {branch}, "not this branch alone"
    without = _run(tuple(r for r in knowledge.rules if r.id != rule_id), knowledge, result.answers)
    assert without is None or mismatches(without, expect), f"the branch witness holds without {rule_id}"


def test_every_rule_has_exactly_one_witness_and_one_per_branch(knowledge: Knowledge) -> None:
    rule_ids = {rule.id for rule in knowledge.rules}
    assert sorted(rule_ids - set(WITNESSES)) == [], "rules without a witness in tests/data/rule_witnesses.yaml"
    assert sorted(set(WITNESSES) - rule_ids) == [], "witnesses of rules that do not exist"
    counts = {rule.id: len(rule.branches) for rule in knowledge.rules}
    wrong = {r: (n, len(WITNESSES[r].get("branches", []))) for r, n in counts.items()
             if len(WITNESSES[r].get("branches", [])) != (n if n > 1 else 0)}
    assert wrong == {}, "rule: (branches, branch witnesses)"
