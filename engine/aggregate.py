"""From the quiet network to one result: the few non-monotonic choices, in one place.

- The most urgent disposition any rule concluded wins (ladder order in ladder.yaml).
- The tier is the highest rung concluded, and none when treatment waits for a clinician.
- Each condition keeps its strongest assessment (likely > suspected > possible > unlikely).
- Something to avoid is never also recommended: the avoid item wins, and the withheld
  recommendation is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .durable_backend import Firing
from .errors import EngineError
from .knowledge import Knowledge
from .result import Reason, Result, TraceStep

ASSESSMENT_STRENGTH = ("likely", "suspected", "possible", "unlikely")
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

    dispositions = ids("disposition")
    if not dispositions:
        raise EngineError("no rule concluded a disposition")
    disposition = min(dispositions, key=knowledge.disposition_rank)

    tier: str | None = None
    if not knowledge.dispositions[disposition]["treatment_waits"]:
        tiers = ids("tier")
        if not tiers:
            raise EngineError(f"no rule concluded a treatment tier for disposition '{disposition}'")
        tier = max(tiers, key=knowledge.tier_rung)

    assessments: dict[str, str] = {}
    for fact in concluded:
        if fact.kind == "condition":
            best = assessments.get(fact.id)
            if best is None or ASSESSMENT_STRENGTH.index(str(fact.value)) < ASSESSMENT_STRENGTH.index(best):
                assessments[fact.id] = str(fact.value)

    avoid_ids = ids("avoid")
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
    leading = [e for r, e in knowledge.recommendations.items() if r in recommended and r not in avoid_ids]
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
        headline=next((e["headline"] for e in leading if "headline" in e),
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


def _key_reasons(firings: list[Firing], disposition: str, tier: str | None) -> tuple[Reason, ...]:
    """The rules behind the chosen disposition, the tier and any red flag, once each."""
    wanted = {("disposition", disposition)}
    if tier:
        wanted.add(("tier", tier))
    reasons: dict[str, Reason] = {}
    for firing in firings:
        rule = firing.rule
        if rule.id in reasons:
            continue
        for fact in firing.concluded:
            if fact.kind == "red_flag" or (fact.kind, fact.id) in wanted:
                reasons[rule.id] = Reason(rule.id, rule.because, rule.cite)
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
