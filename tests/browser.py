"""A real browser on the web app: the app served on 127.0.0.1, Debian's Chromium driven by Playwright.

Browsers cannot be downloaded here, so Playwright never installs one: it drives the
`chromium` package (/usr/bin/chromium) through `executable_path`. Shared by
tests/test_web_browser.py and scripts/web_screenshots.py.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's Chromium: the binary itself where the wrapper script's target exists."""
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "", "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def launch(playwright: Any) -> Any:
    path = chromium_path()
    assert path is not None, "no chromium"
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 and a free port in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Clicks:
    """What a runner clicking through saw."""

    asked: list[str] = field(default_factory=list)


def current_question(page: Any) -> str | None:
    field_ = page.locator('form:not(.back-form) input[name="question"]')
    return str(field_.first.get_attribute("value")) if field_.count() else None


def submit(page: Any, selector: str) -> None:
    """Click what posts a form, and return once the page it leads to has loaded.

    A click returns once the navigation has begun, not ended: under load the next
    look at the page could find the new document still empty (seen in CI, and here
    with the two cores kept busy).
    """
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def answer_on_page(page: Any, question: str, value: Any) -> None:
    """Tick, choose or type the answer as a runner would, then press Continue."""
    if isinstance(value, list):
        for item in value:
            page.check(f'input[name="value"][value="{item}"]')
    elif page.locator('input[type="radio"][name="value"]').count():
        page.check(f'input[name="value"][value="{value}"]')
    else:
        page.fill('input[name="value"]', str(value))
    submit(page, 'button[value="answer"]')


def click_through(page: Any, answers: Mapping[str, Any], stop_before: int | None = None,
                  limit: int = 200) -> Clicks:
    """From a question page, answer from `answers` or skip, until no question is left
    (or `stop_before` questions have been asked)."""
    seen = Clicks()
    for _ in range(limit):
        question = current_question(page)
        if question is None or (stop_before is not None and len(seen.asked) >= stop_before):
            return seen
        seen.asked.append(question)
        if question in answers:
            answer_on_page(page, question, answers[question])
        else:
            submit(page, 'button[value="skip"]')
    raise AssertionError(f"the interview did not end within {limit} pages")
