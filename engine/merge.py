"""The merge policy: what one result makes of everything the rules concluded.

The few non-monotonic choices, in one place, used by the aggregation (which builds the
result), the relevance analysis (which asks whether a fact could still change it), the
interview and why-not:

- The most urgent disposition any rule concluded wins (ladder order in ladder.yaml).
- The tier is the highest rung concluded, and none when treatment waits for a clinician.
- Each condition keeps its strongest assessment (likely > suspected > possible > unlikely).
- Something to avoid is never also recommended: the avoid item wins, and the withheld
  recommendation is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .facts import Fact
from .knowledge import Knowledge

ASSESSMENT_STRENGTH = ("likely", "suspected", "possible", "unlikely")
# The kinds of fact a result shows; a finding only feeds other rules.
OUTCOME_KINDS = ("red_flag", "unanswered", "condition", "disposition", "tier", "recommend", "avoid")


def more_urgent(knowledge: Knowledge, disposition: str, than: str) -> bool:
    return knowledge.disposition_rank(disposition) < knowledge.disposition_rank(than)


def most_urgent(knowledge: Knowledge, dispositions: Iterable[str]) -> str | None:
    """The disposition that wins, or None if there is none."""
    return min(dispositions, key=knowledge.disposition_rank, default=None)


def highest_tier(knowledge: Knowledge, tiers: Iterable[str]) -> str | None:
    """The tier that wins (before `treatment_waits` is applied), or None."""
    return max(tiers, key=knowledge.tier_rung, default=None)


def treatment_waits(knowledge: Knowledge, disposition: str) -> bool:
    """No tier is given with this disposition: the runner sees a clinician first."""
    return bool(knowledge.dispositions[disposition]["treatment_waits"])


def stronger(assessment: str, than: str) -> bool:
    return ASSESSMENT_STRENGTH.index(assessment) < ASSESSMENT_STRENGTH.index(than)


def stronger_assessments(assessment: str) -> tuple[str, ...]:
    """The assessments that would win over this one, strongest first."""
    return ASSESSMENT_STRENGTH[: ASSESSMENT_STRENGTH.index(assessment)]


# The kinds of fact `Merged.of` reads (the others it passes over).
MERGED_KINDS = ("disposition", "tier", "condition", "avoid")


@dataclass(frozen=True)
class Merged:
    """What the policy makes of a set of concluded facts."""

    disposition: str | None  # the most urgent
    tier: str | None  # the highest rung (whether it is shown depends on the disposition)
    assessments: dict[str, str]  # condition -> its strongest assessment
    avoided: frozenset[str]

    @classmethod
    def of(cls, knowledge: Knowledge, facts: Iterable[Fact]) -> Merged:
        dispositions: list[str] = []
        tiers: list[str] = []
        assessments: dict[str, str] = {}
        avoided: set[str] = set()
        for fact in facts:
            kind = fact.kind  # read once: this runs for every fact of every case
            if kind == "disposition":
                dispositions.append(fact.id)
            elif kind == "tier":
                tiers.append(fact.id)
            elif kind == "condition":
                held = assessments.get(fact.id)
                if held is None or stronger(str(fact.value), held):
                    assessments[fact.id] = str(fact.value)
            elif kind == "avoid":
                avoided.add(fact.id)
        return cls(most_urgent(knowledge, dispositions), highest_tier(knowledge, tiers), assessments,
                   frozenset(avoided))

    def would_change(self, knowledge: Knowledge, fact: Fact) -> bool:
        """Would concluding `fact` as well change the result? Each red flag, avoid item and
        open screening question shows; a disposition must be more urgent, a tier higher, an
        assessment stronger than what is concluded; a recommendation must not be avoided."""
        if fact.kind not in OUTCOME_KINDS:
            return False
        if fact.kind == "disposition":
            return self.disposition is None or more_urgent(knowledge, fact.id, self.disposition)
        if fact.kind == "tier":
            # Compared by rung only: whether treatment waits may still change too.
            return self.tier is None or knowledge.tier_rung(fact.id) > knowledge.tier_rung(self.tier)
        if fact.kind == "condition":
            held = self.assessments.get(fact.id)
            return held is None or stronger(str(fact.value), held)
        if fact.kind == "recommend":
            return fact.id not in self.avoided
        return True
