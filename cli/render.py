"""Rendering a Result for people: plain text for a terminal, Markdown for a report.

Renderers read only the Result (everything is resolved there), and return strings, so
tests compare whole outputs at a fixed width. Colour is the caller's choice.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from itb_triage.engine import (
    NOT_A_MEDICAL_DEVICE,
    CardItem,
    Knowledge,
    Labels,
    Result,
    Summary,
    drop_dangling_references,
    in_sentence,
    near_duplicates,
    number_source_keys,
    printable,
    summarise,
)

SUMMARY_LINES = 30  # the card fits one screen: at most this many lines

def _title(result: Result, width: int) -> str:
    title = f"ITB triage: {printable(result.case_id)}" if result.case_id else "ITB triage"
    return title if len(title) <= width else title[: width - 3] + "..."


def render_json(result: Result) -> str:
    """The contract's JSON, stable byte for byte for the same answers."""
    return result.to_json_text()


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


class Sources:
    """Reference numbers in order of first use in one text, so they read 1, 2, 3..."""

    def __init__(self, result: Result) -> None:
        self._entries = {c["id"]: c for c in result.citations}
        self.numbers: dict[str, int] = {}

    def number(self, citation: str) -> int:
        return self.numbers.setdefault(citation, len(self.numbers) + 1)

    def refs(self, citations: Iterable[str]) -> str:
        """`[1][3]`: numbered on first use, then in number order."""
        return "".join(f"[{n}]" for n in sorted({self.number(c) for c in citations}))

    def used(self) -> list[tuple[int, Mapping[str, Any]]]:
        return [(n, self._entries[c]) for c, n in self.numbers.items() if c in self._entries]


def render_text(result: Result, width: int, knowledge: Knowledge) -> str:
    """The full result (`assess --detail`): where to go first, then what to do and avoid,
    the reasons and the references, all in plain words (ids stay in the JSON)."""
    labels = Labels(knowledge)
    sources = Sources(result)
    out = Lines(width)

    def fix(text: str) -> str:
        text = drop_dangling_references(text, shown)
        return number_source_keys(text, knowledge.citations.keys(), sources.number)

    def refs(citations: Iterable[str]) -> str:
        return sources.refs(citations)

    shown = [*(r["title"] for r in result.recommendations), *(a["title"] for a in result.avoid)]
    title = _title(result, out.width)
    out.lines.append(title)
    out.lines.append("=" * len(title))
    out.blank()
    out.para(result.headline, indent="   ", first=">> ")
    if result.treatment_tier:
        out.para(f"Treatment: {labels.tier(result.treatment_tier)}.", indent="   ")

    if result.red_flags:
        out.heading("Warning signs")
        for flag in result.red_flags:
            out.para(f"{labels.red_flag(flag['id'])} ({labels.urgency(flag['urgency'])}) {refs(flag['citations'])}",
                     indent="   ", first=" ! ")
        unsure = [q for q in knowledge.screening_questions if result.answers.get(q) == "unsure"]
        if unsure:
            out.para("You answered \"Not sure\" to:", indent="   ")
            for question in unsure:
                out.para(labels.question(question), indent="     ", first="   ? ")

    # Only an incomplete result waits for these: on any other, an answer the interview
    # did not ask cannot make the advice calmer.
    if result.unanswered_screening and result.disposition == "incomplete":
        out.heading("Please answer these safety questions")
        for question in result.unanswered_screening:
            out.para(labels.question(question), indent="   ", first=" ? ")

    if result.conditions:
        out.heading("What it looks like")
        for condition in result.conditions:
            words = labels.assessment(condition["assessment"])
            out.para(f"{condition['name']}: {words} {refs(condition['citations'])}", indent="   ", first=" - ")

    if result.recommendations:
        out.heading("What to do")
        for number, rec in enumerate(result.recommendations, start=1):
            out.blank()
            out.para(f"{rec['title']} {refs(rec['citations'])}", indent="    ", first=f"{number:>2}. ")
            out.para(fix(rec["do"]), indent="    ")
            if rec.get("dose"):
                out.para(f"Dose: {fix(rec['dose'])}", indent="      ", first="    ")
            for caution in rec.get("contraindications", []):
                out.para(f"Not if: {fix(caution)}", indent="      ", first="    ")
            grade = labels.evidence(rec["evidence"]["grade"])
            out.para(f"Evidence ({grade}): {fix(rec['evidence']['summary'])}", indent="      ", first="    ")
            for position in rec.get("positions", []):
                out.para(f"{fix(position['says'])} {refs(position['cite'])}", indent="      ", first="    * ")

    if result.avoid:
        out.heading("What to avoid")
        for item in result.avoid:
            out.blank()
            out.para(f"{item['title']} {refs(item['citations'])}", indent="    ", first=" x  ")
            out.para(fix(item["why"]), indent="    ")
            if item.get("instead"):
                out.para(f"Instead: {fix(item['instead'])}", indent="    ")

    if result.reasons:
        out.heading("Why")
        for group in near_duplicates(result.reasons, lambda r: r.because):
            cited = [c for reason in group for c in reason.citations]
            out.para(f"{fix(group[0].because)} {refs(cited)}", indent="   ", first=" - ")
        out.para("Every step of the reasoning, with its sources: itb-triage explain CASE.", indent="   ")

    used = sources.used()
    if used:
        out.heading("References")
        for number, citation in used:
            status = "" if citation["status"] == "verified" else f" ({citation['status'].replace('_', ' ')})"
            label = f"[{number}]"
            out.para(f"{citation['reference']}{status}", indent=" " * 6, first=f"{label:>5} ")

    out.blank()
    out.para(NOT_A_MEDICAL_DEVICE)
    return out.text()


def render_card(result: Result, knowledge: Knowledge, width: int = 80, more: str = "") -> str:
    """The summary care card of `result` as terminal text (see render_summary)."""
    title = f"ITB triage: {printable(result.case_id)}" if result.case_id else "ITB triage"
    return render_summary(summarise(result, knowledge), width, title, more)


def render_summary(summary: Summary, width: int = 80, title: str = "ITB triage", more: str = "") -> str:
    """The care card on one screen: at most SUMMARY_LINES lines at `width` columns.

    Where the whole card would not fit, it gives up, in this order: the one-per-line
    list of things to avoid (they go on one line), the safety-net advice in full (its
    short form stays), things to do beyond three, and the cause (which unanswered
    safety questions make uncertain anyway), then the things to avoid. `more` says how
    to see the rest.
    """
    shown = len(summary.this_week)
    compact, short, cause, avoid = False, False, True, True
    while True:
        text = _summary_text(summary, width, title, more, shown, compact, short, cause, avoid)
        if text.count("\n") <= SUMMARY_LINES or not avoid:
            return text
        if not compact:
            compact = True
        elif not short and summary.sooner != summary.sooner_short:
            short = True
        elif shown > 3:
            shown -= 1
        elif cause:
            cause = False
        else:
            avoid = False


def _summary_text(summary: Summary, width: int, title: str, more: str, shown: int, compact: bool, short: bool,
                  cause: bool, avoid: bool) -> str:
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
    for question in summary.unsure:  # the safety questions answered "not sure"
        out.para(question, indent="    ", first="  ? ")
    if cause:
        out.blank()
        out.para(summary.cause)
    items: tuple[CardItem, ...] = summary.this_week[:shown]
    if items:
        out.heading(heads["this_week"])
        for item in items:
            line = f"{item.label}. {item.detail}" if item.detail else item.label
            out.para(line, indent="   ", first=" - ")
    if summary.avoid and avoid:
        out.blank()
        if compact:
            out.para(f"{heads['avoid'].upper()}: " + "; ".join(in_sentence(i.label) for i in summary.avoid) + ".")
        else:
            out.lines.append(heads["avoid"].upper())
            for item in summary.avoid:
                out.para(item.label, indent="   ", first=" x ")
    sooner = summary.sooner_short if short else summary.sooner
    if sooner:
        out.heading(heads["sooner"])
        for line in sooner:
            out.para(line, indent="   ", first=" ! ")
    out.blank()
    if more:
        out.para(more)
    out.para(NOT_A_MEDICAL_DEVICE)
    return out.text()
