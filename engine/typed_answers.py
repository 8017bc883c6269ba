"""Typed answers in plain words: "6 weeks", "six weeks", "10 miles", "nope", "gradually".

One place turns what a person types into an answer value for a question, from tables
of words and units rather than a chain of special cases:

- `YES_NO_WORDS`: everyday words for yes, no and not sure;
- `NUMBER_WORDS`: numbers written as words ("six", "twenty-eight", "a couple");
- `UNITS`: units and their spellings, each with its dimension and size, so an answer
  in another unit of the question's dimension is converted ("2 months" for a question
  in weeks, "10 mi" for one in km) and the conversion is said back to the person.

A question's own unit comes from the knowledge (`unit` in questions.yaml); a unit the
table does not know (such as "0–10") takes plain numbers only. Choices match their
number, their id, their label, a word form of either ("gradually" for `gradual`) or a
unique beginning ("half" for `half_marathon`). Every refusal is an AnswerError whose
message says what would be right with an example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .facts import normalise_number


class AnswerError(ValueError):
    """A typed answer that does not fit the question; the message says what would, with an example."""


@dataclass(frozen=True)
class Reading:
    """An answer value, and a note to say back when the text was converted ("10 miles = 16.1 km")."""

    value: Any
    note: str = ""


@dataclass(frozen=True)
class Unit:
    """A unit: the name to show, its dimension, its size in the dimension's base unit,
    and an everyday amount of it for examples."""

    name: str
    dimension: str
    size: float
    example: int

    def amount(self, number: float) -> str:
        """`number` with this unit, singular for one: "1 month", "2.5 weeks"."""
        name = self.name[:-1] if number == 1 and self.name.endswith("s") else self.name
        return f"{_figure(number)} {name}"


_DAY = Unit("days", "time", 1.0, 10)
_WEEK = Unit("weeks", "time", 7.0, 6)
_MONTH = Unit("months", "time", 365.25 / 12, 2)
_YEAR = Unit("years", "time", 365.25, 30)
_KM = Unit("km", "distance", 1.0, 5)
_MILE = Unit("miles", "distance", 1.609344, 3)
_METRE = Unit("metres", "distance", 0.001, 800)

# Every spelling of a unit, lower case. "k" is the runner's kilometre ("5k").
UNITS: Mapping[str, Unit] = {
    **dict.fromkeys(["d", "day", "days"], _DAY),
    **dict.fromkeys(["w", "wk", "wks", "week", "weeks"], _WEEK),
    "fortnight": Unit("fortnights", "time", 14.0, 2),
    "fortnights": Unit("fortnights", "time", 14.0, 2),
    **dict.fromkeys(["mo", "mos", "mth", "mths", "month", "months"], _MONTH),
    **dict.fromkeys(["y", "yr", "yrs", "year", "years", "yo", "y/o"], _YEAR),
    **dict.fromkeys(["k", "km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"], _KM),
    **dict.fromkeys(["mi", "mile", "miles"], _MILE),
    **dict.fromkeys(["m", "metre", "metres", "meter", "meters"], _METRE),
}

YES_NO_WORDS: Mapping[str, str] = {
    **dict.fromkeys(["y", "yes", "yeah", "yea", "yep", "yup", "ya", "aye", "sure", "ok", "okay", "true",
                     "correct", "definitely", "it does", "i do", "i am", "i can", "i have", "it is"], "yes"),
    **dict.fromkeys(["n", "no", "nope", "nah", "nay", "never", "false", "not really", "not at all",
                     "it does not", "it doesn't", "i don't", "i do not", "i can't", "i cannot", "i haven't",
                     "it isn't", "it is not"], "no"),
    **dict.fromkeys(["u", "unsure", "not sure", "dunno", "don't know", "dont know", "do not know", "i don't know",
                     "i dont know", "idk", "maybe", "perhaps", "not certain", "no idea", "can't tell",
                     "cannot tell", "can't say", "hard to say"], "unsure"),
}

# Words that mean nothing selected, for a question of several choices.
NONE_WORDS = frozenset({"none", "nothing", "no", "nope", "neither", "nil", "n/a"})

NUMBER_WORDS: Mapping[str, float] = {
    "zero": 0, "nought": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "half": 0.5, "couple": 2, "dozen": 12,
}
_TENS = frozenset({"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"})

# Words around a number that change nothing: "about 6 weeks", "28 years old", "6 weeks ago".
FILLER_WORDS = frozenset({"about", "around", "roughly", "approximately", "approx", "nearly", "almost", "some",
                          "maybe", "perhaps", "just", "over", "under", "ish", "old", "ago", "of", "for", "the",
                          "in", "it", "was", "is", "i'm", "im", "i", "am", "since"})

# Words that do not tell one answer from another.
SMALL_WORDS = frozenset({"a", "an", "the", "of", "my", "it", "is", "i", "to", "on", "in", "at", "and", "or"})

# Endings that make a word form of an option ("gradually" -> gradual, "worsening" -> worse).
_ENDINGS = ("ally", "ly", "ing", "ed", "er", "s")

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[a-z][a-z'/]*|[~/]")
_OUT_OF = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/|out of)\s*([0-9]+(?:\.[0-9]+)?)\s*$")


# --- the question's side ----------------------------------------------------------------


def question_unit(entry: Mapping[str, Any]) -> Unit | None:
    """The question's unit from the table, or None for a unit the table does not know."""
    unit = entry.get("unit")
    return UNITS.get(str(unit).lower()) if unit else None


def example_answer(entry: Mapping[str, Any]) -> str:
    """An example answer for the retry message, true to the question's type and range."""
    if entry["type"] == "multi":
        return "1,3" if len(entry["values"]) >= 3 else "1"
    if entry["type"] == "choice":
        head = _head(entry["values"][0])
        return f"1 or {head}" if len(head) <= 20 else "1"
    unit = question_unit(entry)
    low, high = entry["minimum"], entry["maximum"]
    amount = unit.example if unit is not None else round((low + high) / 2)
    amount = min(max(amount, low), high)
    if unit is None:
        return f"{amount:g}"
    shown = f"{amount:g} or \"{amount:g} {unit.name}\""
    other = _OTHER_UNIT.get(unit.name)
    if other is not None and low <= other[1] * other[0].size / unit.size <= high:
        shown += f" or \"{other[1]} {other[0].name}\""
    return shown


# One other unit of the same dimension to show in examples.
_OTHER_UNIT: Mapping[str, tuple[Unit, int]] = {
    "days": (_WEEK, 3), "weeks": (_MONTH, 2), "months": (_WEEK, 6), "years": (_MONTH, 6),
    "km": (_MILE, 3), "miles": (_KM, 5),
}


def _retry(entry: Mapping[str, Any], problem: str) -> AnswerError:
    return AnswerError(f"{problem}. Type {what_to_type(entry)}, for example {example_answer(entry)}")


def what_to_type(entry: Mapping[str, Any]) -> str:
    if entry["type"] == "choice":
        return f"a number from 1 to {len(entry['values'])} or an answer in words"
    if entry["type"] == "multi":
        return "the numbers or names of the answers that apply, separated by commas"
    unit = question_unit(entry)
    kind = "a whole number" if entry["type"] == "integer" else "a number"
    if unit is not None:
        kind += f" of {unit.name}"
    return f"{kind} from {entry['minimum']:g} to {entry['maximum']:g}"


# --- reading ------------------------------------------------------------------------------


def read_answer(entry: Mapping[str, Any], text: str, *, min_items: int = 0) -> Reading:
    """The answer `text` gives to the question `entry` (a questions.yaml entry), or AnswerError.

    `min_items` is the fewest choices a question of several choices takes (the case schema's).
    """
    cleaned = _clean(text)
    if not cleaned:
        raise _retry(entry, "No answer given")
    if entry["type"] == "choice":
        return Reading(_choice(entry, cleaned))
    if entry["type"] == "multi":
        return Reading(_several(entry, cleaned, min_items))
    return _number(entry, cleaned)


def _clean(text: str) -> str:
    text = text.strip().lower().replace("\u2019", "'")
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .!?,;:")


def _choice(entry: Mapping[str, Any], text: str) -> str:
    options = entry["values"]
    ids = [str(v["id"]) for v in options]
    if text.isascii() and text.isdigit():  # "¹" is a digit to isdigit(), not to int()
        if 1 <= int(text) <= len(ids):
            return ids[int(text) - 1]
        raise _retry(entry, f"There is no answer {text}")
    for option in options:  # the id or the label, exactly
        if text in (str(option["id"]).lower(), str(option["label"]).lower(), _spaced(option["id"])):
            return str(option["id"])
    meaning = YES_NO_WORDS.get(text)
    if meaning is not None:
        if meaning in ids:
            return meaning
        # A whole phrase that means an answer not offered ("no idea" where there is no
        # "not sure") must not be read by its first word as another ("no").
        raise _retry(entry, f"\"{text}\" is not one of the answers")
    first_word = re.split(r"[ ,;]", text, maxsplit=1)[0]
    if YES_NO_WORDS.get(first_word) in ids and first_word != text:  # "yes, once", "no, never"
        return str(YES_NO_WORDS[first_word])
    found = _by_word_form(options, text) or _by_beginning(options, text) or _by_words(options, text)
    if len(found) == 1:
        return found[0]
    if found:
        numbers = " or ".join(str(ids.index(f) + 1) for f in found)
        raise _retry(entry, f"\"{text}\" fits more than one answer ({numbers})")
    raise _retry(entry, f"\"{text}\" is not one of the answers")


def _spaced(identifier: Any) -> str:
    return str(identifier).lower().replace("_", " ")


def _keys(option: Mapping[str, Any]) -> set[str]:
    """The names an option goes by: its id, its label, the label's first part ("Gradually")."""
    return {_spaced(option["id"]), str(option["label"]).lower(), _head(option)}


def _head(option: Mapping[str, Any]) -> str:
    """The label up to its first comma or bracket: "gradually" of "Gradually, over several runs"."""
    return re.split(r"[,(]", str(option["label"]).lower())[0].strip()


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _stems(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in re.findall(r"[a-z0-9]+", text))


def _by_word_form(options: list[Mapping[str, Any]], text: str) -> list[str]:
    """The options whose id, label or label's first part is `text` in another word form."""
    wanted = _stems(text)
    return [str(o["id"]) for o in options if any(_stems(key) == wanted for key in _keys(o))]


def _by_words(options: list[Mapping[str, Any]], text: str) -> list[str]:
    """The options whose label has every word typed, in some form ("after a set distance"
    for "After a fairly set distance into a run"); small words do not count."""
    typed = {w for w in _stems(text) if w not in SMALL_WORDS}
    if not typed:
        return []
    return [str(o["id"]) for o in options if typed <= {w for key in _keys(o) for w in _stems(key)}]


def _by_beginning(options: list[Mapping[str, Any]], text: str) -> list[str]:
    """The options whose id or label begins with `text` (three letters at least)."""
    if len(text) < 3:
        return []
    return [str(o["id"]) for o in options if any(key.startswith(text) for key in _keys(o))]


def _several(entry: Mapping[str, Any], text: str, min_items: int) -> list[str]:
    if text in NONE_WORDS:
        if min_items > 0:
            raise _retry(entry, "At least one answer is needed")
        return []
    # Split at commas and "and", then match the longest run of pieces first: a label
    # may itself hold a comma or an "and" ("Insoles, orthotics or different shoes").
    pieces = re.split(r"(,|;|&|\+|\band\b)", text)
    words, chosen, start = pieces[::2], [], 0
    while start < len(words):
        for end in range(len(words), start, -1):
            part = "".join(pieces[2 * start: 2 * end - 1]).strip(" ,;&+")
            if not part:  # only separators: skip them
                if end == start + 1:
                    break
                continue
            try:
                chosen.append(_choice(entry, part))
            except AnswerError:
                if end == start + 1:
                    raise
                continue
            break
        start = end
    if len(set(chosen)) != len(chosen):
        raise _retry(entry, "Each answer once, please")
    order = [str(v["id"]) for v in entry["values"]]
    return sorted(chosen, key=order.index)


def _number(entry: Mapping[str, Any], text: str) -> Reading:
    target = question_unit(entry)
    out_of = _OUT_OF.match(text)
    if out_of and float(out_of.group(2)) == entry["maximum"]:  # "7/10", "7 out of 10" on a 0-10 scale
        amount, given = float(out_of.group(1)), None
    else:
        amount, given = _amount_and_unit(entry, text)
    note = ""
    if given is not None and target is not None and given is not target and given.name != target.name:
        if given.dimension != target.dimension:
            raise _retry(entry, f"That is in {given.name}, not {target.name}")
        converted = amount * given.size / target.size
        value = round(converted) if entry["type"] == "integer" else round(converted, 1)
        note = f"{given.amount(amount)} = {'about ' if value != converted else ''}{target.amount(value)}"
        amount = value
    elif given is not None and target is None:
        raise _retry(entry, f"This question is not in {given.name}")
    if entry["type"] == "integer" and amount != int(amount):
        raise _retry(entry, f"{_figure(amount)} is not a whole number")
    if not entry["minimum"] <= amount <= entry["maximum"]:
        shown = target.amount(amount) if target is not None else _figure(amount)
        raise _retry(entry, f"{note}, which is out of range" if note else f"{shown} is out of range")
    return Reading(normalise_number(float(amount)), note)


def _figure(amount: float) -> str:
    return f"{amount:g}" if abs(amount) < 1e6 else f"{amount:.0f}"


def _amount_and_unit(entry: Mapping[str, Any], text: str) -> tuple[float, Unit | None]:
    """The number and the unit of an answer such as "6 weeks", "six wks", "5k", "a month"."""
    tokens = [t for t in _TOKEN.findall(text.replace("-", " ")) if t not in FILLER_WORDS and t != "~"]
    numbers: list[str] = []
    while tokens and (tokens[0][0].isdigit() or tokens[0] in NUMBER_WORDS or tokens[0] == "and"):
        numbers.append(tokens.pop(0))
    rest = " ".join(tokens)
    if not numbers and rest in UNITS:  # "month": one of it
        numbers = ["1"]
    amount = _amount(numbers) if numbers else None
    if amount is None:
        raise _retry(entry, f"\"{text}\" is not a number")
    if not rest:
        return amount, None
    unit = UNITS.get(rest) or UNITS.get(rest.rstrip("s"))
    if unit is None:
        raise _retry(entry, f"\"{rest}\" is not a unit this question takes")
    return amount, unit


def _amount(words: list[str]) -> float | None:
    """A number from digits or words: "28", "2.5", "twenty eight", "a couple", "two and a half"."""
    half = 0.0
    if words[-3:] == ["and", "a", "half"]:
        words, half = words[:-3], 0.5
    if words in (["half"], ["a", "half"]):
        return 0.5
    if len(words) > 1 and words[0] in ("a", "an") and words[1] in ("couple", "dozen"):
        words = words[1:]
    if len(words) == 1:
        word = words[0]
        value = float(word.replace(",", ".")) if word[0].isdigit() else NUMBER_WORDS.get(word)
    elif len(words) == 2 and words[0] in _TENS and 1 <= NUMBER_WORDS.get(words[1], 0) <= 9:
        value = NUMBER_WORDS[words[0]] + NUMBER_WORDS[words[1]]  # "twenty eight"
    else:
        value = None
    return None if value is None else value + half
