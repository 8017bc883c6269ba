"""The result page's plan and reasoning as template values, in the shared plain words.

Labels come from engine/labels.py (the same words the terminal and the report use);
the links are to the engine's why-not and what-if, with the ids they take.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from itb_triage.engine import Fact, Knowledge, Labels, Result, range_text

# The NHS care cards' names for their kinds, read first by a screen reader: the card's
# colour is never the only sign of its urgency.
CARD_NAMES = {
    "immediate": "Immediate action required",
    "urgent": "Urgent advice",
    "non_urgent": "Non-urgent advice",
    "self_care": "Self-care advice",
    "answer_first": "Answer the safety questions first",
}


def fact_label(knowledge: Knowledge, fact: Fact) -> str:
    """A fact of the reasoning in words: an answer as question and answer, else its label."""
    labels = Labels(knowledge)
    if fact.kind == "answer":
        return f"{labels.question(fact.id)}: {labels.answer(fact.id, fact.value)}"
    text = labels.of(fact.kind, fact.id)
    if fact.kind == "condition" and fact.value is not None:
        return f"{text}: {labels.assessment(str(fact.value))}"
    return text


def question_answer(knowledge: Knowledge, question: str, value: Any) -> dict[str, str]:
    labels = Labels(knowledge)
    return {"question": labels.question(question), "answer": "not answered" if value is None
            else labels.answer(question, value)}


def recommendations_view(result: Result, knowledge: Knowledge) -> list[dict[str, Any]]:
    """Each recommendation with its evidence grade in words."""
    labels = Labels(knowledge)
    return [dict(rec) | {"grade_words": labels.evidence(rec["evidence"]["grade"])} for rec in result.recommendations]


def critical_links(result: Result, knowledge: Knowledge) -> list[dict[str, str]]:
    """The critical answers as what-if links: the change, and where it would lead."""
    labels = Labels(knowledge)
    links = []
    for item in result.critical_answers or ():
        question = str(item["question"])
        entry = knowledge.questions[question]
        span: Mapping[str, Any] | None = item.get("to_range")
        if span is not None:
            to = range_text(span, entry["type"] == "integer")
        else:
            to = "not answered" if item["to"] is None else labels.answer(question, item["to"])
        value = "" if item["to"] is None else _value_text(item["to"])
        links.append({
            "question": labels.question(question),
            "to": to,
            "leads_to": labels.disposition(str(item["disposition"])),
            "href": "/result/what-if?" + urlencode({"change": f"{question}={value}"}),
        })
    return links


def why_not_links(result: Result, knowledge: Knowledge) -> list[dict[str, str]]:
    """Why not a calmer place to go, and why not each piece of advice held back."""
    labels = Labels(knowledge)
    rank = knowledge.disposition_rank(result.disposition)
    links = [
        {"label": labels.disposition(d), "href": "/result/why-not?" + urlencode({"target": d})}
        for d in knowledge.dispositions
        # `incomplete` is not a place to go: it asks for the safety answers first.
        if knowledge.disposition_rank(d) > rank and d != "incomplete"
    ]
    links += [
        {"label": labels.recommendation(str(w["id"])),
         "href": "/result/why-not?" + urlencode({"target": f"recommendation:{w['id']}"})}
        for w in result.withheld
    ]
    return links


def _value_text(value: Any) -> str:
    """A value as `--what-if` reads it: a list joined by commas, `[]` for an empty one."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "[]"
    return str(value)
