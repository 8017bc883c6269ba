"""The result in the browser: the care card, the plan, the reasoning, the report to download.

The card is the shared summary (engine/summary.py), the same one the terminal shows;
the reasoning is the engine's explanation, why-not and what-if; the downloads are the
report `itb-triage report` writes. Nothing is decided or worded here.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from itb_triage.engine import (
    Case,
    Interview,
    Labels,
    QueryError,
    Result,
    SessionError,
    SessionRecord,
    build_plan,
    explain,
    summarise,
    what_if,
    why_not,
)

from .context import SessionInUse, UnknownSession, WebContext
from .pages import NoSession, context, current_record, page, redirect
from .reasoning import (
    CARD_NAMES,
    critical_links,
    fact_label,
    question_answer,
    recommendations_view,
    why_not_links,
)
from .reports import download_name, report

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def _finished(request: Request) -> tuple[WebContext, SessionRecord, Interview, Case]:
    """This browser's interview, which must be over (else NoSession or a redirect)."""
    ctx = context(request)
    record = current_record(request)
    interview = ctx.interview(record.state)
    if interview.next_question() is not None:
        raise HTTPException(409, "The interview is not finished yet: answer the next question first.")
    return ctx, record, interview, interview.case(record.case_id or record.id)


@router.get("/result")
def result_page(request: Request) -> Response:
    try:
        ctx, record, _, case = _finished(request)
    except NoSession:
        return redirect("/")
    except HTTPException as exc:
        if exc.status_code == 409:
            return redirect("/interview")
        raise
    result = ctx.result(case)
    if not record.finished:
        _mark_finished(ctx, record.id)
        record.finished = True
    knowledge = ctx.triage.knowledge
    explanation = explain(knowledge, result)
    plan = build_plan(knowledge, result)
    summary = summarise(result, knowledge)
    return page(request, "result.html", {
        "result": result,
        "record": record,
        "summary": summary,
        "card_name": CARD_NAMES.get(summary.card, ""),
        "recommendations": recommendations_view(result, knowledge),
        "plan": plan,
        "explanation": explanation,
        "fact_label": lambda fact: fact_label(knowledge, fact),
        "critical": critical_links(result, knowledge),
        "why_not": why_not_links(result, knowledge),
        "answers": [question_answer(knowledge, q, v) for q, v in result.answers.items()],
        "reports": ctx.report is not None,
        "resume_notes": ctx.notes(record.id),
    })


def _mark_finished(ctx: WebContext, session_id: str) -> None:
    """Mark the saved interview finished, under its lock. The answers are saved already: if
    the terminal has the interview open, or the mark cannot be saved, only the mark is lost."""
    with contextlib.suppress(SessionInUse, UnknownSession, SessionError), ctx.changing(session_id) as record:
        if not record.finished and ctx.interview(record.state).next_question() is None:
            record.finished = True
            ctx.store.save(record)


@router.get("/result/report.{fmt}")
def download(request: Request, fmt: str) -> Response:
    """The report `itb-triage report` writes, as a file to keep: .html or .md; or the case, .json."""
    if fmt not in ("html", "md", "json"):
        raise HTTPException(404, "There is a report as .html or .md, and the answers as .json.")
    try:
        ctx, record, _, case = _finished(request)
    except NoSession:
        return redirect("/")
    made = report(ctx.report, ctx.triage, case, ctx.result(case), fmt)
    if made is None:
        raise HTTPException(404, "This app was started without the report writer; `itb-triage serve` has it.")
    body, media = made
    return Response(body.encode("utf-8"), media_type=media,
                    headers={"content-disposition": f'attachment; filename="{download_name(record, fmt)}"'})


@router.get("/result/why-not")
def why_not_page(request: Request, target: Annotated[str, Query(max_length=200)]) -> Response:
    """Why the result does not show something: the engine's why-not analysis."""
    try:
        ctx, _, _, case = _finished(request)
    except NoSession:
        return redirect("/")
    result = ctx.result(case)
    knowledge = ctx.triage.knowledge
    try:
        answers = why_not(knowledge, result, target)
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    labels = Labels(knowledge)
    return page(request, "whynot.html", {"target": target, "answers": answers, "result": result,
                                         "knowledge": knowledge, "fact_label": lambda f: fact_label(knowledge, f),
                                         "urgency": labels.disposition,
                                         "change_text": lambda c: question_answer(knowledge, c.question, c.after)})


@router.get("/result/what-if")
def what_if_page(request: Request, change: Annotated[list[str], Query(max_length=20)]) -> Response:
    """The result again with changed answers, through the same engine, and what differs."""
    try:
        ctx, _, _, case = _finished(request)
    except NoSession:
        return redirect("/")
    before: Result = ctx.result(case)
    knowledge = ctx.triage.knowledge
    if any(len(c) > 500 for c in change):
        raise HTTPException(422, "A what-if change is QUESTION=VALUE, a few words long.")
    try:
        comparison = what_if(ctx.triage, case, change, before)
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    titles: dict[str, Any] = {"recommendations": knowledge.recommendations, "avoid": knowledge.avoid,
                              "red_flags": knowledge.red_flags}
    differences = {
        field: {"added": [_title(titles[field][i]) for i in comparison.added(field)],
                "removed": [_title(titles[field][i]) for i in comparison.removed(field)]}
        for field in titles
    }
    summaries = (summarise(comparison.before, knowledge), summarise(comparison.after, knowledge))
    return page(request, "whatif.html", {
        "comparison": comparison, "differences": differences, "knowledge": knowledge, "summaries": summaries,
        "tier_label": lambda tier: Labels(knowledge).tier(tier) if tier else "none",
        "changes": [question_answer(knowledge, c.question, c.after) for c in comparison.changes],
        "conditions": [(knowledge.conditions[c]["name"], b, a) for c, b, a in comparison.conditions_changed()],
    })


def _title(entry: Any) -> str:
    return str(entry.get("title") or entry.get("name") or entry.get("id", ""))
