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
    # Unanswered questions that stay unanswered (skipped, or their `relevant_when` is
    # decided false): the interview asks this for every question it weighs.
    closed: frozenset[str] = frozenset()

    def needed(self, question: str) -> bool:
        return bool(self.reasons.get(question))

    def settled(self, kind: str) -> list[Fact]:
        return [f for f, s in self.statuses.items() if s is Status.SETTLED and f.kind == kind]


class Relevance:
    """Relevance analysis over one rule base. Build once, call `analyse` per answer.

    `analyse` keeps no state on the object between or during calls, so one Relevance
    may serve several threads (the web app's requests).
    """

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.rules = knowledge.rules
        self._branches = [(rule, branch) for rule in self.rules for branch in rule.branches]
        self._facts = list(dict.fromkeys(f for rule in self.rules for f in rule.then))
        index = {fact: i for i, fact in enumerate(self._facts)}
        # Compiled once, evaluated per call with plain ints and lists: hashing Facts and
        # Patterns in the inner loops was most of an analysis's cost (about 10 ms a step).
        # Every distinct answer pattern gets a number; its truth depends on the answers only,
        # so it is decided once per call.
        self._answer_patterns: list[Pattern] = []
        answer_number: dict[Pattern, int] = {}
        self._compiled: list[list[_Test]] = []
        for _, branch in self._branches:
            tests: list[_Test] = []
            for pattern in branch.patterns:
                if pattern.kind == "answer":
                    if pattern not in answer_number:
                        answer_number[pattern] = len(self._answer_patterns)
                        self._answer_patterns.append(pattern)
                    tests.append((answer_number[pattern], (), pattern.negated))
                else:
                    candidates = tuple(index[f] for f in self._facts if pattern.matches(f))
                    tests.append((-1, candidates, pattern.negated))
            self._compiled.append(tests)
        self._then = [tuple(index[f] for f in rule.then) for rule, _ in self._branches]
        self._concluders = [[b for b, then in enumerate(self._then) if i in then] for i in range(len(self._facts))]
        # The questions each branch asks about, in pattern order (for the reasons).
        self._asks = [tuple(p.ids[0] for p in branch.patterns if p.kind == "answer") for _, branch in self._branches]

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
        closed = self.closed(answers, skipped)
        call = _Call(self._answer_truths(answers, closed), [_OPEN] * len(self._facts), self._compiled)
        self._settle(call)
        # Statuses are final from here: every branch's truth is too.
        truths = [call.branch(b) for b in range(len(self._compiled))]
        wanted = self._wanted(call, truths)
        reasons: dict[str, list[QuestionReason]] = {}
        for b, (rule, branch) in enumerate(self._branches):
            if truths[b] != _UNKNOWN:
                continue
            goals = tuple(self._facts[i] for i in self._then[b] if wanted[i])
            if not goals:
                continue
            for question in self._asks[b]:
                if question not in answers and question not in closed:
                    listed = reasons.setdefault(question, [])
                    if not any(r.rule is rule and r.branch is branch for r in listed):
                        listed.append(QuestionReason(rule, branch, goals))
        statuses = {fact: _STATUS[call.status[i]] for i, fact in enumerate(self._facts)}
        return Analysis(statuses, {q: tuple(r) for q, r in reasons.items()}, closed)

    # --- three-valued evaluation ---------------------------------------------------

    def _answer_truths(self, answers: Mapping[str, Any], closed: frozenset[str]) -> list[int]:
        """Whether each answer pattern holds (negation applied), or UNKNOWN while its question is open."""
        facts: dict[str, list[Fact]] = {}
        for fact in answer_facts(answers):
            facts.setdefault(fact.id, []).append(fact)
        truths = []
        for pattern in self._answer_patterns:
            question = pattern.ids[0]
            if question in closed:
                holds = False  # it stays unanswered, so no answer fact can match
            elif question not in answers:
                truths.append(_UNKNOWN)
                continue
            else:
                holds = any(pattern.matches(f) for f in facts.get(question, ()))
            truths.append(_TRUE if holds != pattern.negated else _FALSE)
        return truths

    def _settle(self, call: _Call) -> None:
        """The fixpoint: a fact is settled once a branch concluding it is true, impossible
        once every such branch is false (facts in rule order, updated in place)."""
        status = call.status
        changed = True
        while changed:
            changed = False
            for i, concluders in enumerate(self._concluders):
                if status[i] != _OPEN:
                    continue
                truths = [call.branch(b) for b in concluders]
                if _TRUE in truths:
                    status[i], changed = _SETTLED, True
                elif all(t == _FALSE for t in truths):
                    status[i], changed = _IMPOSSIBLE, True

    # --- what the outcome still depends on -------------------------------------------

    def _wanted(self, call: _Call, truths: list[int]) -> list[bool]:
        """Open facts that could still change the result if concluded (the merge policy
        asked of what is settled so far), and the open facts their open branches need."""
        status = call.status
        merged = Merged.of(self.knowledge, (f for i, f in enumerate(self._facts) if status[i] == _SETTLED))
        wanted = [status[i] == _OPEN and merged.would_change(self.knowledge, f) for i, f in enumerate(self._facts)]
        changed = True
        while changed:
            changed = False
            for b, tests in enumerate(self._compiled):
                if truths[b] != _UNKNOWN or not any(wanted[i] for i in self._then[b]):
                    continue
                for answer, candidates, _negated in tests:
                    if answer >= 0:
                        continue
                    for i in candidates:
                        if status[i] == _OPEN and not wanted[i]:
                            wanted[i] = changed = True
        return wanted


# A compiled pattern: (answer pattern number, or -1 for a pattern on derived facts;
# the indexes of the facts it can match; negated).
_Test = tuple[int, tuple[int, ...], bool]
_TRUE, _FALSE, _UNKNOWN = 1, 0, 2
_OPEN, _SETTLED, _IMPOSSIBLE = 0, 1, 2
_STATUS = {_OPEN: Status.OPEN, _SETTLED: Status.SETTLED, _IMPOSSIBLE: Status.IMPOSSIBLE}


@dataclass
class _Call:
    """One analysis's working state, kept off the Relevance so that calls can overlap."""

    answer_truth: list[int]
    status: list[int]
    compiled: list[list[_Test]]

    def branch(self, b: int) -> int:
        """A branch is false if a pattern is false, true if all are true, else unknown."""
        result = _TRUE
        status = self.status
        for answer, candidates, negated in self.compiled[b]:
            if answer >= 0:
                truth = self.answer_truth[answer]
            else:
                if any(status[i] == _SETTLED for i in candidates):
                    holds = True
                elif all(status[i] == _IMPOSSIBLE for i in candidates):
                    holds = False
                else:
                    result = _UNKNOWN
                    continue
                truth = _TRUE if holds != negated else _FALSE
            if truth == _FALSE:
                return _FALSE
            if truth == _UNKNOWN:
                result = _UNKNOWN
        return result


def relevant_by_condition(patterns: Iterable[Pattern], answers: Mapping[str, Any],
                          facts: list[Fact] | None = None) -> bool:
    """A question's own `relevant_when`: every pattern must hold on the answers given
    (`facts`: their answer facts, when the caller already has them)."""
    if facts is None:
        facts = answer_facts(answers)
    for pattern in patterns:
        holds = any(pattern.matches(f) for f in facts)
        if holds == pattern.negated:
            return False
    return True
