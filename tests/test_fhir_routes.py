"""The FHIR router over HTTP, mounted on a small FastAPI app as `serve` mounts it:
SDC $next-question against the CLI interview, and the CDS Hooks service against a JSON
Schema written from the CDS Hooks 2.0 tables (tests/data/cds_hooks)."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge, Triage, check_case
from itb_triage.fhir import names
from itb_triage.fhir.adaptive import start
from itb_triage.fhir.cds import literal_markdown
from itb_triage.fhir.response import answer_values, to_response
from itb_triage.fhir.validation import empty_places

from .test_fhir import ALL_VIGNETTES, vignette_case

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi import FastAPI
from fastapi.testclient import TestClient

from itb_triage.fhir.routes import fhir_router

SCHEMA = json.loads((Path(__file__).parent / "data" / "cds_hooks" / "cds-hooks-2.0.schema.json").read_text())
NEXT = "/fhir/Questionnaire/$next-question"
SERVICE = "/cds-services/itb-triage"


def _validator(definition: str) -> jsonschema.Draft202012Validator:
    schema = {"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


DISCOVERY = _validator("discoveryResponse")
SERVICE_RESPONSE = _validator("serviceResponse")


@pytest.fixture(scope="module")
def client(triage: Triage) -> TestClient:
    from itb_triage.cli.report import build_report

    app = FastAPI()
    app.include_router(fhir_router(triage, report=lambda t, case: build_report(t, case, "html")))
    return TestClient(app)


@pytest.fixture(scope="module")
def validate() -> Callable[[Mapping[str, Any]], None]:
    pytest.importorskip("fhir.resources.R4B")
    from itb_triage.fhir.validation import validate

    return validate


# --- $next-question -------------------------------------------------------------------


def drive(client: TestClient, knowledge: Knowledge, answers: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Answer each question $next-question asks from `answers` (leaving it unanswered when
    absent, the form's way of skipping) until the response is completed."""
    body, asked = start(knowledge), []
    for _ in range(len(knowledge.questions) + 1):
        reply = client.post(NEXT, json=body)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if body["status"] == "completed":
            return asked, body
        question = body["contained"][0]["item"][-1]["linkId"]
        asked.append(question)
        if question in answers:
            body.setdefault("item", []).append({"linkId": question, "answer": answer_values(knowledge, question,
                                                                                          answers[question])})
    raise AssertionError("$next-question asked more questions than there are")


def cli_interview(runner: CliRunner, knowledge: Knowledge, answers: Mapping[str, Any], asked: list[str],
                  home: Path) -> list[str]:
    """The questions `itb-triage interview` asks a runner who types these answers."""
    lines = []
    for question in asked:
        value = answers.get(question)
        lines.append("" if value is None else (",".join(value) or "none") if isinstance(value, list) else str(value))
    run = runner.invoke(cli, ["interview"], input="".join(f"{line}\n" for line in lines),
                        env={"ITB_TRIAGE_HOME": str(home)})
    assert run.exit_code == 0, run.stderr
    headers = re.findall(r"^(\d+)\. (.*)$", run.stderr, flags=re.MULTILINE)
    texts = {textwrap.wrap(f"{n}. {e['text']}", 80)[0]: q for q, e in knowledge.questions.items()
             for n in range(1, len(knowledge.questions) + 1)}
    return [texts[f"{number}. {text}"] for number, text in headers]


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_next_question_asks_exactly_what_the_cli_interview_asks(
    path: Path, client: TestClient, knowledge: Knowledge, triage: Triage, runner: CliRunner, tmp_path: Path,
    validate: Callable[[Mapping[str, Any]], None],
) -> None:
    answers = vignette_case(path)["answers"]
    asked, completed = drive(client, knowledge, answers)
    assert asked == cli_interview(runner, knowledge, answers, asked, tmp_path)
    # Completed, with the outcome the interview's answers get.
    validate(completed)
    assert not list(empty_places(completed))
    given = {q: answers[q] for q in asked if q in answers}
    result = triage.assess(check_case({"format": "itb-case/1", "answers": given}, "x", knowledge))
    (outcome,) = [i for i in completed["item"] if i["linkId"] == names.OUTCOME_DISPOSITION]
    assert outcome["answer"][0]["valueCoding"]["code"] == result.disposition
    contained = completed["contained"][0]
    assert completed["questionnaire"] == f"#{contained['id']}"
    assert any(i["linkId"] == names.OUTCOME_HEADLINE and i["text"] == result.headline for i in contained["item"])


def test_next_question_takes_parameters_and_prefilled_answers(client: TestClient, knowledge: Knowledge) -> None:
    first = next(iter(knowledge.questions))
    body = start(knowledge)
    body["item"] = [{"linkId": first, "answer": answer_values(knowledge, first, knowledge.questions[first]
                                                              ["values"][1]["id"])}]
    reply = client.post(NEXT, json={"resourceType": "Parameters",
                                    "parameter": [{"name": "questionnaire-response", "resource": body}]})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/fhir+json")
    asked = [i["linkId"] for i in reply.json()["contained"][0]["item"] if i["linkId"] in knowledge.questions]
    assert asked and first not in asked  # answered up front, so not asked again


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "the body is not JSON"),
    (b"[]", 400, "the body is not a JSON object; expected a QuestionnaireResponse or Parameters"),
    (json.dumps({"resourceType": "Patient"}).encode(), 400,
     "expected a QuestionnaireResponse (with a contained Questionnaire)"),
    (json.dumps({"resourceType": "Parameters", "parameter": []}).encode(), 400,
     "Parameters need exactly one 'questionnaire-response' parameter with a resource"),
    (json.dumps({"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": [
        {"linkId": "age_years", "answer": [{"valueInteger": 500}]}]}).encode(), 400,
     "QuestionnaireResponse: item 'age_years': 500 is not allowed; expected valueInteger: a whole number "
     "from 5 to 110"),
    (b" " * 1_000_001, 413, "the body is 1,000,001 bytes; at most 1,000,000"),
])
def test_next_question_refuses_bad_requests_with_an_operation_outcome(
    client: TestClient, body: bytes, status: int, message: str
) -> None:
    reply = client.post(NEXT, content=body, headers={"content-type": "application/fhir+json"})
    assert reply.status_code == status
    outcome = reply.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"] == message
    assert client.get("/cds-services").status_code == 200  # and it keeps serving


def test_the_questionnaire_is_served_adaptive_through_this_server(client: TestClient, knowledge: Knowledge) -> None:
    reply = client.get("/fhir/Questionnaire/itb-triage")
    assert reply.status_code == 200
    adaptive = [e for e in reply.json()["extension"] if e["url"] == names.EXT_ADAPTIVE]
    assert adaptive == [{"url": names.EXT_ADAPTIVE, "valueUrl": "http://testserver/fhir"}]


# --- CDS Hooks -----------------------------------------------------------------------


def hook_request(response: Mapping[str, Any] | None, where: str = "prefetch", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "1288992"},
    }
    if response is not None and where == "prefetch":
        request["prefetch"] = {"questionnaireResponse": response}
    elif response is not None:
        request["context"]["questionnaireResponse"] = response
    request.update(extra)
    return request


def test_discovery_lists_the_patient_view_service(client: TestClient) -> None:
    reply = client.get("/cds-services")
    assert reply.status_code == 200
    document = reply.json()
    DISCOVERY.validate(document)
    assert not list(empty_places(document))
    (service,) = document["services"]
    assert (service["id"], service["hook"]) == ("itb-triage", "patient-view")
    assert "{{context.patientId}}" in service["prefetch"]["questionnaireResponse"]


@pytest.mark.parametrize("path", ALL_VIGNETTES, ids=lambda p: p.stem)
def test_the_card_meets_the_cds_hooks_contract(
    path: Path, client: TestClient, knowledge: Knowledge, triage: Triage,
    validate: Callable[[Mapping[str, Any]], None],
) -> None:
    case = check_case(vignette_case(path), path.name, knowledge)
    result = triage.assess(case)
    response = {**to_response(knowledge, case), "id": "qr-1"}
    reply = client.post(SERVICE, json=hook_request(response))
    assert reply.status_code == 200, reply.text
    document = reply.json()
    SERVICE_RESPONSE.validate(document)
    assert not list(empty_places(document))  # the spec forbids null and empty fields
    (card,) = document["cards"]
    assert len(card["summary"]) < 140
    assert card["summary"] == result.headline
    assert card["indicator"] == names.INDICATOR[result.disposition]
    assert result.knowledge_version in card["source"]["label"]
    for reason in result.reasons:
        assert literal_markdown(reason.because) in card["detail"]
    for citation in result.citations:
        assert f"{citation['number']}. " in card["detail"]
    if result.disposition in names.PRIORITY:
        assert card["selectionBehavior"] == "at-most-one"
        (suggestion,) = card["suggestions"]
        (action,) = suggestion["actions"]
        request = action["resource"]
        validate(request)
        assert (action["type"], request["resourceType"]) == ("create", "ServiceRequest")
        assert request["priority"] == names.PRIORITY[result.disposition]
        assert request["subject"] == {"reference": "Patient/1288992"}
        assert request["supportingInfo"] == [{"reference": "QuestionnaireResponse/qr-1"}]
    else:
        assert "suggestions" not in card and "selectionBehavior" not in card
    (link,) = card["links"]
    assert link["type"] == "absolute"
    report = client.get(link["url"])
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "<html" in report.text.lower()


def test_the_response_can_come_from_context_or_a_searchset_bundle(client: TestClient, knowledge: Knowledge) -> None:
    case = check_case(vignette_case(ALL_VIGNETTES[0]), "x", knowledge)
    response = to_response(knowledge, case)
    searchset = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": response}]}
    cards = [client.post(SERVICE, json=request).json()["cards"][0]["summary"] for request in (
        hook_request(response, "context"), hook_request(searchset), hook_request(response))]
    assert len(set(cards)) == 1


@pytest.mark.parametrize(("request_body", "status", "detail"), [
    (b"{", 400, "the body is not JSON"),
    (json.dumps([1]).encode(), 400, "the request is not a JSON object"),
    (json.dumps({k: v for k, v in hook_request(None).items() if k != "hookInstance"}).encode(), 400,
     "'hookInstance' is required and must be a non-empty string"),
    (json.dumps(hook_request(None, hook="order-sign")).encode(), 400,
     "hook 'order-sign' is not served here; expected 'patient-view'"),
    (json.dumps(hook_request(None, context={"userId": "Practitioner/1"})).encode(), 400,
     "'context.patientId' is required by patient-view and must be a non-empty string"),
    (json.dumps(hook_request(None, fhirAuthorization={"access_token": "x"})).encode(), 400,
     "'fhirServer' is required when 'fhirAuthorization' is given"),
    (json.dumps(hook_request({"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
        {"linkId": "side", "answer": [{"valueCoding": {"code": "middle"}}]}]})).encode(), 400,
     "QuestionnaireResponse: item 'side': 'middle' is not allowed; expected valueCoding codes: one of "
     "'left', 'right', 'both'"),
    (json.dumps(hook_request({"resourceType": "Patient"})).encode(), 400,
     "'questionnaireResponse' is not a QuestionnaireResponse or a Bundle of them"),
    (json.dumps(hook_request(None, prefetch={"questionnaireResponse": None})).encode(), 412,
     "no QuestionnaireResponse in prefetch 'questionnaireResponse' or context.questionnaireResponse"),
])
def test_a_bad_hook_request_gets_a_status_and_a_message(
    client: TestClient, request_body: bytes, status: int, detail: str
) -> None:
    reply = client.post(SERVICE, content=request_body, headers={"content-type": "application/json"})
    assert reply.status_code == status
    assert reply.json() == {"detail": detail}


def test_the_schema_catches_what_the_spec_forbids() -> None:
    """The contract tests can fail: each mistake below breaks a rule of the spec's tables."""
    good = {"summary": "Book an appointment.", "indicator": "info", "source": {"label": "itb-triage"}}
    SERVICE_RESPONSE.validate({"cards": [good]})
    for bad in (
        {**good, "summary": "x" * 140},
        {**good, "indicator": "urgent"},
        {**good, "detail": ""},
        {**good, "links": []},
        {**good, "source": {"label": None}},
        {**good, "suggestions": [{"label": "Refer"}]},  # no selectionBehavior
        {**good, "links": [{"label": "Report", "url": "report.html", "type": "absolute"}]},
        {k: v for k, v in good.items() if k != "source"},
    ):
        assert not SERVICE_RESPONSE.is_valid({"cards": [bad]}), bad
