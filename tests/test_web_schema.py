"""schemathesis over the app's own OpenAPI document: generated requests to every API route,
valid and not (schemathesis' positive and negative modes), never get a server error.
Bounded: a fixed number of examples per route and mode, derandomised.

schemathesis' pytest plugin does not run under this pytest, so the test walks the
operations itself and drives each one's Hypothesis strategy.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from itb_triage.engine import Triage  # noqa: E402
from itb_triage.engine.interview_store import SessionStore  # noqa: E402
from itb_triage.web.app import create_app  # noqa: E402

from .conftest import examples  # noqa: E402

MODES = ("positive", "negative")


@pytest.fixture(scope="module")
def api_schema(triage: Triage, tmp_path_factory: pytest.TempPathFactory) -> Any:
    app = create_app(triage, SessionStore(tmp_path_factory.mktemp("home") / "sessions"))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def test_the_schema_lists_every_api_route(api_schema: Any) -> None:
    paths = {operation.path for operation in _operations(api_schema)}
    assert paths == {"/api/assess", "/api/interview/next", "/api/questions", "/api/sessions/{session_id}",
                     # The FHIR door and CDS Hooks, mounted beside the API (fhir/routes.py).
                     "/fhir/Questionnaire/itb-triage", "/fhir/Questionnaire/$next-question",
                     "/cds-services", "/cds-services/itb-triage"}


@pytest.mark.parametrize("mode", MODES)
def test_no_generated_request_gets_a_server_error(api_schema: Any, mode: str) -> None:
    generation = getattr(schemathesis.GenerationMode, mode.upper())
    calls: dict[str, int] = {}
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(max_examples=examples(25), deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call()
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Unsatisfiable:
            # Nothing to make invalid: /api/questions takes no input, a session id is any
            # text, and the FHIR and CDS Hooks routes read their body as any JSON (the FHIR
            # models check it, so the schema declares none).
            assert mode == "negative" and (operation.method.upper() == "GET" or not operation.body), operation.label
    assert {"POST /api/assess", "POST /api/interview/next"} <= set(calls), calls
