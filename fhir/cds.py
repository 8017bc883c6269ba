"""A CDS Hooks 2.0 service: discovery, and one `patient-view` card from a
QuestionnaireResponse.

The card says what the result says: the headline as the summary, the indicator from
the disposition, the reasons and references as Markdown detail, a suggestion to
create the referral (the Bundle's ServiceRequest) and a link to the report. The spec
forbids null and empty fields, so anything without a value is left out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from itb_triage import __version__
from itb_triage.engine import NOT_A_MEDICAL_DEVICE, Case, Knowledge, Result, Triage

from . import names
from .bundle import activity_text, instant, service_request
from .response import case_from_response

Resource = dict[str, Any]

SERVICE_ID = "itb-triage"
HOOK = "patient-view"
PREFETCH_KEY = "questionnaireResponse"
SUMMARY_LIMIT = 140  # the spec: a summary of fewer than 140 characters


class RequestError(ValueError):
    """A malformed CDS Hooks request (HTTP 400); the message says what is wrong."""


class MissingData(ValueError):
    """No QuestionnaireResponse in the prefetch or the context (HTTP 412, as the spec says)."""


def discovery() -> Resource:
    return {"services": [{
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": "itb-triage: outer knee, thigh or hip pain in runners",
        "description": (
            "Triage of a runner's itb-triage QuestionnaireResponse: where to go and how soon, "
            "warning signs, likely conditions and the plan, with reasons and sources. Not a medical device."
        ),
        "prefetch": {
            PREFETCH_KEY: (f"QuestionnaireResponse?subject={{{{context.patientId}}}}"
                           f"&questionnaire={names.QUESTIONNAIRE_URL}&_sort=-authored&_count=1"),
        },
        "usageRequirements": (
            "Needs the patient's latest response to the itb-triage Questionnaire, in the prefetch "
            f"'{PREFETCH_KEY}' or as context.{PREFETCH_KEY}."
        ),
    }]}


def check_request(request: Any) -> Resource:
    """The request's fields as the spec requires them, or RequestError naming the first problem."""
    if not isinstance(request, dict):
        raise RequestError("the request is not a JSON object")
    for field in ("hook", "hookInstance"):
        if not isinstance(request.get(field), str) or not request[field]:
            raise RequestError(f"'{field}' is required and must be a non-empty string")
    if request["hook"] != HOOK:
        raise RequestError(f"hook '{request['hook'][:60]}' is not served here; expected '{HOOK}'")
    context = request.get("context")
    if not isinstance(context, dict):
        raise RequestError("'context' is required and must be an object")
    for field in ("userId", "patientId"):
        if not isinstance(context.get(field), str) or not context[field]:
            raise RequestError(f"'context.{field}' is required by {HOOK} and must be a non-empty string")
    if "fhirAuthorization" in request and not isinstance(request.get("fhirServer"), str):
        raise RequestError("'fhirServer' is required when 'fhirAuthorization' is given")
    if "prefetch" in request and not isinstance(request["prefetch"], dict):
        raise RequestError("'prefetch' must be an object")
    return request


def response_in(request: Resource) -> Resource:
    """The QuestionnaireResponse of the context, else of the prefetch (itself, or the first
    one in a searchset Bundle)."""
    for found in (request["context"].get(PREFETCH_KEY), request.get("prefetch", {}).get(PREFETCH_KEY)):
        if found is None:
            continue
        if isinstance(found, dict) and found.get("resourceType") == "Bundle":
            entries = found.get("entry") or []
            found = next((e.get("resource") for e in entries if isinstance(e, dict) and isinstance(
                e.get("resource"), dict) and e["resource"].get("resourceType") == "QuestionnaireResponse"), None)
            if found is None:
                continue
        if not isinstance(found, dict) or found.get("resourceType") != "QuestionnaireResponse":
            raise RequestError(f"'{PREFETCH_KEY}' is not a QuestionnaireResponse or a Bundle of them")
        return found
    raise MissingData(f"no QuestionnaireResponse in prefetch '{PREFETCH_KEY}' or context.{PREFETCH_KEY}")


def cards(triage: Triage, request: Any, report_link: Callable[[Case], str] | None = None) -> Resource:
    """The service's answer to one request: one card for the patient's response."""
    checked = check_request(request)
    response = response_in(checked)
    case = case_from_response(response, "QuestionnaireResponse", triage.knowledge)  # CaseError: 400
    result = triage.assess(case)
    return {"cards": [card(triage.knowledge, case, result, checked, response, report_link)]}


def card(knowledge: Knowledge, case: Case, result: Result, request: Resource, response: Resource,
         report_link: Callable[[Case], str] | None) -> Resource:
    out: Resource = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(result.headline),
        "indicator": names.INDICATOR[result.disposition],
        "detail": detail(result),
        "source": {
            "label": f"itb-triage {__version__} (knowledge {result.knowledge_version})",
            "topic": {"system": names.DISPOSITIONS, "code": result.disposition,
                      "display": _one_line(result.headline)},
        },
    }
    subject = {"reference": f"Patient/{request['context']['patientId']}"}
    supporting = [f"QuestionnaireResponse/{response['id']}"] if isinstance(response.get("id"), str) else []
    referral = service_request(knowledge, result, subject, instant(), supporting)
    if referral is not None:
        out["suggestions"] = [{
            "label": f"Refer to a clinician ({referral['priority']})",
            "uuid": str(uuid.uuid4()),
            "isRecommended": True,
            "actions": [{"type": "create", "description": f"Create a referral: {_one_line(result.headline)}",
                         "resource": referral}],
        }]
        out["selectionBehavior"] = "at-most-one"
    if report_link is not None:
        out["links"] = [{"label": "Full report", "url": report_link(case), "type": "absolute"}]
    return out


def summary(headline: str) -> str:
    """The headline as a one-line summary of fewer than 140 characters."""
    text = _one_line(headline)
    if len(text) < SUMMARY_LIMIT:
        return text
    return text[: SUMMARY_LIMIT - 2].rsplit(" ", 1)[0] + "…"


def detail(result: Result) -> str:
    """The result in GitHub-flavoured Markdown: warning signs, reasons, conditions, what to
    do and avoid, and numbered references with their verification status."""
    numbers = {c["id"]: c["number"] for c in result.citations}

    def refs(ids: Any) -> str:
        cited = sorted({numbers[i] for i in ids if i in numbers})
        return f" [{', '.join(map(str, cited))}]" if cited else ""

    md = literal_markdown
    parts = [f"**{md(result.headline)}**"]

    def section(title: str, lines: list[str]) -> None:
        if lines:
            parts.append(f"**{title}**\n\n" + "\n".join(lines))

    section("Warning signs", [f"- {md(f['name'])}{refs(f.get('citations', ()))}" for f in result.red_flags])
    section("Why", [f"- {md(r.because)}{refs(r.citations)}" for r in result.reasons])
    section("Conditions", [f"- {md(c['name'])}: {c['assessment']}{refs(c.get('citations', ()))}"
                           for c in result.conditions])
    section("Safety questions still unanswered", [f"- `{q}`" for q in result.unanswered_screening])
    section("What to do", [f"- {md(activity_text(r))}{refs(r.get('citations', ()))}" for r in result.recommendations])
    section("Avoid", [f"- {md(a['title'])}{refs(a.get('citations', ()))}" for a in result.avoid])
    section("References", [f"{c['number']}. {md(c['reference'])} ({c['status'].replace('_', ' ')})"
                           for c in result.citations])
    parts.append(f"_{md(_notice())}_")
    return "\n\n".join(parts)


_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|])")


def literal_markdown(text: str) -> str:
    """Knowledge text as literal Markdown: its own asterisks, brackets and tags stay text."""
    return _MARKDOWN.sub(r"\\\1", _one_line(text))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _notice() -> str:
    return NOT_A_MEDICAL_DEVICE
