"""A case as a QuestionnaireResponse, and a QuestionnaireResponse read back as a case.

Writing follows the Questionnaire's shape (a group per section holding the answered
questions). Reading accepts any nesting, as form fillers and $next-question produce
it, and checks the answers with the engine's own case check, so a bad answer gets the
same one-line message as in a case file, naming the item's linkId instead of
`$.answers.<id>`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from itb_triage.engine import Case, CaseError, Knowledge, check_case

from . import names
from .questionnaire import coding, value_key

Resource = dict[str, Any]

CASE_FORMAT = "itb-case/1"
# $next-question's read-only outcome items: answered by us, not by the runner.
_OUTCOME_ITEMS = frozenset({names.OUTCOME_DISPOSITION, names.OUTCOME_HEADLINE})


def canonical(knowledge: Knowledge) -> str:
    return f"{names.QUESTIONNAIRE_URL}|{knowledge.version}"


def answer_values(knowledge: Knowledge, question: str, value: Any) -> list[Resource]:
    """One answer's QuestionnaireResponse `answer` list."""
    entry = knowledge.questions[question]
    if entry["type"] in ("choice", "multi"):
        labels = {v["id"]: v["label"] for v in entry["values"]}
        chosen = value if isinstance(value, list) else [value]
        if not chosen:  # an empty multiple choice: "none of these"
            return [{"valueCoding": coding(names.ANSWERS, names.NONE_OF_THESE, "None of these")}]
        return [{"valueCoding": coding(names.ANSWERS, v, labels[v])} for v in chosen]
    return [{value_key(entry): value}]


def answer_item(knowledge: Knowledge, question: str, value: Any) -> Resource:
    entry = knowledge.questions[question]
    return {"linkId": question, "text": entry["text"], "answer": answer_values(knowledge, question, value)}


def to_response(knowledge: Knowledge, case: Case, subject: Mapping[str, Any] | None = None,
                status: str = "completed") -> Resource:
    """The case's answers as a QuestionnaireResponse to the itb-triage Questionnaire."""
    out: Resource = {"resourceType": "QuestionnaireResponse"}
    if case.id is not None:
        out["identifier"] = {"system": names.CASE_ID_SYSTEM, "value": case.id}
    out["questionnaire"] = canonical(knowledge)
    out["status"] = status
    if subject:
        out["subject"] = dict(subject)
    groups = []
    for section in knowledge.sections:
        items = [answer_item(knowledge, q, case.answers[q]) for q, entry in knowledge.questions.items()
                 if entry["section"] == section["id"] and q in case.answers]
        if items:
            groups.append({"linkId": section["id"], "text": section["title"], "item": items})
    if groups:
        out["item"] = groups
    return out


# --- reading --------------------------------------------------------------------------


def is_response(document: Any) -> bool:
    """Whether a parsed document is a FHIR resource rather than a case file."""
    return isinstance(document, dict) and "resourceType" in document


def case_from_response(document: Any, where: str, knowledge: Knowledge) -> Case:
    """Read a QuestionnaireResponse as a checked case; problems raise CaseError naming the item."""
    if not isinstance(document, dict) or document.get("resourceType") != "QuestionnaireResponse":
        kind = document.get("resourceType") if isinstance(document, dict) else None
        raise CaseError(where, "$.resourceType", f"a FHIR {kind!s} is not a case",
                        "a QuestionnaireResponse or an itb-case/1 case file")
    if document.get("status") == "entered-in-error":
        raise CaseError(where, "$.status", "the response is marked entered-in-error",
                        "a QuestionnaireResponse in progress or completed")
    _check_questionnaire(document.get("questionnaire"), where)
    answers: dict[str, Any] = {}
    for path, item in _items(document, where):
        link_id = item.get("linkId")
        if not isinstance(link_id, str):
            raise CaseError(where, f"{path}.linkId", "an item without a linkId", "the item's question id as a string")
        if link_id not in knowledge.questions:
            # Groups, help and outcome items carry no answer of the runner's; an unknown
            # item that does is a mistake worth naming.
            if not item.get("answer") or link_id in _OUTCOME_ITEMS:
                continue
            raise _unknown(where, link_id, knowledge)
        value = _answer(item, link_id, where, knowledge)
        if value is None:
            continue  # asked but not answered: absent from the case, as the contract wants
        if link_id in answers:
            raise CaseError(where, f"item '{link_id}'", "answered twice", "one item per question")
        answers[link_id] = value
    case: Resource = {"format": CASE_FORMAT, "answers": answers}
    case_id = _case_id(document.get("identifier"))
    if case_id is not None:
        case["id"] = case_id
    try:
        return check_case(case, where, knowledge)
    except CaseError as exc:
        raise _in_item_terms(exc, where, knowledge) from None


def _check_questionnaire(reference: Any, where: str) -> None:
    if reference is None or (isinstance(reference, str) and reference.startswith("#")):
        return  # none, or a contained Questionnaire ($next-question's adaptive form)
    if not isinstance(reference, str) or reference.split("|")[0] != names.QUESTIONNAIRE_URL:
        raise CaseError(where, "$.questionnaire", f"answers to {str(reference)[:80]!r}",
                        f"a response to {names.QUESTIONNAIRE_URL}")


def _items(document: Resource, where: str) -> Iterator[tuple[str, Resource]]:
    """Every item at any depth (under items and under answers), in document order.
    Iterative: a response nested a thousand levels deep must not exhaust the stack."""
    stack = list(reversed(_listed(where, "$.item", document.get("item", []))))
    while stack:
        here, item = stack.pop()
        yield here, item
        children: list[tuple[str, Resource]] = []
        answers = item.get("answer")
        if isinstance(answers, list):
            for number, answer in enumerate(answers):
                if isinstance(answer, dict) and "item" in answer:
                    children += _listed(where, f"{here}.answer[{number}].item", answer["item"])
        if "item" in item:
            children += _listed(where, f"{here}.item", item["item"])
        stack.extend(reversed(children))


def _listed(where: str, path: str, items: Any) -> list[tuple[str, Resource]]:
    if not isinstance(items, list):
        raise CaseError(where, path, "not a list", "a list of items")
    found = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise CaseError(where, f"{path}[{index}]", "an item that is not an object", "an object with a linkId")
        found.append((f"{path}[{index}]", item))
    return found


def _unknown(where: str, link_id: str, knowledge: Knowledge) -> CaseError:
    close = difflib.get_close_matches(link_id, list(knowledge.questions), n=1)
    if close:
        return CaseError(where, f"item '{link_id}'", "unknown linkId", hint=f"did you mean '{close[0]}'?")
    return CaseError(where, f"item '{link_id}'", "unknown linkId", "a question id of the itb-triage Questionnaire")


def _answer(item: Resource, link_id: str, where: str, knowledge: Knowledge) -> Any:
    """The case value of one item's answers, or None when it has none."""
    entry = knowledge.questions[link_id]
    answers = item.get("answer")
    place = f"item '{link_id}'"
    if answers is None or answers == []:
        return None
    if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
        raise CaseError(where, place, "answer is not a list of objects", "a list of answers")
    if entry["type"] in ("choice", "multi"):
        codes = [_code(answer, place, where) for answer in answers]
        if entry["type"] == "choice":
            if len(codes) > 1:
                raise CaseError(where, place, f"{len(codes)} answers", "one answer (the question does not repeat)")
            return codes[0]
        if names.NONE_OF_THESE in codes:
            if len(codes) > 1:
                raise CaseError(where, place, f"'{names.NONE_OF_THESE}' with other answers",
                                f"either '{names.NONE_OF_THESE}' alone or the choices that apply")
            return []
        return codes
    if len(answers) > 1:
        raise CaseError(where, place, f"{len(answers)} answers", "one answer (the question does not repeat)")
    key = value_key(entry)
    (answer,) = answers
    given = [k for k in answer if k.startswith("value")]
    if given != [key]:
        found = ", ".join(given) or "no value"
        raise CaseError(where, place, f"{found} in the answer", f"one {key}")
    return answer[key]


def _code(answer: Resource, place: str, where: str) -> Any:
    given = [k for k in answer if k.startswith("value")]
    if given != ["valueCoding"] or not isinstance(answer["valueCoding"], dict):
        found = ", ".join(given) or "no value"
        raise CaseError(where, place, f"{found} in the answer", "one valueCoding from the item's answerOptions")
    value = answer["valueCoding"]
    system = value.get("system")
    if system is not None and system != names.ANSWERS:
        raise CaseError(where, place, f"a code from {str(system)[:80]!r}", f"a code from {names.ANSWERS}")
    if "code" not in value:
        raise CaseError(where, place, "a valueCoding without a code", "a code from the item's answerOptions")
    return value["code"]


def _case_id(identifier: Any) -> str | None:
    if isinstance(identifier, dict) and identifier.get("system") == names.CASE_ID_SYSTEM:
        value = identifier.get("value")
        return value if isinstance(value, str) else None
    return None


def _in_item_terms(exc: CaseError, where: str, knowledge: Knowledge) -> CaseError:
    """A case-file error ($.answers.side[0]) restated for the response (item 'side')."""
    path, expected = exc.path, exc.expected
    prefix = "$.answers."
    if path.startswith(prefix):
        question = path[len(prefix):].split("[")[0].split(".")[0]
        path = f"item '{question}'"
        entry = knowledge.questions.get(question)
        if entry is not None and expected:
            kind = "valueCoding codes" if entry["type"] in ("choice", "multi") else value_key(entry)
            expected = f"{kind}: {expected}"
    elif path == "$.id":
        path = "$.identifier.value"
    return CaseError(where, path, exc.problem, expected, exc.hint)
