"""Why not: for something the result does not show, what would have had to be different.

For a target id (a disposition, tier, recommendation, avoid item, condition, red flag
or finding) the analysis says whether it was concluded at all, and if it was, what
outranked it (a more urgent disposition, a higher tier, a stronger assessment, an avoid
item). If it was not, it lists every rule whose `then` could conclude it, each branch's
patterns with which held and which failed on the case's facts, and:

- for a failed answer pattern, the answers that would satisfy it (from the question's
  values in the knowledge, checked with Pattern.matches);
- for a failed pattern on a derived fact, the rules that could conclude that fact, one
  level down;
- for a negated pattern that failed, the firings (from the trace) that concluded the
  blocking fact.

Finally, the one-answer changes that would bring the target into the result, found
with the plain-Python evaluator (engine/critical.py).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .critical import (
    Change,
    ChangeSearch,
    Interval,
    interval_json,
    number_intervals,
    representative,
    search_changes,
    value_order,
)
from .derivations import Node, TreeBuilder
from .errors import QueryError
from .facts import Fact, Value, answer_facts
from .knowledge import Knowledge
from .merge import ASSESSMENT_STRENGTH, more_urgent, stronger_assessments
from .patterns import Pattern
from .result import Result
from .rulebase import Rule
from .wording import pattern_text, range_text

# Target kinds as a user names them -> the kind of fact rules conclude.
FACT_KINDS = {
    "disposition": "disposition",
    "tier": "tier",
    "recommendation": "recommend",
    "avoid": "avoid",
    "condition": "condition",
    "red_flag": "red_flag",
    "finding": "finding",
}
KIND_ALIASES = {"recommend": "recommendation", "red-flag": "red_flag", "redflag": "red_flag"}


@dataclass(frozen=True)
class Target:
    """What the user asked about: a kind, an id and, for a condition, an assessment."""

    kind: str
    id: str
    value: str | None = None

    @property
    def fact_kind(self) -> str:
        return FACT_KINDS[self.kind]

    def matches(self, fact: Fact) -> bool:
        return (fact.kind == self.fact_kind and fact.id == self.id
                and (self.value is None or fact.value == self.value))

    def label(self) -> str:
        text = f"{self.kind} {self.id}"
        return f"{text} = {self.value}" if self.value else text


@dataclass(frozen=True)
class AnswerHint:
    """Answers to one question that would make a pattern go the other way.

    `action`: set (answer one of `values`), include (add one of `values` to the
    multiple choice), remove (take `values` out of it), unanswer (leave it out).
    For numbers `values` holds one example per interval in `intervals`.
    """

    question: str
    action: str
    values: tuple[Value, ...]
    text: str
    intervals: tuple[Interval, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "action": self.action, "values": list(self.values), "text": self.text}


@dataclass(frozen=True)
class PatternCheck:
    """One pattern of a branch, on the case's facts."""

    pattern: Pattern
    text: str
    held: bool
    matched: tuple[Fact, ...]  # facts that match it (support if positive, blockers if negated)
    hints: tuple[AnswerHint, ...] = ()
    concluders: tuple[RuleCheck, ...] = ()  # failed positive derived pattern: who could conclude it
    blockers: tuple[Node, ...] = ()  # failed negated derived pattern: how the blocker came about

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pattern": self.text,
            "negated": self.pattern.negated,
            "held": self.held,
            "facts": [f.to_json() for f in self.matched],
        }
        if self.hints:
            out["answers_that_would_satisfy"] = [h.to_json() for h in self.hints]
        if self.concluders:
            out["could_be_concluded_by"] = [r.to_json() for r in self.concluders]
        if self.blockers:
            out["blocked_by"] = [b.to_json() for b in self.blockers]
        return out


@dataclass(frozen=True)
class BranchCheck:
    index: int
    patterns: tuple[PatternCheck, ...]

    @property
    def held(self) -> bool:
        return all(p.held for p in self.patterns)

    def to_json(self) -> dict[str, Any]:
        return {"branch": self.index, "held": self.held, "patterns": [p.to_json() for p in self.patterns]}


@dataclass(frozen=True)
class RuleCheck:
    """A rule that could conclude the target, with each of its branches checked."""

    rule: str
    stage: str
    because: str
    citations: tuple[str, ...]
    concludes: Fact
    branches: tuple[BranchCheck, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "stage": self.stage,
            "concludes": self.concludes.to_json(),
            "because": self.because,
            "citations": list(self.citations),
            "branches": [b.to_json() for b in self.branches],
        }


@dataclass(frozen=True)
class WhyNot:
    """The answer to "why not TARGET?" for one case.

    `status`: shown (it is in the result), outranked (concluded, but aggregation chose
    `instead`), withheld (recommended, but also something to avoid), or not_concluded.
    """

    target: Target
    title: str
    status: str
    summary: str
    instead: tuple[str, ...] = ()
    rules: tuple[RuleCheck, ...] = ()
    changes: tuple[tuple[Change, Result], ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": {"kind": self.target.kind, "id": self.target.id},
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
        }
        if self.target.value is not None:
            out["target"]["value"] = self.target.value
        if self.instead:
            out["instead"] = list(self.instead)
        if self.note:
            out["note"] = self.note
        out["rules"] = [r.to_json() for r in self.rules]
        out["single_answer_changes"] = [
            {"question": c.question, "from": c.before, "to": c.after, "disposition": r.disposition,
             "treatment_tier": r.treatment_tier}
            | ({"to_range": span} if (span := c.range_json()) is not None else {})
            for c, r in self.changes
        ]
        return out


def _tables(knowledge: Knowledge) -> dict[str, Sequence[str]]:
    findings = list(dict.fromkeys(f.id for r in knowledge.rules for f in r.then if f.kind == "finding"))
    return {
        "disposition": list(knowledge.dispositions),
        "tier": list(knowledge.tiers),
        "recommendation": list(knowledge.recommendations),
        "avoid": list(knowledge.avoid),
        "condition": list(knowledge.conditions),
        "red_flag": list(knowledge.red_flags),
        "finding": findings,
    }


def parse_targets(knowledge: Knowledge, text: str) -> tuple[Target, ...]:
    """`ID`, `KIND:ID` or `CONDITION=ASSESSMENT` -> the targets it names (an id in two
    tables, such as aqua_jogging, names both unless a kind is given)."""
    tables = _tables(knowledge)
    spec = text.strip()
    kind: str | None = None
    if ":" in spec:
        given, spec = spec.split(":", 1)
        kind = KIND_ALIASES.get(given, given)
        if kind not in tables:
            raise QueryError(f"--why-not {text}: unknown kind '{given}'; expected one of {', '.join(tables)}")
    value: str | None = None
    if "=" in spec:
        spec, value = spec.split("=", 1)
        if kind not in (None, "condition"):
            raise QueryError(f"--why-not {text}: only a condition takes '=ASSESSMENT'")
        kind = "condition"
        if value not in ASSESSMENT_STRENGTH:
            raise QueryError(f"--why-not {text}: unknown assessment '{value}'; "
                             f"expected one of {', '.join(ASSESSMENT_STRENGTH)}")
    kinds = [kind] if kind else [k for k, ids in tables.items() if spec in ids]
    targets = tuple(Target(k, spec, value) for k in kinds if spec in tables[k])
    if not targets:
        every = sorted({i for ids in tables.values() for i in ids})
        close = difflib.get_close_matches(spec, every, n=1)
        where = f"a {kind.replace('_', ' ')} id" if kind else (
            "a disposition, tier, recommendation, avoid item, condition, red flag or finding id")
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise QueryError(f"--why-not {text}: unknown id '{spec}'; expected {where}{hint}")
    return targets


class WhyNotAnalysis:
    """Answers why-not questions about one result."""

    def __init__(self, knowledge: Knowledge, result: Result) -> None:
        self.knowledge = knowledge
        self.result = result
        self.trees = TreeBuilder(knowledge, result)
        self.known: list[Fact] = list(dict.fromkeys([*answer_facts(result.answers), *self.trees.known]))

    def why_not(self, target: Target, search_changes_too: bool = True) -> WhyNot:
        """The analysis of one target."""
        title = self._title(target)
        status, instead, summary = self._status(target)
        if status == "shown":
            return WhyNot(target, title, status, summary)
        rules: tuple[RuleCheck, ...] = ()
        if status == "not_concluded":
            rules = tuple(self._rule_check(rule, fact, depth=0) for rule, fact in self._concluders(target))
        changes = tuple(self._changes(target)) if search_changes_too else ()
        return WhyNot(target, title, status, summary, instead, rules, changes, self._note(target))

    # --- status --------------------------------------------------------------------

    def _title(self, target: Target) -> str:
        k = self.knowledge
        entry: Mapping[str, Any] | None = {
            "disposition": k.dispositions, "tier": k.tiers, "recommendation": k.recommendations,
            "avoid": k.avoid, "condition": k.conditions, "red_flag": k.red_flags,
        }.get(target.kind, {}).get(target.id)
        if entry is None:
            return target.id
        return str(entry.get("headline") or entry.get("title") or entry.get("name") or target.id)

    def _concluded(self, target: Target) -> list[Fact]:
        return [f for f in self.trees.known if target.matches(f) and self.trees.concluded(f)]

    def _status(self, target: Target) -> tuple[str, tuple[str, ...], str]:
        r = self.result
        concluded = self._concluded(target)
        label = target.label()
        if target.kind == "disposition":
            if r.disposition == target.id:
                return "shown", (), f"The disposition is {target.id}."
            if concluded:
                return ("outranked", (r.disposition,),
                        f"{label} was concluded, but the most urgent disposition wins: {r.disposition}.")
        elif target.kind == "tier":
            if r.treatment_tier == target.id:
                return "shown", (), f"The tier is {target.id}."
            if concluded:
                return ("outranked", (str(r.treatment_tier),),
                        f"{label} was concluded, but the highest rung concluded is the tier: {r.treatment_tier}.")
        elif target.kind == "recommendation":
            if target.id in r.recommendation_ids:
                return "shown", (), f"{target.id} is recommended."
            if concluded:
                return ("withheld", (f"avoid {target.id}",),
                        f"{label} was concluded, but it is also something to avoid, and avoid wins.")
        elif target.kind == "avoid":
            if target.id in r.avoid_ids:
                return "shown", (), f"{target.id} is listed to avoid."
        elif target.kind == "condition":
            shown = {c["id"]: c["assessment"] for c in r.conditions}.get(target.id)
            if shown is not None and (target.value in (None, shown)):
                if target.value is None and stronger_assessments(shown):
                    # Asked without an assessment: explain why nothing stronger was concluded.
                    stronger = ", ".join(stronger_assessments(shown))
                    return ("not_concluded", (f"{target.id} = {shown}",),
                            f"{target.id} is assessed as {shown}; no rule concluded a stronger "
                            f"assessment ({stronger}).")
                return "shown", (), f"{target.id} is assessed as {shown}."
            if concluded and shown is not None:
                return ("outranked", (f"{target.id} = {shown}",),
                        f"{label} was concluded, but the strongest assessment wins: {shown}.")
        elif concluded:
            return "shown", (), f"{label} was concluded."
        return "not_concluded", (), f"No rule concluded {label}."

    def _note(self, target: Target) -> str:
        k, r = self.knowledge, self.result
        if target.kind == "disposition" and more_urgent(k, r.disposition, than=target.id):
            return (f"Only the most urgent disposition concluded is shown, so {target.id} would also need "
                    f"every rule concluding {r.disposition} (or anything more urgent than {target.id}) not to fire.")
        if target.kind == "tier" and r.treatment_tier is None:
            return f"No tier is given while treatment waits for the clinician (disposition {r.disposition})."
        if target.kind == "tier" and r.treatment_tier and k.tier_rung(target.id) < k.tier_rung(r.treatment_tier):
            return f"The highest rung concluded is the tier, so {target.id} would need {r.treatment_tier} gone too."
        return ""

    # --- rules that could conclude it ----------------------------------------------

    def _concluders(self, target: Target) -> list[tuple[Rule, Fact]]:
        wanted = self._wanted_values(target)
        out = []
        for rule in self.knowledge.rules:
            for fact in rule.then:
                if target.matches(fact) and (wanted is None or fact.value in wanted):
                    out.append((rule, fact))
                    break
        return out

    def _wanted_values(self, target: Target) -> set[str] | None:
        """For a condition asked about without an assessment but shown with one: the stronger ones."""
        if target.kind != "condition" or target.value is not None:
            return None
        shown = {c["id"]: c["assessment"] for c in self.result.conditions}.get(target.id)
        if shown is None:
            return None
        return set(stronger_assessments(shown))

    def _rule_check(self, rule: Rule, concludes: Fact, depth: int) -> RuleCheck:
        branches = tuple(
            BranchCheck(branch.index, tuple(self._pattern_check(p, depth) for p in branch.patterns))
            for branch in rule.branches
        )
        return RuleCheck(rule.id, rule.stage, rule.because, rule.cite, concludes, branches)

    def _pattern_check(self, pattern: Pattern, depth: int) -> PatternCheck:
        matched = tuple(f for f in self.known if pattern.matches(f))
        held = not matched if pattern.negated else bool(matched)
        text = pattern_text(pattern, self.knowledge)
        if held:
            return PatternCheck(pattern, text, True, matched)
        if pattern.kind == "answer":
            return PatternCheck(pattern, text, False, matched, hints=self._hints(pattern))
        if pattern.negated:
            return PatternCheck(pattern, text, False, matched, blockers=tuple(self.trees.node(f) for f in matched))
        if depth == 0:
            concluders = []
            for rule in self.knowledge.rules:
                fact = next((f for f in rule.then if pattern.matches(f)), None)
                if fact is not None:
                    concluders.append(self._rule_check(rule, fact, depth + 1))
            return PatternCheck(pattern, text, False, matched, concluders=tuple(concluders))
        return PatternCheck(pattern, text, False, matched)

    # --- answers that would satisfy a failed answer pattern ---------------------------

    def _hints(self, pattern: Pattern) -> tuple[AnswerHint, ...]:
        hints = []
        for question in pattern.ids:
            entry = self.knowledge.questions[question]
            hint = self._hint(question, entry, pattern)
            if hint is not None:
                hints.append(hint)
        return tuple(hints)

    def _hint(self, question: str, entry: Mapping[str, Any], pattern: Pattern) -> AnswerHint | None:
        def fits(value: Value) -> bool:
            # A negated pattern is satisfied by values it does not match.
            return pattern.matches(Fact("answer", question, value)) != pattern.negated

        current = self.result.answers.get(question)
        if entry["type"] in ("number", "integer"):
            if not pattern.comparisons:  # an `answered` pattern
                if pattern.negated:
                    return AnswerHint(question, "unanswer", (), f"leave {question} unanswered")
                low, high = entry["minimum"], entry["maximum"]
                return AnswerHint(question, "set", (low,), f"answer {question} (any value from {low} to {high})")
            intervals = []
            examples: list[Value] = []
            for interval in number_intervals(entry, [pattern]):
                example = representative(interval, current, entry["type"] == "integer", float(entry["minimum"]))
                if example is not None and fits(example):
                    intervals.append(interval)
                    examples.append(example)
            whole = entry["type"] == "integer"
            text = " or ".join(range_text(interval_json(i), whole) for i in intervals)
            return AnswerHint(question, "set", tuple(examples), f"{question}: {text}", tuple(intervals))
        values = [v["id"] for v in entry["values"]]
        if entry["type"] == "multi":
            if pattern.negated:
                chosen = [v for v in current or [] if pattern.matches(Fact("answer", question, v))]
                if not pattern.values:
                    return AnswerHint(question, "unanswer", (), f"leave {question} unanswered or empty")
                return AnswerHint(question, "remove", tuple(chosen), f"take {_or(chosen)} out of {question}")
            items = [v for v in values if fits(v)]
            return AnswerHint(question, "include", tuple(items), f"{question} includes {_or(items)}")
        if pattern.negated and not pattern.values:
            return AnswerHint(question, "unanswer", (), f"leave {question} unanswered")
        options = [v for v in values if fits(v)]
        text = f"{question} = {_or(options)}"
        if pattern.negated:
            text += " (or leave it unanswered)"
        return AnswerHint(question, "set", tuple(options), text)

    # --- one answer changed alone --------------------------------------------------------

    def _changes(self, target: Target) -> list[tuple[Change, Result]]:
        scope = "outcome" if target.kind in ("disposition", "tier") else "all"
        search = ChangeSearch.for_knowledge(self.knowledge, scope)
        wanted = self._wanted_values(target)
        found = search_changes(search, self.result.answers, list(self.knowledge.questions),
                               lambda r: _shows(r, target, wanted))
        order = {q: i for i, q in enumerate(self.knowledge.questions)}
        return sorted(found, key=lambda pair: (order[pair[0].question], value_order(self.knowledge, pair[0])))


def _shows(result: Result, target: Target, wanted: set[str] | None = None) -> bool:
    """Does this result show the target (for a condition, with one of the `wanted` assessments)?"""
    if target.kind == "disposition":
        return result.disposition == target.id
    if target.kind == "tier":
        return result.treatment_tier == target.id
    if target.kind == "recommendation":
        return target.id in result.recommendation_ids
    if target.kind == "avoid":
        return target.id in result.avoid_ids
    if target.kind == "condition":
        shown = {c["id"]: c["assessment"] for c in result.conditions}.get(target.id)
        if target.value is not None:
            return shown == target.value
        return shown is not None and (wanted is None or shown in wanted)
    if target.kind == "red_flag":
        return any(f["id"] == target.id for f in result.red_flags)
    return any(Fact("finding", target.id) in step.concluded for step in result.trace)


def _or(values: Sequence[Any]) -> str:
    texts = [str(v) for v in values]
    if len(texts) <= 1:
        return "".join(texts)
    return ", ".join(texts[:-1]) + " or " + texts[-1]


def why_not(knowledge: Knowledge, result: Result, text: str) -> tuple[WhyNot, ...]:
    """Parse `text` (see parse_targets) and analyse each target it names."""
    analysis = WhyNotAnalysis(knowledge, result)
    return tuple(analysis.why_not(t) for t in parse_targets(knowledge, text))


def target_ids(knowledge: Knowledge) -> dict[str, Sequence[str]]:
    """Every id `--why-not` takes, by kind (disposition, tier, ..., finding)."""
    return _tables(knowledge)
