"""Reading a case: one runner's answers, checked against the case contract.

Every problem becomes a CaseError naming the file, the place ($.answers.side) and what
would have been right. Answers are normalised so that the same answers always give
the same result: questions in knowledge order, multiple choices in the schema's order,
3.0 written as 3.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from .documents import DocumentError, load_document
from .errors import CaseError
from .facts import normalise_number
from .knowledge import Knowledge

# A case is a few kilobytes; refuse absurd inputs before parsing them.
MAX_CASE_BYTES = 1_000_000


@dataclass(frozen=True)
class Case:
    """A checked case: its optional label and its normalised answers."""

    id: str | None
    answers: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": "itb-case/1"}
        if self.id is not None:
            out["id"] = self.id
        out["answers"] = dict(self.answers)
        return out


def read_case_text(data: bytes, where: str) -> Any:
    """Decode and parse the bytes of a case file (JSON or YAML)."""
    if len(data) > MAX_CASE_BYTES:
        raise CaseError(where, "", f"file is {len(data):,} bytes", f"a case file of at most {MAX_CASE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError(where, "", f"not UTF-8 text (byte {exc.start})", "a JSON or YAML file in UTF-8") from None
    try:
        return load_document(text)
    except DocumentError as exc:
        line = f"line {exc.line}" if exc.line else ""
        raise CaseError(where, line, str(exc), "a JSON or YAML case file") from None
    except RecursionError:
        raise CaseError(where, "", "nested too deeply", "a JSON or YAML case file") from None


def check_case(document: Any, where: str, knowledge: Knowledge) -> Case:
    """Validate a parsed case document and normalise its answers."""
    if document is None:
        raise CaseError(where, "", "the case file is empty", "an object with 'format' and 'answers'")
    _reject_non_finite(document, where, "$", knowledge)
    validator = jsonschema.Draft202012Validator(knowledge.case_schema)
    errors = sorted(validator.iter_errors(document), key=_error_order)
    if errors:
        raise _case_error(errors[0], where, knowledge)
    answers = document["answers"]
    normalised: dict[str, Any] = {}
    for question, entry in knowledge.questions.items():
        if question not in answers:
            continue
        value = answers[question]
        if isinstance(value, list):
            order = [v["id"] for v in entry["values"]]
            value = sorted(value, key=order.index)
        normalised[question] = normalise_number(value)
    return Case(document.get("id"), normalised)


def _reject_non_finite(node: Any, where: str, path: str, knowledge: Knowledge) -> None:
    """NaN passes every minimum and maximum, and is not JSON: refuse it (and infinities)."""
    if isinstance(node, float) and not math.isfinite(node):
        problem = "NaN is not a number" if math.isnan(node) else "the number is too large"
        question = path.removeprefix("$.answers.")
        expected = expected_text(question, knowledge) if question in knowledge.questions else "a finite number"
        raise CaseError(where, path, problem, expected)
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        _reject_non_finite(child, where, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}", knowledge)


def _error_order(error: jsonschema.ValidationError) -> tuple[int, list[str]]:
    # Report the shallowest problem first; among equals, the first in path order.
    return (len(error.absolute_path), [str(p) for p in error.absolute_path])


def _case_error(error: jsonschema.ValidationError, where: str, knowledge: Knowledge) -> CaseError:
    path = error.json_path
    location = list(error.absolute_path)
    if error.validator == "additionalProperties" and location == ["answers"]:
        given = error.instance if isinstance(error.instance, dict) else {}
        unknown = sorted(str(key) for key in given if key not in knowledge.questions)
        name = unknown[0] if unknown else "?"
        problem = f"unknown question id '{name}'"
        close = difflib.get_close_matches(name, list(knowledge.questions), n=1)
        if close:
            return CaseError(where, f"$.answers.{name}", problem, hint=f"did you mean '{close[0]}'?")
        return CaseError(where, f"$.answers.{name}", problem, "a question id of the case schema")
    if error.validator == "additionalProperties":
        return CaseError(where, path, error.message, "only 'format', 'id', 'note' and 'answers'")
    if error.validator == "required":
        return CaseError(where, path, error.message, "a case like {\"format\": \"itb-case/1\", \"answers\": {...}}")
    if len(location) >= 2 and location[0] == "answers":
        question = str(location[1])
        return CaseError(where, path, _describe_value(error.instance), expected_text(question, knowledge))
    if error.validator == "type" and not location:
        return CaseError(where, "$", f"the case is {_describe_value(error.instance)}",
                         "an object with 'format' and 'answers'")
    return CaseError(where, path, error.message)


def _describe_value(value: Any) -> str:
    if value is None:
        return "null is not an answer (leave an unanswered question out)"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} is not allowed"


def expected_text(question: str, knowledge: Knowledge) -> str:
    entry = knowledge.questions[question]
    if entry["type"] in ("choice", "multi"):
        values = ", ".join(f"'{v['id']}'" for v in entry["values"])
        if entry["type"] == "multi":
            return f"a list of distinct values from {values}"
        return f"one of {values}"
    kind = "a whole number" if entry["type"] == "integer" else "a number"
    return f"{kind} from {entry['minimum']} to {entry['maximum']}"
