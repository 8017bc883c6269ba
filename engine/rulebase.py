"""Rules: their model, the stage order, and the checks that make staged chaining sound.

A rule is `when` (patterns), `then` (facts), `because` and `cite`. A rule with
`when: {any: [...]}` becomes one branch per alternative; each branch is one
durable_rules rule, and all of them report under the rule's id.

The engine runs the stages in order (see durable_backend). Within a stage, rules chain
freely on what they conclude. Across stages, a rule may test for the *absence* of a
fact only when every rule that could conclude it belongs to an earlier stage: durable_rules
does not withdraw an activation when a blocking fact arrives later (measured), so this is
what keeps negation exact.

durable_rules matches each pattern of a rule to a *distinct* fact, and a negated
pattern is tested only against facts the positive patterns have not bound. So a
negated pattern that could match the same fact as a positive one silently means
"no *other* such fact" (measured: `pain_locations answered` with `not pain_locations
lateral_knee` fired for [lateral_knee, anterior_knee]). The loader rejects such overlaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .facts import Fact
from .patterns import Pattern, parse_conclusion, parse_pattern

STAGES = ("findings", "assessment", "disposition", "treatment", "advice")


@dataclass(frozen=True)
class Branch:
    """One alternative of a rule's `when`: all its patterns must hold."""

    rule_id: str
    index: int
    patterns: tuple[Pattern, ...]

    @property
    def engine_name(self) -> str:
        return self.rule_id if self.index == 0 else f"{self.rule_id}.{self.index}"

    @property
    def positives(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.patterns if not p.negated)

    @property
    def negatives(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.patterns if p.negated)


@dataclass(frozen=True)
class Rule:
    """A rule as written in rules/*.yaml, with its place: file, stage and position."""

    id: str
    stage: str
    branches: tuple[Branch, ...]
    then: tuple[Fact, ...]
    because: str
    cite: tuple[str, ...]
    file: str
    position: int

    @property
    def stage_index(self) -> int:
        return STAGES.index(self.stage)


def parse_rule(
    raw: Mapping[str, Any],
    stage: str,
    file: str,
    position: int,
    tier_rungs: Mapping[str, int],
    ranks: Mapping[str, Mapping[str, int]],
) -> Rule:
    """Build a Rule from its (schema-valid) YAML form."""
    when = raw["when"]
    alternatives = when["any"] if isinstance(when, dict) else [when]
    branches = tuple(
        Branch(raw["id"], index, tuple(parse_pattern(p, tier_rungs) for p in patterns))
        for index, patterns in enumerate(alternatives)
    )
    return Rule(
        id=raw["id"],
        stage=stage,
        branches=branches,
        then=tuple(parse_conclusion(c, ranks) for c in raw["then"]),
        because=raw["because"],
        cite=tuple(raw["cite"]),
        file=file,
        position=position,
    )


def _overlap(a: Pattern, b: Pattern) -> bool:
    """Could one fact match both patterns? (Conservative: comparisons count as overlapping.)"""
    if a.kind != b.kind or (a.ids and b.ids and not set(a.ids) & set(b.ids)):
        return False
    return not (a.values and b.values and not set(a.values) & set(b.values))


def overlap_problems(rules: Iterable[Rule]) -> list[str]:
    """Negated patterns must not be able to match a fact a positive pattern binds."""
    problems = []
    for rule in rules:
        for branch in rule.branches:
            for negative in branch.negatives:
                for positive in branch.positives:
                    if _overlap(negative, positive):
                        problems.append(
                            f"{rule.file}: rule {rule.id}: `{negative.describe()}` can match the same fact as "
                            f"`{positive.describe()}`; durable_rules would then only look at *other* facts. "
                            "Test a finding instead."
                        )
    return problems


def layering_problems(rules: Iterable[Rule]) -> list[str]:
    """Every pattern must be concludable, and only by rules that run early enough.

    A positive pattern on a derived fact needs a concluding rule in the same or an
    earlier stage; a negated one needs all its concluding rules in earlier stages.
    Answers come from the case, so they need no concluding rule.
    """
    rules = list(rules)
    # Each rule's conclusions by kind and id, so a pattern is matched only against facts
    # it could match, and each distinct pattern once: testing every pattern against
    # every conclusion took 12 ms of every start with 151 rules, this 0.6 ms.
    by_key: dict[tuple[str, str], list[tuple[Fact, Rule]]] = {}
    by_kind: dict[str, list[tuple[Fact, Rule]]] = {}
    for rule in rules:
        for fact in rule.then:
            by_key.setdefault((fact.kind, fact.id), []).append((fact, rule))
            by_kind.setdefault(fact.kind, []).append((fact, rule))
    concluding: dict[Pattern, list[Rule]] = {}

    def concluders_of(pattern: Pattern) -> list[Rule]:
        found = concluding.get(pattern)
        if found is None:
            candidates = ([c for ident in pattern.ids for c in by_key.get((pattern.kind, ident), [])]
                          if pattern.ids else by_kind.get(pattern.kind, []))
            found = concluding[pattern] = list({id(r): r for f, r in candidates if pattern.matches(f)}.values())
        return found

    problems: list[str] = []
    for rule in rules:
        for branch in rule.branches:
            for pattern in branch.patterns:
                if pattern.kind == "answer":
                    continue
                concluders = concluders_of(pattern)
                where = f"{rule.file}: rule {rule.id}"
                if not concluders:
                    problems.append(f"{where}: no rule concludes what `{pattern.describe()}` tests")
                    continue
                late = [
                    r.id
                    for r in concluders
                    if r.stage_index > rule.stage_index
                    or (pattern.negated and r.stage_index == rule.stage_index)
                ]
                if late:
                    need = "an earlier stage" if pattern.negated else "this or an earlier stage"
                    problems.append(
                        f"{where} (stage {rule.stage}): `{pattern.describe()}` is concluded by "
                        f"{', '.join(sorted(set(late)))}, which must run in {need}"
                    )
    return problems


class PatternIndex:
    """Answers "does any rule test for this fact?" without scanning every pattern.

    Facts that no pattern tests are kept in Python only: asserting them into
    durable_rules raises MessageNotHandledException, which inside an action the engine
    swallows at the cost of a formatted traceback (docs/durable-rules.md),
    and which in a batch defers the whole batch's actions to a background thread.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._by_key: dict[tuple[str, str | None], list[Pattern]] = {}
        for rule in rules:
            for branch in rule.branches:
                for pattern in branch.patterns:
                    for ident in pattern.ids or (None,):
                        self._by_key.setdefault((pattern.kind, ident), []).append(pattern)

    def tested(self, fact: Fact) -> bool:
        candidates = self._by_key.get((fact.kind, fact.id), []) + self._by_key.get((fact.kind, None), [])
        return any(p.matches(fact) for p in candidates)
