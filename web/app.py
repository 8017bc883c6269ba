"""The FastAPI application: middleware, static files, the pages, the API, the API's docs.

`create_app()` builds one app over one compiled Triage and the same saved-interview
store as `itb-triage interview`, so a session started at the terminal can be finished
in the browser and the other way round.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from itb_triage import __version__
from itb_triage.engine import NOT_A_MEDICAL_DEVICE, Case, SessionStore, Triage

from . import interview_pages, result_pages
from .api import api_router
from .context import WebContext
from .pages import page
from .reports import ReportBuilder
from .security import BodyLimit, Csrf, SecurityHeaders

DESCRIPTION = (
    "Offline triage for runners with pain on the outside of the knee, thigh or hip. "
    "The same engine, interview and result as the `itb-triage` command line. "
    + NOT_A_MEDICAL_DEVICE
)


def _swagger_files() -> Path:
    """Swagger UI's own files, shipped by the fastapi-offline package: nothing from a CDN."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def create_app(triage: Triage | None = None, store: SessionStore | None = None,
               report: ReportBuilder | None = None) -> FastAPI:
    """The web app over `triage` (compiled now if not given) and `store` (the user's by default).

    `report` writes the downloadable report (`itb-triage serve` passes the command line's
    own); without it the result page offers the answers as a case file only.
    """
    ctx = WebContext(triage if triage is not None else Triage(), store if store is not None else SessionStore(),
                     report)
    app = FastAPI(title="itb-triage", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.state.csrf = Csrf()
    environment = Environment(loader=PackageLoader("itb_triage.web", "templates"), autoescape=True)
    environment.globals["notice"] = NOT_A_MEDICAL_DEVICE
    environment.globals["version"] = __version__
    app.state.templates = Jinja2Templates(env=environment)

    # The last added is the outermost: every response, a 413 too, gets the headers.
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)

    app.mount("/static/swagger", StaticFiles(directory=_swagger_files()), name="swagger")
    # follow_symlink: a strict editable install links the package's files from the checkout.
    app.mount("/static", StaticFiles(packages=[("itb_triage.web", "static")], follow_symlink=True), name="static")
    app.include_router(api_router(ctx.triage.knowledge))
    app.include_router(interview_pages.router)
    app.include_router(result_pages.router)
    app.state.fhir_mounted = mount_fhir(app, ctx)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        """FastAPI's OpenAPI page (Swagger UI), served from here, started by a script file."""
        return page(request, "docs.html", {})

    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


def mount_fhir(app: FastAPI, ctx: WebContext) -> bool:
    """The mount point for the FHIR and CDS Hooks routes (`fhir/routes.py`, issue 16).

    Mounted when that adapter is installed; the app works the same without it. This is
    the one place an adapter imports another (DESIGN.md: `serve` may mount the FHIR
    routes). Its cards link to the same HTML report the result page offers, and it asks
    the app's own relevance analysis (and cache), so both doors decide the next question
    the same way at the same cost.
    """
    try:
        routes = importlib.import_module("itb_triage.fhir.routes")
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == "itb_triage.fhir" or exc.name.startswith("itb_triage.fhir.")):
            return False
        raise

    def html_report(triage: Triage, case: Case) -> str:
        assert ctx.report is not None
        return ctx.report(triage, case, "html", ctx.result(case))

    app.include_router(routes.fhir_router(ctx.triage, report=html_report if ctx.report is not None else None,
                                          relevance=ctx.relevance))
    return True


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


async def _http_error(request: Request, exc: Any) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail)
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)
    return page(request, "error.html", {"status": exc.status_code, "message": message},
                status=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Any) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=422)
    return page(request, "error.html", {"status": 422, "message": message}, status=422)
