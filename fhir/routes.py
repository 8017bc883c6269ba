"""The HTTP side of the FHIR door: a FastAPI router that `serve` mounts.

    app.include_router(fhir_router(triage, report=render_html_report))

- `GET  /fhir/Questionnaire/itb-triage`: the Questionnaire, adaptive through this server;
- `POST /fhir/Questionnaire/$next-question`: the SDC adaptive operation;
- `GET  /cds-services`: CDS Hooks discovery;
- `POST /cds-services/itb-triage`: the patient-view service (one card);
- `GET  /cds-services/itb-triage/report?case=...`: the report the card links to, when
  the app passes a `report` renderer (the report's wording belongs to the app's door).

Bad requests get 400 with a one-line message (an OperationOutcome on the FHIR routes),
a missing QuestionnaireResponse 412 as CDS Hooks says, a body over 1 MB 413.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from itb_triage.engine import Case, CaseError, Relevance, Triage

from . import adaptive, cds
from .questionnaire import questionnaire

MAX_BODY_BYTES = 1_000_000
FHIR_JSON = "application/fhir+json"

ReportRenderer = Callable[[Triage, Case], str]


def encode_case(case: Case) -> str:
    """A case as a URL-safe token (its JSON, base64url without padding)."""
    text = json.dumps(case.to_json(), separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_case(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise CaseError("case", "", "the case token is not base64url", "a link from a CDS Hooks card") from None


def fhir_router(triage: Triage | None = None, *, report: ReportRenderer | None = None,
                relevance: Relevance | None = None) -> APIRouter:
    """The routes over one Triage (made on first use if not given). `report(triage, case)`
    renders the HTML report that cards link to; without it cards carry no link.
    `relevance` is the analysis to share (`serve` passes the app's, with its cache).

    No engine lock here: the engine enters durable_rules under its own lock, and the
    relevance analysis keeps no state between calls, so requests may overlap. Engine work
    runs in the thread pool, never on the event loop.
    """
    router = APIRouter()
    made = threading.Lock()  # only for making the Triage once
    state: dict[str, Any] = {"triage": triage, "relevance": relevance}

    def engine() -> Triage:
        with made:
            if state["triage"] is None:
                state["triage"] = Triage()
            if state["relevance"] is None:
                state["relevance"] = Relevance(state["triage"].knowledge)
            built: Triage = state["triage"]
        return built

    @router.get("/fhir/Questionnaire/itb-triage", tags=["FHIR"], summary="The itb-triage Questionnaire")
    def get_questionnaire(request: Request) -> JSONResponse:
        server = str(request.url_for("next_question")).rsplit("/Questionnaire/", 1)[0]
        body = questionnaire(engine().knowledge, server)
        return JSONResponse(body, media_type=FHIR_JSON)

    @router.post("/fhir/Questionnaire/$next-question", name="next_question", tags=["FHIR"],
                 summary="SDC adaptive form: the next question, or the completed response with the outcome")
    async def next_question(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return _outcome(body)
        try:
            triage_ = engine()
            out = await run_in_threadpool(adaptive.next_question, triage_, body, relevance=state["relevance"])
        except (adaptive.RequestError, CaseError) as exc:
            return _operation_outcome(400, "invalid", _message(exc))
        return JSONResponse(out, media_type=FHIR_JSON)

    @router.get("/cds-services", tags=["CDS Hooks"], summary="CDS Hooks discovery")
    def discovery() -> JSONResponse:
        return JSONResponse(cds.discovery())

    @router.post(f"/cds-services/{cds.SERVICE_ID}", tags=["CDS Hooks"],
                 summary="patient-view: one card from the patient's QuestionnaireResponse")
    async def service(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        link = None
        if report is not None:
            base = request.url_for("itb_triage_report")

            def link(case: Case) -> str:
                return str(base.include_query_params(case=encode_case(case)))
        try:
            out = await run_in_threadpool(cds.cards, engine(), body, link)
        except (cds.RequestError, CaseError) as exc:
            return JSONResponse({"detail": _message(exc)}, status_code=400)
        except cds.MissingData as exc:
            return JSONResponse({"detail": str(exc)}, status_code=412)
        return JSONResponse(out)

    if report is not None:
        renderer = report

        @router.get(f"/cds-services/{cds.SERVICE_ID}/report", name="itb_triage_report", tags=["CDS Hooks"],
                    response_class=HTMLResponse, summary="The report a card links to")
        def report_page(case: str) -> HTMLResponse:
            try:
                triage_ = engine()
                checked = triage_.read_case(decode_case(case), "case")
                page = renderer(triage_, checked)
            except CaseError as exc:
                return HTMLResponse(f"<p>{html.escape(exc.one_line())}</p>", status_code=400)
            return HTMLResponse(page)

    return router


async def _json_body(request: Request) -> Any:
    """The parsed JSON body, or the JSONResponse (400, 413) that refuses it."""
    data = await request.body()
    if len(data) > MAX_BODY_BYTES:
        return JSONResponse({"detail": f"the body is {len(data):,} bytes; at most {MAX_BODY_BYTES:,}"},
                            status_code=413)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return JSONResponse({"detail": "the body is not JSON"}, status_code=400)


def _outcome(refusal: JSONResponse) -> JSONResponse:
    """A refusal of the FHIR routes, as an OperationOutcome."""
    detail = json.loads(bytes(refusal.body))["detail"]
    code = "too-costly" if refusal.status_code == 413 else "invalid"
    return _operation_outcome(refusal.status_code, code, detail)


def _operation_outcome(status: int, code: str, message: str) -> JSONResponse:
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": message}]}
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def _message(exc: Exception) -> str:
    return exc.one_line() if isinstance(exc, CaseError) else str(exc)
