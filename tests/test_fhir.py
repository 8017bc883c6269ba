"""The FHIR door without HTTP: the Questionnaire, cases as QuestionnaireResponses and
back, the Bundle, and the `itb-triage fhir` commands.

Every emitted resource is validated with fhir.resources' R4B models (the closest to R4
it ships) and checked for null or empty elements; round trips and `assess` parity run
over every vignette, those of tests/data and those of ../shared/vignettes.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from itb_triage.cli.fhir import DEFAULT_SERVER
from itb_triage.cli.main import cli
from itb_triage.engine import NOT_A_MEDICAL_DEVICE, Case, CaseError, Knowledge, Result, Triage, build_plan, check_case
from itb_triage.engine.patterns import parse_pattern
from itb_triage.engine.relevance import relevant_by_condition
from itb_triage.fhir import names
from itb_triage.fhir.bundle import bundle, instant, outcome
from itb_triage.fhir.plan_text import DESIGN_CHOICE
from itb_triage.fhir.questionnaire import code_systems, questionnaire
from itb_triage.fhir.response import case_from_response, to_response
from itb_triage.fhir.validation import empty_places

from .conftest import DATA, examples

ROOT = Path(__file__).resolve().parent.parent
# The project's own copies, and the shared set (which has more) where it is beside the repo.
VIGNETTE_DIRS = (DATA / "vignettes", ROOT.parent / "shared" / "vignettes", Path("/work/shared/vignettes"))
ALL_VIGNETTES = sorted({p.name: p for d in reversed(VIGNETTE_DIRS) if d.is_dir() for p in d.glob("*.json")}.values())
MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SERVICE_REQUEST_PRIORITIES = ("routine", "urgent", "asap", "stat")  # R4 request-priority, a required binding


def vignette_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["case"]
    return case


@pytest.fixture(scope="module")
def validate() -> Callable[[Mapping[str, Any]], None]:
    pytest.importorskip("fhir.resources.R4B")
    from itb_triage.fhir.validation import validate

    return validate


def items(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every item at any depth, in order."""
    out: list[dict[str, Any]] = []
    for item in resource.get("item", []):
        out.append(item)
        out.extend(items(item))
        for answer in item.get("answer", []):
            out.extend(items(answer))
    return out


# --- the Questionnaire ------------------------------------------------------------


def test_questionnaire_is_valid_r4_with_one_item_per_question(
    knowledge: Knowledge, validate: Callable[[Mapping[str, Any]], None]
) -> None:
    document = questionnaire(knowledge, DEFAULT_SERVER)
    validate(document)
    assert not list(empty_places(document))
    questions = [i for i in items(document) if i["type"] not in ("group", "display")]
    assert [i["linkId"] for i in questions] == list(knowledge.questions)
    assert {"url": names.EXT_ADAPTIVE, "valueUrl": DEFAULT_SERVER} in document["extension"]
    assert document["version"] == knowledge.version
    for item in questions:
        entry = knowledge.questions[item["linkId"]]
        assert item["text"] == entry["text"]
        (help_item,) = item["item"]
        assert help_item["type"] == "display" and help_item["text"] == entry["help"]
        assert help_item["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "help"
        assert item.get("repeats", False) == (entry["type"] == "multi")
        extensions = {e["url"]: e for e in item.get("extension", [])}
        if entry["type"] in ("choice", "multi"):
            codes = [o["valueCoding"]["code"] for o in item["answerOption"]]
            expected = [v["id"] for v in entry["values"]]
            assert codes == expected + ([names.NONE_OF_THESE] if entry["type"] == "multi" else [])
            assert {o["valueCoding"]["system"] for o in item["answerOption"]} == {names.ANSWERS}
        else:
            assert item["type"] == {"integer": "integer", "number": "decimal"}[entry["type"]]
            key = "valueInteger" if entry["type"] == "integer" else "valueDecimal"
            assert extensions[names.EXT_MIN_VALUE][key] == entry["minimum"]
            assert extensions[names.EXT_MAX_VALUE][key] == entry["maximum"]
            if entry.get("unit"):
                assert extensions[names.EXT_UNIT]["valueCoding"]["display"] == entry["unit"]
        assert ("enableWhen" in item or any("enableWhen" in url for url in extensions)) == bool(
            knowledge.relevance.get(item["linkId"]))


def test_sections_are_groups_in_knowledge_order_with_their_intro(knowledge: Knowledge) -> None:
    document = questionnaire(knowledge)
    assert "extension" not in document  # no server: not marked adaptive
    assert [g["linkId"] for g in document["item"]] == [s["id"] for s in knowledge.sections]
    for group, section in zip(document["item"], knowledge.sections, strict=True):
        assert group["type"] == "group" and group["text"] == section["title"]
        if section.get("intro"):
            assert group["item"][0] == {"linkId": f"{section['id']}-intro", "text": section["intro"],
                                        "type": "display"}


def _enabled(item: Mapping[str, Any], answers: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """FHIR's enableWhen semantics, for the operators and answer types we emit."""
    results = []
    for condition in item["enableWhen"]:
        value = answers.get(condition["question"])
        given = value if isinstance(value, list) else ([] if value is None else [value])
        if condition["operator"] == "exists":
            results.append(bool(given) == condition["answerBoolean"])
            continue
        expected = (condition["answerCoding"]["code"] if "answerCoding" in condition
                    else condition.get("answerInteger", condition.get("answerDecimal")))
        compare = {"=": operator.eq, ">=": operator.ge, ">": operator.gt, "<=": operator.le,
                   "<": operator.lt}[condition["operator"]]
        results.append(any(compare(a, expected) for a in given))
    return any(results) if item.get("enableBehavior") == "any" else all(results)


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_enable_when_agrees_with_relevant_when(path: Path, knowledge: Knowledge) -> None:
    """For every follow-up, every value of the question it depends on, over each vignette."""
    base = vignette_case(path)["answers"]
    gated = [i for i in items(questionnaire(knowledge)) if "enableWhen" in i]
    assert gated
    for item in gated:
        for parent in {c["question"] for c in item["enableWhen"]}:
            entry = knowledge.questions[parent]
            values: list[Any] = [v["id"] for v in entry.get("values", [])] or [entry["minimum"], entry["maximum"]]
            if entry["type"] == "multi":
                values = [[v] for v in values] + [[]]
            for value in [*values, None]:
                answers = {**base, parent: value} if value is not None else {
                    q: a for q, a in base.items() if q != parent}
                expected = relevant_by_condition(knowledge.relevance[item["linkId"]], answers)
                assert _enabled(item, answers, knowledge) == expected, (item["linkId"], parent, value)


def test_relevance_one_enable_behavior_cannot_say_becomes_a_fhirpath_expression(knowledge: Knowledge) -> None:
    rungs = {tier: knowledge.tier_rung(tier) for tier in knowledge.tiers}
    choice = next(q for q, e in knowledge.questions.items() if e["type"] == "choice")
    number = next(q for q, e in knowledge.questions.items() if e["type"] in ("integer", "number"))
    target = next(q for q in knowledge.questions if q not in (choice, number))
    values = [v["id"] for v in knowledge.questions[choice]["values"]][:2]
    patterns = (
        parse_pattern({"answer": {choice: values}}, rungs),
        parse_pattern({"not": {"answer": {number: {"gte": 3}}}}, rungs),
    )
    changed = dataclasses.replace(knowledge, relevance={**knowledge.relevance, target: patterns})
    item = next(i for i in items(questionnaire(changed)) if i["linkId"] == target)
    assert "enableWhen" not in item
    (expression,) = [e["valueExpression"] for e in item["extension"] if e["url"].endswith("enableWhenExpression")]
    assert expression["language"] == "text/fhirpath"
    assert expression["expression"] == (
        f"%resource.repeat(item).where(linkId='{choice}').answer.value.where(code in ('{values[0]}' | "
        f"'{values[1]}')).exists() and (%resource.repeat(item).where(linkId='{number}').answer.value"
        ".where($this >= 3).exists()).not()"
    )


def test_code_systems_are_valid_and_hold_every_code_we_emit(
    knowledge: Knowledge, validate: Callable[[Mapping[str, Any]], None]
) -> None:
    systems = {cs["url"]: cs for cs in code_systems(knowledge)}
    for system in systems.values():
        validate(system)
        assert system["count"] == len(system["concept"])
    answers = {c["code"] for c in systems[names.ANSWERS]["concept"]}
    for entry in knowledge.questions.values():
        assert {v["id"] for v in entry.get("values", [])} <= answers
    assert [c["code"] for c in systems[names.DISPOSITIONS]["concept"]] == list(knowledge.dispositions)
    assert [c["code"] for c in systems[names.CONDITIONS]["concept"]] == list(knowledge.conditions)
    assert set(names.INDICATOR) == set(knowledge.dispositions)  # every disposition has a card indicator
    assert set(names.PRIORITY) < set(knowledge.dispositions)


# --- cases as QuestionnaireResponses ----------------------------------------------


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_case_to_response_to_case_gives_the_same_answers(
    path: Path, knowledge: Knowledge, validate: Callable[[Mapping[str, Any]], None]
) -> None:
    case = check_case(vignette_case(path), path.name, knowledge)
    response = to_response(knowledge, case)
    validate(response)
    assert not list(empty_places(response))
    assert response["questionnaire"] == f"{names.QUESTIONNAIRE_URL}|{knowledge.version}"
    back = case_from_response(json.loads(json.dumps(response)), "qr.json", knowledge)
    assert back == case
    assert json.dumps(back.to_json()) == json.dumps(case.to_json())


def test_none_of_these_is_an_empty_multiple_choice_and_back(knowledge: Knowledge) -> None:
    schemas = knowledge.case_schema["properties"]["answers"]["properties"]
    multi = next(q for q, e in knowledge.questions.items()
                 if e["type"] == "multi" and not schemas[q].get("minItems"))
    case = Case("empty", {multi: []})
    response = to_response(knowledge, case)
    (item,) = [i for i in items(response) if i["linkId"] == multi]
    assert [a["valueCoding"]["code"] for a in item["answer"]] == [names.NONE_OF_THESE]
    assert case_from_response(response, "qr", knowledge) == case


def test_a_response_is_read_at_any_depth_and_ignores_form_text(knowledge: Knowledge) -> None:
    """Form fillers nest follow-ups under answers; display and outcome items carry no answer."""
    parent, child = next((p.ids[0], q) for q, ps in knowledge.relevance.items() for p in ps
                         if knowledge.questions[p.ids[0]]["type"] == "choice"
                         and knowledge.questions[q]["type"] == "choice")
    parent_value = next(v["id"] for v in knowledge.questions[parent]["values"]
                        if relevant_by_condition(knowledge.relevance[child], {parent: v["id"]}))
    child_value = knowledge.questions[child]["values"][0]["id"]
    response = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": [
        {"linkId": "some-display"},
        {"linkId": names.OUTCOME_DISPOSITION, "answer": [{"valueCoding": {"code": "self_care"}}]},
        {"linkId": parent, "answer": [{"valueCoding": {"code": parent_value}, "item": [
            {"linkId": child, "answer": [{"valueCoding": {"system": names.ANSWERS, "code": child_value}}]},
        ]}]},
    ]}
    case = case_from_response(response, "qr", knowledge)
    assert dict(case.answers) == {parent: parent_value, child: child_value}


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_assess_of_the_response_is_byte_identical_to_assess_of_the_case(
    path: Path, runner: CliRunner, knowledge: Knowledge, tmp_path: Path
) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(vignette_case(path)), encoding="utf-8")
    converted = runner.invoke(cli, ["fhir", "bundle", str(case_file)])
    assert converted.exit_code == 0, converted.stderr
    response_file = tmp_path / "qr.json"
    response_file.write_text(json.dumps(json.loads(converted.stdout)["entry"][0]["resource"]), encoding="utf-8")
    # The summary card names its own file in its last line; --detail and JSON name none.
    for options in (["--format", "json"], ["--detail"]):
        from_case = runner.invoke(cli, ["assess", *options, str(case_file)])
        from_response = runner.invoke(cli, ["assess", *options, str(response_file)])
        assert from_case.exit_code == from_response.exit_code == 0, from_response.stderr
        assert from_response.stdout == from_case.stdout, options
    card, card_of_response = (runner.invoke(cli, ["assess", str(f)]).stdout for f in (case_file, response_file))
    assert card_of_response.replace(response_file.name, case_file.name) == card
    back = runner.invoke(cli, ["fhir", "case", str(response_file)])
    assert back.exit_code == 0
    assert json.loads(back.stdout) == check_case(vignette_case(path), "x", knowledge).to_json()


def _classic_response(knowledge: Knowledge, triage: Triage) -> dict[str, Any]:
    case = check_case(vignette_case(DATA / "vignettes" / "v01_classic.json"), "classic", knowledge)
    return to_response(knowledge, case)


def _edit(response: dict[str, Any], link_id: str, **changes: Any) -> dict[str, Any]:
    edited = json.loads(json.dumps(response))
    for item in items(edited):
        if item["linkId"] == link_id:
            item.update(changes)
    return edited


BAD_RESPONSES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str]] = [
    ("code outside the choices",
     lambda r: _edit(r, "knee_locking", answer=[{"valueCoding": {"system": names.ANSWERS, "code": "maybe"}}]),
     "item 'knee_locking': 'maybe' is not allowed; expected valueCoding codes: one of 'yes', 'no', 'unsure'"),
    ("number out of range", lambda r: _edit(r, "age_years", answer=[{"valueInteger": 500}]),
     "item 'age_years': 500 is not allowed; expected valueInteger: a whole number from 5 to 110"),
    ("wrong value type", lambda r: _edit(r, "age_years", answer=[{"valueString": "34"}]),
     "item 'age_years': valueString in the answer; expected one valueInteger"),
    ("choice as text", lambda r: _edit(r, "side", answer=[{"valueString": "right"}]),
     "item 'side': valueString in the answer; expected one valueCoding from the item's answerOptions"),
    ("two answers to one choice",
     lambda r: _edit(r, "side", answer=[{"valueCoding": {"code": "left"}}, {"valueCoding": {"code": "right"}}]),
     "item 'side': 2 answers; expected one answer (the question does not repeat)"),
    ("a code of another system",
     lambda r: _edit(r, "side", answer=[{"valueCoding": {"system": "http://snomed.info/sct", "code": "24028007"}}]),
     "item 'side': a code from 'http://snomed.info/sct'; expected a code from " + names.ANSWERS),
    ("none of these with a choice", lambda r: _edit(r, "pain_locations", answer=[
        {"valueCoding": {"code": names.NONE_OF_THESE}}, {"valueCoding": {"code": "lateral_knee"}}]),
     f"item 'pain_locations': '{names.NONE_OF_THESE}' with other answers; expected either "
     f"'{names.NONE_OF_THESE}' alone or the choices that apply"),
    ("misspelt linkId", lambda r: _edit(r, "knee_locking", linkId="knee_lockin"),
     "item 'knee_lockin': unknown linkId (did you mean 'knee_locking'?)"),
    ("another questionnaire", lambda r: {**r, "questionnaire": "http://example.org/Questionnaire/phq-9"},
     "$.questionnaire: answers to 'http://example.org/Questionnaire/phq-9'; expected a response to "
     + names.QUESTIONNAIRE_URL),
    ("another resource", lambda r: {"resourceType": "Patient", "id": "p1"},
     "$.resourceType: a FHIR Patient is not a case; expected a QuestionnaireResponse or an itb-case/1 case file"),
    ("items not a list", lambda r: {**r, "item": {"linkId": "side"}},
     "$.item: not a list; expected a list of items"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in BAD_RESPONSES],
                         ids=[name for name, _, _ in BAD_RESPONSES])
def test_a_bad_response_is_one_line_naming_the_item_and_exit_2(
    mutate: Callable[[dict[str, Any]], dict[str, Any]], message: str, runner: CliRunner,
    knowledge: Knowledge, triage: Triage, tmp_path: Path,
) -> None:
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(mutate(_classic_response(knowledge, triage))), encoding="utf-8")
    for command in (["assess"], ["fhir", "case"], ["fhir", "bundle"]):
        run = runner.invoke(cli, [*command, str(path)])
        assert run.exit_code == 2, command
        assert run.stdout == ""
        assert run.stderr == f"itb-triage: error: {path}: {message}\n"


# --- the Bundle ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_the_bundle_maps_the_result_faithfully_and_validates(
    path: Path, knowledge: Knowledge, triage: Triage, validate: Callable[[Mapping[str, Any]], None]
) -> None:
    case = check_case(vignette_case(path), path.name, knowledge)
    result = triage.assess(case)
    document = bundle(knowledge, case, result, moment=MOMENT)
    validate(document)
    assert not list(empty_places(document))
    assert document["type"] == "collection"
    entries = {e["resource"]["resourceType"]: e for e in document["entry"]}
    urls = {e["fullUrl"] for e in document["entry"]}
    assert len(urls) == len(document["entry"])
    for entry in document["entry"]:
        validate(entry["resource"])
        for reference in _references(entry["resource"]):
            assert reference in urls, reference  # every reference resolves inside the Bundle
    qr_url = entries["QuestionnaireResponse"]["fullUrl"]

    guidance = entries["GuidanceResponse"]["resource"]
    assert guidance["status"] == ("data-required" if result.disposition == "incomplete" else "success")
    if result.disposition == "incomplete":
        assert len(guidance["dataRequirement"][0]["mustSupport"]) == len(result.unanswered_screening)
    else:
        assert "dataRequirement" not in guidance
    assert guidance["note"][0]["text"] == result.headline

    risk = entries["RiskAssessment"]["resource"]
    assert risk["basis"] == [{"reference": qr_url}]
    predicted = [(p["outcome"]["coding"][0]["code"], p["qualitativeRisk"]["coding"][0]["code"])
                 for p in risk.get("prediction", [])]
    assert predicted == [(c["id"], c["assessment"]) for c in result.conditions]

    if result.disposition in names.PRIORITY:
        request = entries["ServiceRequest"]["resource"]
        assert request["priority"] == names.PRIORITY[result.disposition]
        assert request["priority"] in SERVICE_REQUEST_PRIORITIES
        assert request["code"]["coding"][0]["code"] == result.disposition
        assert qr_url in [s["reference"] for s in request["supportingInfo"]]
    else:
        assert "ServiceRequest" not in entries

    activities = entries["CarePlan"]["resource"]["activity"] if "CarePlan" in entries else []
    plan = build_plan(knowledge, result)
    checks = len(plan.weeks) if plan is not None and activities else 0  # one activity a week's check
    assert len(activities) == len(result.recommendations) + len(result.avoid) + checks
    for activity, recommendation in zip(activities, result.recommendations, strict=False):
        assert activity["detail"]["code"]["coding"][0]["code"] == recommendation["id"]
        if recommendation.get("dose"):
            assert recommendation["dose"] in activity["detail"]["description"]  # the dose as the source gives it
        cited = {e["valueRelatedArtifact"]["citation"] for e in activity.get("extension", [])}
        # its own sources, and those of the plan's parts that dose it
        sources = {*recommendation["citations"], *(c for part in (plan.components if plan else ())
                                                   if part.recommendation == recommendation["id"]
                                                   for c in part.citations)}
        assert cited == {knowledge.citations[c]["reference"] for c in sources}
    avoided = activities[len(result.recommendations):len(result.recommendations) + len(result.avoid)]
    assert all(a["detail"]["doNotPerform"] for a in avoided)

    provenance = entries["Provenance"]["resource"]
    assert {t["reference"] for t in provenance["target"]} == urls - {entries["Provenance"]["fullUrl"]}
    assert provenance["entity"][0]["what"]["identifier"]["value"] == knowledge.version
    assert provenance["recorded"] == "2026-01-02T03:04:05Z"


def _care_plan(path: Path, knowledge: Knowledge, triage: Triage) -> tuple[Result, dict[str, Any] | None]:
    case = check_case(vignette_case(path), path.name, knowledge)
    result = triage.assess(case)
    document = bundle(knowledge, case, result, moment=MOMENT)
    plans = [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "CarePlan"]
    return result, (plans[0] if plans else None)


def _labels(node: Mapping[str, Any]) -> dict[str, str]:
    """citation id -> reference label, from a node's cqf-relatedArtifact extensions."""
    return {e["valueRelatedArtifact"]["display"].split(" ")[0]: e["valueRelatedArtifact"]["label"]
            for e in node.get("extension", []) if e["url"] == names.EXT_RELATED_ARTIFACT}


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_the_care_plan_carries_the_six_week_plan_word_for_word(
    path: Path, knowledge: Knowledge, triage: Triage
) -> None:
    result, care = _care_plan(path, knowledge, triage)
    plan = build_plan(knowledge, result)
    if care is None:  # nothing to do or avoid: no CarePlan at all (and so no plan)
        assert plan is None and not result.recommendations and not result.avoid
        return
    scheduled = {a["detail"]["code"]["coding"][0]["code"]: a["detail"]["scheduledString"]
                 for a in care["activity"] if "scheduledString" in a["detail"]}
    dated = [a["detail"] for a in care["activity"] if "scheduledPeriod" in a["detail"]]
    notes = [n["text"] for n in care["note"]]
    if plan is None:  # treatment waits: today's CarePlan, no weeks
        assert "period" not in care and not scheduled and not dated
        assert notes == [NOT_A_MEDICAL_DEVICE]
        return

    start = MOMENT
    end = start + timedelta(weeks=len(plan.weeks))
    assert care["period"] == {"start": care["created"], "end": instant(end)}
    assert care["created"] == instant(start)
    for week in plan.weeks:
        for step in week.steps:
            schedule = scheduled[step.component.recommendation]
            (line,) = [x for x in schedule.splitlines() if x.startswith(f"Week {week.number}: ")]
            said = f"{step.component.label}: {step.do}"  # the plan's dose, quoted whole
            assert said in line
            assert (f"{said} {DESIGN_CHOICE}" in line) == step.design_choice  # the flag, in words
        (check,) = [d for d in dated if d["code"]["text"] == f"Check at the end of week {week.number}"]
        assert week.check in check["description"]
        assert check["scheduledPeriod"] == {"start": instant(start + timedelta(weeks=week.number - 1)),
                                            "end": instant(start + timedelta(weeks=week.number))}
    assert set(scheduled) == {c.recommendation for c in plan.components}
    assert len(dated) == len(plan.weeks)

    for text, citations in plan.notes:  # who should lead, for this tier and disposition
        (note,) = [n for n in care["note"] if n["text"] == text]
        assert set(_labels(note)) == set(citations)
    (design,) = [n for n in care["note"] if plan.design_note in n["text"]]
    assert set(_labels(design)) == set(plan.design_citations)
    for escalation in plan.escalate:
        (note,) = [n for n in care["note"] if escalation.when in n["text"] and escalation.then in n["text"]]
        assert set(_labels(note)) == set(escalation.citations)
    for disagreement in plan.disagreements:
        (note,) = [n for n in care["note"] if disagreement.topic in n["text"]]
        assert disagreement.this_plan in note["text"]
        labels = _labels(note)
        for position in disagreement.positions:  # each position marked with its own sources' numbers
            marks = "".join(f"[{n}]" for n in sorted(int(labels[c]) for c in set(position.citations)))
            assert f"{position.says} {marks}" in note["text"]
    assert notes[-1] == NOT_A_MEDICAL_DEVICE
    assert not re.search(r"\d\s*(mg|mcg|µg|ml)\b", json.dumps(care), re.IGNORECASE)  # no drug doses


def test_one_number_per_source_across_the_care_plan_and_the_result(knowledge: Knowledge, triage: Triage) -> None:
    """Plan sources the result does not cite are numbered on after the result's, never reusing one."""
    result, care = _care_plan(DATA / "vignettes" / "v01_classic.json", knowledge, triage)
    assert care is not None
    pairs = {(c, label) for node in [*care["activity"], *care["note"]] for c, label in _labels(node).items()}
    by_source = dict(pairs)
    assert len(by_source) == len(pairs) == len({label for _, label in pairs})
    for citation in result.citations:
        assert by_source.get(citation["id"], str(citation["number"])) == str(citation["number"])
    extra = sorted(int(label) for c, label in pairs if c not in {x["id"] for x in result.citations})
    assert extra and extra[0] == len(result.citations) + 1  # v01's plan cites sources its result does not


def test_the_vignettes_hold_care_plans_with_and_without_a_plan(knowledge: Knowledge, triage: Triage) -> None:
    """The classic case gets its weeks; an incomplete or urgent result keeps today's CarePlan."""
    _, classic = _care_plan(DATA / "vignettes" / "v01_classic.json", knowledge, triage)
    assert classic is not None and "period" in classic
    for name in ("v14_incomplete", "v08_locking"):
        result, care = _care_plan(DATA / "vignettes" / f"{name}.json", knowledge, triage)
        assert build_plan(knowledge, result) is None
        assert care is None or "period" not in care
    _, locking = _care_plan(DATA / "vignettes" / "v08_locking.json", knowledge, triage)
    assert locking is not None  # an urgent result still says what to do meanwhile


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def test_the_same_case_gives_the_same_bundle_and_another_case_other_ids(
    knowledge: Knowledge, triage: Triage
) -> None:
    first = check_case(vignette_case(DATA / "vignettes" / "v01_classic.json"), "a", knowledge)
    other = check_case(vignette_case(DATA / "vignettes" / "v08_locking.json"), "b", knowledge)
    one = bundle(knowledge, first, triage.assess(first), moment=MOMENT)
    assert json.dumps(one) == json.dumps(bundle(knowledge, first, triage.assess(first), moment=MOMENT))
    two = outcome(knowledge, other, triage.assess(other), moment=MOMENT)
    assert not {e["fullUrl"] for e in one["entry"]} & {url for url, _ in two.entries}


# --- the commands --------------------------------------------------------------------


def test_fhir_questionnaire_prints_the_questionnaire(runner: CliRunner, knowledge: Knowledge) -> None:
    run = runner.invoke(cli, ["fhir", "questionnaire"])
    assert run.exit_code == 0
    assert json.loads(run.stdout) == questionnaire(knowledge, DEFAULT_SERVER)
    plain = runner.invoke(cli, ["fhir", "questionnaire", "--server", ""])
    assert "extension" not in json.loads(plain.stdout)


def test_fhir_codesystems_prints_a_bundle_of_them(runner: CliRunner, knowledge: Knowledge) -> None:
    run = runner.invoke(cli, ["fhir", "codesystems"])
    assert run.exit_code == 0
    assert [e["resource"] for e in json.loads(run.stdout)["entry"]] == code_systems(knowledge)


def test_fhir_bundle_names_the_patient_and_reads_stdin(runner: CliRunner) -> None:
    case = vignette_case(DATA / "vignettes" / "v08_locking.json")
    run = runner.invoke(cli, ["fhir", "bundle", "--patient", "p-42", "-"], input=json.dumps(case))
    assert run.exit_code == 0, run.stderr
    for entry in json.loads(run.stdout)["entry"]:
        if "subject" in entry["resource"]:
            assert entry["resource"]["subject"] == {"reference": "Patient/p-42"}


def test_fhir_help_is_listed(runner: CliRunner) -> None:
    run = runner.invoke(cli, ["--help"])
    assert "fhir" in run.stdout
    for command in ("questionnaire", "case", "bundle", "codesystems"):
        assert runner.invoke(cli, ["fhir", command, "--help"]).exit_code == 0


# --- anything at all ---------------------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                     st.text(max_size=12), st.sampled_from(["yes", "no", "left", "lateral_knee", names.NONE_OF_THESE]))
_link_ids = st.one_of(st.sampled_from(["side", "age_years", "pain_locations", "knee_locking", "screening",
                                       names.OUTCOME_DISPOSITION]), st.text(max_size=8), st.integers())
_values = st.one_of(
    st.fixed_dictionaries({"valueCoding": st.one_of(_scalars, st.fixed_dictionaries(
        {"code": _scalars}, optional={"system": st.sampled_from([names.ANSWERS, "http://x"])}))}),
    st.fixed_dictionaries({"valueInteger": _scalars}), st.fixed_dictionaries({"valueDecimal": _scalars}),
    st.fixed_dictionaries({"valueString": _scalars}), _scalars,
)
_items = st.recursive(
    st.fixed_dictionaries({}, optional={"linkId": _link_ids, "answer": st.one_of(_scalars, st.lists(_values,
                                                                                                   max_size=3))}),
    lambda children: st.fixed_dictionaries({"linkId": _link_ids}, optional={
        "item": st.one_of(_scalars, st.lists(children, max_size=3)),
        "answer": st.lists(st.fixed_dictionaries({"item": st.lists(children, max_size=2)}), max_size=2)}),
    max_leaves=12,
)


@settings(max_examples=examples(200), deadline=None)
@given(item=st.lists(_items, max_size=4), extra=st.dictionaries(
    st.sampled_from(["identifier", "questionnaire", "status", "contained"]), _scalars, max_size=2))
def test_any_response_is_a_case_or_one_line_error(item: list[Any], extra: dict[str, Any], knowledge: Knowledge) -> None:
    document = {"resourceType": "QuestionnaireResponse", "item": item, **extra}
    try:
        case = case_from_response(document, "qr.json", knowledge)
    except CaseError as exc:
        assert exc.one_line().startswith("qr.json: ") and "\n" not in exc.one_line()
    else:
        assert set(case.answers) <= set(knowledge.questions)
