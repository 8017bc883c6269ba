"""A triage result as FHIR resources: a `collection` Bundle of the QuestionnaireResponse,
a GuidanceResponse, a RiskAssessment, a ServiceRequest (when a clinician is needed), a
CarePlan (with the six-week plan, when the result has one) and a Provenance.

Every word comes from the Result the engine made (headline, reasons, titles, doses,
references); this module only places it. Sources are cited as RelatedArtifacts through
the core `cqf-relatedArtifact` extension, since none of these resources has a
relatedArtifact element of its own. Entries are named by `urn:uuid`s derived from the
case and the knowledge version, so the same case gives the same Bundle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itb_triage import __version__
from itb_triage.engine import NOT_A_MEDICAL_DEVICE, Case, Knowledge, Plan, Result, build_plan

from . import names, plan_text
from .questionnaire import coding
from .response import to_response

Resource = dict[str, Any]

# uuid5 namespace for the entries of our Bundles (a fixed, random value).
_NAMESPACE = uuid.UUID("6f1f3bde-5d55-4f5e-9a8e-0c5d1f2b7a41")
DEFAULT_SUBJECT: Mapping[str, str] = {"display": "The runner (not identified)"}
RULES_URI = f"{names.CANONICAL}/rules"


@dataclass(frozen=True)
class Outcome:
    """The resources of one result, each with the urn:uuid that names it in the Bundle."""

    entries: tuple[tuple[str, Resource], ...]

    def first(self, resource_type: str) -> tuple[str, Resource] | None:
        return next(((url, r) for url, r in self.entries if r["resourceType"] == resource_type), None)

    def bundle(self) -> Resource:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": url, "resource": resource} for url, resource in self.entries],
        }


def instant(moment: datetime | None = None) -> str:
    """A FHIR instant (UTC, whole seconds)."""
    return _whole_seconds(moment).isoformat().replace("+00:00", "Z")


def _whole_seconds(moment: datetime | None) -> datetime:
    moment = moment if moment is not None else datetime.now(UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def outcome(knowledge: Knowledge, case: Case, result: Result, *, subject: Mapping[str, Any] | None = None,
            moment: datetime | None = None) -> Outcome:
    """The result's resources. `subject` is a Reference to the patient (a display-only one
    by default: the tool knows no patient); `moment` is when the assessment was made."""
    subject = dict(subject) if subject else dict(DEFAULT_SUBJECT)
    start = _whole_seconds(moment)
    when = instant(start)
    seed = json.dumps({"case": case.to_json(), "knowledge": knowledge.version}, sort_keys=True)

    def urn(kind: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}:{seed}')}"

    qr_url, risk_url, plan_url, request_url = urn("qr"), urn("risk"), urn("plan"), urn("request")
    entries: list[tuple[str, Resource]] = [(qr_url, to_response(knowledge, case, subject))]
    plan = care_plan(knowledge, result, subject, start, qr_url)
    entries.append((urn("guidance"), guidance_response(knowledge, result, subject, when,
                                                      plan_url if plan else None)))
    entries.append((risk_url, risk_assessment(knowledge, result, subject, when, qr_url)))
    request = service_request(knowledge, result, subject, when, [qr_url, risk_url])
    if request is not None:
        entries.append((request_url, request))
    if plan is not None:
        entries.append((plan_url, plan))
    entries.append((urn("provenance"), provenance(knowledge, when, [url for url, _ in entries])))
    return Outcome(tuple(entries))


def bundle(knowledge: Knowledge, case: Case, result: Result, **options: Any) -> Resource:
    return outcome(knowledge, case, result, **options).bundle()


# --- the resources ------------------------------------------------------------------


def guidance_response(knowledge: Knowledge, result: Result, subject: Resource, when: str,
                      plan_url: str | None) -> Resource:
    # Only an `incomplete` result waits for answers; an urgent one with safety questions
    # still open has its answer already.
    incomplete = result.disposition == "incomplete"
    out: Resource = {
        "resourceType": "GuidanceResponse",
        "moduleUri": RULES_URI,
        "status": "data-required" if incomplete else "success",
        "subject": subject,
        "occurrenceDateTime": when,
    }
    reasons = red_flag_concepts(result)
    if reasons:
        out["reasonCode"] = reasons
    out["note"] = notes(result)
    if incomplete:
        out["dataRequirement"] = [{
            "type": "QuestionnaireResponse",
            "mustSupport": [f"repeat(item).where(linkId='{q}').answer" for q in result.unanswered_screening],
        }]
    if plan_url:
        out["result"] = {"reference": plan_url}
    artifacts = related_artifacts(result.citations, (c["id"] for c in result.citations))
    if artifacts:
        out["extension"] = artifacts
    return out


def risk_assessment(knowledge: Knowledge, result: Result, subject: Resource, when: str, qr_url: str) -> Resource:
    out: Resource = {
        "resourceType": "RiskAssessment",
        "status": "preliminary" if result.disposition == "incomplete" else "final",
        "method": {"text": f"itb-triage rules, knowledge version {result.knowledge_version}"},
        "subject": subject,
        "occurrenceDateTime": when,
        "basis": [{"reference": qr_url}],
    }
    predictions = []
    for condition in result.conditions:
        prediction: Resource = {
            "outcome": {
                "coding": [coding(names.CONDITIONS, condition["id"], condition["name"])],
                "text": condition["name"],
            },
            "qualitativeRisk": {
                "coding": [coding(names.ASSESSMENTS, condition["assessment"], condition["assessment"].capitalize())],
                "text": condition["assessment"],
            },
        }
        artifacts = related_artifacts(result.citations, condition.get("citations", ()))
        if artifacts:
            prediction["extension"] = artifacts
        predictions.append(prediction)
    if predictions:
        out["prediction"] = predictions
    out["note"] = [{"text": _notice()}]
    return out


def service_request(knowledge: Knowledge, result: Result, subject: Resource, when: str,
                    supporting: list[str]) -> Resource | None:
    """A referral at the disposition's priority; none when no clinician is asked for."""
    priority = names.PRIORITY.get(result.disposition)
    if priority is None:
        return None
    entry = knowledge.dispositions[result.disposition]
    out: Resource = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "priority": priority,
        "code": {
            "coding": [coding(names.DISPOSITIONS, result.disposition, result.headline)],
            "text": result.headline,
        },
        "subject": subject,
        "authoredOn": when,
    }
    reasons = red_flag_concepts(result) + condition_concepts(result, ("likely", "suspected"))
    if reasons:
        out["reasonCode"] = reasons
    if supporting:
        out["supportingInfo"] = [{"reference": url} for url in supporting]
    out["note"] = notes(result)
    out["patientInstruction"] = f"{result.headline} {entry['meaning']}"
    return out


def care_plan(knowledge: Knowledge, result: Result, subject: Resource, start: datetime, qr_url: str) -> Resource | None:
    """What to do (with doses) and what to avoid (`doNotPerform`), as proposed activities.

    When the result has a six-week plan, the CarePlan follows it: its `period` spans the
    plan's weeks from `start`; each recommendation the plan doses carries its steps week by
    week in `scheduledString`; each week's check is an activity of its own, dated to that
    week; who leads, the design choice, when to get help and where the sources disagree
    are notes, each citing its sources.
    """
    plan = build_plan(knowledge, result)
    citations = plan_text.plan_citations(knowledge.citations, result, plan)
    activities = [_recommendation_activity(recommendation, plan, citations)
                  for recommendation in result.recommendations]
    for avoid in result.avoid:
        text = f"Avoid: {avoid['title']}. {avoid['why']}"
        if avoid.get("instead"):
            text += f" Instead: {avoid['instead']}"
        activity: Resource = {"detail": {"code": {"text": f"Avoid: {avoid['title']}"}, "status": "not-started",
                               "doNotPerform": True, "description": text}}
        artifacts = related_artifacts(citations, avoid.get("citations", ()))
        if artifacts:
            activity["extension"] = artifacts
        activities.append(activity)
    if not activities:
        return None
    if plan is not None:
        activities += [_check_activity(plan, week.number, start) for week in plan.weeks]
    out: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "title": result.tier_title or result.headline,
        "description": result.headline,
        "subject": subject,
    }
    if plan is not None:
        out["period"] = {"start": instant(start), "end": instant(plan_text.plan_end(start, plan))}
    out.update({
        "created": instant(start),
        "supportingInfo": [{"reference": qr_url}],
        "activity": activities,
        "note": [*(_plan_notes(plan, citations) if plan is not None else []), {"text": _notice()}],
    })
    return out


def _recommendation_activity(recommendation: Mapping[str, Any], plan: Plan | None,
                             citations: Sequence[Mapping[str, Any]]) -> Resource:
    detail: Resource = {
        "code": _concept(names.RECOMMENDATIONS, recommendation["id"], recommendation["title"]),
        "status": "not-started",
    }
    cited: tuple[str, ...] = tuple(recommendation.get("citations", ()))
    weekly = plan_text.schedule(plan, recommendation["id"]) if plan is not None else None
    if plan is not None and weekly is not None:
        detail["scheduledString"] = weekly
        cited += plan_text.component_citations(plan, recommendation["id"])
    detail["description"] = activity_text(recommendation)
    activity: Resource = {"detail": detail}
    artifacts = related_artifacts(citations, cited)
    if artifacts:
        activity["extension"] = artifacts
    return activity


def _check_activity(plan: Plan, number: int, start: datetime) -> Resource:
    """A week's check, dated to that week: what to ask before moving on."""
    first, last = plan_text.week_span(start, number)
    return {"detail": {
        "code": {"text": f"Check at the end of week {number}"},
        "status": "not-started",
        "scheduledPeriod": {"start": instant(first), "end": instant(last)},
        "description": plan_text.check_text(plan, number),
    }}


def _plan_notes(plan: Plan, citations: Sequence[Mapping[str, Any]]) -> list[Resource]:
    numbers = {c["id"]: c["number"] for c in citations}

    def refs(ids: Iterable[str]) -> str:
        return "".join(f"[{n}]" for n in sorted({numbers[c] for c in ids}))

    out = []
    for text, cited in plan_text.plan_notes(plan, refs):
        note: Resource = {"text": text}
        artifacts = related_artifacts(citations, cited)
        if artifacts:
            note["extension"] = artifacts
        out.append(note)
    return out


def provenance(knowledge: Knowledge, when: str, targets: list[str]) -> Resource:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url in targets],
        "recorded": when,
        "agent": [{
            "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                       "assembler", "Assembler")]},
            "who": {"display": f"itb-triage {__version__}"},
        }],
        "entity": [{
            "role": "source",
            "what": {
                "identifier": {"system": names.KNOWLEDGE_VERSION_SYSTEM, "value": knowledge.version},
                "display": f"itb-triage knowledge and rules, version {knowledge.version}",
            },
        }],
    }


# --- shared pieces ------------------------------------------------------------------


def activity_text(recommendation: Mapping[str, Any]) -> str:
    """A recommendation as one text: what to do, then the dose exactly as the source gives it."""
    text = f"{recommendation['title']}. {recommendation['do']}"
    if recommendation.get("dose"):
        text += f" Dose: {recommendation['dose']}"
    return text


def notes(result: Result) -> list[Resource]:
    """The headline, each key reason, and the not-a-medical-device notice."""
    out = [{"text": result.headline}]
    out += [{"text": f"{reason.because} (rule {reason.rule})"} for reason in result.reasons]
    out.append({"text": _notice()})
    return out


def red_flag_concepts(result: Result) -> list[Resource]:
    return [_concept(names.RED_FLAGS, flag["id"], flag["name"]) for flag in result.red_flags]


def condition_concepts(result: Result, assessments: tuple[str, ...]) -> list[Resource]:
    return [_concept(names.CONDITIONS, c["id"], c["name"]) for c in result.conditions if c["assessment"] in assessments]


def related_artifacts(citations: Sequence[Mapping[str, Any]], citation_ids: Iterable[str]) -> list[Resource]:
    """Each cited source as a `cqf-relatedArtifact` extension, numbered as in `citations`
    (the result's, or the result's and its plan's)."""
    wanted = set(citation_ids)
    out = []
    for citation in citations:
        if citation["id"] in wanted:
            out.append({"url": names.EXT_RELATED_ARTIFACT, "valueRelatedArtifact": {
                "type": "citation",
                "label": str(citation["number"]),
                "display": f"{citation['id']} ({citation['status'].replace('_', ' ')})",
                "citation": citation["reference"],
            }})
    return out


def _concept(system: str, code: str, display: str) -> Resource:
    return {"coding": [coding(system, code, display)], "text": display}


def _notice() -> str:
    return NOT_A_MEDICAL_DEVICE
