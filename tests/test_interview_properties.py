"""The interview's pruning is sound: skipping what 'cannot change the outcome' never
changes the outcome. Checked over runners generated from the case schema."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from itb_triage.engine import Result, Triage
from itb_triage.engine.interview import Interview
from itb_triage.engine.relevance import Relevance, relevant_by_condition

from .strategies import ALL_SCREENING, answers

URGENT = ("emergency", "same_day")


def coherent(triage: Triage, full: dict[str, Any]) -> dict[str, Any]:
    """Drop answers to follow-ups whose own condition fails: an interview never asks them."""
    relevance = triage.knowledge.relevance
    kept = dict(full)
    changed = True
    while changed:
        changed = False
        for question in list(kept):
            if not relevant_by_condition(relevance[question], kept):
                del kept[question]
                changed = True
    return kept


def interviewed(triage: Triage, relevance: Relevance, full: dict[str, Any]) -> tuple[Result, int]:
    """A scripted runner who answers every question asked from `full`, skipping the rest."""
    interview = Interview(triage, relevance=relevance)
    asked = 0
    while (question := interview.next_question()) is not None:
        asked += 1
        if question in full:
            interview.answer(question, full[question])
        else:
            interview.skip(question)
    return interview.result(), asked


def outcome(result: Result) -> dict[str, Any]:
    return {
        "disposition": result.disposition,
        "treatment_tier": result.treatment_tier,
        "red_flags": [f["id"] for f in result.red_flags],
        "conditions": [(c["id"], c["assessment"]) for c in result.conditions],
        "recommendations": list(result.recommendation_ids),
        "avoid": list(result.avoid_ids),
        "unanswered_screening": list(result.unanswered_screening),
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(full=answers())
def test_the_interview_reaches_the_outcome_of_all_the_answers(triage: Triage, full: dict[str, Any]) -> None:
    full = coherent(triage, full)
    relevance = Relevance(triage.knowledge)
    from_interview, _ = interviewed(triage, relevance, full)
    from_everything = triage.assess_answers(full)
    if from_everything.disposition in URGENT:
        # It stopped early on purpose: the urgent advice must be the same.
        assert from_interview.disposition == from_everything.disposition
    else:
        assert outcome(from_interview) == outcome(from_everything)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(full=answers())
def test_safety_invariants_hold_for_interview_transcripts(triage: Triage, full: dict[str, Any]) -> None:
    result, _ = interviewed(triage, Relevance(triage.knowledge), full)
    given_answers = result.answers
    if any(given_answers.get(q) == "yes" for q in ALL_SCREENING):
        assert result.disposition in ("emergency", "same_day", "within_days")
    if result.disposition == "self_care":
        assert not result.unanswered_screening
        assert all(given_answers.get(q) == "no" for q in ALL_SCREENING if q in given_answers)
    if given_answers.get("hip_flexor_injury") in ("yes", "unsure"):
        assert "aqua_jogging" not in result.recommendation_ids
