"""Typed answers in plain words, as properties over every question of the knowledge:
numbers with units and in words, conversions said back, choices by number, id, label,
word form and everyday yes/no words, and a retry message with an example for the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from itb_triage.engine import Knowledge
from itb_triage.engine.knowledge import load_knowledge
from itb_triage.engine.typed_answers import (
    NUMBER_WORDS,
    UNITS,
    YES_NO_WORDS,
    AnswerError,
    question_unit,
    read_answer,
)

KNOWLEDGE: Knowledge = load_knowledge()
QUESTIONS = KNOWLEDGE.questions
SCHEMAS = KNOWLEDGE.case_schema["properties"]["answers"]["properties"]
NUMBERS = sorted(q for q, e in QUESTIONS.items() if e["type"] in ("integer", "number"))
CHOICES = sorted(q for q, e in QUESTIONS.items() if e["type"] == "choice")
MULTIS = sorted(q for q, e in QUESTIONS.items() if e["type"] == "multi")
YES_NO = sorted(q for q in CHOICES if {"yes", "no"} <= {v["id"] for v in QUESTIONS[q]["values"]})
ONES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def read(question: str, text: str) -> Any:
    schema = SCHEMAS[question]
    value = read_answer(QUESTIONS[question], text, min_items=schema.get("minItems", 0)).value
    jsonschema.validate(value, schema)  # whatever is read is a valid answer of the contract
    return value


def in_words(n: int) -> str:
    """0-99 as words: 28 -> 'twenty-eight'."""
    if n < 20:
        return next(w for w, v in NUMBER_WORDS.items() if v == n and w not in ("a", "an", "nought", "dozen"))
    tens, ones = divmod(n, 10)
    return TENS[tens - 2] + (f"-{ONES[ones - 1]}" if ones else "")


def spellings(unit_name: str) -> list[str]:
    return [alias for alias, unit in UNITS.items() if unit.name == unit_name]


def test_the_knowledge_has_what_these_properties_range_over() -> None:
    assert NUMBERS and CHOICES and MULTIS and YES_NO
    assert any(question_unit(QUESTIONS[q]) is not None for q in NUMBERS)


# --- numbers ----------------------------------------------------------------------------------


@st.composite
def number_answers(draw: st.DrawFn) -> tuple[str, int]:
    question = draw(st.sampled_from(NUMBERS))
    entry = QUESTIONS[question]
    n = draw(st.integers(int(entry["minimum"]), min(int(entry["maximum"]), 99)))
    return question, n


@given(number_answers(), st.data())
def test_a_number_in_the_questions_own_unit_reads_as_itself(answer: tuple[str, int], data: st.DataObject) -> None:
    question, n = answer
    unit = question_unit(QUESTIONS[question])
    forms = [str(n), f"  {n} ", f"about {n}", in_words(n)]
    if unit is not None:
        alias = data.draw(st.sampled_from(spellings(unit.name)))
        forms += [f"{n} {alias}", f"{n}{alias}", f"{in_words(n)} {alias}", f"{n} {alias.upper()}"]
    form = data.draw(st.sampled_from(forms))
    assert read(question, form) == n, form


@given(number_answers(), st.data())
def test_another_unit_of_the_same_kind_is_converted_and_said(answer: tuple[str, int], data: st.DataObject) -> None:
    question, n = answer
    entry = QUESTIONS[question]
    unit = question_unit(entry)
    assume(unit is not None)
    assert unit is not None
    other = data.draw(st.sampled_from(sorted({u.name for u in UNITS.values()
                                              if u.dimension == unit.dimension and u.name != unit.name})))
    alias = data.draw(st.sampled_from(spellings(other)))
    size = next(u.size for u in UNITS.values() if u.name == other)
    exact = n * size / unit.size
    try:
        reading = read_answer(entry, f"{n} {alias}")
    except AnswerError as exc:  # converted, it may fall outside the question's range
        assert "out of range" in str(exc) or "not a whole number" in str(exc)
        expected = round(exact) if entry["type"] == "integer" else round(exact, 1)
        assert not entry["minimum"] <= expected <= entry["maximum"]
        return
    expected = round(exact) if entry["type"] == "integer" else round(exact, 1)
    assert reading.value == pytest.approx(expected)
    assert reading.note.startswith(f"{n} ") and reading.note.endswith(unit.amount(expected).split(" ", 1)[1])


@pytest.mark.parametrize(("question", "text", "value", "note"), [
    ("duration_weeks", "6 weeks", 6, ""),
    ("duration_weeks", "six weeks", 6, ""),
    ("duration_weeks", "2 months", 8.7, "2 months = about 8.7 weeks"),
    ("race_in_days", "3 days", 3, ""),
    ("race_in_days", "3 weeks", 21, "3 weeks = 21 days"),
    ("age_years", "28 years", 28, ""),
    ("age_years", "28 years old", 28, ""),
    ("distance_to_onset_km", "10 miles", 16.1, "10 miles = about 16.1 km"),
    ("distance_to_onset_km", "10 mi", 16.1, "10 miles = about 16.1 km"),
    ("distance_to_onset_km", "5k", 5, ""),
    ("duration_weeks", "two and a half weeks", 2.5, ""),
    ("pain_severity", "7/10", 7, ""),
    ("pain_severity", "7 out of 10", 7, ""),
])
def test_the_examples_of_the_issue(question: str, text: str, value: Any, note: str) -> None:
    if question not in QUESTIONS:
        pytest.skip(f"{question} is no longer in the knowledge")
    reading = read_answer(QUESTIONS[question], text)
    assert (reading.value, reading.note) == (value, note)


@given(question=st.sampled_from(NUMBERS), text=st.text(max_size=30))
@settings(max_examples=300)
def test_any_text_for_a_number_is_read_or_refused_with_an_example(question: str, text: str) -> None:
    try:
        read(question, text)
    except AnswerError as exc:
        assert "for example" in str(exc)
        assert "\n" not in str(exc)


# --- choices ----------------------------------------------------------------------------------


@st.composite
def choice_answers(draw: st.DrawFn) -> tuple[str, int, Mapping[str, Any]]:
    question = draw(st.sampled_from(CHOICES))
    values = QUESTIONS[question]["values"]
    index = draw(st.integers(0, len(values) - 1))
    return question, index, values[index]


def any_case(text: str, data: st.DataObject) -> str:
    return data.draw(st.sampled_from([text, text.upper(), text.capitalize(), f"  {text}. "]))


@given(choice_answers(), st.data())
def test_a_choice_by_its_number_id_or_label_in_any_case(answer: tuple[str, int, Any], data: st.DataObject) -> None:
    question, index, option = answer
    form = data.draw(st.sampled_from([str(index + 1), str(option["id"]), str(option["label"])]))
    assert read(question, any_case(form, data)) == option["id"]


@given(st.sampled_from(YES_NO), st.sampled_from(sorted(YES_NO_WORDS)), st.data())
def test_everyday_words_for_yes_no_and_not_sure(question: str, word: str, data: st.DataObject) -> None:
    meaning = YES_NO_WORDS[word]
    ids = {v["id"] for v in QUESTIONS[question]["values"]}
    if meaning in ids:
        assert read(question, any_case(word, data)) == meaning
    else:
        with pytest.raises(AnswerError):
            read(question, word)


@pytest.mark.parametrize(("question", "text", "value"), [
    ("onset", "gradually", "gradual"),
    ("onset", "suddenly", "sudden"),
    ("knee_locking", "nope", "no"),
    ("knee_locking", "yeah", "yes"),
    ("knee_locking", "not sure", "unsure"),
    ("knee_locking", "dunno", "unsure"),
    ("trend", "getting worse", "worse"),
    ("race_distance", "half", "half_marathon"),
])
def test_word_forms_and_synonyms_of_the_issue(question: str, text: str, value: str) -> None:
    if question not in QUESTIONS or value not in {v["id"] for v in QUESTIONS[question]["values"]}:
        pytest.skip(f"{question}={value} is no longer in the knowledge")
    assert read(question, text) == value


@given(st.sampled_from(MULTIS), st.data())
def test_several_choices_by_number_or_label_in_any_order(question: str, data: st.DataObject) -> None:
    values = QUESTIONS[question]["values"]
    picked = data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=4, unique=True))
    forms = [str(i + 1) if data.draw(st.booleans()) else str(values[i]["label"]) for i in picked]
    order = [v["id"] for v in values]
    expected = sorted((values[i]["id"] for i in picked), key=order.index)
    assume(not any("," in f or " and " in f.lower() or " or " in f.lower() for f in forms if len(picked) > 1))
    assert read(question, ", ".join(forms)) == expected


@given(question=st.sampled_from(CHOICES + MULTIS), text=st.text(max_size=30))
@settings(max_examples=300)
def test_any_text_for_a_choice_is_read_or_refused_with_an_example(question: str, text: str) -> None:
    try:
        read(question, text)
    except AnswerError as exc:
        assert "for example" in str(exc)


def test_none_for_several_choices_says_at_least_one_where_one_is_needed() -> None:
    needing = [q for q in MULTIS if SCHEMAS[q].get("minItems", 0) >= 1]
    optional = [q for q in MULTIS if SCHEMAS[q].get("minItems", 0) == 0]
    for question in needing:
        with pytest.raises(AnswerError, match="At least one"):
            read(question, "none")
    for question in optional:
        assert read(question, "nothing") == []


def test_a_phrase_for_an_answer_not_offered_is_not_read_by_its_first_word() -> None:
    # "no idea" means not sure; where a question offers no "not sure", it must not become "no".
    question = next(q for q in YES_NO if "unsure" not in {v["id"] for v in QUESTIONS[q]["values"]})
    with pytest.raises(AnswerError):
        read(question, "no idea")
    assert read(question, "no, never") == "no"
