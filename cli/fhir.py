"""`itb-triage fhir`: the questions, answers and results as FHIR R4 resources (JSON on stdout).

The translation lives in the FHIR adapter (`itb_triage.fhir`); this module only reads
files, prints, and maps errors to exit statuses like every other command.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from itb_triage.engine import Case, Triage

# `serve`'s default address; its FHIR routes live under /fhir.
DEFAULT_SERVER = "http://127.0.0.1:8765/fhir"


def read_case(triage: Triage, data: bytes, where: str) -> Case:
    """A case file, or a FHIR QuestionnaireResponse (JSON, told apart by `resourceType`).
    Raises CaseError, naming the item's linkId for a response."""
    from itb_triage.engine import check_case, read_case_text

    document = read_case_text(data, where)
    if isinstance(document, dict) and "resourceType" in document:
        from itb_triage.fhir.response import case_from_response

        return case_from_response(document, where, triage.knowledge)
    return check_case(document, where, triage.knowledge)


def _print(resource: Any) -> None:
    click.echo(json.dumps(resource, indent=2, ensure_ascii=False))


def _checked_case(source: str) -> tuple[Triage, Case]:
    """The Triage and the checked case of a file or stdin; errors go to cli/common's table."""
    from .common import read_input, triage

    data, where = read_input(source)
    engine = triage()
    return engine, read_case(engine, data, where)


@click.group("fhir")
def fhir_group() -> None:
    """The questions, answers and results as FHIR R4 resources (JSON on stdout).

    `assess` reads a QuestionnaireResponse as well as a case file.
    """


@fhir_group.command("questionnaire")
@click.option("--server", default=DEFAULT_SERVER, show_default=True, metavar="URL",
              help="Base URL of `serve`'s FHIR routes, for the SDC adaptive extension ('' to leave it out).")
def questionnaire_command(server: str) -> None:
    """Print the question set as an SDC Questionnaire (load it into LHC-Forms; see docs/fhir.md)."""
    from itb_triage.fhir.questionnaire import questionnaire

    from .common import triage

    _print(questionnaire(triage().knowledge, server or None))


@fhir_group.command("codesystems")
def codesystems_command() -> None:
    """Print our code systems (answer values, dispositions, conditions, ...) as a Bundle."""
    from itb_triage.fhir.questionnaire import code_systems

    from .common import triage

    systems = code_systems(triage().knowledge)
    _print({"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": cs["url"], "resource": cs} for cs in systems]})


@fhir_group.command("case")
@click.argument("response", metavar="QR")
def case_command(response: str) -> None:
    """Convert a QuestionnaireResponse (JSON; `-` reads stdin) into a case file.

    Exit status 2 for a bad response: one line naming the item's linkId and what was expected.
    """
    _, case = _checked_case(response)
    _print(case.to_json())


@fhir_group.command("bundle")
@click.argument("case", metavar="CASE")
@click.option("--patient", metavar="ID", help="The Patient id to refer to (default: an unidentified runner).")
def bundle_command(case: str, patient: str | None) -> None:
    """Assess CASE (a case file or a QuestionnaireResponse) and print the outcome as a Bundle.

    The collection holds the QuestionnaireResponse, a GuidanceResponse, a RiskAssessment,
    a ServiceRequest when a clinician is needed, a CarePlan and a Provenance.
    Exit status 2 for a bad case, 3 for invalid knowledge, 4 for an engine failure.
    """
    from itb_triage.fhir.bundle import bundle

    engine, checked = _checked_case(case)
    result = engine.assess(checked)  # an engine failure is mapped to its status by cli/common
    subject = {"reference": f"Patient/{patient}"} if patient else None
    _print(bundle(engine.knowledge, checked, result, subject=subject, moment=datetime.now().astimezone()))
