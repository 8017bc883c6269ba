"""The figures symptom-checker studies report, computed from worked cases and their results.

A worked case (the format of tests/data/vignettes and ../shared/vignettes) accepts a set of
dispositions; the result gives one. On the five levels of urgency (most urgent first:
emergency, same_day, within_days, routine, self_care) the *gap* is how many levels the
answer lies above (overtriage, positive) or below (undertriage, negative) the accepted
set. Gilbert et al. (BMJ Open 2020;10:e040269) call advice *safe* at the accepted level,
more cautious, or at most one level less urgent: a gap of -1 or more.

Pure functions over plain data: no engine, no files, so the definitions are tested alone
(tests/test_safety_benchmark.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EMERGENCY = "emergency"
SAME_DAY = "same_day"


def expectation_problems(result: Mapping[str, Any], expect: Mapping[str, Any]) -> list[str]:
    """What the result misses of what the case expects, as ../shared/tools/check_vignettes.py words it."""
    problems = []
    if "disposition" in expect and result.get("disposition") not in expect["disposition"]:
        problems.append(f"disposition {result.get('disposition')!r} not in {expect['disposition']}")
    if "treatment_tier" in expect and result.get("treatment_tier") not in expect["treatment_tier"]:
        problems.append(f"treatment_tier {result.get('treatment_tier')!r} not in {expect['treatment_tier']}")
    recommendations = {item["id"] for item in result.get("recommendations", [])}
    avoid = {item["id"] for item in result.get("avoid", [])}
    problems += [f"recommendation {r!r} missing" for r in expect.get("recommendations_include", [])
                 if r not in recommendations]
    problems += [f"recommendation {r!r} must not be given" for r in expect.get("recommendations_exclude", [])
                 if r in recommendations]
    problems += [f"avoid {r!r} missing" for r in expect.get("avoid_include", []) if r not in avoid]
    conditions = {c["id"]: c["assessment"] for c in result.get("conditions", [])}
    for condition, allowed in expect.get("conditions", {}).items():
        if conditions.get(condition) not in allowed:
            problems.append(
                f"condition {condition!r} assessed {conditions.get(condition)!r}, expected one of {allowed}"
            )
    if expect.get("unanswered_screening_nonempty") and not result.get("unanswered_screening"):
        problems.append("unanswered_screening is empty")
    return problems


def triage_gap(accepted: Sequence[str], given: str, levels: Sequence[str]) -> int | None:
    """Levels above (+) or below (-) the accepted set; 0 within it; None when either is off the levels."""
    ranks = [levels.index(level) for level in accepted if level in levels]
    if not ranks or given not in levels:
        return None
    rank = levels.index(given)
    if rank < min(ranks):
        return min(ranks) - rank
    if rank > max(ranks):
        return max(ranks) - rank
    return 0


def least_urgent(accepted: Sequence[str], levels: Sequence[str]) -> str | None:
    """The least urgent accepted level: what the case needs at the very least."""
    on_levels = [level for level in accepted if level in levels]
    return max(on_levels, key=levels.index) if on_levels else None


@dataclass(frozen=True)
class CaseOutcome:
    """One worked case: what it accepts and what it got."""

    id: str
    source: str
    accepted: tuple[str, ...] | None  # dispositions; None when the case sets none
    given: str
    tier_accepted: tuple[str | None, ...] | None
    tier_given: str | None
    conditions_expected: Mapping[str, tuple[str, ...]]
    conditions_given: Mapping[str, str]
    problems: tuple[str, ...]  # every expectation the result misses

    def gap(self, levels: Sequence[str]) -> int | None:
        return None if self.accepted is None else triage_gap(self.accepted, self.given, levels)

    def needs(self, levels: Sequence[str]) -> str | None:
        return None if self.accepted is None else least_urgent(self.accepted, levels)


def outcome(doc: Mapping[str, Any], result: Mapping[str, Any]) -> CaseOutcome:
    """Pair a worked case (id, source, case, expect) with the contract JSON of its result."""
    expect = doc.get("expect", {})
    return CaseOutcome(
        id=str(doc.get("id", "")),
        source=str(doc.get("source", "")),
        accepted=tuple(expect["disposition"]) if "disposition" in expect else None,
        given=result["disposition"],
        tier_accepted=tuple(expect["treatment_tier"]) if "treatment_tier" in expect else None,
        tier_given=result.get("treatment_tier"),
        conditions_expected={c: tuple(allowed) for c, allowed in expect.get("conditions", {}).items()},
        conditions_given={c["id"]: c["assessment"] for c in result.get("conditions", [])},
        problems=tuple(expectation_problems(result, expect)),
    )


@dataclass(frozen=True)
class Rate:
    """hits of n, with a Wilson 95 % interval (the sets are small: the interval says how small)."""

    hits: int
    n: int

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None

    def wilson(self, z: float = 1.96) -> tuple[float, float] | None:
        if not self.n:
            return None
        p, n = self.hits / self.n, self.n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def text(self) -> str:
        if not self.n:
            return "no cases"
        low, high = self.wilson() or (0.0, 0.0)
        return f"{self.hits}/{self.n} = {100 * self.hits / self.n:.1f} % (95 % CI {100 * low:.0f}–{100 * high:.0f})"


@dataclass(frozen=True)
class Metrics:
    """The benchmark's figures for one set of worked cases."""

    cases: int
    all_expectations_met: Rate
    triage_accuracy: Rate
    safe: Rate
    emergency_sensitivity: Rate
    same_day_sensitivity: Rate
    overtriage: int
    undertriage: int
    unsafe: int
    tier_accuracy: Rate
    condition_agreement: Rate
    by_level: Mapping[str, Rate] = field(default_factory=dict)

    @property
    def over_under_ratio(self) -> str:
        if self.overtriage and self.undertriage:
            return f"{self.overtriage / self.undertriage:.2f}:1 ({self.overtriage} over, {self.undertriage} under)"
        return f"{self.overtriage}:{self.undertriage}"


def metrics(outcomes: Sequence[CaseOutcome], levels: Sequence[str]) -> Metrics:
    """Every figure, each over the cases it applies to (a case without a disposition expectation
    counts only where it sets one: tier, conditions, other expectations)."""
    with_disposition = [o for o in outcomes if o.accepted is not None]
    on_levels = [o for o in with_disposition if o.needs(levels) is not None]
    gaps = [o.gap(levels) for o in on_levels]
    emergencies = [o for o in on_levels if o.needs(levels) == EMERGENCY]
    same_day = [o for o in on_levels if o.needs(levels) == SAME_DAY]
    with_tier = [o for o in outcomes if o.tier_accepted is not None]
    condition_pairs = [(o, c) for o in outcomes for c in o.conditions_expected]
    return Metrics(
        cases=len(outcomes),
        all_expectations_met=Rate(sum(not o.problems for o in outcomes), len(outcomes)),
        triage_accuracy=Rate(sum(o.given in (o.accepted or ()) for o in with_disposition), len(with_disposition)),
        # A result off the levels (incomplete) for a case that needs a level is counted unsafe.
        safe=Rate(sum(g is not None and g >= -1 for g in gaps), len(on_levels)),
        emergency_sensitivity=Rate(sum(o.given == EMERGENCY for o in emergencies), len(emergencies)),
        same_day_sensitivity=Rate(
            sum(o.given in levels and levels.index(o.given) <= levels.index(SAME_DAY) for o in same_day),
            len(same_day),
        ),
        overtriage=sum(g is not None and g > 0 for g in gaps),
        undertriage=sum(g is not None and g < 0 for g in gaps),
        unsafe=sum(g is None or g < -1 for g in gaps),
        tier_accuracy=Rate(sum(o.tier_given in (o.tier_accepted or ()) for o in with_tier), len(with_tier)),
        condition_agreement=Rate(
            sum(o.conditions_given.get(c) in o.conditions_expected[c] for o, c in condition_pairs),
            len(condition_pairs),
        ),
        by_level={
            level: Rate(
                sum(o.given in (o.accepted or ()) for o in on_levels if o.needs(levels) == level),
                sum(o.needs(levels) == level for o in on_levels),
            )
            for level in levels
        },
    )
