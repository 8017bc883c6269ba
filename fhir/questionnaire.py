"""The knowledge's questions as a FHIR R4 Questionnaire, and our code systems.

Everything comes from the loaded knowledge: one group per section (its title, its intro
as a display item), one item per question (linkId = question id, text = the question),
its help as a display item with the `help` item control, choices as answerOptions
coded in our `answers` CodeSystem, numbers with their range and unit, and each
question's own `relevant_when` as enableWhen. Which questions are actually worth
asking is decided by the engine, through $next-question (fhir/adaptive.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from itb_triage import __version__
from itb_triage.engine import NOT_A_MEDICAL_DEVICE, Knowledge

from . import names

Resource = dict[str, Any]

# A FHIR item type for each question type of questions.schema.json.
ITEM_TYPES = {"choice": "choice", "multi": "choice", "integer": "integer", "number": "decimal"}
ENABLE_WHEN_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
OPERATORS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}


class MappingError(ValueError):
    """The knowledge holds something FHIR cannot carry as built here (a message says what)."""


def value_key(entry: Mapping[str, Any]) -> str:
    """The answer[x] / initial[x] / minValue[x] element for a question's numbers."""
    return "valueInteger" if entry["type"] == "integer" else "valueDecimal"


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def question_item(knowledge: Knowledge, question: str) -> Resource:
    """One question as a Questionnaire item, with its help as a display child."""
    entry = knowledge.questions[question]
    item: Resource = {"linkId": question, "text": entry["text"], "type": ITEM_TYPES[entry["type"]]}
    extensions: list[Resource] = []
    if entry["type"] in ("choice", "multi"):
        if entry["type"] == "multi":
            item["repeats"] = True
        options: list[Resource] = [{"valueCoding": coding(names.ANSWERS, v["id"], v["label"])}
                                   for v in entry["values"]]
        if entry["type"] == "multi":
            if any(v["id"] == names.NONE_OF_THESE for v in entry["values"]):
                raise MappingError(f"question {question}: the value id '{names.NONE_OF_THESE}' is reserved")
            # The case's empty list ("none of these") needs an answer of its own.
            options.append({
                "valueCoding": coding(names.ANSWERS, names.NONE_OF_THESE, "None of these"),
                "extension": [{"url": names.EXT_OPTION_EXCLUSIVE, "valueBoolean": True}],
            })
        item["answerOption"] = options
    else:
        key = value_key(entry)
        extensions.append({"url": names.EXT_MIN_VALUE, key: entry["minimum"]})
        extensions.append({"url": names.EXT_MAX_VALUE, key: entry["maximum"]})
        if entry.get("unit"):
            extensions.append({"url": names.EXT_UNIT, "valueCoding": unit_coding(entry["unit"])})
    gate = enable_when(knowledge, question)
    extensions.extend(gate.pop("extension", ()))
    if extensions:
        item["extension"] = extensions
    item.update(gate)
    item["item"] = [help_item(question, entry["help"])]
    return item


def help_item(question: str, text: str) -> Resource:
    return {
        "linkId": f"{question}{names.HELP_SUFFIX}",
        "text": text,
        "type": "display",
        "extension": [{
            "url": names.EXT_ITEM_CONTROL,
            "valueCodeableConcept": {"coding": [coding(names.ITEM_CONTROL_SYSTEM, "help", "Help-Button")]},
        }],
    }


def unit_coding(unit: str) -> dict[str, str]:
    code = names.UCUM_CODES.get(unit)
    return coding(names.UCUM, code, unit) if code else {"display": unit}


def enable_when(knowledge: Knowledge, question: str) -> Resource:
    """A question's `relevant_when` as enableWhen, or as an SDC FHIRPath expression when
    one enableBehavior cannot say it (negation, or any-of inside all-of)."""
    patterns = knowledge.relevance.get(question, ())
    if not patterns:
        return {}
    groups: list[list[Resource]] = []  # all groups must hold; any condition of a group
    for pattern in patterns:
        if pattern.negated or pattern.kind != "answer":
            return _expression(knowledge, patterns)
        (parent,) = pattern.ids
        entry = knowledge.questions[parent]
        if pattern.values:
            groups.append([_condition(entry, parent, "=", value) for value in pattern.values])
        elif pattern.comparisons:
            groups.extend([_condition(entry, parent, OPERATORS[name], bound)] for name, bound in pattern.comparisons)
        else:
            groups.append([{"question": parent, "operator": "exists", "answerBoolean": True}])
    if len(groups) == 1:
        conditions = groups[0]
        behavior = "any"
    elif all(len(group) == 1 for group in groups):
        conditions = [group[0] for group in groups]
        behavior = "all"
    else:
        return _expression(knowledge, patterns)
    out: Resource = {"enableWhen": conditions}
    if len(conditions) > 1:
        out["enableBehavior"] = behavior
    return out


def _condition(entry: Mapping[str, Any], parent: str, operator: str, value: Any) -> Resource:
    if entry["type"] in ("choice", "multi"):
        return {"question": parent, "operator": operator, "answerCoding": coding(names.ANSWERS, str(value))}
    key = "answerInteger" if entry["type"] == "integer" else "answerDecimal"
    return {"question": parent, "operator": operator, key: value}


def _expression(knowledge: Knowledge, patterns: Iterable[Any]) -> Resource:
    parts = []
    for pattern in patterns:
        if pattern.kind != "answer":
            raise MappingError(f"relevant_when tests a {pattern.kind}, which a form cannot see")
        (parent,) = pattern.ids
        answers = f"%resource.repeat(item).where(linkId='{parent}').answer.value"
        if pattern.values:
            coded = knowledge.questions[parent]["type"] in ("choice", "multi")
            options = " | ".join(f"'{v}'" if coded else str(v) for v in pattern.values)
            test = f"{answers}.where({'code' if coded else '$this'} in ({options})).exists()"
        elif pattern.comparisons:
            bounds = " and ".join(f"$this {OPERATORS[name]} {bound}" for name, bound in pattern.comparisons)
            test = f"{answers}.where({bounds}).exists()"
        else:
            test = f"{answers}.exists()"
        parts.append(f"({test}).not()" if pattern.negated else test)
    expression = {"language": "text/fhirpath", "expression": " and ".join(parts)}
    return {"extension": [{"url": ENABLE_WHEN_EXPRESSION, "valueExpression": expression}]}


def questionnaire(knowledge: Knowledge, server: str | None = None) -> Resource:
    """The whole question set; `server` is the base URL of `serve`'s FHIR routes, named by
    the SDC adaptive extension so that a renderer can ask it for the next question."""
    groups = []
    for section in knowledge.sections:
        items: list[Resource] = []
        if section.get("intro"):
            items.append({"linkId": f"{section['id']}{names.INTRO_SUFFIX}", "text": section["intro"],
                          "type": "display"})
        items.extend(question_item(knowledge, q) for q, e in knowledge.questions.items()
                     if e["section"] == section["id"])
        if len(items) > (1 if section.get("intro") else 0):
            groups.append({"linkId": section["id"], "text": section["title"], "type": "group", "item": items})
    out = header(knowledge, server)
    out["item"] = groups
    return out


def header(knowledge: Knowledge, server: str | None = None) -> Resource:
    """The Questionnaire without items: what $next-question's contained Questionnaire starts from."""
    out: Resource = {"resourceType": "Questionnaire", "id": names.QUESTIONNAIRE_ID}
    if server:
        out["extension"] = [{"url": names.EXT_ADAPTIVE, "valueUrl": server.rstrip("/")}]
    out.update({
        "url": names.QUESTIONNAIRE_URL,
        "version": knowledge.version,
        "name": "ItbTriage",
        "title": "Outer knee, thigh or hip pain in runners: triage questions",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": f"itb-triage {__version__}",
        "description": (
            "Questions of itb-triage (knowledge version "
            f"{knowledge.version}). {NOT_A_MEDICAL_DEVICE}"
        ),
    })
    return out


def code_systems(knowledge: Knowledge) -> list[Resource]:
    """Our code systems, from the knowledge: answer values, dispositions, tiers, conditions,
    assessments, red flags and recommendations."""
    answers: dict[str, str] = {}
    for entry in knowledge.questions.values():
        for value in entry.get("values", ()):
            answers.setdefault(value["id"], value["label"])
    if any(e["type"] == "multi" for e in knowledge.questions.values()):
        answers[names.NONE_OF_THESE] = "None of these"
    return [
        _code_system(knowledge, "answers", "Answer values", answers),
        _code_system(knowledge, "dispositions", "Where to go, and how soon",
                     {k: e["headline"] for k, e in knowledge.dispositions.items()}),
        _code_system(knowledge, "tiers", "Treatment tiers", {k: e["title"] for k, e in knowledge.tiers.items()}),
        _code_system(knowledge, "conditions", "Conditions", {k: e["name"] for k, e in knowledge.conditions.items()}),
        _code_system(knowledge, "assessments", "How likely a condition is",
                     {k: k.capitalize() for k in assessments(knowledge)}),
        _code_system(knowledge, "red-flags", "Warning signs", {k: e["name"] for k, e in knowledge.red_flags.items()}),
        _code_system(knowledge, "recommendations", "Advice",
                     {k: e["title"] for k, e in knowledge.recommendations.items()}),
    ]


def _code_system(knowledge: Knowledge, name: str, title: str, concepts: Mapping[str, str]) -> Resource:
    return {
        "resourceType": "CodeSystem",
        "id": f"itb-triage-{name}",
        "url": names.code_system(name),
        "version": knowledge.version,
        "name": "ItbTriage" + "".join(part.capitalize() for part in name.split("-")),
        "title": f"itb-triage: {title}",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "count": len(concepts),
        "concept": [{"code": code, "display": display} for code, display in concepts.items()],
    }


def assessments(knowledge: Knowledge) -> tuple[str, ...]:
    """The assessments a condition can get, as the result contract lists them."""
    schema = knowledge.result_schema["properties"]["conditions"]["items"]["properties"]["assessment"]
    return tuple(schema["enum"])
