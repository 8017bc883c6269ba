"""The result of one triage: one immutable value, and its JSON form.

Everything a renderer needs is resolved here from the knowledge (titles, doses,
evidence, numbered references), so renderers never look anything up themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .contract import NOT_A_MEDICAL_DEVICE, RESULT_FORMAT
from .facts import Fact


@dataclass(frozen=True)
class TraceStep:
    """One rule firing as the trace shows it."""

    rule: str
    stage: str
    because: str
    facts: tuple[Fact, ...]
    concluded: tuple[Fact, ...]
    citations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "stage": self.stage,
            "facts": [f.to_json() for f in self.facts],
            "concluded": [f.to_json() for f in self.concluded],
            "because": self.because,
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class Reason:
    """A key reason shown to the runner: a rule's plain-words `because`."""

    rule: str
    because: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    """A triage result. `entries` hold the resolved knowledge for each listed id."""

    case_id: str | None
    answers: Mapping[str, Any]
    disposition: str
    headline: str
    treatment_tier: str | None
    tier_title: str | None
    red_flags: tuple[Mapping[str, Any], ...]
    conditions: tuple[Mapping[str, Any], ...]
    recommendations: tuple[Mapping[str, Any], ...]
    avoid: tuple[Mapping[str, Any], ...]
    withheld: tuple[Mapping[str, str], ...]
    unanswered_screening: tuple[str, ...]
    reasons: tuple[Reason, ...]
    citations: tuple[Mapping[str, Any], ...]
    trace: tuple[TraceStep, ...]
    knowledge_version: str

    @property
    def recommendation_ids(self) -> tuple[str, ...]:
        return tuple(r["id"] for r in self.recommendations)

    @property
    def avoid_ids(self) -> tuple[str, ...]:
        return tuple(a["id"] for a in self.avoid)

    def citation_number(self, citation_id: str) -> int:
        for index, entry in enumerate(self.citations, start=1):
            if entry["id"] == citation_id:
                return index
        raise KeyError(citation_id)

    def to_json(self) -> dict[str, Any]:
        """The contract's result (result.schema.json) plus the resolved details."""
        out: dict[str, Any] = {"format": RESULT_FORMAT}
        if self.case_id is not None:
            out["case_id"] = self.case_id
        out.update(
            {
                "disposition": self.disposition,
                "headline": self.headline,
                "treatment_tier": self.treatment_tier,
                "red_flags": [dict(f) for f in self.red_flags],
                "conditions": [dict(c) for c in self.conditions],
                "recommendations": [dict(r) for r in self.recommendations],
                "avoid": [dict(a) for a in self.avoid],
                "withheld": [dict(w) for w in self.withheld],
                "unanswered_screening": list(self.unanswered_screening),
                "reasons": [
                    {"rule": r.rule, "because": r.because, "citations": list(r.citations)} for r in self.reasons
                ],
                "citations": [dict(c) for c in self.citations],
                "trace": [step.to_json() for step in self.trace],
                "answers": dict(self.answers),
                "knowledge_version": self.knowledge_version,
                "notice": NOT_A_MEDICAL_DEVICE,
            }
        )
        return out
