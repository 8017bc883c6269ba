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

ROOT = Path(__file__).resolve().parent.parent
CASE_SCHEMA = json.loads((ROOT / "knowledge" / "schemas" / "case.schema.json").read_text(encoding="utf-8"))
QUESTIONS: dict[str, dict[str, Any]] = CASE_SCHEMA["properties"]["answers"]["properties"]
CLASSIC: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "vignettes" / "v01_classic.json").read_text())[
    "case"
]["answers"]



def _screening_from_knowledge() -> tuple[tuple[str, ...], dict[str, str]]:
    """The screening questions, and each follow-up's parent, as the knowledge defines them.

    Derived, not listed, so a new screening question cannot escape invariants 1-3.
    """
    from itb_triage.engine.documents import load_yaml

    questions = load_yaml((ROOT / "knowledge" / "questions.yaml").read_text(encoding="utf-8"))["questions"]
    top: list[str] = []
    follow_ups: dict[str, str] = {}
    for question in questions:
        if not question.get("screening"):
            continue
        parents = [next(iter(p["answer"])) for p in question.get("relevant_when", []) if "answer" in p]
        if parents:
            follow_ups[question["id"]] = parents[0]
        else:
            top.append(question["id"])
    return tuple(top), follow_ups


SCREENING, FOLLOW_UPS = _screening_from_knowledge()
ALL_SCREENING = SCREENING + tuple(FOLLOW_UPS)


def applies(question: str, answers: dict[str, Any]) -> bool:
    """A screening question applies when it has no parent, or its parent is `yes` or `unsure`."""
    parent = FOLLOW_UPS.get(question)
    return parent is None or answers.get(parent) in ("yes", "unsure")


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


# Every worked case is a starting point, so the generated cases reach the rarer corners
# (failed rehab, surgery, hip-tendon pain, emergencies) as well as the typical one.
WORKED: list[dict[str, Any]] = [
    json.loads(path.read_text(encoding="utf-8"))["case"]["answers"]
    for path in sorted((ROOT / "tests" / "data" / "vignettes").glob("*.json"))
]


@st.composite
def near_classic_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A worked case (most often the typical presentation) with a few answers changed and a few dropped."""
    answers = dict(draw(st.one_of(st.just(CLASSIC), st.sampled_from(WORKED))))
    for question in draw(st.lists(st.sampled_from(sorted(QUESTIONS)), max_size=4, unique=True)):
        answers[question] = draw(ANSWER_STRATEGIES[question])
    for question in draw(st.lists(st.sampled_from(sorted(answers)), max_size=2, unique=True)):
        answers.pop(question, None)
    return answers


def answers() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(random_answers, near_classic_answers())
