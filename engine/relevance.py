"""Which questions can still change the outcome, derived from the rules themselves.

Given the answers so far, every pattern of every rule is TRUE, FALSE or UNKNOWN:
an answered question decides its patterns for good; an unanswered one leaves them
open. A fixpoint then gives every derivable fact a status: SETTLED (some branch
concluding it holds whatever the missing answers turn out to be), IMPOSSIBLE (every
branch concluding it is already false) or OPEN. Answers only ever add facts, so
settled and impossible facts stay that way.

A question is worth asking when some rule branch that tests it is still open and
concludes something *wanted*: an open part of the outcome (a red flag, a more urgent
disposition, a higher tier, a stronger assessment, a recommendation, an avoid item,
an open safety question), or an open fact that such a branch needs, recursively.
Everything else is already settled by earlier answers and is not asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .facts import Fact, answer_facts
from .knowledge import Knowledge
from .merge import Merged
from .patterns import Pattern
from .rulebase import Branch, Rule


class Truth(Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


class Status(Enum):
    SETTLED = "settled"
    IMPOSSIBLE = "impossible"
    OPEN = "open"


@dataclass(frozen=True)
class QuestionReason:
    """Why a question is asked: a rule branch that tests it and what it could conclude."""

    rule: Rule
    branch: Branch
    wanted: tuple[Fact, ...]


@dataclass(frozen=True)
class Analysis:
    """The relevance of every question for one set of answers."""

    statuses: Mapping[Fact, Status]
    reasons: Mapping[str, tuple[QuestionReason, ...]]

    def needed(self, question: str) -> bool:
        return bool(self.reasons.get(question))

    def settled(self, kind: str) -> list[Fact]:
        return [f for f, s in self.statuses.items() if s is Status.SETTLED and f.kind == kind]


class Relevance:
    """Relevance analysis over one rule base. Build once, call `analyse` per answer."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.rules = knowledge.rules
        self._branches = [(rule, branch) for rule in self.rules for branch in rule.branches]
        self._facts = list(dict.fromkeys(f for rule in self.rules for f in rule.then))
        self._concluders = {
            fact: [(r, b) for r, b in self._branches if fact in r.then] for fact in self._facts
        }
        self._closed: frozenset[str] = frozenset()
        self._candidates: dict[Pattern, list[Fact]] = {}
        for _, branch in self._branches:
            for pattern in branch.patterns:
                if pattern.kind != "answer":
                    self._candidates[pattern] = [f for f in self._facts if pattern.matches(f)]

    def closed(self, answers: Mapping[str, Any], skipped: Iterable[str] = ()) -> frozenset[str]:
        """Unanswered questions that will stay unanswered: skipped, or never relevant.

        A question whose `relevant_when` is already decided false will not be asked,
        so its patterns are evaluated as for a missing answer, for good.
        """
        closed = set(skipped) - set(answers)
        changed = True
        while changed:
            changed = False
            for question, patterns in self.knowledge.relevance.items():
                if question in answers or question in closed:
                    continue
                if any(self._decided_false(p, answers, closed) for p in patterns):
                    closed.add(question)
                    changed = True
        return frozenset(closed)

    def _decided_false(self, pattern: Pattern, answers: Mapping[str, Any], closed: set[str]) -> bool:
        question = pattern.ids[0]
        if question in answers:
            holds = any(pattern.matches(f) for f in answer_facts({question: answers[question]}))
        elif question in closed:
            holds = False
        else:
            return False
        return holds == pattern.negated

    def analyse(self, answers: Mapping[str, Any], skipped: Iterable[str] = ()) -> Analysis:
        """The status of every fact and the reasons to ask each open question."""
        facts = answer_facts(answers)
        self._closed = self.closed(answers, skipped)
        statuses = self._statuses(answers, facts)
        wanted = self._wanted(answers, facts, statuses)
        reasons: dict[str, list[QuestionReason]] = {}
        for rule, branch in self._branches:
            if self._branch_truth(branch, answers, facts, statuses) is not Truth.UNKNOWN:
                continue
            goals = tuple(f for f in rule.then if f in wanted)
            if not goals:
                continue
            for pattern in branch.patterns:
                question = pattern.ids[0] if pattern.kind == "answer" else None
                if question is not None and question not in answers and question not in self._closed:
                    reasons.setdefault(question, [])
                    if not any(r.rule is rule and r.branch is branch for r in reasons[question]):
                        reasons[question].append(QuestionReason(rule, branch, goals))
        return Analysis(statuses, {q: tuple(r) for q, r in reasons.items()})

    # --- three-valued evaluation ---------------------------------------------------

    def _pattern_truth(
        self, pattern: Pattern, answers: Mapping[str, Any], facts: list[Fact], statuses: Mapping[Fact, Status]
    ) -> Truth:
        if pattern.kind == "answer":
            question = pattern.ids[0]
            if question in self._closed:
                holds = False  # it stays unanswered, so no answer fact can match
            elif question not in answers:
                return Truth.UNKNOWN
            else:
                holds = any(pattern.matches(f) for f in facts)
        else:
            candidates = [statuses[f] for f in self._candidates[pattern]]
            if any(s is Status.SETTLED for s in candidates):
                holds = True
            elif all(s is Status.IMPOSSIBLE for s in candidates):
                holds = False
            else:
                return Truth.UNKNOWN
        return Truth.TRUE if holds != pattern.negated else Truth.FALSE

    def _branch_truth(
        self, branch: Branch, answers: Mapping[str, Any], facts: list[Fact], statuses: Mapping[Fact, Status]
    ) -> Truth:
        truths = [self._pattern_truth(p, answers, facts, statuses) for p in branch.patterns]
        if Truth.FALSE in truths:
            return Truth.FALSE
        return Truth.TRUE if all(t is Truth.TRUE for t in truths) else Truth.UNKNOWN

    def _statuses(self, answers: Mapping[str, Any], facts: list[Fact]) -> dict[Fact, Status]:
        statuses = {fact: Status.OPEN for fact in self._facts}
        changed = True
        while changed:
            changed = False
            for fact in self._facts:
                if statuses[fact] is not Status.OPEN:
                    continue
                truths = [self._branch_truth(b, answers, facts, statuses) for _, b in self._concluders[fact]]
                if Truth.TRUE in truths:
                    statuses[fact], changed = Status.SETTLED, True
                elif all(t is Truth.FALSE for t in truths):
                    statuses[fact], changed = Status.IMPOSSIBLE, True
        return statuses

    # --- what the outcome still depends on -------------------------------------------

    def _open_outcome(self, statuses: Mapping[Fact, Status]) -> set[Fact]:
        """Open facts that could still change the result if concluded (the merge policy
        asked of what is settled so far)."""
        merged = Merged.of(self.knowledge, (f for f, s in statuses.items() if s is Status.SETTLED))
        return {f for f, s in statuses.items() if s is Status.OPEN and merged.would_change(self.knowledge, f)}

    def _wanted(self, answers: Mapping[str, Any], facts: list[Fact], statuses: Mapping[Fact, Status]) -> set[Fact]:
        wanted = self._open_outcome(statuses)
        changed = True
        while changed:
            changed = False
            for rule, branch in self._branches:
                if not any(f in wanted for f in rule.then):
                    continue
                if self._branch_truth(branch, answers, facts, statuses) is not Truth.UNKNOWN:
                    continue
                for pattern in branch.patterns:
                    if pattern.kind == "answer":
                        continue
                    for fact in self._candidates[pattern]:
                        if statuses[fact] is Status.OPEN and fact not in wanted:
                            wanted.add(fact)
                            changed = True
        return wanted


def relevant_by_condition(patterns: Iterable[Pattern], answers: Mapping[str, Any]) -> bool:
    """A question's own `relevant_when`: every pattern must hold on the answers given."""
    facts = answer_facts(answers)
    for pattern in patterns:
        holds = any(pattern.matches(f) for f in facts)
        if holds == pattern.negated:
            return False
    return True
