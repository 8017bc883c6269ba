"""The JSON API for other programs: assess a case, step an interview, list the questions.

Bodies are read as bytes and checked by the engine, exactly as `assess` checks a file,
so a bad case gets the CLI's own one-line message (HTTP 422, `{"error": "..."}`), and
`POST /api/assess` answers with the bytes `assess --format json` prints.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from itb_triage.engine import CaseError, EngineError, InterviewState, Knowledge, check_case, printable, read_case_text

from .context import UnknownSession, WebContext
from .pages import context
from .views import question_json, why_json

BODY_NAME = "request body"  # where a bad body is, in its one-line error


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _case_body_schema(knowledge: Knowledge) -> dict[str, Any]:
    """The case contract as an OpenAPI 3.1 schema (its own `$id` and `$schema` dropped)."""
    schema = copy.deepcopy(dict(knowledge.case_schema))
    schema.pop("$id", None)
    schema.pop("$schema", None)
    return schema


def openapi_bodies(knowledge: Knowledge) -> dict[str, dict[str, Any]]:
    """requestBody documents for the routes that read their body themselves."""
    case = _case_body_schema(knowledge)
    answers = case["properties"]["answers"]
    step = {
        "type": "object",
        "required": ["answers"],
        "additionalProperties": False,
        "properties": {
            "answers": answers,
            "skipped": {"type": "array", "items": {"enum": list(knowledge.questions)}, "uniqueItems": True},
        },
    }
    return {
        "assess": {"required": True, "content": {"application/json": {"schema": case}}},
        "next": {"required": True, "content": {"application/json": {"schema": step}}},
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The body is over 1 MB."},
    422: {"description": "The body is not a case: one line saying where and what was expected.",
          "content": {"application/json": {"example": {"error": "request body: $.answers.side: ..."}}}},
}


def api_router(knowledge: Knowledge) -> APIRouter:
    """The API routes, documented with this knowledge's case contract."""
    router = APIRouter(prefix="/api", tags=["api"])
    bodies = openapi_bodies(knowledge)

    @router.post("/assess", summary="Assess one case", responses={
        200: {"description": "The result: byte for byte what `itb-triage assess --format json` prints.",
              "content": {"application/json": {}}},
        **ERRORS,
    }, openapi_extra={"requestBody": bodies["assess"]})
    async def assess_case(request: Request) -> Response:
        """A case file's content (JSON, or YAML) in; the contract's result JSON out."""
        data = await request.body()
        ctx = context(request)
        try:
            # Checking the case is engine work too: off the event loop, like the run.
            result = await run_in_threadpool(lambda: ctx.result(ctx.triage.read_case(data, BODY_NAME)))
        except CaseError as exc:
            return error(422, exc.one_line())
        except EngineError as exc:
            return error(500, f"{BODY_NAME}: the rule engine failed: {printable(str(exc))}")
        return Response(result.to_json_text().encode("utf-8"), media_type="application/json")

    @router.post("/interview/next", summary="The next question, or the result", responses={
        200: {"description": "`{\"done\": false, \"question\": {...}}` with the question's id, text, choices, "
                             "unit and why; or `{\"done\": true, \"result\": {...}}` with the result."},
        **ERRORS,
    }, openapi_extra={"requestBody": bodies["next"]})
    async def interview_next(request: Request) -> Response:
        """The answers so far (and the questions skipped) in; what to ask next, or the result, out.

        The same interview as `itb-triage interview`: only questions whose answer can
        still change the outcome; an emergency answer ends it at once.
        """
        ctx = context(request)
        data = await request.body()
        try:
            state = await run_in_threadpool(_state, data, ctx.triage.knowledge)
        except CaseError as exc:
            return error(422, exc.one_line())
        try:
            return JSONResponse(await run_in_threadpool(_step, ctx, state))
        except EngineError as exc:
            return error(500, f"{BODY_NAME}: the rule engine failed: {printable(str(exc))}")

    @router.get("/questions", summary="Every question the interview can ask")
    def questions(request: Request) -> dict[str, Any]:
        """The questions in interview order, with their choices, units and ranges."""
        knowledge = context(request).triage.knowledge
        return {
            "knowledge_version": knowledge.version,
            "sections": [{"id": s["id"], "title": s["title"], "intro": s.get("intro", "")}
                         for s in knowledge.sections],
            "questions": [question_json(knowledge, q) for q in knowledge.questions],
        }

    @router.get("/sessions/{session_id}", summary="A saved interview", responses={
        404: {"description": "No saved interview has this id."}})
    def session(request: Request, session_id: str) -> Response:
        """A saved interview (from the browser or `itb-triage interview`): its answers and next question.

        Answers that no longer fit the questions are left out, and `set_aside` says why,
        one line each, as `itb-triage interview --resume` notes them."""
        ctx = context(request)
        try:
            # Fitted to the knowledge as a resume would fit it; the file is left as it is.
            record, set_aside = ctx.read(session_id)
        except UnknownSession:
            return error(404, f"no saved interview '{printable(session_id)[:80]}'")
        question = ctx.interview(record.state).next_question()
        return JSONResponse({"id": record.id, "finished": record.finished, "answers": record.state.answers,
                             "skipped": record.state.skipped, "next_question": question,
                             "set_aside": set_aside})

    return router


def _step(ctx: WebContext, state: InterviewState) -> dict[str, Any]:
    interview = ctx.interview(state)
    question = interview.next_question()
    urgent = interview.urgent_disposition()
    why = interview.why(question) if question is not None else []
    if question is not None:
        return {"done": False, "urgent": urgent,
                "question": question_json(ctx.triage.knowledge, question) | {"why": why_json(why)}}
    result = ctx.result(interview.case())
    return {"done": True, "urgent": urgent, "result": json.loads(result.to_json_text())}


def _state(data: bytes, knowledge: Knowledge) -> InterviewState:
    """An interview state from `{"answers": {...}, "skipped": [...]}`, checked like a case."""
    document = read_case_text(data, BODY_NAME)
    if not isinstance(document, Mapping):
        raise CaseError(BODY_NAME, "", "the body is not an object", "an object with 'answers' (and 'skipped')")
    extra = sorted(set(document) - {"answers", "skipped"})
    if extra:
        raise CaseError(BODY_NAME, f"$.{printable(str(extra[0]))}", "is not a field of this request",
                        "only 'answers' and 'skipped'")
    if "answers" not in document:
        raise CaseError(BODY_NAME, "", "'answers' is missing", "an object with 'answers' (and 'skipped')")
    case = check_case({"format": "itb-case/1", "answers": document["answers"]}, BODY_NAME, knowledge)
    skipped = document.get("skipped", [])
    if not isinstance(skipped, list):
        raise CaseError(BODY_NAME, "$.skipped", "is not a list", "a list of question ids")
    for index, question in enumerate(skipped):
        if not isinstance(question, str) or question not in knowledge.questions:
            raise CaseError(BODY_NAME, f"$.skipped[{index}]", f"{printable(repr(question))[:60]} is not a question",
                            "a question id (GET /api/questions lists them)")
        if question in case.answers:
            raise CaseError(BODY_NAME, f"$.skipped[{index}]", f"'{question}' is answered", "only unanswered questions")
    skipped = list(dict.fromkeys(skipped))
    return InterviewState(answers=dict(case.answers), skipped=skipped, history=[*case.answers, *skipped])
