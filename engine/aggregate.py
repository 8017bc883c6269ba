"""From the quiet network to one result.

The choices between conclusions (the most urgent disposition wins, and the rest) are
the merge policy of engine/merge.py; here they are applied, and the knowledge each
listed id stands for is looked up, in the orders a reader meets them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import EngineError
from .firing import Firing
from .knowledge import Knowledge
from .merge import Merged, treatment_waits
from .result import KeyReason, Result, TraceStep

# Listing order: what must be ruled out first, then the rest by strength.
ASSESSMENT_LISTING = ("suspected", "likely", "possible", "unlikely")


def aggregate(knowledge: Knowledge, firings: list[Firing], answers: Mapping[str, Any], case_id: str | None) -> Result:
    """Turn the firings of one case into its Result."""
    # Every concluded fact once, in order of first conclusion (a dict keeps first
    # insertion order and finds duplicates by hash, not by scanning a list).
    concluded = list(dict.fromkeys(fact for firing in firings for fact in firing.concluded))
    by_kind: dict[str, set[str]] = {}
    for fact in concluded:
        by_kind.setdefault(fact.kind, set()).add(fact.id)

    def ids(kind: str) -> set[str]:
        return by_kind.get(kind, set())

    merged = Merged.of(knowledge, concluded)
    disposition = merged.disposition
    if disposition is None:
        raise EngineError("no rule concluded a disposition")
    tier: str | None = None
    if not treatment_waits(knowledge, disposition):
        tier = merged.tier
        if tier is None:
            raise EngineError(f"no rule concluded a treatment tier for disposition '{disposition}'")
    assessments = merged.assessments

    avoid_ids = merged.avoided
    recommended = ids("recommend")
    raised = ids("red_flag")
    red_flags = [
        {"id": f, "name": e["name"], "urgency": e["urgency"], "citations": list(e["cite"])}
        for f, e in knowledge.red_flags.items() if f in raised
    ]
    conditions = sorted(
        (
            {"id": c, "name": e["name"], "assessment": assessments[c], "citations": list(e["cite"])}
            for c, e in knowledge.conditions.items() if c in assessments
        ),
        key=lambda c: ASSESSMENT_LISTING.index(c["assessment"]),  # stable: knowledge order within
    )
    recommendations = [
        _advice_entry(r, e) for r, e in knowledge.recommendations.items() if r in recommended and r not in avoid_ids
    ]
    withheld = [{"id": r, "because_avoid": r} for r in knowledge.recommendations if r in recommended and r in avoid_ids]
    avoid = [_advice_entry(a, e) for a, e in knowledge.avoid.items() if a in avoid_ids]
    open_questions = ids("unanswered")
    unanswered = tuple(q for q in knowledge.questions if q in open_questions)

    trace = tuple(
        TraceStep(
            rule=f.rule.id,
            stage=f.rule.stage,
            because=f.rule.because,
            facts=f.matched,
            concluded=f.concluded,
            citations=f.rule.cite,
        )
        for f in firings
    )
    reasons = _key_reasons(firings, disposition, tier)
    # Numbered in the order a reader meets them: flags, advice (with the sources of
    # each position), avoid, reasons, conditions; sources only the trace cites come last.
    citations = _numbered_citations(knowledge, [
        *(f["citations"] for f in red_flags),
        *(c for r in recommendations for c in (r["citations"], *(p["cite"] for p in r.get("positions", [])))),
        *(a["citations"] for a in avoid),
        *(r.citations for r in reasons),
        *(c["citations"] for c in conditions),
        *(step.citations for step in trace),
    ])
    return Result(
        case_id=case_id,
        answers=answers,
        disposition=disposition,
        # The first recommendation that carries a headline leads (its entry in the knowledge).
        headline=next((knowledge.recommendations[r["id"]]["headline"] for r in recommendations
                       if "headline" in knowledge.recommendations[r["id"]]),
                      knowledge.dispositions[disposition]["headline"]),
        treatment_tier=tier,
        tier_title=knowledge.tiers[tier]["title"] if tier else None,
        red_flags=tuple(red_flags),
        conditions=tuple(conditions),
        recommendations=tuple(recommendations),
        avoid=tuple(avoid),
        withheld=tuple(withheld),
        unanswered_screening=unanswered,
        reasons=reasons,
        citations=citations,
        trace=trace,
        knowledge_version=knowledge.version,
    )


def _advice_entry(ident: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """A recommendation or avoid item as the result carries it: id first, `cite` renamed."""
    out: dict[str, Any] = {"id": ident}
    out.update({k: v for k, v in entry.items() if k not in ("id", "cite", "headline")})
    out["citations"] = list(entry["cite"])
    return out


def _key_reasons(firings: list[Firing], disposition: str, tier: str | None) -> tuple[KeyReason, ...]:
    """The rules behind the chosen disposition, the tier and any red flag, once each."""
    wanted = {("disposition", disposition)}
    if tier:
        wanted.add(("tier", tier))
    reasons: dict[str, KeyReason] = {}
    for firing in firings:
        rule = firing.rule
        if rule.id in reasons:
            continue
        for fact in firing.concluded:
            if fact.kind == "red_flag" or (fact.kind, fact.id) in wanted:
                reasons[rule.id] = KeyReason(rule.id, rule.because, rule.cite)
                break
    return tuple(reasons.values())


def _numbered_citations(knowledge: Knowledge, groups: Iterable[Iterable[str]]) -> tuple[dict[str, Any], ...]:
    """Every cited id once, numbered in order of first use."""
    order = dict.fromkeys(c for group in groups for c in group)
    return tuple(
        {
            "id": c,
            "number": n,
            "reference": knowledge.citations[c]["reference"],
            "kind": knowledge.citations[c]["kind"],
            "status": knowledge.citations[c]["status"],
        }
        for n, c in enumerate(order, start=1)
    )
