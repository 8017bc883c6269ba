"""SDC adaptive forms: the `$next-question` operation, driven by the engine's interview.

A QuestionnaireResponse comes in with a contained Questionnaire holding the questions
asked so far. Its answers are the interview's answers; an asked question left
unanswered was skipped. The engine's Interview (the same relevance logic as
`itb-triage interview`) picks the next question, which is appended to the contained
Questionnaire; when there is none, the response is `completed` and carries the outcome
as read-only items, the way SDC shows calculated results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itb_triage.engine import Interview, InterviewState, Knowledge, Result, Triage

from . import names
from .questionnaire import coding, header, question_item
from .response import case_from_response

Resource = dict[str, Any]
CONTAINED_ID = "itb-triage-adaptive"


class RequestError(ValueError):
    """The request is not a well-formed $next-question input; the message says why."""


def response_of(body: Any) -> Resource:
    """The QuestionnaireResponse of an operation body: a Parameters resource with a
    `questionnaire-response` parameter, or the QuestionnaireResponse itself."""
    if not isinstance(body, dict):
        raise RequestError("the body is not a JSON object; expected a QuestionnaireResponse or Parameters")
    if body.get("resourceType") == "Parameters":
        parameters = body.get("parameter")
        found = [p.get("resource") for p in parameters or () if isinstance(p, dict)
                 and p.get("name") == "questionnaire-response"] if isinstance(parameters, list) else []
        if len(found) != 1:
            raise RequestError("Parameters need exactly one 'questionnaire-response' parameter with a resource")
        body = found[0]
    if not isinstance(body, dict) or body.get("resourceType") != "QuestionnaireResponse":
        raise RequestError("expected a QuestionnaireResponse (with a contained Questionnaire)")
    return body


def contained_questionnaire(response: Resource) -> Resource | None:
    contained = response.get("contained")
    if contained is None:
        return None
    if not isinstance(contained, list):
        raise RequestError("'contained' is not a list")
    questionnaires = [r for r in contained if isinstance(r, dict) and r.get("resourceType") == "Questionnaire"]
    if len(questionnaires) > 1:
        raise RequestError("more than one contained Questionnaire")
    return questionnaires[0] if questionnaires else None


def asked_questions(questionnaire: Resource | None, knowledge: Knowledge) -> list[str]:
    """The questions the contained Questionnaire holds, in the order they were asked."""
    if questionnaire is None:
        return []
    items = questionnaire.get("item", [])
    if not isinstance(items, list):
        raise RequestError("the contained Questionnaire's 'item' is not a list")
    asked: list[str] = []
    for item in items:
        link_id = item.get("linkId") if isinstance(item, dict) else None
        if isinstance(link_id, str) and link_id in knowledge.questions and link_id not in asked:
            asked.append(link_id)
    return asked


def next_question(triage: Triage, body: Any, where: str = "QuestionnaireResponse",
                  relevance: Any = None) -> Resource:
    """The operation: the response, updated with the next question or completed.

    Raises RequestError for a malformed request and CaseError (one line, naming the
    item) for an answer the case contract refuses.
    """
    knowledge: Knowledge = triage.knowledge
    incoming = response_of(body)
    questionnaire = contained_questionnaire(incoming)
    asked = asked_questions(questionnaire, knowledge)
    case = case_from_response(incoming, where, knowledge)
    state = InterviewState(
        answers=dict(case.answers),
        skipped=[q for q in asked if q not in case.answers],
        history=list(asked),
    )
    interview = Interview(triage, state, relevance)
    # Copies of only what is changed: the contained Questionnaire and the item lists.
    response = dict(incoming)
    if questionnaire is None:
        questionnaire = header(knowledge)
        questionnaire["id"] = CONTAINED_ID
        response["contained"] = [questionnaire, *response.get("contained", [])]
    else:
        questionnaire = dict(questionnaire)
        response["contained"] = [questionnaire if r.get("resourceType") == "Questionnaire" else r
                                 for r in response["contained"]]
    questionnaire.setdefault("id", CONTAINED_ID)
    response["questionnaire"] = f"#{questionnaire['id']}"
    items: list[Resource] = list(questionnaire.get("item", []))
    questionnaire["item"] = items
    question = interview.next_question()
    if question is not None:
        urgent = interview.urgent_disposition()
        if urgent is not None:
            _add_once(items, _headline_item(knowledge.dispositions[urgent]["headline"]))
        _add_once(items, _section_item(knowledge, question))
        items.append(question_item(knowledge, question))
        response["status"] = "in-progress"
        return response
    result = triage.assess(case)
    _complete(knowledge, response, items, result)
    return response


def _add_once(items: list[Resource], item: Resource | None) -> None:
    if item is not None and all(existing.get("linkId") != item["linkId"] for existing in items):
        items.append(item)


def _section_item(knowledge: Knowledge, question: str) -> Resource | None:
    """The section's title and intro, shown once before its first question."""
    section_id = knowledge.questions[question]["section"]
    section = next(s for s in knowledge.sections if s["id"] == section_id)
    text = section["title"] + (f": {section['intro']}" if section.get("intro") else "")
    return {"linkId": f"{section_id}{names.INTRO_SUFFIX}", "text": text, "type": "display"}


def _headline_item(headline: str) -> Resource:
    return {"linkId": names.OUTCOME_HEADLINE, "text": headline, "type": "display"}


def _complete(knowledge: Knowledge, response: Resource, items: list[Resource], result: Result) -> None:
    """Mark the response completed, with the outcome as read-only items."""
    items[:] = [item for item in items if item.get("linkId") not in (names.OUTCOME_HEADLINE,
                                                                       names.OUTCOME_DISPOSITION)]
    items.append(_headline_item(result.headline))
    items.append({
        "linkId": names.OUTCOME_DISPOSITION,
        "text": "Where to go, and how soon",
        "type": "choice",
        "readOnly": True,
        "answerOption": [{"valueCoding": coding(names.DISPOSITIONS, d, e["headline"])}
                         for d, e in knowledge.dispositions.items()],
    })
    answers = [i for i in response.get("item", []) if i.get("linkId") != names.OUTCOME_DISPOSITION]
    answers.append({
        "linkId": names.OUTCOME_DISPOSITION,
        "text": "Where to go, and how soon",
        "answer": [{"valueCoding": coding(names.DISPOSITIONS, result.disposition, result.headline)}],
    })
    response["item"] = answers
    response["status"] = "completed"


def start(knowledge: Knowledge, subject: Mapping[str, Any] | None = None) -> Resource:
    """A first request: an empty response with the contained Questionnaire to grow."""
    questionnaire = header(knowledge)
    questionnaire["id"] = CONTAINED_ID
    out: Resource = {"resourceType": "QuestionnaireResponse", "contained": [questionnaire],
                     "questionnaire": f"#{CONTAINED_ID}", "status": "in-progress"}
    if subject:
        out["subject"] = dict(subject)
    return out
