"""The six-week plan for one result, built from knowledge/plan.yaml.

The plan is shown from the `conservative` tier upwards (never while treatment waits for
a clinician). A component appears only when the result recommends its recommendation
and does not list it to avoid, so the plan never contradicts the rules: a hip flexor
injury drops pool running, and an atypical pattern keeps only what the rules allow.
Each step keeps its design-choice flag, so renderers can label this tool's own
week-by-week split honestly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .knowledge import Knowledge
from .result import Result


@dataclass(frozen=True)
class Component:
    """A part of the programme, resolved: quotes, evidence and the recommendation's grade."""

    id: str
    recommendation: str
    title: str
    label: str
    quotes: tuple[str, ...]
    quote_source: str | None
    evidence: str
    grade: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    component: Component
    do: str
    design_choice: bool


@dataclass(frozen=True)
class Week:
    number: int
    title: str
    steps: tuple[Step, ...]
    check: str


@dataclass(frozen=True)
class Position:
    says: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Disagreement:
    topic: str
    positions: tuple[Position, ...]
    this_plan: str


@dataclass(frozen=True)
class Escalation:
    when: str
    then: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The week-by-week programme for one result."""

    title: str
    design_note: str
    design_citations: tuple[str, ...]
    notes: tuple[tuple[str, tuple[str, ...]], ...]  # (note, citations) for this tier and disposition
    components: tuple[Component, ...]
    weeks: tuple[Week, ...]
    escalate: tuple[Escalation, ...]
    disagreements: tuple[Disagreement, ...]

    def citation_ids(self) -> list[str]:
        """Every citation the plan shows, in reading order, once each."""
        groups: list[tuple[str, ...]] = [
            self.design_citations,
            *(c for _, c in self.notes),
            *(c.citations for c in self.components),
            *((c.quote_source,) for c in self.components if c.quote_source),
            *(e.citations for e in self.escalate),
            *(p.citations for d in self.disagreements for p in d.positions),
        ]
        return list(dict.fromkeys(c for group in groups for c in group))

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "design_note": self.design_note,
            "notes": [note for note, _ in self.notes],
            "weeks": [
                {
                    "week": w.number,
                    "title": w.title,
                    "steps": [
                        {"component": s.component.id, "recommendation": s.component.recommendation,
                         "do": s.do, "design_choice": s.design_choice}
                        for s in w.steps
                    ],
                    "check": w.check,
                }
                for w in self.weeks
            ],
            "components": [
                {"id": c.id, "recommendation": c.recommendation, "title": c.title, "quotes": list(c.quotes),
                 "evidence": c.evidence, "grade": c.grade, "citations": list(c.citations)}
                for c in self.components
            ],
            "escalate": [{"when": e.when, "then": e.then, "citations": list(e.citations)} for e in self.escalate],
            "disagreements": [
                {"topic": d.topic, "this_plan": d.this_plan,
                 "positions": [{"says": p.says, "citations": list(p.citations)} for p in d.positions]}
                for d in self.disagreements
            ],
        }


def build_plan(knowledge: Knowledge, result: Result) -> Plan | None:
    """The plan for this result, or None when there is no treatment tier to follow."""
    spec = knowledge.plan
    tier = result.treatment_tier
    if not spec or tier is None or knowledge.tier_rung(tier) < knowledge.tier_rung(spec["applies_from"]):
        return None
    recommended = set(result.recommendation_ids)
    components = {
        c["id"]: _component(c, knowledge.recommendations[c["recommendation"]])
        for c in spec["components"]
        if c["recommendation"] in recommended
    }
    weeks = tuple(
        Week(
            number=w["week"],
            title=w["title"],
            steps=tuple(Step(components[s["component"]], s["do"], s["design_choice"])
                        for s in w["steps"] if s["component"] in components),
            check=w["check"],
        )
        for w in spec["weeks"]
    )
    notes = [
        (n["note"], tuple(n.get("cite", ())))
        for n in spec.get("disposition_notes", []) if n["disposition"] == result.disposition
    ] + [
        (n["note"], tuple(n["cite"]))
        for n in spec.get("tier_notes", [])
        if n["tier"] == tier and result.disposition in n.get("dispositions", [result.disposition])
    ]
    used = [c for c in components.values() if any(s.component is c for w in weeks for s in w.steps)]
    return Plan(
        title=spec["title"],
        design_note=spec["design"]["note"],
        design_citations=tuple(spec["design"]["cite"]),
        notes=tuple(notes),
        components=tuple(used),
        weeks=weeks,
        escalate=tuple(Escalation(e["when"], e["then"], tuple(e["cite"])) for e in spec["escalate"]),
        disagreements=tuple(
            Disagreement(d["topic"], tuple(Position(p["says"], tuple(p["cite"])) for p in d["positions"]),
                         d["this_plan"])
            for d in spec["disagreements"] if recommended & set(d["about"])
        ),
    )


def _component(spec: Mapping[str, Any], recommendation: Mapping[str, Any]) -> Component:
    return Component(
        id=spec["id"],
        recommendation=spec["recommendation"],
        title=spec["title"],
        label=spec.get("label", spec["title"]),
        quotes=tuple(spec["quotes"]),
        quote_source=spec.get("quote_source"),
        evidence=spec["evidence"],
        grade=recommendation["evidence"]["grade"],
        citations=tuple(spec["cite"]),
    )
