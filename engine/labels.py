"""Plain-word labels for the ids of a result, for every door that shows one to a person.

Ids (`night_pain`, `within_days`, `supervised`) stay in the JSON and the technical
views; a runner reads these words instead. The words come from the knowledge: its
names and titles, with the overrides of presentation.yaml, so a new id gets a
readable label without code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .knowledge import Knowledge

# A name's last bracket holds the technical term: "Locking knee (meniscus)" -> "Locking knee".
_TRAILING_BRACKET = re.compile(r"\s*\([^()]*\)\s*$")


def plain_name(name: str) -> str:
    """A knowledge name without its closing technical bracket, if anything is left."""
    short = _TRAILING_BRACKET.sub("", name.rstrip("."))
    return (short + ("." if name.endswith(".") else "")) if short else name


def in_sentence(label: str) -> str:
    """A label to use mid-sentence: "Stress fracture" -> "stress fracture", "IT band" kept."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


class Labels:
    """Words for ids, resolved from one knowledge value."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self._words: Mapping[str, Mapping[str, str]] = knowledge.presentation.get("labels", {})
        self._dispositions = {d["id"]: d for d in knowledge.presentation.get("dispositions", [])}

    def _word(self, kind: str, ident: str) -> str | None:
        return self._words.get(kind, {}).get(ident)

    def condition(self, ident: str) -> str:
        entry = self.knowledge.conditions.get(ident)
        return self._word("conditions", ident) or (plain_name(entry["name"]) if entry else _spaced(ident))

    def red_flag(self, ident: str) -> str:
        entry = self.knowledge.red_flags.get(ident)
        return self._word("red_flags", ident) or (plain_name(entry["name"]) if entry else _spaced(ident))

    def recommendation(self, ident: str) -> str:
        entry = self.knowledge.recommendations.get(ident)
        return self._word("recommendations", ident) or (str(entry["title"]) if entry else _spaced(ident))

    def avoid(self, ident: str) -> str:
        entry = self.knowledge.avoid.get(ident)
        return self._word("avoid", ident) or (str(entry["title"]) if entry else _spaced(ident))

    def tier(self, ident: str) -> str:
        return self._word("tiers", ident) or _spaced(ident)

    def disposition(self, ident: str) -> str:
        """The urgency the way a person says it: "See a doctor today"."""
        entry = self._dispositions.get(ident)
        return str(entry["urgency"]) if entry else _spaced(ident)

    def assessment(self, value: str) -> str:
        return self._word("assessments", value) or _spaced(value)

    def urgency(self, disposition: str) -> str:
        """How soon, as an adverbial phrase ("today"), for a red flag's urgency."""
        return self._word("urgency", disposition) or in_sentence(self.disposition(disposition))

    def evidence(self, grade: str) -> str:
        return self._word("evidence", grade) or _spaced(grade)

    def question(self, ident: str) -> str:
        entry = self.knowledge.questions.get(ident)
        return str(entry["text"]) if entry else _spaced(ident)

    def answer(self, question: str, value: Any) -> str:
        """An answer in words: a choice's label, a number with its unit, a list joined."""
        entry = self.knowledge.questions.get(question, {})
        names = {v["id"]: v["label"] for v in entry.get("values", [])}
        if isinstance(value, list):
            return ", ".join(str(names.get(v, v)) for v in value) if value else "none"
        if isinstance(value, str):
            return str(names.get(value, value))
        unit = entry.get("unit")
        number = f"{value:g}" if isinstance(value, float) else str(value)
        if unit and re.fullmatch(r"\d+\s*[–-]\s*\d+", unit):  # a scale such as "0–10"
            return f"{number} (on a scale of {unit})"
        return f"{number} {unit}" if unit else number

    def of(self, kind: str, ident: str) -> str:
        """The label of an id by the fact kind that names it (as in rules and the trace)."""
        by_kind = {
            "condition": self.condition, "red_flag": self.red_flag, "recommend": self.recommendation,
            "avoid": self.avoid, "tier": self.tier, "disposition": self.disposition,
            "answer": self.question, "unanswered": self.question,
        }
        return by_kind[kind](ident) if kind in by_kind else _spaced(ident)


def _spaced(ident: str) -> str:
    """Last resort for an id no knowledge names: its words, never its underscores."""
    return ident.replace("_", " ")
