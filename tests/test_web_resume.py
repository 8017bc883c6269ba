"""Resuming a saved interview in the browser fits it to the knowledge, as the terminal does.

An answer that no longer fits (a question the knowledge dropped, a value of the wrong
shape) is set aside into the record's `dropped`, never lost; the runner is told on the
next page, in the terminal's own words, and so is a change of knowledge version.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")

from fastapi.testclient import TestClient

from itb_triage.cli.report import build_report
from itb_triage.engine import FileLock, Triage, fit_to_knowledge, knowledge_changed
from itb_triage.engine.interview import Interview, InterviewState
from itb_triage.engine.interview_store import SessionRecord, SessionStore
from itb_triage.web.app import create_app
from itb_triage.web.security import SESSION_COOKIE

from .webclient import csrf, current_question, walk

OLDER_KNOWLEDGE = "an-older-knowledge"
NOTES = re.compile(r'<div class="inset" role="status" aria-labelledby="notes-title">(.*?)</div>', re.S)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def client(triage: Triage, home: Path) -> Any:
    with TestClient(create_app(triage, SessionStore(), report=build_report), follow_redirects=False) as test_client:
        yield test_client


def _unknown_question(triage: Triage, stem: str = "retired_question") -> str:
    """A question id the knowledge does not have (as after an update that dropped one)."""
    name = stem
    while name in triage.knowledge.questions:
        name += "_x"
    return name


def _saved(triage: Triage, answers: dict[str, Any], version: str | None = None,
           skipped: list[str] | None = None) -> SessionRecord:
    store = SessionStore()
    skipped = skipped or []
    record = store.new(InterviewState(answers=dict(answers), skipped=skipped, history=[*answers, *skipped]),
                       version or triage.knowledge.version)
    store.save(record)
    return record


def _what_the_terminal_notes(triage: Triage, record: SessionRecord) -> list[str]:
    """The notes `itb-triage interview --resume` prints for this record, without "Note: "."""
    fitted = copy.deepcopy(record)
    changed = knowledge_changed(fitted, triage.knowledge)
    return [*([changed] if changed else []), *fit_to_knowledge(fitted, triage.knowledge)]


def _notes(page_html: str) -> list[str]:
    """The notes the page shows, as text (empty if it shows none)."""
    block = NOTES.search(page_html)
    if block is None:
        return []
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def _said(notes: list[str]) -> list[str]:
    """Notes as the page words them: a capital first letter and a full stop."""
    return [f"{note[:1].upper()}{note[1:]}." for note in notes]


def _resume(client: Any, session_id: str) -> Any:
    page = client.get("/")
    return client.post("/resume", data={"csrf": csrf(page.text), "session_id": session_id}, follow_redirects=True)


def _first_question(triage: Triage) -> str:
    question = Interview(triage, InterviewState()).next_question()
    assert question is not None
    return question


def test_a_resumed_session_with_an_unknown_question_sets_it_aside_says_so_and_reaches_the_result(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    first = _first_question(triage)
    kept = {first: classic_answers[first]}
    stale = _unknown_question(triage)
    record = _saved(triage, {**kept, stale: "yes"})
    expected = _what_the_terminal_notes(triage, record)
    assert len(expected) == 1 and stale in expected[0]

    resumed = _resume(client, record.id)
    assert resumed.status_code == 200 and resumed.url.path == "/interview"
    assert current_question(resumed.text) is not None
    assert _notes(resumed.text) == _said(expected)
    saved = SessionStore().load(record.id)
    assert saved.dropped == {stale: "yes"}
    assert saved.state.answers == kept and stale not in saved.state.history

    again = client.get("/interview")  # told once
    assert again.status_code == 200 and _notes(again.text) == []
    seen = walk(client, classic_answers, page=again)
    assert seen.final_url.endswith("/result") and seen.statuses[-1] == 200
    assert client.get("/result").status_code == 200
    finished = SessionStore().load(record.id)
    assert finished.finished and finished.dropped == {stale: "yes"}
    assert first not in seen.asked  # the kept answer was used, not asked again


def test_an_answer_of_the_wrong_shape_is_set_aside_and_its_question_asked_again(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    first = _first_question(triage)
    record = _saved(triage, {first: {"a": 1}})
    expected = _what_the_terminal_notes(triage, record)

    resumed = _resume(client, record.id)
    assert resumed.status_code == 200
    assert _notes(resumed.text) == _said(expected) and len(expected) == 1
    assert current_question(resumed.text) == first
    saved = SessionStore().load(record.id)
    assert saved.dropped == {first: {"a": 1}} and saved.state.answers == {}
    seen = walk(client, classic_answers, page=resumed)
    assert seen.final_url.endswith("/result") and seen.statuses[-1] == 200


def test_a_changed_knowledge_version_is_noted_on_resume_as_at_the_terminal(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    first = _first_question(triage)
    record = _saved(triage, {first: classic_answers[first]}, version=OLDER_KNOWLEDGE)
    expected = _what_the_terminal_notes(triage, record)
    assert len(expected) == 1

    resumed = _resume(client, record.id)
    assert resumed.status_code == 200
    (note,) = _notes(resumed.text)
    assert note == _said(expected)[0]
    assert f"({OLDER_KNOWLEDGE} -> {triage.knowledge.version})" in note
    assert SessionStore().load(record.id).state.answers == {first: classic_answers[first]}


def test_a_resume_that_ends_the_interview_shows_the_notes_on_the_result(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    state = InterviewState(answers=dict(classic_answers), history=list(classic_answers))
    interview = Interview(triage, state)
    while (question := interview.next_question()) is not None:
        interview.skip(question)
    stale = _unknown_question(triage)
    record = _saved(triage, {**state.answers, stale: 3}, skipped=state.skipped)
    expected = _what_the_terminal_notes(triage, record)

    resumed = _resume(client, record.id)
    assert resumed.status_code == 200 and resumed.url.path == "/result"
    assert _notes(resumed.text) == _said(expected)
    assert SessionStore().load(record.id).dropped == {stale: 3}


def test_the_session_cookie_alone_also_fits_the_session_and_says_so_once(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    """A browser already in an interview when the app restarts with other knowledge: no
    resume is posted, and the page fits, saves and tells all the same."""
    first = _first_question(triage)
    stale = _unknown_question(triage)
    record = _saved(triage, {first: classic_answers[first], stale: "yes"})
    expected = _what_the_terminal_notes(triage, record)
    client.cookies.set(SESSION_COOKIE, record.id)

    shown = client.get("/interview")
    assert shown.status_code == 200 and _notes(shown.text) == _said(expected)
    assert SessionStore().load(record.id).dropped == {stale: "yes"}
    seen = walk(client, classic_answers, page=shown)
    assert seen.final_url.endswith("/result") and seen.statuses[-1] == 200
    assert all(_notes(client.get(path).text) == [] for path in ("/interview", "/result"))


def test_while_the_terminal_has_it_open_the_page_fits_what_it_shows_and_leaves_the_file(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    first = _first_question(triage)
    stale = _unknown_question(triage)
    record = _saved(triage, {first: classic_answers[first], stale: "yes"})
    client.cookies.set(SESSION_COOKIE, record.id)
    store = SessionStore()
    before = store.path(record.id).read_bytes()
    terminal = FileLock(store.root / f".{record.id}.lock")
    terminal.acquire()
    try:
        shown = client.get("/interview")
        assert shown.status_code == 200 and _notes(shown.text) == _said(_what_the_terminal_notes(triage, record))
        assert store.path(record.id).read_bytes() == before  # the terminal fits it when it resumes
    finally:
        terminal.release()


def test_the_api_leaves_out_what_does_not_fit_and_says_why(client: Any, triage: Triage,
                                                          classic_answers: dict[str, Any]) -> None:
    first = _first_question(triage)
    stale = _unknown_question(triage)
    record = _saved(triage, {first: classic_answers[first], stale: "yes"})
    before = SessionStore().path(record.id).read_bytes()
    body = client.get(f"/api/sessions/{record.id}").json()
    assert body["answers"] == {first: classic_answers[first]}
    assert body["set_aside"] == _what_the_terminal_notes(triage, record)
    assert SessionStore().path(record.id).read_bytes() == before  # reading through the API changes nothing


def test_a_set_aside_answer_full_of_markup_is_escaped(client: Any, triage: Triage) -> None:
    hostile = "<script>alert(1)</script>"
    record = _saved(triage, {hostile: "<img src=x onerror=alert(1)>"})
    resumed = _resume(client, record.id)
    assert resumed.status_code == 200
    assert "<script>alert(1)" not in resumed.text and "<img" not in resumed.text
    (note,) = _notes(resumed.text)
    assert "alert(1)" in note and "answer set aside" in note
    assert SessionStore().load(record.id).dropped == {hostile: "<img src=x onerror=alert(1)>"}
