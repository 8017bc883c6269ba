"""`itb-triage serve`'s app through FastAPI's TestClient: every route, every error status, the security.

The browser tests (a real Chromium) are in test_web_browser.py; these drive the same
pages as plain HTTP, which is how the app behaves with JavaScript off.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")

from fastapi.testclient import TestClient

from itb_triage.cli.main import cli
from itb_triage.cli.report import build_report
from itb_triage.engine import FileLock, Triage
from itb_triage.engine.interview import Interview, InterviewState
from itb_triage.engine.interview_store import SessionStore
from itb_triage.engine.summary import summarise
from itb_triage.web.app import create_app
from itb_triage.web.security import CSRF_COOKIE, SESSION_COOKIE

from .conftest import DATA, VIGNETTES, vignette
from .webclient import answer, csrf, current_question, start, step, walk

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.*"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One session store for the app and the CLI, as on a runner's machine."""
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def client(triage: Triage, home: Path) -> Any:
    with TestClient(create_app(triage, SessionStore(), report=build_report), follow_redirects=False) as test_client:
        yield test_client


def _cli_assess_json(runner: Any, case: dict[str, Any]) -> str:
    outcome = runner.invoke(cli, ["assess", "-", "--format", "json"], input=json.dumps(case))
    assert outcome.exit_code == 0, outcome.output
    return str(outcome.stdout)


def _by_disposition(triage: Triage, wanted: str) -> list[dict[str, Any]]:
    """The worked cases whose result is `wanted`, found by assessing them (the knowledge changes)."""
    cases = [vignette(path)["case"] for path in VIGNETTES]
    return [c for c in cases if triage.assess(triage.read_case(json.dumps(c).encode(), "v")).disposition == wanted]


def _two_answers(triage: Triage, question: str) -> tuple[list[str], list[str]]:
    """Two different valid answers to a question, as form values (from the knowledge)."""
    entry = triage.knowledge.questions[question]
    if entry["type"] in ("choice", "multi"):
        ids = [str(v["id"]) for v in entry["values"]]
        return [ids[0]], [ids[1]]
    return [str(entry["minimum"])], [str(entry["maximum"])]


def _stored(triage: Triage, question: str, values: list[str]) -> Any:
    """What the interview records for those form values (the terminal's own parser)."""
    entry = triage.knowledge.questions[question]
    return Interview(triage).parse(question, ",".join(values) if entry["type"] == "multi" else values[0])


def _set_cookie_headers(response: Any) -> list[str]:
    return [value for name, value in response.headers.multi_items() if name == "set-cookie"]


# --- the interview pages --------------------------------------------------------------


def test_the_first_page_offers_start_and_resume_and_sets_a_strict_csrf_cookie(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'action="/start"' in page.text and 'action="/resume"' in page.text
    (cookie,) = _set_cookie_headers(page)
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_starting_sets_an_unguessable_httponly_strict_session_cookie(client: Any) -> None:
    page = client.get("/")
    started = client.post("/start", data={"csrf": csrf(page.text)})
    assert started.status_code == 303 and started.headers["location"] == "/interview"
    (cookie,) = _set_cookie_headers(started)
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    session_id = client.cookies[SESSION_COOKIE]
    assert len(session_id.rsplit("-", 1)[1]) >= 16  # 64 random bits after the time stamp


def test_the_first_question_is_the_first_the_terminal_interview_asks(client: Any, triage: Triage) -> None:
    page = start(client)
    expected = Interview(triage, InterviewState()).next_question()
    assert current_question(page.text) == expected
    entry = triage.knowledge.questions[expected]
    assert entry["text"] in page.text.replace("&#39;", "'")
    assert "Why are we asking?" in page.text and "Save and leave" in page.text
    kind = {"choice": "radio", "multi": "checkbox"}[entry["type"]]
    for number, option in enumerate(entry["values"], start=1):
        assert f'type="{kind}" id="answer-{number}" name="value" value="{option["id"]}"' in page.text
        assert f'<label class="choice-label" for="answer-{number}">{option["label"]}</label>' in page.text.replace(
            "&#39;", "'")


@pytest.mark.parametrize("path", [p for p in VIGNETTES if p.name.startswith(("v01", "v11", "v18"))],
                         ids=lambda p: p.stem)
def test_a_runner_clicking_through_gets_what_assess_gives_for_the_saved_case(
        client: Any, runner: Any, path: Path) -> None:
    answers = vignette(path)["case"]["answers"]
    seen = walk(client, answers)
    assert seen.final_url.endswith("/result"), seen.final_url
    assert len(seen.asked) == len(set(seen.asked))
    case = client.get("/result/report.json")
    assert case.status_code == 200 and "attachment" in case.headers["content-disposition"]
    saved = json.loads(case.text)
    via_api = client.post("/api/assess", content=case.text)
    assert via_api.text == _cli_assess_json(runner, saved)
    for question, value in saved["answers"].items():  # the case holds what was clicked, normalised
        assert sorted(value) == sorted(answers[question]) if isinstance(value, list) else value == answers[question]
    result = json.loads(via_api.text)
    card = re.search(r'class="care-card care-card--(\w+)"', seen.final_html)
    assert card and (card.group(1) == "immediate") == (result["disposition"] == "emergency")


def test_the_result_page_shows_the_shared_summary_card_in_words_as_well_as_colour(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    seen = walk(client, classic_answers)
    saved = json.loads(client.get("/result/report.json").text)
    summary = summarise(triage.assess(triage.read_case(json.dumps(saved).encode(), "c")), triage.knowledge)
    html = seen.final_html.replace("&#39;", "'").replace("&amp;", "&")
    assert f"care-card--{summary.card}" in html
    assert re.search(r'<span class="visually-hidden">[^<]+: </span>', html), "no screen-reader urgency text"
    assert summary.urgency in html and summary.where in html and summary.cause in html
    for item in summary.this_week:
        assert item.label in html
    for heading in ("The reasoning behind each conclusion", "Your plan", "Take it with you"):
        assert heading in html
    assert html.count("<details") >= 3


def test_an_emergency_answer_interrupts_at_once_with_the_emergency_card(client: Any, triage: Triage) -> None:
    cases = _by_disposition(triage, "emergency")
    assert cases, "no worked case is an emergency"
    for case in cases:
        client.cookies.clear()
        seen = walk(client, case["answers"])
        assert seen.final_url.endswith("/interview"), "the emergency card shows in place of the next question"
        assert 'class="interruption"' in seen.final_html
        assert '<span class="visually-hidden">Immediate action required: </span>' in seen.final_html
        saved = client.get("/result/report.json").text  # the answers so far, as a case
        summary = summarise(triage.assess(triage.read_case(saved.encode(), "so far")), triage.knowledge)
        text = seen.final_html.replace("&#39;", "'").replace("&amp;", "&")
        assert summary.card == "immediate" and summary.urgency in text and summary.where in text
        # At once: the answers so far already settle the emergency, and one fewer did not.
        answered = {q: case["answers"][q] for q in seen.asked if q in case["answers"]}
        state = InterviewState(answers=dict(answered), history=list(answered))
        assert Interview(triage, state).urgent_disposition() == "emergency"
        before = dict(answered)
        before.pop(seen.asked[-1], None)
        assert Interview(triage, InterviewState(answers=before)).urgent_disposition() != "emergency"
        full = client.get("/result")
        assert full.status_code == 200 and "care-card--immediate" in full.text


def test_after_the_emergency_card_a_runner_may_go_on_for_a_fuller_record(client: Any, triage: Triage) -> None:
    case = _by_disposition(triage, "emergency")[0]
    seen = walk(client, case["answers"])
    assert 'class="interruption"' in seen.final_html
    answered = len(SessionStore().load(client.cookies[SESSION_COOKIE]).state.history)
    onwards = client.post("/interview", data={"csrf": csrf(seen.final_html), "action": "continue"},
                          follow_redirects=True)
    record = SessionStore().load(client.cookies[SESSION_COOKIE])
    assert record.state.full_record and len(record.state.history) == answered
    state = InterviewState(dict(record.state.answers), list(record.state.skipped), list(record.state.history), True)
    expected = Interview(triage, state).next_question()
    assert current_question(onwards.text) == expected
    if expected is None:
        assert onwards.url.path == "/result"


def test_back_undoes_the_last_answer_and_asks_it_again(client: Any, triage: Triage) -> None:
    page = start(client)
    first = current_question(page.text)
    assert first is not None and 'value="back"' not in page.text
    one, other = _two_answers(triage, first)
    page = answer(client, page.text, first, one)
    second = current_question(page.text)
    assert second != first and 'value="back"' in page.text
    assert SessionStore().load(client.cookies[SESSION_COOKIE]).state.answers == {first: _stored(triage, first, one)}
    page = client.post("/interview", data={"csrf": csrf(page.text), "action": "back"}, follow_redirects=True)
    assert current_question(page.text) == first
    page = answer(client, page.text, first, other)
    record = SessionStore().load(client.cookies[SESSION_COOKIE])
    assert record.state.answers == {first: _stored(triage, first, other)}


def test_a_wrong_or_missing_answer_is_said_on_the_page_and_nothing_is_recorded(client: Any, triage: Triage) -> None:
    page = start(client)
    question = current_question(page.text)
    assert question is not None
    missing = answer(client, page.text, question, None)
    # Nothing chosen: "choose an answer"; nothing ticked on a question that needs one: what it expects.
    # (The first question is now where it hurts, a multiple choice, whose wording comes
    # from the interview's answer parser: the page must say it in an alert, whatever the words.)
    assert missing.status_code == 422 and 'role="alert"' in missing.text
    wrong = answer(client, page.text, question, ["maybe"])
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text
    assert SessionStore().load(client.cookies[SESSION_COOKIE]).state.answers == {}


def test_a_number_question_shows_its_unit_and_range(client: Any, triage: Triage,
                                                     classic_answers: dict[str, Any]) -> None:
    page = start(client)
    for _ in range(100):
        question = current_question(page.text)
        assert question is not None, "no number question was asked"
        entry = triage.knowledge.questions[question]
        if entry["type"] in ("integer", "number") and entry.get("unit"):
            assert f'<span class="unit" id="unit">{entry["unit"]}</span>' in page.text
            assert f"A number from {entry['minimum']} to {entry['maximum']}" in page.text
            too_big = answer(client, page.text, question, [str(entry["maximum"] + 1)])
            assert too_big.status_code == 422 and 'role="alert"' in too_big.text  # the parser words it
            return
        page = step(client, page, classic_answers)


def test_save_and_leave_then_the_terminal_finishes_the_interview(
        client: Any, runner: Any, classic_answers: dict[str, Any]) -> None:
    page = start(client)
    last = None
    for _ in range(100):  # answer all but the last question in the browser
        question = current_question(page.text)
        assert question is not None
        following = step(client, page, classic_answers)
        if current_question(following.text) is None:
            last = question
            break
        page = following
    assert last is not None and last in classic_answers
    session_id = client.cookies[SESSION_COOKIE]
    saved = client.post("/interview", data={"csrf": csrf(page.text), "action": "save"})
    assert saved.status_code == 200 and session_id in saved.text
    assert f"itb-triage interview --resume {session_id}" in saved.text
    assert any("Max-Age=0" in c for c in _set_cookie_headers(saved)), "leaving forgets the session cookie"
    value = classic_answers[last]
    typed = ",".join(value) if isinstance(value, list) else str(value)
    finished = runner.invoke(cli, ["interview", "--resume", session_id, "--format", "json"], input=f"{typed}\n")
    assert finished.exit_code == 0, finished.output
    case = {"format": "itb-case/1", "id": session_id, "answers": classic_answers}
    assert json.loads(finished.stdout)["disposition"] == json.loads(_cli_assess_json(runner, case))["disposition"]
    expected = _cli_assess_json(runner, {"format": "itb-case/1", "id": session_id,
                                         "answers": SessionStore().load(session_id).state.answers})
    assert finished.stdout == expected


def test_an_interview_begun_at_the_terminal_is_finished_in_the_browser(
        client: Any, runner: Any, classic_answers: dict[str, Any]) -> None:
    begun = runner.invoke(cli, ["interview"], input="no\nquit\n")
    assert begun.exit_code == 0, begun.output
    session_id = re.search(r"--resume\s+(\S+)", begun.stderr).group(1)  # type: ignore[union-attr]
    page = client.get("/")
    resumed = client.post("/resume", data={"csrf": csrf(page.text), "session_id": session_id},
                          follow_redirects=True)
    assert resumed.status_code == 200 and client.cookies[SESSION_COOKIE] == session_id
    seen = walk(client, classic_answers, page=resumed)
    assert seen.final_url.endswith("/result")
    record = SessionStore().load(session_id)
    assert record.finished and len(record.state.answers) > 1


def test_while_the_terminal_has_the_interview_open_the_browser_gets_409_and_changes_nothing(
        client: Any, triage: Triage) -> None:
    """`itb-triage interview` holds the session's file lock from start to end: the browser's
    answers, back, save and resume wait for it with a 409 page, and the saved file is untouched."""
    page = start(client)
    question = str(current_question(page.text))
    one, _ = _two_answers(triage, question)
    session_id = client.cookies[SESSION_COOKIE]
    store = SessionStore()
    before = store.path(session_id).read_bytes()
    terminal = FileLock(store.root / f".{session_id}.lock")  # what the terminal's interview holds
    terminal.acquire()
    try:
        for data in ({"action": "answer", "question": question, "value": one},
                     {"action": "skip", "question": question}, {"action": "back"}, {"action": "save"}):
            refused = client.post("/interview", data={"csrf": csrf(page.text), **data})
            assert refused.status_code == 409, data
            assert "itb-triage interview" in refused.text and 'href="/interview"' in refused.text
            assert "<h1>Not possible just now</h1>" in refused.text
        resumed = client.post("/resume", data={"csrf": csrf(page.text), "session_id": session_id})
        assert resumed.status_code == 409
        assert store.path(session_id).read_bytes() == before
        assert client.get("/interview").status_code == 200  # reading is not changing: the page still shows
    finally:
        terminal.release()
    answered = answer(client, page.text, question, one)
    assert answered.status_code == 200 and current_question(answered.text) != question
    assert store.load(session_id).state.answers == {question: _stored(triage, question, one)}


def test_two_requests_on_one_interview_wait_for_each_other_not_409(triage: Triage, home: Path) -> None:
    """A double click is two posts at once from one browser: the second waits for the first."""
    import threading

    from itb_triage.web.context import SessionInUse, WebContext

    ctx = WebContext(triage, SessionStore())
    with ctx.creating() as record:
        ctx.store.save(record)
    outcome: list[str] = []

    def second() -> None:
        try:
            with ctx.changing(record.id):
                outcome.append("entered")
        except SessionInUse:
            outcome.append("409")

    with ctx.changing(record.id):
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.3)  # time for the second to reach the lock: it must be waiting there, not refused
        assert outcome == [] and worker.is_alive()
    worker.join(30)
    assert outcome == ["entered"]


def test_unknown_session_ids_get_404_and_the_server_keeps_serving(client: Any) -> None:
    page = client.get("/")
    assert client.post("/resume", data={"csrf": csrf(page.text), "session_id": "20260101-000000-00"}).status_code \
        == 404
    assert client.get("/api/sessions/nope").status_code == 404
    assert client.get("/api/sessions/nope").json()["error"].startswith("no saved interview")
    client.cookies.set(SESSION_COOKIE, "20260101-000000-deadbeefdeadbeef")
    gone = client.get("/interview")
    assert gone.status_code == 404 and "could not find that interview" in gone.text
    assert any(c.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in c for c in _set_cookie_headers(gone))
    assert client.get("/result").status_code == 404
    assert client.get("/api/questions").status_code == 200


def test_a_saved_session_is_readable_through_the_api(client: Any, triage: Triage) -> None:
    page = start(client)
    question = str(current_question(page.text))
    one, _ = _two_answers(triage, question)
    answer(client, page.text, question, one)
    session = client.get(f"/api/sessions/{client.cookies[SESSION_COOKIE]}")
    assert session.status_code == 200
    assert session.json()["answers"] == {question: _stored(triage, question, one)}
    assert session.json()["next_question"]


def test_without_a_session_the_pages_send_you_to_the_start(client: Any) -> None:
    for path in ("/interview", "/result", "/result/report.html", "/result/why-not?target=self_care",
                 "/result/what-if?change=knee_locking=yes"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/", path


def test_the_result_waits_until_the_interview_is_over(client: Any) -> None:
    start(client)
    assert client.get("/result").headers["location"] == "/interview"
    assert client.get("/result/report.md").status_code == 409


# --- the result's reasoning and downloads ---------------------------------------------------


def test_reasoning_links_to_why_not_and_what_if_all_work(client: Any, triage: Triage) -> None:
    routine = _by_disposition(triage, "routine")
    assert routine
    seen = walk(client, routine[0]["answers"])
    links = set(re.findall(r'href="(/result/(?:why-not|what-if)\?[^"]+)"', seen.final_html))
    assert any("why-not" in link for link in links) and any("what-if" in link for link in links)
    for link in sorted(links):
        page = client.get(link.replace("&amp;", "&"))
        assert page.status_code == 200, (link, page.text[-300:])
        assert "Back to your result" in page.text


def test_bad_why_not_and_what_if_queries_get_422_pages(client: Any, classic_answers: dict[str, Any]) -> None:
    walk(client, classic_answers)
    assert client.get("/result/why-not?target=no_such_thing").status_code == 422
    assert client.get("/result/what-if?change=knee_locking=purple").status_code == 422
    assert client.get("/result/what-if").status_code == 422
    assert client.get("/result/report.pdf").status_code == 404


def test_the_reports_download_as_the_report_command_writes_them(
        client: Any, runner: Any, classic_answers: dict[str, Any], tmp_path: Path) -> None:
    walk(client, classic_answers)
    case_file = tmp_path / "case.json"
    case_file.write_text(client.get("/result/report.json").text, encoding="utf-8")
    for fmt in ("html", "md"):
        download = client.get(f"/result/report.{fmt}")
        assert download.status_code == 200
        assert re.fullmatch(r'attachment; filename="itb-triage-report-[A-Za-z0-9.-]+\.' + fmt + '"',
                            download.headers["content-disposition"])
        written = tmp_path / f"report.{fmt}"
        outcome = runner.invoke(cli, ["report", str(case_file), "-o", str(written)])
        assert outcome.exit_code == 0, outcome.output
        assert download.text == written.read_text(encoding="utf-8")


def test_without_a_report_writer_the_result_offers_the_case_file_only(
        triage: Triage, home: Path, classic_answers: dict[str, Any]) -> None:
    bare = TestClient(create_app(triage, SessionStore()), follow_redirects=False)
    seen = walk(bare, classic_answers)
    assert "/result/report.json" in seen.final_html and "/result/report.html" not in seen.final_html
    assert bare.get("/result/report.html").status_code == 404
    assert bare.get("/result/report.json").status_code == 200


def test_a_case_label_full_of_markup_is_escaped_everywhere(client: Any, triage: Triage,
                                                          classic_answers: dict[str, Any]) -> None:
    store = SessionStore()
    state = InterviewState(answers=dict(classic_answers), history=list(classic_answers))
    interview = Interview(triage, state)
    while (question := interview.next_question()) is not None:
        interview.skip(question)
    record = store.new(state, triage.knowledge.version,
                       case_id='<script>alert("x")</script><img src=x onerror=alert(1)>')
    store.save(record)
    page = client.get("/")
    client.post("/resume", data={"csrf": csrf(page.text), "session_id": record.id})
    for path in ("/result", "/result/report.html", "/result/report.md"):
        body = client.get(path).text
        # Markdown escapes with backslashes: `\<img` is text, not a tag.
        assert not re.search(r"(?<!\\)<(script|img)", body), path
    disposition = client.get("/result/report.html").headers["content-disposition"]
    assert '"' not in disposition.split('filename="', 1)[1][:-1] and "<" not in disposition
    hostile = client.get("/result/why-not", params={"target": "<script>alert(1)</script>"})
    assert hostile.status_code == 422 and "<script>alert(1)" not in hostile.text


# --- security --------------------------------------------------------------------------------


def test_every_response_carries_a_strict_csp_without_inline_script(client: Any) -> None:
    for path in ("/", "/docs", "/static/style.css", "/api/questions", "/nowhere", "/openapi.json"):
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert client.post("/api/assess", content=b"x" * 2_000_000).headers["content-security-policy"]


def test_no_page_has_an_inline_script_or_loads_anything_from_elsewhere(
        client: Any, classic_answers: dict[str, Any]) -> None:
    pages = [client.get("/").text, start(client).text, client.get("/docs").text]
    pages.append(walk(client, classic_answers, page=client.get("/interview")).final_html)
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
        assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
        assert not re.search(r"\sstyle=", html), "an inline style"
        for url in re.findall(r'(?:src|href|action)="([^"]+)"', html):
            assert url.startswith(("/", "#")) and not url.startswith("//"), url
    for asset in ("/static/style.css", "/static/docs.js", "/static/swagger/swagger-ui.css"):
        text = client.get(asset).text
        assert client.get(asset).status_code == 200
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), asset
    docs = client.get("/docs").text
    for script in re.findall(r'<script src="([^"]+)"', docs):
        assert client.get(script).status_code == 200


def test_forms_without_the_csrf_token_of_this_browser_are_refused(client: Any, triage: Triage) -> None:
    page = client.get("/")
    token = csrf(page.text)
    assert client.post("/start", data={}).status_code == 403
    assert client.post("/start", data={"csrf": "0" * 64}).status_code == 403
    assert client.post("/resume", data={"session_id": "x"}).status_code == 403
    other = TestClient(client.app, follow_redirects=False)
    other.get("/")
    assert other.post("/start", data={"csrf": token}).status_code == 403, "a token from another browser"
    started = client.post("/start", data={"csrf": token})
    assert started.status_code == 303
    assert client.post("/interview", data={"action": "answer", "value": "no"}).status_code == 403


def test_an_unknown_action_is_a_400_and_a_stale_question_changes_nothing(client: Any) -> None:
    page = start(client)
    token = csrf(page.text)
    assert client.post("/interview", data={"csrf": token, "action": "explode"}).status_code == 400
    stale = client.post("/interview", data={"csrf": token, "action": "answer", "question": "not_this_one",
                                            "value": "no"})
    assert stale.status_code == 303
    assert SessionStore().load(client.cookies[SESSION_COOKIE]).state.answers == {}


# --- the JSON API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_api_assess_gives_the_bytes_assess_prints(client: Any, runner: Any, example: Path) -> None:
    response = client.post("/api/assess", content=example.read_bytes())
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    cli_output = runner.invoke(cli, ["assess", str(example), "--format", "json"])
    assert cli_output.exit_code == 0
    assert response.content == cli_output.stdout_bytes


@pytest.mark.parametrize("body", [
    b"{not json",
    b'{"format": "itb-case/1", "answers": {"knee_locking": "purple"}}',
    b'{"format": "itb-case/1", "answers": {"no_such_question": 1}}',
    b"[1, 2]",
    b"",
    b"\xff\xfe",
    json.dumps({"format": "itb-case/1", "answers": {"age_years": 1000}}).encode(),
])
def test_api_assess_refuses_a_bad_case_with_the_cli_one_line_message(client: Any, runner: Any, body: bytes) -> None:
    response = client.post("/api/assess", content=body)
    assert response.status_code == 422
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    cli_output = runner.invoke(cli, ["assess", "-"], input=body)
    assert cli_output.exit_code == 2
    assert cli_output.stderr.strip() == f"itb-triage: error: {message.replace('request body', '<stdin>', 1)}"
    assert client.get("/api/questions").status_code == 200


def test_bodies_over_one_megabyte_get_413_announced_or_streamed(client: Any) -> None:
    big = b" " * 1_000_001
    assert client.post("/api/assess", content=big).status_code == 413

    def chunks() -> Any:
        for _ in range(11):
            yield b" " * 100_000

    assert client.post("/api/assess", content=chunks()).status_code == 413
    assert client.post("/api/interview/next", content=big).status_code == 413
    page = client.get("/")
    assert client.post("/start", data={"csrf": csrf(page.text), "pad": "x" * 1_100_000}).status_code == 413
    assert client.post("/api/assess", content=(DATA / "vignettes" / "v01_classic.json").read_bytes()).status_code \
        in (200, 422)


def test_api_interview_next_asks_as_the_terminal_does_then_gives_the_result(
        client: Any, triage: Triage, classic_answers: dict[str, Any]) -> None:
    first = client.post("/api/interview/next", json={"answers": {}})
    assert first.status_code == 200 and first.json()["done"] is False
    question = first.json()["question"]
    assert question["id"] == Interview(triage, InterviewState()).next_question()
    assert question["text"] and question["choices"] and question["why"]
    assert {"because", "can_change", "rule"} <= set(question["why"][0])
    skipped = client.post("/api/interview/next", json={"answers": {}, "skipped": [question["id"]]})
    assert skipped.json()["question"]["id"] != question["id"]
    answers: dict[str, Any] = {}
    skips: list[str] = []
    for _ in range(100):
        step = client.post("/api/interview/next", json={"answers": answers, "skipped": skips}).json()
        if step["done"]:
            break
        qid = step["question"]["id"]
        if qid in classic_answers:
            answers[qid] = classic_answers[qid]
        else:
            skips.append(qid)
    assert step["done"] is True
    expected = triage.assess(triage.read_case(json.dumps({"format": "itb-case/1", "answers": answers}).encode(),
                                              "x"), critical=True)
    assert step["result"] == expected.to_json()


def test_api_interview_next_ends_at_once_on_an_emergency(client: Any, triage: Triage) -> None:
    case = _by_disposition(triage, "emergency")[0]
    step = client.post("/api/interview/next", json={"answers": case["answers"]}).json()
    assert step["done"] is True and step["urgent"] == "emergency"
    assert step["result"]["disposition"] == "emergency"


@pytest.mark.parametrize("body", [
    {"answers": {"knee_locking": "purple"}},
    {"answers": {}, "skipped": ["no_such_question"]},
    {"answers": {}, "skipped": "knee_locking"},
    {"answers": {"knee_locking": "no"}, "skipped": ["knee_locking"]},
    {"answers": {}, "extra": 1},
    {"skipped": []},
    [],
])
def test_api_interview_next_refuses_bad_bodies_with_one_line(client: Any, body: Any) -> None:
    response = client.post("/api/interview/next", json=body)
    assert response.status_code == 422
    assert response.json()["error"].startswith("request body") and "\n" not in response.json()["error"]


def test_api_questions_lists_every_question_with_choices_or_unit_and_range(client: Any, triage: Triage) -> None:
    listed = client.get("/api/questions").json()
    assert [q["id"] for q in listed["questions"]] == list(triage.knowledge.questions)
    assert listed["knowledge_version"] == triage.knowledge.version
    for question in listed["questions"]:
        entry = triage.knowledge.questions[question["id"]]
        if entry["type"] in ("choice", "multi"):
            assert [c["id"] for c in question["choices"]] == [v["id"] for v in entry["values"]]
        else:
            assert (question["minimum"], question["maximum"]) == (entry["minimum"], entry["maximum"])
            assert question.get("unit") == entry.get("unit")


def test_the_openapi_page_is_served_from_here_and_documents_the_api(client: Any) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    schema = client.get("/openapi.json").json()
    assert {"/api/assess", "/api/interview/next", "/api/questions", "/api/sessions/{session_id}"} <= set(
        schema["paths"])
    assert "requestBody" in schema["paths"]["/api/assess"]["post"]
    assert not any(path.startswith(("/interview", "/result", "/start")) for path in schema["paths"])


def test_unknown_routes_get_404_in_the_medium_asked(client: Any) -> None:
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    page = client.get("/nothing")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert client.put("/api/assess").status_code == 405


def test_the_fhir_routes_are_mounted_when_that_adapter_is_installed(
        triage: Triage, home: Path, monkeypatch: pytest.MonkeyPatch, classic_answers: dict[str, Any]) -> None:
    """The mount point, with a stand-in for fhir/routes.py: its router is included, over
    the app's Triage and relevance analysis, with the app's HTML report for its cards' links."""
    import types

    from fastapi import APIRouter

    seen: dict[str, Any] = {}

    def fhir_router(given: Triage, *, report: Any, relevance: Any) -> APIRouter:
        seen["triage"], seen["report"], seen["relevance"] = given, report, relevance
        router = APIRouter()
        router.add_api_route("/cds-services", lambda: {"services": []})
        return router

    package = types.ModuleType("itb_triage.fhir")
    routes = types.ModuleType("itb_triage.fhir.routes")
    routes.fhir_router = fhir_router  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "itb_triage.fhir", package)
    monkeypatch.setitem(sys.modules, "itb_triage.fhir.routes", routes)
    app = create_app(triage, SessionStore(), report=build_report)
    assert app.state.fhir_mounted is True and seen["triage"] is triage
    assert seen["relevance"] is app.state.ctx.relevance
    assert TestClient(app).get("/cds-services").json() == {"services": []}
    case = triage.read_case(json.dumps({"format": "itb-case/1", "answers": classic_answers}).encode(), "c")
    assert seen["report"](triage, case).startswith("<!DOCTYPE html>")


def test_without_the_fhir_adapter_the_app_works_alone(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                      triage: Triage) -> None:
    monkeypatch.setitem(sys.modules, "itb_triage.fhir", None)  # an import of it fails,
    monkeypatch.setitem(sys.modules, "itb_triage.fhir.routes", None)  # even after other tests imported it
    app = create_app(triage, SessionStore())
    assert app.state.fhir_mounted is False
    assert TestClient(app).get("/cds-services").status_code == 404


# --- the serve command ---------------------------------------------------------------------------


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "from itb_triage.cli.main import main; main()", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


@pytest.mark.slow
def test_serve_prints_its_local_url_serves_opens_it_and_stops_with_130_on_ctrl_c(home: Path) -> None:
    import urllib.request

    opened = home / "opened.txt"
    # webbrowser runs $BROWSER with the URL for %s: a stand-in browser that notes the URL.
    browser = f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\" %s"
    server = _serve("--port", "0", "--open", env={"BROWSER": browser})
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.fullmatch(r"itb-triage: serving on (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)\n", line)
        assert match, line
        with urllib.request.urlopen(match.group(1), timeout=30) as response:
            assert response.status == 200 and b"Start" in response.read()
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text() == match.group(1)
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
        assert server.returncode == 130
        assert "Traceback" not in err and err.strip().endswith("interrupted")
    finally:
        if server.poll() is None:
            server.kill()


@pytest.mark.slow
def test_serve_on_a_port_in_use_says_so_in_one_line(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = _serve("--port", str(port))
        _, err = server.communicate(timeout=60)
    assert server.returncode == 2
    assert re.fullmatch(rf"itb-triage: error: cannot listen on 127\.0\.0\.1:{port}: .+\n", err), err


def test_serve_turns_nagle_off_on_the_connections_it_accepts() -> None:
    """With Nagle's algorithm on, a page written in two pieces (head, body) waited for the
    browser's delayed ACK: about 40 ms on every page. asyncio (which uvicorn serves
    through) turns it off only on sockets that say they are TCP."""
    import asyncio

    from itb_triage.cli.serve import _listen

    async def accepted_nodelay() -> int:
        listening = _listen("127.0.0.1", 0)
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection(*listening.getsockname())
            value = await asyncio.wait_for(seen, 30)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0


ARENA_PROBE = """
import ctypes, sys, threading
from itb_triage.cli.serve import _fewer_malloc_arenas
applied = _fewer_malloc_arenas() if sys.argv[1] == "capped" else False
together = threading.Barrier(16)  # alive at once, as a thread pool's workers are
def work():
    kept = [bytes(4096) for _ in range(200)]  # past pymalloc's small objects: glibc's malloc
    together.wait()
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(applied, flush=True)
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_serve_caps_malloc_arenas_so_its_thread_pool_does_not_grow_memory() -> None:
    """Each request thread would get a glibc arena of its own that keeps what was freed in it."""
    def arenas(mode: str) -> tuple[str, int]:
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        done = subprocess.run([sys.executable, "-c", ARENA_PROBE, mode], capture_output=True, text=True, env=env,
                              timeout=120, check=True)
        return done.stdout.strip(), len(re.findall(r"^Arena \d+:", done.stderr, re.M))

    assert arenas("capped") == ("True", 2)
    assert arenas("default")[1] > 2  # the probe would see the default: one arena per thread, up to 8 a core


def test_serve_is_listed_and_documented_in_help(runner: Any) -> None:
    listing = runner.invoke(cli, ["--help"])
    assert "serve" in listing.output
    helped = runner.invoke(cli, ["serve", "--help"])
    assert helped.exit_code == 0
    for option in ("--host", "--port", "--open", "127.0.0.1", "8765", "130"):
        assert option in helped.output


def test_the_session_store_files_the_browser_writes_are_the_terminals(client: Any, triage: Triage) -> None:
    page = start(client)
    question = str(current_question(page.text))
    one, _ = _two_answers(triage, question)
    answer(client, page.text, question, one)
    files = list((Path(os.environ["ITB_TRIAGE_HOME"]) / "sessions").glob("*.json"))
    assert [f.stem for f in files] == [client.cookies[SESSION_COOKIE]]
    assert json.loads(files[0].read_text())["answers"] == {question: _stored(triage, question, one)}
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
