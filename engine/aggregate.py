"""From the quiet network to one result.

The choices between conclusions (the most urgent disposition wins, and the rest) are
the merge policy of engine/merge.py; here they are applied (`select`), and the
knowledge each listed id stands for is looked up, in the orders a reader meets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import EngineError
from .firing import Firing
from .knowledge import Knowledge
from .merge import Merged, treatment_waits
from .result import KeyReason, Result, TraceStep
from .rulebase import Rule

# Listing order: what must be ruled out first, then the rest by strength.
ASSESSMENT_LISTING = ("suspected", "likely", "possible", "unlikely")


@dataclass(frozen=True)
class Selection:
    """What a case's firings decide, as ids in listing order: the one table that both its
    Result (`aggregate`) and its batch line (engine/result_line.py) are made from."""

    disposition: str
    headline: str  # the first recommendation's that carries one, else the disposition's
    tier: str | None
    red_flags: tuple[str, ...]
    conditions: tuple[tuple[str, str], ...]  # (condition, its strongest assessment)
    recommendations: tuple[str, ...]
    withheld: tuple[str, ...]  # recommended, but also to avoid
    avoid: tuple[str, ...]
    unanswered: tuple[str, ...]
    reasons: tuple[Rule, ...]  # the rules whose `because` are the key reasons
    citations: tuple[str, ...]  # every cited id once, in numbering order


def select(knowledge: Knowledge, firings: list[Firing]) -> Selection:
    """Decide the result of one case from its firings (see the module docstring)."""
    # Every concluded fact once, in order of first conclusion (a dict keeps first
    # insertion order and finds duplicates by hash, not by scanning a list). Most are
    # the same objects (a rule's `then`) again and again: repeats of one object are
    # dropped by identity first, since a Fact's own hash is computed in Python.
    once = {id(fact): fact for firing in firings for fact in firing.concluded}
    concluded = list(dict.fromkeys(once.values()))
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
    red_flags = tuple(f for f in knowledge.red_flags if f in raised)
    conditions = tuple(sorted(
        ((c, assessments[c]) for c in knowledge.conditions if c in assessments),
        key=lambda pair: ASSESSMENT_LISTING.index(pair[1]),  # stable: knowledge order within
    ))
    recommendations = tuple(r for r in knowledge.recommendations if r in recommended and r not in avoid_ids)
    withheld = tuple(r for r in knowledge.recommendations if r in recommended and r in avoid_ids)
    avoid = tuple(a for a in knowledge.avoid if a in avoid_ids)
    open_questions = ids("unanswered")
    unanswered = tuple(q for q in knowledge.questions if q in open_questions)
    leading = [knowledge.recommendations[r] for r in recommendations]
    headline = next((e["headline"] for e in leading if "headline" in e),
                    knowledge.dispositions[disposition]["headline"])
    reasons = _key_reasons(firings, disposition, tier)
    # Numbered in the order a reader meets them: flags, advice (with the sources of
    # each position), avoid, reasons, conditions; sources only the trace cites come last.
    citations = tuple(dict.fromkeys(c for group in [
        *(knowledge.red_flags[f]["cite"] for f in red_flags),
        *(c for e in leading for c in (e["cite"], *(p["cite"] for p in e.get("positions", [])))),
        *(knowledge.avoid[a]["cite"] for a in avoid),
        *(r.cite for r in reasons),
        *(knowledge.conditions[c]["cite"] for c, _ in conditions),
        *(f.rule.cite for f in firings),
    ] for c in group))
    return Selection(disposition, headline, tier, red_flags, conditions, recommendations, withheld, avoid, unanswered,
                     reasons, citations)


def aggregate(knowledge: Knowledge, firings: list[Firing], answers: Mapping[str, Any], case_id: str | None) -> Result:
    """Turn the firings of one case into its Result."""
    chosen = select(knowledge, firings)
    disposition, tier = chosen.disposition, chosen.tier
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
    return Result(
        case_id=case_id,
        answers=answers,
        disposition=disposition,
        headline=chosen.headline,
        treatment_tier=tier,
        tier_title=knowledge.tiers[tier]["title"] if tier else None,
        red_flags=tuple(red_flag_entry(f, knowledge.red_flags[f]) for f in chosen.red_flags),
        conditions=tuple(condition_entry(c, knowledge.conditions[c], a) for c, a in chosen.conditions),
        recommendations=tuple(advice_entry(r, knowledge.recommendations[r]) for r in chosen.recommendations),
        avoid=tuple(advice_entry(a, knowledge.avoid[a]) for a in chosen.avoid),
        withheld=tuple(withheld_entry(r) for r in chosen.withheld),
        unanswered_screening=chosen.unanswered,
        reasons=tuple(KeyReason(r.id, r.because, r.cite) for r in chosen.reasons),
        citations=tuple(citation_entry(c, n, knowledge.citations[c]) for n, c in enumerate(chosen.citations, start=1)),
        trace=trace,
        knowledge_version=knowledge.version,
    )


# --- the entries of a result, as its JSON carries them (engine/result_line.py writes the same) ---


def red_flag_entry(ident: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": ident, "name": entry["name"], "urgency": entry["urgency"], "citations": list(entry["cite"])}


def condition_entry(ident: str, entry: Mapping[str, Any], assessment: str) -> dict[str, Any]:
    return {"id": ident, "name": entry["name"], "assessment": assessment, "citations": list(entry["cite"])}


def withheld_entry(ident: str) -> dict[str, str]:
    return {"id": ident, "because_avoid": ident}


def citation_entry(ident: str, number: int, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": ident, "number": number, "reference": entry["reference"], "kind": entry["kind"],
            "status": entry["status"]}


def advice_entry(ident: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """A recommendation or avoid item as the result carries it: id first, `cite` renamed."""
    out: dict[str, Any] = {"id": ident}
    out.update({k: v for k, v in entry.items() if k not in ("id", "cite", "headline")})
    out["citations"] = list(entry["cite"])
    return out


def _key_reasons(firings: list[Firing], disposition: str, tier: str | None) -> tuple[Rule, ...]:
    """The rules behind the chosen disposition, the tier and any red flag, once each."""
    wanted = {("disposition", disposition)}
    if tier:
        wanted.add(("tier", tier))
    reasons: dict[str, Rule] = {}
    for firing in firings:
        rule = firing.rule
        if rule.id in reasons:
            continue
        for fact in firing.concluded:
            if fact.kind == "red_flag" or (fact.kind, fact.id) in wanted:
                reasons[rule.id] = rule
                break
    return tuple(reasons.values())
