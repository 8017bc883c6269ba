"""Reading a case: one runner's answers, checked against the case contract.

Every problem becomes a CaseError naming the file, the place ($.answers.side) and what
would have been right. Answers are normalised so that the same answers always give
the same result: questions in knowledge order, multiple choices in the schema's order,
3.0 written as 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .derived import Derived
from .documents import DocumentError, load_document
from .errors import MAX_PROBLEMS, CaseError
from .facts import normalise_number
from .knowledge import Knowledge

if TYPE_CHECKING:
    import jsonschema

# A case is a few kilobytes; refuse absurd inputs before parsing them.
MAX_CASE_BYTES = 1_000_000


@dataclass(frozen=True)
class Case:
    """A checked case: its optional label and its normalised answers."""

    id: str | None
    answers: Mapping[str, Any]
    #: The file it was read from, for error messages; not part of the case.
    source: str = field(default="", compare=False)

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
    try:
        return _check_case(document, where, knowledge)
    except RecursionError:  # jsonschema and repr() recurse into what they report on
        raise CaseError(where, "", "nested too deeply", "a JSON or YAML case file") from None


def _check_case(document: Any, where: str, knowledge: Knowledge) -> Case:
    if document is None:
        raise CaseError(where, "", "the case file is empty", "an object with 'format' and 'answers'")
    checks = _schema_checks(knowledge.case_schema)
    if checks.accepts is None or not checks.accepts(document):
        # What the schema cannot judge first (a document the quick check accepts passes it).
        _screen(document, where, "$", knowledge)
        document = _forgiving(document, knowledge)
        # The full check: finds and words every problem (or, rarely, accepts what the
        # quick check would not vouch for, such as 3.0 for a whole number).
        errors = sorted(checks.validator.iter_errors(document), key=_error_order)
        if errors:
            unique = {p.one_line(): p for e in reversed(errors) for p in reversed(_case_errors(e, where, knowledge))}
            problems = list(reversed(unique.values()))  # each problem once, in document order
            first, *others = problems
            first.others = tuple(others)
            raise first
    answers = document["answers"]
    order = _answer_order(knowledge)
    places = order.places
    normalised = {q: answers[q] for q in sorted(places.keys() & answers.keys(), key=places.__getitem__)}
    for question, value in normalised.items():
        if isinstance(value, list):
            normalised[question] = sorted(value, key=order.choices[question].index)
        elif isinstance(value, float):
            normalised[question] = normalise_number(value)
    return Case(document.get("id"), normalised, where)


@dataclass(frozen=True)
class _AnswerOrder:
    """The order answers are kept in: questions in knowledge order, choices in theirs."""

    places: dict[str, int]  # question -> its place
    choices: dict[str, list[Any]]  # question -> its values' ids, in order


def _make_answer_order(knowledge: Knowledge) -> _AnswerOrder:
    questions = knowledge.questions
    return _AnswerOrder({q: n for n, q in enumerate(questions)},
                        {q: [v["id"] for v in e.get("values", ())] for q, e in questions.items()})


_answer_order = Derived(_make_answer_order)


def answer_problem(question: str, value: Any, where: str, knowledge: Knowledge) -> CaseError | None:
    """What is wrong with one answer, checked exactly as in a case file (None if it fits).

    The one check for an answer wherever it comes from: a case file, a typed answer at
    an interview prompt (NaN and infinity included), a saved session.
    """
    try:
        check_case({"format": "itb-case/1", "answers": {question: value}}, where, knowledge)
    except CaseError as exc:
        return exc
    return None


# --- the quick check -------------------------------------------------------------
#
# jsonschema takes ~0.18 ms to validate a case: more than the rest of reading it, and
# a fifth of a whole assessment in `batch`. The case schema uses a handful of keywords,
# so it is compiled once into plain Python tests. The quick check only ever says "valid
# for certain" or "not sure": every "not sure" goes to jsonschema, which stays the
# authority on what is wrong and how it is worded. It is conservative where JSON Schema
# is subtle (3.0 as an integer, non-string enum members, booleans): those go to
# jsonschema. A schema with any keyword it does not know gets no quick check at all.
#
# "Valid for certain" also vouches that `_screen` would pass the document (valid
# Unicode text, finite numbers, short lists, nothing the tests did not look at), so a
# case it accepts is not walked a second time: every node of the schema must say what
# its instance is (a type, an enum or a const), and an object's unknown keys or a list
# without an item schema are "not sure".

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})
_KEYWORDS = _ANNOTATIONS | {
    "type", "enum", "const", "properties", "required", "additionalProperties",
    "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "minimum", "maximum",
}


class _Unsupported(Exception):
    """The schema uses something the quick check does not implement."""


def _is_unicode(text: str) -> bool:
    """Text that can be written as UTF-8 (not a lone surrogate), as `_screen` requires."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_number(value: Any) -> bool:
    # Exact types: bool is an int subclass but not a JSON Schema number; NaN and the
    # infinities are refused with their own message by the full check.
    return type(value) is int or (type(value) is float and math.isfinite(value))


_TYPES: dict[str, Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str and (v.isascii() or _is_unicode(v)),
    "integer": lambda v: type(v) is int,  # 3.0 is an integer to JSON Schema: left to jsonschema
    "number": _is_number,
}


def _compile(schema: Any) -> Check:
    """Plain-Python tests for one schema node: True only if the instance is valid."""
    if not isinstance(schema, dict) or not set(schema) <= _KEYWORDS:
        raise _Unsupported
    tests: list[Check] = []
    kind = schema.get("type")
    if kind is not None:
        if not isinstance(kind, str) or kind not in _TYPES:
            raise _Unsupported
        tests.append(_TYPES[kind])
    elif "enum" not in schema and "const" not in schema:
        raise _Unsupported  # it could be anything: only the screen's walk can vouch for it
    for key in ("enum", "const"):
        if key in schema:
            options = schema[key] if key == "enum" else [schema[key]]
            if not isinstance(options, list) or not all(type(o) is str and _is_unicode(o) for o in options):
                raise _Unsupported
            tests.append(_one_of(frozenset(options)))
    if "minimum" in schema or "maximum" in schema:
        low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
        if not all(_is_number(bound) or bound in (-math.inf, math.inf) for bound in (low, high)):
            raise _Unsupported
        tests.append(_in_range(low, high))
    if "minLength" in schema or "maxLength" in schema:
        tests.append(_length_in(schema.get("minLength", 0), schema.get("maxLength", math.inf)))
    if kind == "object" or schema.keys() & {"properties", "required", "additionalProperties"}:
        tests.append(_object_test(schema))
    if kind == "array" or schema.keys() & {"items", "minItems", "maxItems", "uniqueItems"}:
        tests.append(_array_test(schema))
    return _all_of(tests)


def _all_of(tests: list[Check]) -> Check:
    # One or two tests (the usual case) without the cost of all() over a generator.
    if not tests:
        return lambda value: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda value: first(value) and second(value)
    return lambda value: all(test(value) for test in tests)


def _one_of(allowed: frozenset[str]) -> Check:
    return lambda value: type(value) is str and value in allowed


def _in_range(low: float, high: float) -> Check:
    return lambda value: not _is_number(value) or low <= value <= high  # bounds apply to numbers only


def _length_in(shortest: float, longest: float) -> Check:
    return lambda value: type(value) is not str or shortest <= len(value) <= longest


def _object_test(schema: dict[str, Any]) -> Check:
    properties = {name: _compile(sub) for name, sub in schema.get("properties", {}).items()}
    if not all(_is_unicode(name) for name in properties):
        raise _Unsupported
    required = tuple(schema.get("required", ()))
    if schema.get("additionalProperties", True) not in (True, False):
        raise _Unsupported  # a schema for the other properties is not implemented

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return True  # object keywords do not apply to other types
        if any(name not in value for name in required):
            return False
        for name, item in value.items():
            test = properties.get(name) if type(name) is str else None
            # An unknown key is invalid, or (where other keys are allowed) left to the
            # full check, whose screen walks its value.
            if test is None or not test(item):
                return False
        return True

    return check


def _array_test(schema: dict[str, Any]) -> Check:
    if "items" not in schema:
        raise _Unsupported  # its items could be anything
    items = _compile(schema["items"])
    # A longer list is "not sure" even where the schema allows it: the screen refuses it.
    fewest, most = schema.get("minItems", 0), min(schema.get("maxItems", math.inf), MAX_LIST_ITEMS)
    unique = schema.get("uniqueItems", False)

    def check(value: Any) -> bool:
        if type(value) is not list:
            return True
        if not fewest <= len(value) <= most:
            return False
        if not all(items(item) for item in value):
            return False
        # Uniqueness is only vouched for among strings (1 == 1.0 == True elsewhere).
        return not unique or (all(type(v) is str for v in value) and len(set(value)) == len(value))

    return check


@dataclass
class _SchemaChecks:
    """A schema's quick check, if it has one, and its jsonschema validator, made when a
    case first needs it: importing jsonschema costs a cold `assess` about 60 ms, and a
    valid case of the usual kind never needs it."""

    schema: Mapping[str, Any]
    accepts: Check | None
    _validator: jsonschema.protocols.Validator | None = None

    @property
    def validator(self) -> jsonschema.protocols.Validator:
        if self._validator is None:
            import jsonschema

            self._validator = jsonschema.Draft202012Validator(self.schema)
        return self._validator


def _make_schema_checks(schema: Mapping[str, Any]) -> _SchemaChecks:
    try:
        accepts: Check | None = _compile(schema)
    except _Unsupported:
        accepts = None
    return _SchemaChecks(schema, accepts)


# The checks for a schema, compiled on first use (by identity: schemas are loaded once).
_schema_checks = Derived(_make_schema_checks)


# No list in a case has more items than this (treatments_tried has 16 choices);
# jsonschema's uniqueItems is quadratic, so a long list is refused before it runs.
MAX_LIST_ITEMS = 64


def _screen(document: Any, where: str, path: str, knowledge: Knowledge) -> None:
    """Refuse what the schema cannot judge cheaply or safely, with its path: NaN and
    infinities (they pass every range check, and are not JSON), text that is not
    valid Unicode (a lone surrogate cannot be printed), and very long lists.
    Iterative: a document nested a thousand levels deep must not exhaust the stack.
    It runs on every case, so a node's path is only spelled out for an error, and
    ASCII text (nearly all of it) is passed without encoding it."""
    if _plainly_fine(document):
        return
    stack: list[tuple[Any, _Where]] = [(document, None)]
    while stack:
        node, location = stack.pop()
        if isinstance(node, str):
            if not node.isascii():
                _require_unicode(node, where, _spelled(path, location))
        elif isinstance(node, list) and len(node) > MAX_LIST_ITEMS:
            raise CaseError(where, _spelled(path, location), f"a list of {len(node):,} items",
                            f"at most {MAX_LIST_ITEMS} items")
        elif isinstance(node, float) and not math.isfinite(node):
            here = _spelled(path, location)
            problem = "NaN is not a number" if math.isnan(node) else "the number is too large"
            question = here.removeprefix("$.answers.")
            expected = expected_text(question, knowledge) if question in knowledge.questions else "a finite number"
            raise CaseError(where, here, problem, expected)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in reversed(list(children)):  # reversed: report the first problem in document order
            if isinstance(key, str) and not key.isascii():
                _require_unicode(key, where, _spelled(path, location))
            stack.append((child, (location, key)))


def _plainly_fine(document: Any) -> bool:
    """True only if `_screen` would pass the document: a case of the usual shape (an
    object of ASCII text, whole numbers and one object of answers that are ASCII text,
    finite numbers or short lists of ASCII text), checked without the general walk,
    which costs about eight times as much. Anything else gets the general walk."""
    if type(document) is not dict:
        return False
    for key, value in document.items():
        if not _ascii_text(key):
            return False
        kind = type(value)
        if kind is dict:
            if not all(_ascii_text(q) and _plain_answer(a) for q, a in value.items()):
                return False
        elif not (kind is int or _ascii_text(value)):
            return False
    return True


def _ascii_text(value: Any) -> bool:
    return type(value) is str and value.isascii()


def _plain_answer(answer: Any) -> bool:
    """An answer the general walk would pass: ASCII text, a whole or finite number, or a
    short list of ASCII text."""
    kind = type(answer)
    if kind is float:
        return math.isfinite(answer)
    if kind is list:
        return len(answer) <= MAX_LIST_ITEMS and all(_ascii_text(item) for item in answer)
    return kind is int or _ascii_text(answer)


# A node's place as (parent's place, key), the root's as None: cheap to make, and
# spelled out as a path ($.answers.side, $.answers.pain_locations[0]) only when needed.
_Where = tuple[Any, Any] | None


def _spelled(path: str, location: _Where) -> str:
    keys: list[Any] = []
    while location is not None:
        location, key = location
        keys.append(key)
    for key in reversed(keys):
        path = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
    return path


def _require_unicode(text: str, where: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CaseError(where, path, "text that is not valid Unicode (a lone surrogate)",
                        "UTF-8 text") from None


def _forgiving(document: Any, knowledge: Knowledge) -> Any:
    """The document with choice answers in any letter case ("No") and booleans (YAML's
    true/false) read as the choices they mean; a copy, and only where that makes a
    value valid. Runs only for cases the quick check did not accept."""
    answers = document.get("answers") if isinstance(document, dict) else None
    if not isinstance(answers, dict):
        return document
    fixed = dict(answers)
    for question, value in answers.items():
        entry = knowledge.questions.get(question) if isinstance(question, str) else None
        if entry is None or entry["type"] not in ("choice", "multi"):
            continue
        ids = {str(v["id"]).lower(): v["id"] for v in entry["values"]}
        if entry["type"] == "choice":
            fixed[question] = _choice_value(value, ids)
        elif isinstance(value, list):
            fixed[question] = [_choice_value(item, ids) for item in value]
    return {**document, "answers": fixed}


def _choice_value(value: Any, ids: Mapping[str, Any]) -> Any:
    if isinstance(value, bool) and "yes" in ids and "no" in ids:
        return "yes" if value else "no"
    if isinstance(value, str) and value.lower() in ids:
        return ids[value.lower()]
    return value


def _error_order(error: jsonschema.ValidationError) -> tuple[int, list[str]]:
    # Report the shallowest problem first; among equals, the first in path order.
    return (len(error.absolute_path), [str(p) for p in error.absolute_path])


def _case_errors(error: jsonschema.ValidationError, where: str, knowledge: Knowledge) -> list[CaseError]:
    """A schema error as CaseErrors: one per unknown question id, else one."""
    if error.validator == "additionalProperties" and list(error.absolute_path) == ["answers"]:
        given = error.instance if isinstance(error.instance, dict) else {}
        unknown = sorted(str(key) for key in given if key not in knowledge.questions) or ["?"]
        # Only the ones shown get a suggestion: difflib on 60,000 unknown ids takes minutes.
        return [_unknown_question(name, where, knowledge, suggest=n < MAX_PROBLEMS) for n, name in enumerate(unknown)]
    return [_case_error(error, where, knowledge)]


def _unknown_question(name: str, where: str, knowledge: Knowledge, suggest: bool = True) -> CaseError:
    import difflib  # only for a wrong id: a start need not load it

    problem = f"unknown question id '{name}'"
    close = difflib.get_close_matches(name, list(knowledge.questions), n=1) if suggest else []
    if close:
        return CaseError(where, f"$.answers.{name}", problem, hint=f"did you mean '{close[0]}'?")
    return CaseError(where, f"$.answers.{name}", problem, "a question id of the case schema")


def _case_error(error: jsonschema.ValidationError, where: str, knowledge: Knowledge) -> CaseError:
    path = error.json_path
    location = list(error.absolute_path)
    if error.validator == "additionalProperties":
        return CaseError(where, path, error.message, "only 'format', 'id', 'note' and 'answers'")
    if error.validator == "required":
        return CaseError(where, path, error.message, "a case like {\"format\": \"itb-case/1\", \"answers\": {...}}")
    if len(location) >= 2 and location[0] == "answers":
        question = str(location[1])
        return CaseError(where, path, _describe_value(error.instance), expected_text(question, knowledge))
    if error.validator == "type" and not location:
        return CaseError(where, "$", f"the case is {_short_repr(error.instance)}",
                         "an object with 'format' and 'answers'")
    return CaseError(where, path, error.message)


def _describe_value(value: Any) -> str:
    if value is None:
        return "null is not an answer (leave an unanswered question out)"
    return f"{_short_repr(value)} is not allowed"


def _short_repr(value: Any) -> str:
    """A value as the case file spells it: null, true and false, not Python's None, True and False."""
    text = "null" if value is None else ("true" if value else "false") if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def expected_text(question: str, knowledge: Knowledge) -> str:
    entry = knowledge.questions[question]
    if entry["type"] in ("choice", "multi"):
        values = ", ".join(f"'{v['id']}'" for v in entry["values"])
        if entry["type"] == "multi":
            schema = knowledge.case_schema["properties"]["answers"]["properties"][question]
            if schema.get("minItems", 0) >= 1:
                return f"a list of at least one of {values}, each once"
            return f"a list of values from {values}, each once ([] for none)"
        return f"one of {values}"
    kind = "a whole number" if entry["type"] == "integer" else "a number"
    return f"{kind} from {entry['minimum']} to {entry['maximum']}"
