"""Proof that every rule can fire and every red flag can be reached, with witness answers.

A rule whose conditions contradict each other (`knee_locking: yes` and `knee_locking:
no`) loads, validates against every schema, and never fires: the locked knee then
silently falls from same-day to within days. So `kb validate` asks, for every branch
of every rule, for *witness* answers on which it fires, and for every red flag, answers
on which the result shows it.

The search is goal-directed, over the rules' own patterns: a branch holds when each of
its patterns holds; an answer pattern is decided by `Pattern.matches` on the answer
fact a value gives; a pattern on a derived fact holds when some rule concluding a
matching fact holds (recursively), and a negated one when every such rule is falsified.
Values tried per question are those the rules can tell apart (the choices; for numbers
one per interval between rule thresholds, as `critical.py` cuts them). Every witness
found is then run through the plain-Python evaluator (kept in agreement with
durable_rules by the backend tests): a witness is shown only if the engine fires the
branch on it. A branch with no witness within the search budget is reported too,
worded as not proven.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .aggregate import aggregate
from .case import answer_problem
from .critical import number_intervals, representative
from .facts import Fact, answer_facts
from .knowledge import Knowledge
from .patterns import Pattern
from .python_backend import PythonBackend
from .rulebase import Branch, Rule

# Search steps per branch before giving up (a branch of the shipped rules needs at
# most a few hundred), and witnesses tried on the engine per branch.
STEP_BUDGET = 20_000
RUN_BUDGET = 50


class _Unanswered:
    """A question decided to stay unanswered in the witness."""

    def __repr__(self) -> str:
        return "unanswered"


UNANSWERED = _Unanswered()


@dataclass(frozen=True)
class Witness:
    """Answers on which a rule branch fires."""

    rule: Rule
    branch: int
    answers: Mapping[str, Any]

    def describe(self) -> str:
        """`knee_locking=yes, pain_locations=[lateral_knee]` (or `no answers at all`)."""
        parts = [f"{q}=[{', '.join(map(str, v))}]" if isinstance(v, list) else f"{q}={v}"
                 for q, v in self.answers.items()]
        return ", ".join(parts) or "no answers at all"


@dataclass(frozen=True)
class Unsatisfiable:
    """A rule branch with no witness: contradictory, or not proven within the budget."""

    rule: Rule
    branch: Branch
    gave_up: bool

    def problem(self) -> str:
        which = f"rule {self.rule.id}" if len(self.rule.branches) == 1 else \
            f"rule {self.rule.id}, branch {self.branch.index + 1}"
        conditions = " and ".join(p.describe() for p in self.branch.patterns)
        if self.gave_up:
            return (f"{self.rule.file}: {which}: could not find answers that make it fire within "
                    f"{STEP_BUDGET:,} search steps (conditions: {conditions})")
        return f"{self.rule.file}: {which}: no answers make it fire; these cannot all hold: {conditions}"


@dataclass
class Report:
    """Witnesses for every satisfiable branch, the branches without one, and each red
    flag's witness (None when no answers bring it into a result)."""

    witnesses: list[Witness] = field(default_factory=list)
    unsatisfiable: list[Unsatisfiable] = field(default_factory=list)
    red_flags: dict[str, Witness | None] = field(default_factory=dict)

    def problems(self) -> list[str]:
        out = [u.problem() for u in self.unsatisfiable]
        out += [f"knowledge/red_flags.yaml: red flag '{flag}' cannot be reached: no answers found bring it into a "
                "result at its urgency (every rule raising it is listed above, or fires without showing it)"
                for flag, witness in self.red_flags.items() if witness is None]
        return out


@dataclass(frozen=True)
class _State:
    """Choices so far: values (or UNANSWERED) of single-answer questions, items in and
    out of multiple-choice ones, derived facts committed to hold or not."""

    values: Mapping[str, Any] = field(default_factory=dict)
    include: Mapping[str, frozenset[str]] = field(default_factory=dict)
    exclude: Mapping[str, frozenset[str]] = field(default_factory=dict)
    true: frozenset[Fact] = frozenset()
    false: frozenset[Fact] = frozenset()


# A goal: ("pattern", pattern, want it to match, facts being established above it),
# ("not_fact", fact) or ("not_branch", branch).
_Goal = tuple[Any, ...]


class _OutOfSteps(Exception):
    pass


class _Search:
    """The witness search over one knowledge base."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.backend = PythonBackend(knowledge.rules)
        facts = list(dict.fromkeys(f for rule in knowledge.rules for f in rule.then))
        self._concluders: dict[Fact, list[Branch]] = {
            fact: [b for r in knowledge.rules if fact in r.then for b in r.branches] for fact in facts
        }
        self._facts = facts
        self._candidates: dict[Pattern, list[Fact]] = {}
        answer_patterns: dict[str, list[Pattern]] = {}
        for rule in knowledge.rules:
            for branch in rule.branches:
                for pattern in branch.patterns:
                    if pattern.kind == "answer":
                        answer_patterns.setdefault(pattern.ids[0], []).append(pattern)
        self._options = {q: self._values(q, answer_patterns.get(q, [])) for q in knowledge.questions}
        self._steps = 0

    def _values(self, question: str, patterns: list[Pattern]) -> list[Any]:
        """The values the rules can tell apart: every choice, or one number per interval.

        Leaving it unanswered is one more option for a single-answer question. Quietest
        first: the option that makes the fewest rule patterns hold sets off the fewest
        other conclusions, so it is the least likely to block the branch sought (a `no`
        to a screening question before `yes` or no answer). Without this order, the
        search for a branch that needs every screening question answered went exponential.
        """
        entry = self.knowledge.questions[question]
        if entry["type"] in ("choice", "multi"):
            values: list[Any] = [v["id"] for v in entry["values"]]
        else:
            whole = entry["type"] == "integer"
            values = [v for i in number_intervals(entry, patterns)
                      if (v := representative(i, None, whole, float(entry["minimum"]))) is not None]
        if entry["type"] != "multi":
            values.append(UNANSWERED)

        def holding(value: Any) -> int:
            facts = [] if value is UNANSWERED else [Fact("answer", question, value)]
            return sum(any(p.matches(f) for f in facts) != p.negated for p in patterns)

        return sorted(values, key=holding)

    def candidates(self, pattern: Pattern) -> list[Fact]:
        """The facts some rule concludes that the pattern matches."""
        found = self._candidates.get(pattern)
        if found is None:
            found = self._candidates[pattern] = [f for f in self._facts if pattern.matches(f)]
        return found

    # --- the search -------------------------------------------------------------------

    def witness(self, rule: Rule, branch: Branch) -> Witness | Unsatisfiable:
        self._steps = 0
        goals: tuple[_Goal, ...] = tuple(("pattern", p, not p.negated, frozenset()) for p in branch.patterns)
        runs = 0
        try:
            for state in self._solve(goals, _State()):
                answers = self._answers(state)
                if answers is None:
                    continue
                runs += 1
                fired = self.backend.run_case(answer_facts(answers))
                if any(f.rule.id == rule.id and f.branch == branch.index for f in fired):
                    return Witness(rule, branch.index, answers)
                if runs >= RUN_BUDGET:
                    return Unsatisfiable(rule, branch, gave_up=True)
        except _OutOfSteps:
            return Unsatisfiable(rule, branch, gave_up=True)
        return Unsatisfiable(rule, branch, gave_up=runs > 0)

    def _answers(self, state: _State) -> dict[str, Any] | None:
        """The witness's answers in knowledge order, or None if the case schema refuses them."""
        answers: dict[str, Any] = {}
        for question, entry in self.knowledge.questions.items():
            if entry["type"] == "multi":
                chosen = state.include.get(question, frozenset())
                if chosen:
                    answers[question] = [v["id"] for v in entry["values"] if v["id"] in chosen]
            elif question in state.values and state.values[question] is not UNANSWERED:
                answers[question] = state.values[question]
        for question, value in answers.items():
            if answer_problem(question, value, "witness", self.knowledge) is not None:
                return None
        return answers

    def _solve(self, goals: tuple[_Goal, ...], state: _State) -> Iterator[_State]:
        self._steps += 1
        if self._steps > STEP_BUDGET:
            raise _OutOfSteps
        if not goals:
            yield state
            return
        goal, rest = goals[0], goals[1:]
        if goal[0] == "not_fact":
            yield from self._not_fact(goal[1], rest, state)
        elif goal[0] == "not_branch":
            # Some pattern of the branch must fail: try each.
            for pattern in goal[1].patterns:
                yield from self._solve((("pattern", pattern, pattern.negated, frozenset()), *rest), state)
        else:
            _, pattern, want, above = goal
            if pattern.kind == "answer":
                for after in self._answer(pattern, want, state):
                    yield from self._solve(rest, after)
            elif want:
                yield from self._derive(pattern, above, rest, state)
            else:
                facts = self.candidates(pattern)
                if not any(f in state.true for f in facts):
                    yield from self._solve((*(("not_fact", f) for f in facts), *rest), state)

    def _derive(self, pattern: Pattern, above: frozenset[Fact], rest: tuple[_Goal, ...],
                state: _State) -> Iterator[_State]:
        """Make some fact the pattern matches hold, through one rule branch concluding it."""
        facts = self.candidates(pattern)
        if any(f in state.true and f not in above for f in facts):
            yield from self._solve(rest, state)  # already established (not circularly)
            return
        for fact in facts:
            if fact in state.false or fact in above:
                continue
            committed = replace(state, true=state.true | {fact})
            for branch in self._concluders[fact]:
                sub = tuple(("pattern", p, not p.negated, above | {fact}) for p in branch.patterns)
                yield from self._solve((*sub, *rest), committed)

    def _not_fact(self, fact: Fact, rest: tuple[_Goal, ...], state: _State) -> Iterator[_State]:
        """Make sure a fact is never concluded: every branch concluding it must fail."""
        if fact in state.false:
            yield from self._solve(rest, state)
            return
        if fact in state.true:
            return
        committed = replace(state, false=state.false | {fact})
        yield from self._solve((*(("not_branch", b) for b in self._concluders[fact]), *rest), committed)

    def _answer(self, pattern: Pattern, want: bool, state: _State) -> Iterator[_State]:
        """The states in which this answer pattern matches (`want`) or does not."""
        question = pattern.ids[0]
        options = self._options[question]
        if self.knowledge.questions[question]["type"] == "multi":
            chosen = state.include.get(question, frozenset())
            refused = state.exclude.get(question, frozenset())
            matching = [v for v in options if v is not UNANSWERED and pattern.matches(Fact("answer", question, v))]
            if want:
                if chosen & set(matching):
                    yield state
                    return
                for item in matching:
                    if item not in refused:
                        yield replace(state, include={**state.include, question: chosen | {item}})
            elif not chosen & set(matching):
                yield replace(state, exclude={**state.exclude, question: refused | set(matching)})
            return
        if question in state.values:
            current = state.values[question]
            holds = current is not UNANSWERED and pattern.matches(Fact("answer", question, current))
            if holds == want:
                yield state
            return
        for value in options:
            holds = value is not UNANSWERED and pattern.matches(Fact("answer", question, value))
            if holds == want:
                yield replace(state, values={**state.values, question: value})


def check_satisfiable(knowledge: Knowledge) -> Report:
    """A witness for every rule branch, and for every red flag, or the problem."""
    search = _Search(knowledge)
    report = Report()
    by_branch: dict[tuple[str, int], Witness] = {}
    for rule in knowledge.rules:
        for branch in rule.branches:
            found = search.witness(rule, branch)
            if isinstance(found, Witness):
                report.witnesses.append(found)
                by_branch[(rule.id, branch.index)] = found
            else:
                report.unsatisfiable.append(found)
    for flag in knowledge.red_flags:
        report.red_flags[flag] = None
        for rule in knowledge.rules:
            if Fact("red_flag", flag) not in rule.then:
                continue
            for branch in rule.branches:
                witness = by_branch.get((rule.id, branch.index))
                if witness is not None and _shows_flag(knowledge, search.backend, witness, flag):
                    report.red_flags[flag] = witness
                    break
            if report.red_flags[flag] is not None:
                break
    return report


def _shows_flag(knowledge: Knowledge, backend: PythonBackend, witness: Witness, flag: str) -> bool:
    """Whether the whole result of the witness's answers shows the red flag, and sends
    the runner at least as urgently as the flag asks."""
    result = aggregate(knowledge, backend.run_case(answer_facts(witness.answers)), witness.answers, None)
    urgency = knowledge.disposition_rank(knowledge.red_flags[flag]["urgency"])
    return (any(entry["id"] == flag for entry in result.red_flags)
            and knowledge.disposition_rank(result.disposition) <= urgency)
