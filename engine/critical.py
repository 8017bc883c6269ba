"""Critical answers: the answers that, changed alone, would change the disposition or the tier.

The search runs the plain-Python evaluator (python_backend.py, kept in agreement with
durable_rules by tests/test_engine_backends.py) and tries only values that can matter:

- Rules see an answer only through its patterns, so two values that match the same
  patterns of a question give the same conclusions. Values are grouped by that
  *signature*, and one run per group stands for every value in it; the current
  value's group is skipped.
- For a multiple choice the signature of a list is the union of its items'; each
  change toggles one item.
- For a number the rule thresholds cut its range into intervals of equal signature;
  the value tried in each is the one nearest the current answer (a whole number
  where the interval has one), and the interval is reported with it.
- For critical answers only the rules that can influence a disposition or a tier run
  (the advice stage cannot), which also leaves out questions only advice rules read.

Cost, measured on the vignettes: see the README (tens of milliseconds per case), which
is why `Triage.assess` computes them only when asked (`critical=True`).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .aggregate import aggregate
from .case import Case
from .facts import Fact, answer_facts, normalise_number
from .knowledge import Knowledge
from .patterns import Pattern
from .python_backend import PythonBackend
from .result import Result
from .rulebase import Rule

Signature = frozenset[int]
# A number interval: (low, low included, high, high included).
Interval = tuple[float, bool, float, bool]


def interval_json(interval: Interval) -> dict[str, float]:
    """An interval as comparisons, e.g. {"gte": 6, "lte": 2600}: the JSON form everywhere."""
    low, low_in, high, high_in = interval
    return {"gte" if low_in else "gt": normalise_number(low), "lte" if high_in else "lt": normalise_number(high)}


@dataclass(frozen=True)
class Change:
    """One question's answer changed alone. `None` means unanswered."""

    question: str
    before: Any
    after: Any
    interval: Interval | None = None  # for numbers: every value here gives the same result

    def range_json(self) -> dict[str, float] | None:
        """The interval as comparisons, e.g. {"gte": 6, "lte": 2600}."""
        return None if self.interval is None else interval_json(self.interval)


@dataclass(frozen=True)
class CriticalAnswer:
    """A change of one answer that changes the disposition or the tier, and what they become."""

    change: Change
    disposition: str
    treatment_tier: str | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.change.question,
            "from": self.change.before,
            "to": self.change.after,
        }
        span = self.change.range_json()
        if span is not None:
            out["to_range"] = span
        out["disposition"] = self.disposition
        out["treatment_tier"] = self.treatment_tier
        return out


def influencing_rules(rules: Sequence[Rule], kinds: Iterable[str]) -> tuple[Rule, ...]:
    """The rules that conclude a fact of `kinds`, and every rule they depend on."""
    kinds = set(kinds)
    needed = [r for r in rules if any(f.kind in kinds for f in r.then)]
    ids = {r.id for r in needed}
    changed = True
    while changed:
        changed = False
        tested = [p for r in needed for b in r.branches for p in b.patterns if p.kind != "answer"]
        for rule in rules:
            if rule.id not in ids and any(p.matches(f) for f in rule.then for p in tested):
                needed.append(rule)
                ids.add(rule.id)
                changed = True
    return tuple(r for r in rules if r.id in ids)  # keep the loader's order


class ChangeSearch:
    """Runs one-answer changes of a case through the plain-Python evaluator."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _cache: ClassVar[dict[tuple[str, str], ChangeSearch]] = {}

    @classmethod
    def for_knowledge(cls, knowledge: Knowledge, scope: str = "outcome") -> ChangeSearch:
        """`outcome`: only the rules that decide disposition and tier; `all`: every rule."""
        key = (knowledge.version, scope)
        with cls._lock:
            search = cls._cache.get(key)
            if search is None:
                rules = knowledge.rules if scope == "all" else influencing_rules(
                    knowledge.rules, ("disposition", "tier"))
                search = cls._cache[key] = cls(knowledge, rules)
        return search

    def __init__(self, knowledge: Knowledge, rules: Sequence[Rule]) -> None:
        self.knowledge = knowledge
        self.backend = PythonBackend(rules)
        self.patterns: dict[str, tuple[Pattern, ...]] = {}
        for rule in rules:
            for branch in rule.branches:
                for pattern in branch.patterns:
                    if pattern.kind == "answer":
                        for question in pattern.ids:
                            self.patterns[question] = (*self.patterns.get(question, ()), pattern)

    def run(self, answers: Mapping[str, Any]) -> Result:
        """The result of these answers (no case id, no critical answers)."""
        return aggregate(self.knowledge, self.backend.run_case(answer_facts(answers)), answers, None)

    def changes(self, answers: Mapping[str, Any], questions: Iterable[str]) -> Iterator[list[Change]]:
        """For each question, groups of changes that give the same conclusions as each other.

        Each group differs from the current answer's signature; running the first
        change of a group stands for all of it.
        """
        for question in questions:
            patterns = self.patterns.get(question)
            if patterns:
                yield from self._groups(question, answers.get(question), patterns)

    def _signature(self, question: str, value: Any, patterns: Sequence[Pattern]) -> Signature:
        items = value if isinstance(value, list) else [] if value is None else [value]
        facts = [Fact("answer", question, normalise_number(item)) for item in items]
        return frozenset(i for i, p in enumerate(patterns) if any(p.matches(f) for f in facts))

    def _groups(self, question: str, current: Any, patterns: Sequence[Pattern]) -> Iterator[list[Change]]:
        entry = self.knowledge.questions[question]
        here = self._signature(question, current, patterns)
        groups: dict[Signature, list[Change]] = {}
        if entry["type"] in ("number", "integer"):
            for interval, value in self._number_options(question, entry, patterns, current):
                signature = self._signature(question, value, patterns)
                if signature != here:
                    groups.setdefault(signature, []).append(Change(question, current, value, interval))
        else:
            order = [v["id"] for v in entry["values"]]
            # Only answers the case contract accepts: some lists may not be empty.
            spec = self.knowledge.case_schema["properties"]["answers"]["properties"].get(question, {})
            fewest = spec.get("minItems", 0)
            for item in order:
                if entry["type"] == "multi":
                    chosen = set(current or []) ^ {item}
                    after: Any = [v for v in order if v in chosen]
                    if len(after) < fewest:
                        continue
                else:
                    after = item
                signature = self._signature(question, after, patterns)
                if signature != here:
                    groups.setdefault(signature, []).append(Change(question, current, after))
        yield from groups.values()

    def _number_options(
        self, question: str, entry: Mapping[str, Any], patterns: Sequence[Pattern], current: Any
    ) -> list[tuple[Interval, int | float]]:
        """The question's range cut at the rule thresholds, adjacent intervals of equal
        signature merged, each with the value to try in it."""
        merged: list[tuple[Interval, Signature]] = []
        for interval in number_intervals(entry, patterns):
            probe = representative(interval, None, entry["type"] == "integer")
            if probe is None:
                continue
            signature = self._signature(question, probe, patterns)
            if merged and merged[-1][1] == signature:
                low, low_in, _, _ = merged[-1][0]
                merged[-1] = ((low, low_in, interval[2], interval[3]), signature)
            else:
                merged.append((interval, signature))
        options = []
        for interval, _signature in merged:
            value = representative(interval, current, entry["type"] == "integer", float(entry["minimum"]))
            if value is not None:
                options.append((interval, value))
        return options


def number_intervals(entry: Mapping[str, Any], patterns: Sequence[Pattern]) -> list[Interval]:
    """The question's range cut at every threshold its patterns compare with."""
    low, high = float(entry["minimum"]), float(entry["maximum"])
    owner: dict[float, bool] = {}  # threshold -> does it belong to the interval above it?
    for pattern in patterns:
        for name, bound in pattern.comparisons:
            if low <= bound <= high:
                owner[float(bound)] = name in ("gte", "lt")
    intervals: list[Interval] = []
    start, start_in = low, True
    for cut in sorted(owner):
        if owner[cut]:  # [start, cut) then [cut, ...
            if cut > start:
                intervals.append((start, start_in, cut, False))
            start, start_in = cut, True
        else:  # [start, cut] then (cut, ...
            intervals.append((start, start_in, cut, True))
            start, start_in = cut, False
    if start < high or start_in:
        intervals.append((start, start_in, high, True))
    return intervals


def representative(interval: Interval, current: Any, whole: bool, minimum: float | None = None) -> int | float | None:
    """The value of the interval nearest the current answer, a whole number where possible.

    Without a current answer, the end at a threshold: the top of an interval that
    starts at the question's `minimum`, else the bottom.
    """
    low, low_in, high, high_in = interval
    first = math.ceil(low) if low_in else math.floor(low) + 1
    last = math.floor(high) if high_in else math.ceil(high) - 1
    if first <= last:
        if isinstance(current, (int, float)):
            target = float(current)
        else:
            target = high if minimum is not None and low == minimum else low
        return int(min(max(round(target), first), last))
    if whole or (low == high and not (low_in and high_in)):
        return None
    middle = normalise_number((low + high) / 2)
    return middle if isinstance(middle, (int, float)) else None


def _replace(answers: Mapping[str, Any], change: Change) -> dict[str, Any]:
    out = dict(answers)
    if change.after is None:
        out.pop(change.question, None)
    else:
        out[change.question] = change.after
    return out


def search_changes(
    search: ChangeSearch,
    answers: Mapping[str, Any],
    questions: Iterable[str],
    keep: Callable[[Result], bool],
) -> list[tuple[Change, Result]]:
    """Every one-answer change (over `questions`) whose result `keep` accepts."""
    found: list[tuple[Change, Result]] = []
    for group in search.changes(answers, questions):
        result = search.run(_replace(answers, group[0]))
        if keep(result):
            found.extend((change, result) for change in group)
    return found


def critical_answers(knowledge: Knowledge, case: Case, result: Result | None = None) -> tuple[CriticalAnswer, ...]:
    """The answers of the case that, changed alone, change its disposition or tier.

    Only answers given are changed (answering an unanswered question is not changing
    an answer). Sorted by question (knowledge order), then by the new value.
    """
    search = ChangeSearch.for_knowledge(knowledge)
    base = result if result is not None else search.run(case.answers)
    outcome = (base.disposition, base.treatment_tier)
    answered = [q for q in knowledge.questions if q in case.answers]
    found = search_changes(search, case.answers, answered,
                           lambda r: (r.disposition, r.treatment_tier) != outcome)
    order = {q: i for i, q in enumerate(knowledge.questions)}
    found.sort(key=lambda pair: (order[pair[0].question], value_order(knowledge, pair[0])))
    return tuple(CriticalAnswer(c, r.disposition, r.treatment_tier) for c, r in found)


def value_order(knowledge: Knowledge, change: Change) -> tuple[Any, ...]:
    """Sort key of a change within its question: the knowledge's value order, or the number."""
    entry = knowledge.questions[change.question]
    if change.after is None:
        return (-1.0,)
    if entry["type"] in ("number", "integer"):
        return (float(change.after),)
    order = [v["id"] for v in entry["values"]]
    if entry["type"] == "multi":
        toggled = set(change.before or []) ^ set(change.after or [])
        return tuple(sorted(order.index(v) for v in toggled))
    return (order.index(change.after),)


def with_critical_answers(knowledge: Knowledge, case: Case, result: Result) -> Result:
    """The result with its `critical_answers` filled in."""
    found = critical_answers(knowledge, case, result)
    return dataclasses.replace(result, critical_answers=tuple(c.to_json() for c in found))
