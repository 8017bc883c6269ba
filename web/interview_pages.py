"""The interview in the browser: one question per page, server-rendered, working without JavaScript.

Every form posts to `/interview` with an action (answer, skip, back, save, continue)
and is answered with a redirect back to `/interview` (post/redirect/get), which shows
whatever comes next: a question, the emergency interruption card, or the result. Every
change is saved to the store before the redirect, like every answer at the terminal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from itb_triage.engine import URGENT, AnswerError, Interview, SessionError, SessionRecord, summarise

from .context import WebContext
from .pages import (
    NoSession,
    changing,
    check_csrf,
    clear_session,
    context,
    current_record,
    current_session_id,
    page,
    redirect,
    set_session,
)
from .reasoning import CARD_NAMES
from .views import form_text, range_hint, why_groups

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ACTIONS = ("answer", "skip", "back", "save", "continue")


@router.get("/")
def start_page(request: Request) -> Response:
    """The first page: what this is, start, or resume a saved interview."""
    try:
        record: SessionRecord | None = current_record(request)
    except (NoSession, HTTPException):
        record = None
    return page(request, "start.html", {"record": record if record is not None and not record.finished else None})


@router.post("/start")
async def start(request: Request) -> Response:
    check_csrf(request, await request.form())
    # The save (fsync) runs in the thread pool: on the event loop it would stall every request.
    result: Response = await run_in_threadpool(_start, request)
    return result


def _start(request: Request) -> Response:
    ctx = context(request)
    try:
        with ctx.creating() as record:
            _save(ctx, record)
    except SessionError as exc:  # the store's folder cannot be used
        raise HTTPException(503, f"Your interview could not be saved: {exc}. Try again.") from None
    response = redirect("/interview")
    set_session(response, record)
    return response


@router.post("/resume")
async def resume(request: Request) -> Response:
    """Open a saved interview by its id, from the browser or from `itb-triage interview`."""
    form = await request.form()
    check_csrf(request, form)
    result: Response = await run_in_threadpool(_resume, request, str(form.get("session_id", "")).strip())
    return result


def _resume(request: Request, session_id: str) -> Response:
    ctx = context(request)
    try:
        # Fitted to the knowledge under the lock, as the terminal resumes it; the fit is saved
        # with it, and the next page says what was set aside.
        with changing(ctx, session_id, resuming=True) as record:
            record.finished = False
            _save(ctx, record)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "No saved interview has that id. `itb-triage sessions list` shows them.") from None
        raise
    response = redirect("/interview")
    set_session(response, record)
    return response


@router.get("/interview")
def interview_page(request: Request) -> Response:
    try:
        record = current_record(request)
    except NoSession:
        return redirect("/")
    return _show(request, record)


@router.post("/interview")
async def interview_action(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    try:
        session_id = current_session_id(request)
    except NoSession:
        return redirect("/")
    action = str(form.get("action", "answer"))
    if action not in ACTIONS:
        raise HTTPException(400, f"Unknown action '{action[:40]}'.")
    posted = {"question": str(form.get("question", "")), "values": [str(v) for v in form.getlist("value")]}
    result: Response = await run_in_threadpool(_act, request, session_id, action, posted)
    return result


def _act(request: Request, session_id: str, action: str, posted: dict[str, Any]) -> Response:
    """One change to the interview, made and saved under the session's lock."""
    ctx = context(request)
    with changing(ctx, session_id) as record:
        interview = ctx.interview(record.state)
        if action == "save":
            _save(ctx, record)
            response = page(request, "saved.html", {"record": record})
            clear_session(response)
            return response
        if action == "back":
            interview.back()
            record.finished = False
        elif action == "continue":
            interview.continue_for_full_record()
        else:
            question = interview.next_question()
            if question is None or posted["question"] != question:
                return redirect("/interview")  # a page out of date (a second tab, the browser's back)
            if action == "skip":
                interview.skip(question)
            else:
                error = _answer(interview, question, posted["values"])
                if error:
                    return _question_page(request, record, interview, question, error)
        _save(ctx, record)
    return redirect("/interview")


def _answer(interview: Interview, question: str, values: list[str]) -> str:
    """Record the answer; or return what to tell the runner, as the terminal would."""
    entry = interview.knowledge.questions[question]
    text = form_text(entry, values)
    if not text.strip():
        what = "Type a number" if entry["type"] in ("integer", "number") else "Choose an answer"
        return f"{what}, or press Skip this question."
    try:
        value = interview.parse(question, text)
    except AnswerError as exc:
        return f"Sorry: {exc}."
    interview.answer(question, value)
    return ""


def _show(request: Request, record: SessionRecord) -> Response:
    ctx = context(request)
    interview = ctx.interview(record.state)
    question = interview.next_question()
    urgent = interview.urgent_disposition()
    if question is None and urgent == "emergency" and not record.state.full_record:
        return _emergency_page(request, ctx, record, interview)
    if question is None:
        return redirect("/result")
    return _question_page(request, record, interview, question, "")


def _emergency_page(request: Request, ctx: WebContext, record: SessionRecord, interview: Interview) -> Response:
    """The interruption card: the shared summary of the result so far, and nothing else to do.

    Without the critical answers: the card does not show them, and must not wait for them."""
    result = ctx.result(interview.case(record.case_id or record.id), critical=False)
    summary = summarise(result, ctx.triage.knowledge)
    return page(request, "emergency.html", {"summary": summary, "card_name": CARD_NAMES.get(summary.card, ""),
                                            "resume_notes": ctx.notes(record.id)})


def _question_page(request: Request, record: SessionRecord, interview: Interview, question: str,
                   error: str) -> Response:
    """One question."""
    knowledge = interview.knowledge
    entry = knowledge.questions[question]
    sections = {s["id"]: s for s in knowledge.sections}
    urgent = interview.urgent_disposition()
    values: dict[str, Any] = {
        "question": question,
        "entry": entry,
        "section": sections[entry["section"]],
        "number": len(record.state.history) + 1,
        "range_hint": range_hint(entry) if entry["type"] not in ("choice", "multi") else "",
        "why": why_groups(interview.why(question)),
        "error": error,
        "can_go_back": bool(record.state.history),
        "urgent": _urgent_values(interview, urgent) if urgent in URGENT else None,
        "resume_notes": context(request).notes(record.id),
    }
    return page(request, "question.html", values, status=422 if error else 200)


def _urgent_values(interview: Interview, disposition: str) -> dict[str, Any]:
    """The urgent advice and the warning signs behind it, as the terminal announces them."""
    knowledge = interview.knowledge
    flags = [knowledge.red_flags[f.id] for f in interview.analysis().settled("red_flag")]
    return {
        "disposition": disposition,
        "entry": knowledge.dispositions[disposition],
        "flags": [f for f in flags if f["urgency"] in URGENT],
    }


def _save(ctx: WebContext, record: SessionRecord) -> None:
    """Save before answering: a lost answer is worse than an error page."""
    try:
        ctx.store.save(record)
    except SessionError as exc:
        raise HTTPException(503, f"Your answers could not be saved: {exc}. Nothing was lost before this "
                                 "answer; try again.") from None
