"""The web app in a real browser: Debian's Chromium driven by Playwright (pytest-playwright).

A runner clicks through; an emergency answer stops the interview at once; Back changes
an answer; Save and leave, then the terminal finishes; JavaScript off changes nothing;
axe finds no serious or critical accessibility problem on the question, emergency and
result pages. Skipped where Chromium or Playwright is missing; CI installs both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("playwright", reason="playwright is not installed")

from itb_triage.cli.main import cli
from itb_triage.cli.report import build_report
from itb_triage.engine import Triage
from itb_triage.engine.interview import Interview, InterviewState
from itb_triage.engine.interview_store import SessionStore
from itb_triage.engine.summary import summarise
from itb_triage.web.app import create_app

from .browser import CHROMIUM_ARGS, answer_on_page, chromium_path, click_through, current_question, served, submit
from .conftest import VIGNETTES, vignette

if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.slow
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch, with Debian's Chromium instead of a downloaded one."""
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS,
            "headless": True}


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def web_url(triage: Triage, home: Path) -> Iterator[str]:
    with served(create_app(triage, SessionStore(home / "sessions"), report=build_report)) as url:
        yield url


@pytest.fixture(scope="session")
def base_url(web_url: str) -> str:
    """pytest-playwright's pages open relative to the app (this replaces pytest-base-url's fixture)."""
    return web_url


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The terminal sees the same session store as the browser."""
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(home))
    return home


def _start(page: Any, web_url: str) -> None:
    page.goto(web_url + "/")
    submit(page, "text=Start now")
    page.wait_for_url("**/interview")


def _emergencies(triage: Triage) -> list[dict[str, Any]]:
    cases = [vignette(path)["case"] for path in VIGNETTES]
    return [c for c in cases if triage.assess(triage.read_case(json.dumps(c).encode(), "v")).disposition
            == "emergency"]


def _serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v.get("impact") in SERIOUS]


def test_a_typical_runner_clicking_through_gets_what_assess_gives_for_the_saved_case(
        page: Any, web_url: str, triage: Triage, runner: Any, classic_answers: dict[str, Any],
        tmp_path: Path) -> None:
    _start(page, web_url)
    seen = click_through(page, classic_answers)
    page.wait_for_url("**/result")
    assert seen.asked and len(seen.asked) == len(set(seen.asked))
    with page.expect_download() as download_info:
        page.click("text=Your answers as a case file")
    saved_path = tmp_path / "case.json"
    download_info.value.save_as(saved_path)
    assessed = runner.invoke(cli, ["assess", str(saved_path), "--format", "json"])
    assert assessed.exit_code == 0, assessed.output
    result = json.loads(assessed.stdout)
    case = triage.read_case(saved_path.read_bytes(), "saved")
    summary = summarise(triage.assess(case), triage.knowledge)
    card = page.locator("section.care-card")
    assert f"care-card--{summary.card}" in str(card.get_attribute("class"))
    assert page.locator("#card-title").inner_text().endswith(summary.urgency)
    assert summary.where in card.inner_text()
    with page.expect_download() as report_info:
        page.click("text=The full report as Markdown")
    report_path = tmp_path / "report.md"
    report_info.value.save_as(report_path)
    markdown = runner.invoke(cli, ["assess", str(saved_path), "--format", "markdown"])
    assert report_path.read_text(encoding="utf-8") == markdown.stdout
    assert result["answers"] == case.answers


def test_an_emergency_answer_stops_the_interview_at_once(page: Any, web_url: str, triage: Triage) -> None:
    for case in _emergencies(triage):
        page.context.clear_cookies()
        _start(page, web_url)
        seen = click_through(page, case["answers"])
        card = page.locator(".interruption[role=alert]")
        assert card.count() == 1, f"no emergency card after {seen.asked}"
        case_so_far = triage.read_case(
            page.request.get(web_url + "/result/report.json").text().encode(), "so far")
        summary = summarise(triage.assess(case_so_far), triage.knowledge)
        assert page.locator("#interruption-title").inner_text().endswith(summary.urgency)
        assert summary.where in card.inner_text()
        assert current_question(page) is None
        submit(page, "text=See the full advice")
        assert "care-card--immediate" in str(page.locator("section.care-card").get_attribute("class"))


def test_back_changes_an_answer(page: Any, web_url: str, home: Path, triage: Triage) -> None:
    _start(page, web_url)
    first = current_question(page)
    assert first is not None
    entry = triage.knowledge.questions[first]
    assert entry["type"] in ("choice", "multi"), "the first question is a choice"
    one, other = (str(v["id"]) for v in entry["values"][:2])
    as_answer = (lambda v: [v]) if entry["type"] == "multi" else (lambda v: v)
    answer_on_page(page, first, as_answer(one))
    assert current_question(page) != first
    submit(page, "button.back-link")
    assert current_question(page) == first
    answer_on_page(page, first, as_answer(other))
    session_id = next(c["value"] for c in page.context.cookies() if c["name"] == "itb_session")
    assert SessionStore(home / "sessions").load(session_id).state.answers == {first: as_answer(other)}


def test_save_leave_and_finish_at_the_terminal(page: Any, web_url: str, runner: Any, cli_home: Path,
                                               triage: Triage, classic_answers: dict[str, Any]) -> None:
    _start(page, web_url)
    asked = click_through(page, classic_answers, stop_before=6).asked
    assert current_question(page) is not None
    submit(page, "text=Save and leave")
    session_id = page.locator(".session-id code").inner_text()
    assert all(c["name"] != "itb_session" for c in page.context.cookies())
    store = SessionStore()
    record = store.load(session_id)
    assert list(record.state.history) == asked
    # What the terminal will ask from here, by the same interview logic: type those answers.
    state = InterviewState(dict(record.state.answers), list(record.state.skipped), list(record.state.history))
    interview = Interview(triage, state)
    lines = []
    while (question := interview.next_question()) is not None:
        value = classic_answers.get(question)
        typed = (",".join(value) or "none") if isinstance(value, list) else str(value)
        lines.append("" if value is None else typed)
        if value is None:
            interview.skip(question)
        else:
            interview.answer(question, value)
    finished = runner.invoke(cli, ["interview", "--resume", session_id, "--format", "json"],
                             input="\n".join(lines) + "\n")
    assert finished.exit_code == 0, finished.output
    assert store.load(session_id).finished
    expected = runner.invoke(cli, ["assess", "-", "--format", "json"], input=json.dumps(
        {"format": "itb-case/1", "id": session_id, "answers": store.load(session_id).state.answers}))
    assert finished.stdout == expected.stdout
    assert store.load(session_id).state.answers == interview.case().answers


def test_javascript_off_changes_nothing(browser: Any, web_url: str, classic_answers: dict[str, Any]) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _start(page, web_url)
        click_through(page, classic_answers)
        page.wait_for_url("**/result")
        assert page.locator("section.care-card h1").count() == 1
        tree = page.locator("ul.tree").first
        assert not tree.is_visible()
        page.click("text=The reasoning behind each conclusion")  # <details> opens without script
        page.locator("details.details--inner > summary").first.click()
        assert tree.is_visible()
    finally:
        context.close()


def test_axe_finds_no_serious_problem_on_the_question_emergency_and_result_pages(
        browser: Any, web_url: str, triage: Triage, classic_answers: dict[str, Any]) -> None:
    # axe runs as a script the page's CSP would refuse, so only this context bypasses it.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        problems: dict[str, list[str]] = {}
        _start(page, web_url)
        problems["question"] = _serious(page)
        first = current_question(page)
        submit(page, 'button[value="answer"]')  # nothing chosen: the error state
        problems["question with an error"] = _serious(page)
        assert first is not None
        click_through(page, classic_answers)
        problems["result"] = _serious(page)
        context.clear_cookies()
        _start(page, web_url)
        click_through(page, _emergencies(triage)[0]["answers"])
        assert page.locator(".interruption").count() == 1
        problems["emergency"] = _serious(page)
        page.goto(web_url + "/")
        problems["start"] = _serious(page)
        assert problems == {name: [] for name in problems}
    finally:
        context.close()


def test_the_api_page_loads_everything_from_this_server(browser: Any, web_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(web_url + "/docs")
        page.locator('[data-path="/api/assess"]').first.wait_for(timeout=30_000)
        assert requests and all(url.startswith(web_url) for url in requests), requests
        assert not [e for e in errors if re.search("Content Security Policy|Refused", e)], errors
    finally:
        context.close()
