"""Hypothesis strategies for cases, built from the case schema itself.

Uniformly random answers almost never give a clean screening, so `cases()` mixes
fully random cases with mutations of the article's typical presentation: both the
alarming and the calm corners of the input space get explored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from itb_triage.engine import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
CASE_SCHEMA = json.loads((ROOT / "knowledge" / "schemas" / "case.schema.json").read_text(encoding="utf-8"))
QUESTIONS: dict[str, dict[str, Any]] = CASE_SCHEMA["properties"]["answers"]["properties"]
CLASSIC: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "vignettes" / "v01_classic.json").read_text())[
    "case"
]["answers"]

# The screening questions come from the knowledge (`screening: true`), so a new one is
# covered by the safety invariants the day it is added. A follow-up is a screening
# question asked only after another's answer (its `relevant_when`).
_KNOWLEDGE = load_knowledge()
_SCREENING = [q for q, entry in _KNOWLEDGE.questions.items() if entry.get("screening")]
SCREENING = tuple(q for q in _SCREENING if not _KNOWLEDGE.relevance[q])
FOLLOW_UPS = {q: _KNOWLEDGE.relevance[q][0].ids[0] for q in _SCREENING if _KNOWLEDGE.relevance[q]}
ALL_SCREENING = SCREENING + tuple(FOLLOW_UPS)


def answer_values(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Every value the schema admits for one question."""
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    if spec.get("type") == "array":
        return st.lists(st.sampled_from(spec["items"]["enum"]), unique=True, min_size=spec.get("minItems", 0))
    low, high = spec["minimum"], spec["maximum"]
    if spec["type"] == "integer":
        return st.integers(low, high)
    return st.one_of(st.integers(low, high), st.floats(low, high, allow_nan=False, allow_infinity=False))


ANSWER_STRATEGIES = {q: answer_values(spec) for q, spec in QUESTIONS.items()}

random_answers = st.fixed_dictionaries({}, optional=ANSWER_STRATEGIES)


@st.composite
def near_classic_answers(draw: st.DrawFn) -> dict[str, Any]:
    """The typical presentation with a few answers changed and a few dropped."""
    answers = dict(CLASSIC)
    for question in draw(st.lists(st.sampled_from(sorted(QUESTIONS)), max_size=4, unique=True)):
        answers[question] = draw(ANSWER_STRATEGIES[question])
    for question in draw(st.lists(st.sampled_from(sorted(answers)), max_size=2, unique=True)):
        answers.pop(question, None)
    return answers


def answers() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(random_answers, near_classic_answers())
