"""Rendering a page, and the cookies every page needs: the CSRF cookie and the session cookie."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from itb_triage.engine import SessionError, SessionRecord

from .context import SessionInUse, UnknownSession, WebContext
from .security import COOKIE_SETTINGS, CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, Csrf


def context(request: Request) -> WebContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, WebContext)
    return ctx


def _csrf(request: Request) -> Csrf:
    csrf = request.app.state.csrf
    assert isinstance(csrf, Csrf)
    return csrf


def page(request: Request, template: str, values: Mapping[str, Any], status: int = 200,
         headers: Mapping[str, str] | None = None) -> Response:
    """A template rendered with a CSRF token for its forms (and the cookie it is checked against)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = not cookie
    if not cookie:
        cookie = Csrf.new_cookie()
    templates = request.app.state.templates
    assert isinstance(templates, Jinja2Templates)
    response = templates.TemplateResponse(
        request, template, {"csrf_field": CSRF_FIELD, "csrf_token": _csrf(request).token(cookie), **values},
        status_code=status, headers=dict(headers or {}),
    )
    # Pages depend on the session and hold a form token: never from a cache.
    response.headers["cache-control"] = "no-store"
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, **COOKIE_SETTINGS)
    return response


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """403 unless the form's token belongs to this browser's CSRF cookie."""
    token = form.get(CSRF_FIELD)
    if not _csrf(request).valid(request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None):
        raise HTTPException(403, "This form has expired or did not come from this app. "
                                 "Go back, reload the page and try again.")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# Sent with a 404 for the session cookie's interview: the browser forgets the dead id.
FORGET_SESSION = {"set-cookie": f"{SESSION_COOKIE}=\"\"; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"}


class NoSession(Exception):
    """The browser has no interview yet."""


def current_session_id(request: Request) -> str:
    """The id of the interview this browser is in (its session cookie), or NoSession."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise NoSession
    return session_id


def current_record(request: Request) -> SessionRecord:
    """The interview this browser is in (its session cookie), or NoSession / 404; fitted to
    the knowledge, what was set aside told on the next page (`WebContext.load`)."""
    try:
        return context(request).load(current_session_id(request))
    except UnknownSession:
        raise HTTPException(404, NOT_FOUND, headers=FORGET_SESSION) from None
    except SessionError as exc:  # the lock file cannot be made: nothing was changed
        raise HTTPException(503, f"Your interview could not be opened for a change: {exc}. Try again.") from None


NOT_FOUND = "We could not find that interview. It may have been deleted. Start a new one from the first page."
# The CLI holds a session's lock from the start of `itb-triage interview` to its end.
IN_USE = ("This interview is open in another window or in `itb-triage interview`: finish or quit it there, "
          "then try again.")


@contextlib.contextmanager
def changing(ctx: WebContext, session_id: str, *, resuming: bool = False) -> Iterator[SessionRecord]:
    """`WebContext.changing` with its refusals as HTTP errors: 409 while another program has
    the interview open, 404 (and the cookie forgotten) when there is no such interview,
    503 when its lock cannot be made."""
    try:
        with ctx.changing(session_id, resuming=resuming) as record:
            yield record
    except SessionInUse:
        raise HTTPException(409, IN_USE) from None
    except UnknownSession:
        raise HTTPException(404, NOT_FOUND, headers=FORGET_SESSION) from None
    except SessionError as exc:  # the lock file cannot be made: nothing was changed
        raise HTTPException(503, f"Your interview could not be opened for a change: {exc}. Try again.") from None


def set_session(response: Response, record: SessionRecord) -> None:
    response.set_cookie(SESSION_COOKIE, record.id, **COOKIE_SETTINGS)


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
