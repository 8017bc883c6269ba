"""Published clinical decision rules for knee injuries, as properties over generated cases.

The Ottawa knee rule (Stiell et al., Ann Emerg Med 1995;26:405-413, derivation;
JAMA 1996;275:611-615, prospective validation): after an acute knee injury an X-ray is
needed if any of age 55 or over, tenderness at the head of the fibula, tenderness
isolated to the kneecap, inability to flex the knee to 90 degrees, or inability to take
four steps both right after the injury and when examined. Sensitivity for fracture was
1.0 in both studies; a meta-analysis of 6 studies and 4,249 adults gave a pooled
sensitivity of 98.5 % (95 % CI 93.2-100) (Bachmann et al., Ann Intern Med
2004;140:121-124). An X-ray is a same-day matter, so a case that meets the rule after an
injury must be sent to a clinician the same day or sooner.

The Pittsburgh knee rule (Seaberg et al., Ann Emerg Med 1998;32:8-13, sensitivity 99 %):
after a fall or blunt trauma, an X-ray if the person is under 12 or over 50, or cannot
walk four weight-bearing steps. The case's `trauma_onset` also covers a twist, which the
Pittsburgh rule does not; sending a twist at 52 for an X-ray errs on the side the
knowledge brief asks for (section 2.3 item 1: "bias it toward referral").

The cases are those of the safety invariants (tests/strategies.py) with the injury and
one criterion of the rule set on top, so every other answer is as varied as there.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itb_triage.engine import Knowledge, Triage

from .conftest import examples
from .strategies import QUESTIONS, answers

EXAMPLES = settings(
    max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
AGE = QUESTIONS["age_years"]
# The Ottawa rule's bedside findings, as the case asks them (knowledge/questions.yaml).
OTTAWA_FINDINGS = ("cannot_bear_weight", "cannot_bend_knee_90", "bone_tender_after_injury")


def at_least_same_day(knowledge: Knowledge, disposition: str) -> bool:
    return knowledge.disposition_rank(disposition) <= knowledge.disposition_rank("same_day")


@st.composite
def ottawa_positive(draw: st.DrawFn) -> dict[str, Any]:
    """Any case, after an injury, meeting one or more criteria of the Ottawa knee rule."""
    case = draw(answers())
    case["trauma_onset"] = "yes"
    criteria = draw(st.lists(st.sampled_from(["age", *OTTAWA_FINDINGS]), min_size=1, unique=True))
    for criterion in criteria:
        if criterion == "age":
            case["age_years"] = draw(st.integers(55, AGE["maximum"]))
        else:
            case[criterion] = "yes"
    return case


@st.composite
def pittsburgh_positive(draw: st.DrawFn) -> dict[str, Any]:
    """Any case, after an injury, meeting the Pittsburgh knee rule: under 12, over 50, or cannot walk four steps."""
    case = draw(answers())
    case["trauma_onset"] = "yes"
    criterion = draw(st.sampled_from(["young", "old", "cannot_bear_weight"]))
    if criterion == "young":
        case["age_years"] = draw(st.integers(AGE["minimum"], 11))
    elif criterion == "old":
        case["age_years"] = draw(st.integers(51, AGE["maximum"]))
    else:
        case["cannot_bear_weight"] = "yes"
    return case


@EXAMPLES
@given(case=ottawa_positive())
def test_ottawa_knee_rule_positive_after_injury_is_seen_the_same_day(
    triage: Triage, knowledge: Knowledge, case: dict[str, Any]
) -> None:
    result = triage.assess_answers(case)
    assert at_least_same_day(knowledge, result.disposition), result.disposition


@EXAMPLES
@given(case=pittsburgh_positive())
def test_pittsburgh_knee_rule_positive_after_injury_is_seen_the_same_day(
    triage: Triage, knowledge: Knowledge, case: dict[str, Any]
) -> None:
    result = triage.assess_answers(case)
    assert at_least_same_day(knowledge, result.disposition), (case.get("age_years"), result.disposition)
