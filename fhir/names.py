"""The names FHIR needs: our canonical URLs and code systems, HL7's extension URLs, and how
the contract's dispositions map onto FHIR priorities and CDS Hooks indicators.

The project has no web domain, so its canonical URLs live under `.invalid` (RFC 2606):
they are names that cannot be mistaken for addresses. Change CANONICAL to publish them.
"""

from __future__ import annotations

CANONICAL = "https://itb-triage.invalid/fhir"

QUESTIONNAIRE_ID = "itb-triage"
QUESTIONNAIRE_URL = f"{CANONICAL}/Questionnaire/{QUESTIONNAIRE_ID}"


def code_system(name: str) -> str:
    """The canonical URL of one of our code systems (`answers`, `dispositions`, ...)."""
    return f"{CANONICAL}/CodeSystem/{name}"


ANSWERS = code_system("answers")
DISPOSITIONS = code_system("dispositions")
CONDITIONS = code_system("conditions")
ASSESSMENTS = code_system("assessments")
RED_FLAGS = code_system("red-flags")
RECOMMENDATIONS = code_system("recommendations")
TIERS = code_system("tiers")

CASE_ID_SYSTEM = f"{CANONICAL}/NamingSystem/case-id"
KNOWLEDGE_VERSION_SYSTEM = f"{CANONICAL}/NamingSystem/knowledge-version"

# The answer "none of these" to a multiple choice: the case's empty list. Hyphenated so
# that it cannot be a knowledge value id (ids are lower case with underscores).
NONE_OF_THESE = "none-of-these"

# linkIds of the outcome items $next-question adds on completion; hyphenated like the
# help items' so that no question id can take them. A QuestionnaireResponse read as a
# case skips them.
OUTCOME_DISPOSITION = "outcome-disposition"
OUTCOME_HEADLINE = "outcome-headline"
HELP_SUFFIX = "-help"
INTRO_SUFFIX = "-intro"

# HL7 core and SDC extensions.
EXT_ADAPTIVE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive"
EXT_UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
EXT_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
EXT_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
EXT_OPTION_EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
EXT_RELATED_ARTIFACT = "http://hl7.org/fhir/StructureDefinition/cqf-relatedArtifact"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
UCUM = "http://unitsofmeasure.org"

# Unit words of the knowledge that have a UCUM code; any other unit (a 0-10 scale) is
# carried as display text only.
UCUM_CODES = {"years": "a", "weeks": "wk", "days": "d", "km": "km", "hours": "h", "minutes": "min"}

# The contract's dispositions (shared/contract/README.md), most urgent first. Self-care
# and incomplete ask for no clinician, so they have no ServiceRequest priority.
PRIORITY = {"emergency": "stat", "same_day": "asap", "within_days": "urgent", "routine": "routine"}
INDICATOR = {
    "emergency": "critical",
    "same_day": "critical",
    "within_days": "warning",
    "incomplete": "warning",
    "routine": "info",
    "self_care": "info",
}
