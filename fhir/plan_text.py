"""The six-week plan in the words a CarePlan carries: each recommendation's week-by-week
doses, each week's dates, and the plan's notes (who leads, the design choice, when to get
help, where the sources disagree).

Every dose is the plan's step quoted whole (knowledge/plan.yaml, through the engine's
`build_plan`); this module adds only week numbers, labels and the design-choice flag in
words, so a clinician reading the CarePlan without the report can tell this tool's
week-by-week split from a source's dose. The plan gives no drug doses, and none are added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from itb_triage.engine import Plan, Result

# Said after every step the plan marks `design_choice` (the report's dagger, in words).
DESIGN_CHOICE = "[design choice: this tool's week-by-week step, not a source's]"


def weeks_of(plan: Plan) -> int:
    """How many weeks the plan runs."""
    return len(plan.weeks)


def week_span(start: datetime, number: int) -> tuple[datetime, datetime]:
    """Week `number` (from 1) of a plan that starts at `start`: its first and last moment."""
    return start + timedelta(weeks=number - 1), start + timedelta(weeks=number)


def plan_end(start: datetime, plan: Plan) -> datetime:
    return start + timedelta(weeks=weeks_of(plan))


def schedule(plan: Plan, recommendation: str) -> str | None:
    """The recommendation's steps, week by week, exactly as the plan states them, one line a
    week; None when the plan has no step for it."""
    lines = []
    absent = []
    for week in plan.weeks:
        steps = [s for s in week.steps if s.component.recommendation == recommendation]
        if not steps:
            absent.append(week.number)
            continue
        lines.append(f"Week {week.number}: " + " ".join(
            f"{s.component.label}: {s.do}" + (f" {DESIGN_CHOICE}" if s.design_choice else "") for s in steps))
    if not lines:
        return None
    if absent:
        lines.append(f"Not part of {_weeks_words(absent)}.")
    return "\n".join(lines)


def check_text(plan: Plan, number: int) -> str:
    week = next(w for w in plan.weeks if w.number == number)
    return f"Check at the end of week {week.number} ({week.title}): {week.check}"


def plan_notes(plan: Plan, refs: Callable[[Iterable[str]], str]) -> list[tuple[str, tuple[str, ...]]]:
    """The plan's notes as (text, citation ids), in the report's order: who should lead,
    the design choice, when to get help, then where the sources disagree. `refs` turns
    citation ids into reference marks (`[3][5]`) for the sources a disagreement weighs."""
    out: list[tuple[str, tuple[str, ...]]] = list(plan.notes)
    # The design note itself says that its steps are marked "design choice", as DESIGN_CHOICE does.
    out.append((f"{plan.title}: {plan.design_note}", plan.design_citations))
    out += [(f"When to get help: {e.when} {e.then}", e.citations) for e in plan.escalate]
    for d in plan.disagreements:
        positions = " ".join(f"{p.says} {refs(p.citations)}" for p in d.positions)
        cited = tuple(dict.fromkeys(c for p in d.positions for c in p.citations))
        out.append((f"Where the sources disagree: {d.topic}. {positions} This plan: {d.this_plan}", cited))
    return out


def plan_citations(knowledge_citations: Mapping[str, Mapping[str, Any]], result: Result,
                   plan: Plan | None) -> tuple[Mapping[str, Any], ...]:
    """The result's numbered citations, then the plan's others, numbered on in reading order
    (the report's sources need not all be the result's)."""
    entries: list[Mapping[str, Any]] = list(result.citations)
    if plan is None:
        return tuple(entries)
    known = {c["id"] for c in entries}
    for citation in plan.citation_ids():
        if citation not in known:
            known.add(citation)
            source = knowledge_citations[citation]
            entries.append({"id": citation, "number": len(entries) + 1, "reference": source["reference"],
                            "status": source["status"]})
    return tuple(entries)


def component_citations(plan: Plan, recommendation: str) -> tuple[str, ...]:
    """The sources of the plan's components for one recommendation."""
    return tuple(dict.fromkeys(c for component in plan.components if component.recommendation == recommendation
                               for c in component.citations))


def _weeks_words(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return f"week {numbers[0]}"
    return "weeks " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
