"""Rendering a Result for people: plain text for a terminal, Markdown for a report.

Renderers read only the Result (everything is resolved there), and return strings, so
tests compare whole outputs at a fixed width. Colour is the caller's choice.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from itb_triage.engine import NOT_A_MEDICAL_DEVICE, Result, Summary, in_sentence, printable

SUMMARY_LINES = 30  # the card fits one screen: at most this many lines

ASSESSMENT_WORDS = {
    "likely": "likely",
    "suspected": "suspected, needs ruling out",
    "possible": "possible",
    "unlikely": "unlikely",
}
URGENCY_WORDS = {"emergency": "emergency", "same_day": "today", "within_days": "within days"}
GRADE_WORDS = {
    "systematic_review": "systematic review",
    "rct": "randomised trial",
    "observational": "observational studies",
    "case_series": "case series",
    "lab": "laboratory or cadaver study",
    "narrative_review": "expert review",
    "guideline": "clinical guidance",
    "coach_opinion": "coach's opinion",
    "anecdote": "anecdote",
    "none": "no scientific support",
}



def _title(result: Result, width: int) -> str:
    title = f"ITB triage: {printable(result.case_id)}" if result.case_id else "ITB triage"
    return title if len(title) <= width else title[: width - 3] + "..."


def render_json(result: Result) -> str:
    """The contract's JSON, stable byte for byte for the same answers."""
    return result.to_json_text()


def _refs(result: Result, citations: Iterable[str]) -> str:
    return "".join(f"[{result.citation_number(c)}]" for c in citations)


def _question_text(question: str, questions: Mapping[str, str] | None) -> str:
    return questions.get(question, question) if questions else question


class Lines:
    """Text wrapped at a fixed width, for the terminal renderers (`assess`, `explain`)."""

    def __init__(self, width: int, narrowest: int = 40) -> None:
        self.width = max(narrowest, width)
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def heading(self, text: str) -> None:
        self.blank()
        self.lines.append(text.upper())

    def title(self, text: str) -> None:
        text = text if len(text) <= self.width else text[: self.width - 3] + "..."
        self.lines += [text, "=" * len(text)]

    def add(self, text: str, first: str = "", rest: str | None = None) -> None:
        """`text` wrapped, its first line after `first`, the others after `rest` (default: `first`)."""
        rest = first if rest is None else rest
        wrapped = textwrap.wrap(text, width=self.width, initial_indent=first, subsequent_indent=rest,
                                break_on_hyphens=False)
        self.lines.extend(wrapped or [first.rstrip()])

    def para(self, text: str, indent: str = "", first: str | None = None) -> None:
        """A paragraph indented by `indent`, its first line marked by `first` instead."""
        self.add(text, indent if first is None else first, indent)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).rstrip() + "\n"


def _shown_numbers(result: Result) -> set[int]:
    """The reference numbers the text cites (the trace's own sources are left to the JSON)."""
    groups = [
        *(f["citations"] for f in result.red_flags),
        *(r["citations"] for r in result.recommendations),
        *(p["cite"] for r in result.recommendations for p in r.get("positions", [])),
        *(a["citations"] for a in result.avoid),
        *(r.citations for r in result.reasons),
        *(c["citations"] for c in result.conditions),
    ]
    return {result.citation_number(c) for group in groups for c in group}


def render_text(result: Result, width: int = 80, questions: Mapping[str, str] | None = None) -> str:
    """The runner's view: the disposition first, then what to do, avoid, why, references."""
    out = Lines(width)
    title = _title(result, out.width)
    out.lines.append(title)
    out.lines.append("=" * len(title))
    out.blank()
    out.para(result.headline, indent="   ", first=">> ")
    if result.treatment_tier:
        out.para(f"Treatment: {result.tier_title}.", indent="   ")

    if result.red_flags:
        out.heading("Warning signs")
        for flag in result.red_flags:
            urgency = URGENCY_WORDS.get(flag["urgency"], flag["urgency"])
            out.para(f"{flag['name']} ({urgency}) {_refs(result, flag['citations'])}", indent="   ", first=" ! ")

    if result.unanswered_screening:
        out.heading("Please answer these safety questions")
        for question in result.unanswered_screening:
            out.para(_question_text(question, questions), indent="   ", first=" ? ")

    if result.conditions:
        out.heading("What it looks like")
        for condition in result.conditions:
            words = ASSESSMENT_WORDS[condition["assessment"]]
            out.para(f"{condition['name']}: {words} {_refs(result, condition['citations'])}", indent="   ", first=" - ")

    if result.recommendations:
        out.heading("What to do")
        for number, rec in enumerate(result.recommendations, start=1):
            out.blank()
            out.para(f"{rec['title']} {_refs(result, rec['citations'])}", indent="    ", first=f"{number:>2}. ")
            out.para(rec["do"], indent="    ")
            if rec.get("dose"):
                out.para(f"Dose: {rec['dose']}", indent="      ", first="    ")
            grade = GRADE_WORDS[rec["evidence"]["grade"]]
            out.para(f"Evidence ({grade}): {rec['evidence']['summary']}", indent="      ", first="    ")
            for position in rec.get("positions", []):
                out.para(f"{position['says']} {_refs(result, position['cite'])}", indent="      ", first="    * ")

    if result.avoid:
        out.heading("What to avoid")
        for item in result.avoid:
            out.blank()
            out.para(f"{item['title']} {_refs(result, item['citations'])}", indent="    ", first=" x  ")
            out.para(item["why"], indent="    ")
            if item.get("instead"):
                out.para(f"Instead: {item['instead']}", indent="    ")

    if result.reasons:
        out.heading("Why")
        for reason in result.reasons:
            out.para(f"{reason.because} {_refs(result, reason.citations)}", indent="   ", first=" - ")
        out.para("Every step of the reasoning, with its sources, is in the trace: itb-triage assess --format json.",
                 indent="   ")

    out.heading("References")
    shown = _shown_numbers(result)
    for citation in result.citations:
        if citation["number"] not in shown:
            continue
        status = "" if citation["status"] == "verified" else f" ({citation['status'].replace('_', ' ')})"
        label = f"[{citation['number']}]"
        out.para(f"{citation['reference']}{status}", indent=" " * 6, first=f"{label:>5} ")

    out.blank()
    out.para(NOT_A_MEDICAL_DEVICE)
    return out.text()


def question_texts(knowledge_questions: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """question id -> the question as a runner reads it."""
    return {q: str(entry["text"]) for q, entry in knowledge_questions.items()}


def render_summary(summary: Summary, width: int = 80, title: str = "ITB triage", more: str = "") -> str:
    """The care card on one screen: at most SUMMARY_LINES lines at `width` columns.

    Where the whole card would not fit, it gives up, in this order: the one-per-line
    list of things to avoid (they go on one line), things to do beyond three, and the
    cause (which unanswered safety questions make uncertain anyway). `more` says how
    to see the rest.
    """
    shown = len(summary.this_week)
    compact, cause = False, True
    while True:
        text = _summary_text(summary, width, title, more, shown, compact, cause)
        if text.count("\n") <= SUMMARY_LINES or not cause:
            return text
        if not compact:
            compact = True
        elif shown > 3:
            shown -= 1
        else:
            cause = False


def _summary_text(summary: Summary, width: int, title: str, more: str, shown: int, compact: bool,
                  cause: bool) -> str:
    out = Lines(width)
    heads = summary.headings
    out.lines.append(title if len(title) <= out.width else title[: out.width - 3] + "...")
    out.blank()
    out.lines.append(summary.urgency.upper())
    out.para(summary.where)
    for question in summary.questions:
        out.para(question, indent="   ", first=" ? ")
    if summary.why:
        out.para(f"{heads['why']}: {'; '.join(summary.why)}.", indent="  ")
    if summary.unsure:
        out.para(f"{heads['unsure']}:", indent="  ")
        for question in summary.unsure:
            out.para(question, indent="    ", first="  ? ")
    if cause:
        out.blank()
        out.para(summary.cause)
    items = summary.this_week[:shown]
    if items:
        out.heading(heads["this_week"])
        for item in items:
            line = f"{item.label}. {item.detail}" if item.detail else item.label
            out.para(line, indent="   ", first=" - ")
    if summary.avoid:
        out.blank()
        if compact:
            out.para(f"{heads['avoid'].upper()}: " + "; ".join(in_sentence(i.label) for i in summary.avoid) + ".")
        else:
            out.lines.append(heads["avoid"].upper())
            for item in summary.avoid:
                out.para(item.label, indent="   ", first=" x ")
    if summary.sooner:
        out.heading(heads["sooner"])
        for line in summary.sooner:
            out.para(line, indent="   ", first=" ! ")
    out.blank()
    if more:
        out.para(more)
    out.para(NOT_A_MEDICAL_DEVICE)
    return out.text()
