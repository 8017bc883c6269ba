"""Wording shared by `explain` and `report`: citation numbers and labels for facts and patterns.

Each text numbers its sources in order of first use, so its reference list reads 1, 2,
3 with no gaps, whatever subset of the result's sources it cites.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from itb_triage.engine import Fact, Knowledge, Result

FACT_WORDS = {
    "finding": "finding",
    "red_flag": "red flag",
    "unanswered": "unanswered",
    "condition": "condition",
    "disposition": "disposition",
    "tier": "tier",
    "recommend": "recommend",
    "avoid": "avoid",
}


class Citations:
    """Numbers citations in order of first use."""

    def __init__(self, knowledge: Knowledge, result: Result | None = None) -> None:
        self.knowledge = knowledge
        self._numbers: dict[str, int] = {}

    def number(self, citation: str) -> int:
        return self._numbers.setdefault(citation, len(self._numbers) + 1)

    def refs(self, citations: Iterable[str]) -> str:
        """`[3][7]` for these citations, in number order (marking them used)."""
        return "".join(f"[{n}]" for n in sorted({self.number(c) for c in citations}))

    def entries(self) -> list[dict[str, Any]]:
        """(number, reference, status) of every citation used, in number order."""
        out = []
        for citation, number in self._numbers.items():
            entry = self.knowledge.citations[citation]
            out.append({"id": citation, "number": number, "reference": entry["reference"],
                        "status": entry["status"]})
        return out


def status_words(status: str) -> str:
    """'' for verified sources, else e.g. ' (partly verified)'."""
    return "" if status == "verified" else f" ({status.replace('_', ' ')})"


def answer_text(value: Any) -> str:
    """An answer as written in explanations: lists joined, unanswered as a word."""
    if value is None:
        return "(unanswered)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def fact_label(fact: Fact, questions: Mapping[str, Mapping[str, Any]]) -> str:
    """`knee_locking = yes`, `pain_locations includes lateral_knee`, `condition itbs = likely`."""
    if fact.kind == "answer":
        multi = questions.get(fact.id, {}).get("type") == "multi"
        return f"answer: {fact.id} {'includes' if multi else '='} {fact.value}"
    text = f"{FACT_WORDS.get(fact.kind, fact.kind)}: {fact.id}"
    return f"{text} = {fact.value}" if fact.value is not None else text
