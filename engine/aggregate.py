"""From the quiet network to one result.

The choices between conclusions (the most urgent disposition wins, and the rest) are
the merge policy of engine/merge.py; here they are applied (`select`), and the
knowledge each listed id stands for is looked up, in the orders a reader meets them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .derived import Derived
from .errors import EngineError
from .facts import Fact
from .firing import Firing
from .knowledge import Knowledge
from .merge import MERGED_KINDS, Merged, treatment_waits
from .result import KeyReason, Result, TraceStep
from .rulebase import Rule

# Listing order: what must be ruled out first, then the rest by strength.
ASSESSMENT_LISTING = ("suspected", "likely", "possible", "unlikely")


class Selection(NamedTuple):
    """What a case's firings decide, as ids in listing order: the one table that both its
    Result (`aggregate`) and its batch line (engine/result_line.py) are made from. (A
    NamedTuple: made for every case, and a frozen dataclass costs a call a field.)"""

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
    tables = _tables(knowledge)
    # Each distinct (rule, concluded) pair once, in order of first firing: a rule firing
    # again on other facts adds no conclusion, reason or citation that its first firing
    # did not, and most firings are such repeats. Keyed by identity (a Rule's and a
    # Fact's own hashes are computed in Python, over every field), and by the rule alone
    # where it concluded its own `then`, as every evaluator's firings do: one id less.
    firsts = {id(f.rule) if f.concluded is f.rule.then else (id(f.rule), id(f.concluded)): f for f in firings}
    units = [(f.rule, f.concluded) for f in firsts.values()]
    # Every concluded fact, by kind. Nothing below depends on their order or on a fact
    # met twice: it takes sets of ids, and the merge policy's most urgent, highest and
    # strongest (given only the kinds it reads: most facts are of others).
    by_kind: dict[str, list[Fact]] = {}
    for _, concluded in units:
        for fact in concluded:
            by_kind.setdefault(fact.kind, []).append(fact)

    def ids(kind: str) -> set[str]:
        return {fact.id for fact in by_kind.get(kind, ())}

    merged = Merged.of(knowledge, [fact for kind in MERGED_KINDS for fact in by_kind.get(kind, ())])
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

    red_flags = _in_order(ids("red_flag"), tables.red_flags)
    conditions = tuple(sorted(
        ((c, a) for c, a in assessments.items() if c in tables.conditions),
        key=lambda pair: (ASSESSMENT_LISTING.index(pair[1]), tables.conditions[pair[0]][0]),
    ))
    recommendations = _in_order(recommended - avoid_ids, tables.recommendations)
    withheld = _in_order(recommended & avoid_ids, tables.recommendations)
    avoid = _in_order(avoid_ids, tables.avoid)
    unanswered = _in_order(ids("unanswered"), tables.questions)
    headline = next((h for h in map(tables.headlines.get, recommendations) if h is not None),
                    knowledge.dispositions[disposition]["headline"])
    reasons = _key_reasons(units, disposition, tier)
    # Numbered in the order a reader meets them: flags, advice (with the sources of
    # each position), avoid, reasons, conditions; sources only the trace cites come last.
    cited = [tables.red_flags[f][1] for f in red_flags]
    cited += [tables.recommendations[r][1] for r in recommendations]
    cited += [tables.avoid[a][1] for a in avoid]
    cited += [r.cite for r in reasons]
    cited += [tables.conditions[c][1] for c, _ in conditions]
    cited += [rule.cite for rule, _ in units]
    citations = tuple(dict.fromkeys(itertools.chain.from_iterable(cited)))
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


def _key_reasons(units: list[tuple[Rule, tuple[Fact, ...]]], disposition: str, tier: str | None) -> tuple[Rule, ...]:
    """The rules behind the chosen disposition, the tier and any red flag, once each, in
    order of first firing; `units` are each rule's distinct conclusions in that order."""
    reasons: dict[str, Rule] = {}
    for rule, concluded in units:
        if rule.id in reasons:
            continue
        for fact in concluded:
            kind = fact.kind
            if kind == "red_flag" or (kind == "disposition" and fact.id == disposition) or (
                    kind == "tier" and fact.id == tier):
                reasons[rule.id] = rule
                break
    return tuple(reasons.values())


# An entry's place in its listing, and the sources it cites (with its positions').
_Listed = dict[str, tuple[int, tuple[str, ...]]]


@dataclass(frozen=True)
class _Tables:
    """What `select` looks up in the knowledge, made once: a case's few ids are sorted by
    their places rather than every entry walked for every case."""

    red_flags: _Listed
    conditions: _Listed
    recommendations: _Listed
    avoid: _Listed
    questions: _Listed
    headlines: dict[str, str]  # the recommendations that carry one


def _make_tables(knowledge: Knowledge) -> _Tables:
    k = knowledge

    def listed(entries: Mapping[str, Mapping[str, Any]]) -> _Listed:
        return {ident: (n, (*e.get("cite", ()), *(c for p in e.get("positions", ()) for c in p["cite"])))
                for n, (ident, e) in enumerate(entries.items())}

    return _Tables(listed(k.red_flags), listed(k.conditions), listed(k.recommendations), listed(k.avoid),
                   listed(k.questions), {r: e["headline"] for r, e in k.recommendations.items() if "headline" in e})


_tables = Derived(_make_tables)


def _in_order(ids: set[str] | frozenset[str], listing: _Listed) -> tuple[str, ...]:
    """The ids that the listing has, in its order."""
    if not ids:  # as most are
        return ()
    return tuple(sorted(listing.keys() & ids, key=lambda ident: listing[ident][0]))
