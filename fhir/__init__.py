"""The FHIR door onto the engine: a Questionnaire of the knowledge's questions, cases as
QuestionnaireResponses and back, the outcome as a Bundle of FHIR resources, the SDC
$next-question operation and a CDS Hooks service (fhir/routes.py, mounted by `serve`).

It translates between FHIR R4 and the engine's public API and decides nothing itself:
triage, relevance and wording all come from the engine and the knowledge.
"""

# This folder is also importable as a top-level `fhir` when the repository root is on
# sys.path (`python -m pytest` puts it there), and would then hide the `fhir` namespace
# of fhir.resources. Extending the path lets both be found.
import pkgutil

__path__ = pkgutil.extend_path(__path__, __name__)
