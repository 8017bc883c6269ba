"""A runner clicking through the web interview, for tests: reads each page's form, answers, posts.

Works on any client with httpx's interface (starlette's TestClient, httpx2.Client).
Answers are form values: a choice's id, each ticked box's id, a number as typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_QUESTION = re.compile(r'name="question" value="([a-z0-9_]+)"')


def csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def current_question(html: str) -> str | None:
    match = _QUESTION.search(html)
    return match.group(1) if match else None


def form_values(value: Any) -> list[str]:
    """An answer of a case as the values a browser would post."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool):  # YAML's yes/no, should a case carry them
        return ["yes" if value else "no"]
    return [str(value)]


@dataclass
class Walk:
    """What a walk through the interview saw."""

    asked: list[str] = field(default_factory=list)
    final_url: str = ""
    final_html: str = ""
    statuses: list[int] = field(default_factory=list)


def start(client: Any) -> Any:
    page = client.get("/")
    return client.post("/start", data={"csrf": csrf(page.text)}, follow_redirects=True)


def answer(client: Any, html: str, question: str, values: list[str] | None, action: str = "answer") -> Any:
    data: dict[str, Any] = {"csrf": csrf(html), "question": question, "action": action}
    if values is not None:
        data["value"] = values
    return client.post("/interview", data=data, follow_redirects=True)


def step(client: Any, page: Any, answers: Mapping[str, Any]) -> Any:
    """Answer the page's question from `answers`, or skip it; the next page."""
    question = current_question(page.text)
    assert question is not None, "not a question page"
    if question in answers:
        return answer(client, page.text, question, form_values(answers[question]))
    return answer(client, page.text, question, None, action="skip")


def walk(client: Any, answers: Mapping[str, Any], page: Any = None, limit: int = 200) -> Walk:
    """Answer every question asked from `answers`, skipping the others, until no question is left."""
    seen = Walk()
    page = page if page is not None else start(client)
    for _ in range(limit):
        seen.statuses.append(page.status_code)
        question = current_question(page.text) if page.url.path == "/interview" else None
        if question is None:
            break
        seen.asked.append(question)
        page = step(client, page, answers)
    else:
        raise AssertionError(f"the interview did not end within {limit} pages")
    seen.final_url, seen.final_html = str(page.url), page.text
    return seen
