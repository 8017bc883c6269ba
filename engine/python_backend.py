"""A plain-Python evaluation of the same compiled rules.

Two uses: a differential test of the durable_rules backend (both must conclude the
same facts for every case), and the speed ceiling the benchmark compares against.
Same semantics: stages in order, rules chain within a stage until nothing new fires,
each combination of matched facts fires a rule once, negation sees earlier stages.
Firing order within a stage may differ from durable_rules'; conclusions may not.
(The loader forbids negated patterns that overlap positive ones, so durable_rules'
"negation looks only at facts not bound by the rule" needs no special case here.)

It is a naive evaluation made fast without changing what it does: facts are indexed
by kind and id, and after its first look a branch is looked at again only when a fact
it could match has arrived. The firings, and their order, are those of looking at
every branch against every fact until nothing changes (about 6× slower).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from .facts import Fact
from .firing import Firing
from .patterns import Pattern
from .rulebase import STAGES, Branch, Rule


class _Facts:
    """The facts known so far, in order, indexed by kind and by (kind, id).

    Matching a pattern looks only at the facts of its kind and ids, in the order they
    became known (which is the order a scan of every fact would find them in, so the
    firing order is unchanged by the index).
    """

    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.seen: set[Fact] = set()
        self._by_id: dict[tuple[str, str], list[int]] = {}
        self._by_kind: dict[str, list[int]] = {}

    def add(self, fact: Fact) -> bool:
        """Add a fact; False if it was known already."""
        if fact in self.seen:
            return False
        self.seen.add(fact)
        position = len(self.facts)
        self.facts.append(fact)
        self._by_id.setdefault((fact.kind, fact.id), []).append(position)
        self._by_kind.setdefault(fact.kind, []).append(position)
        return True

    def matching(self, pattern: Pattern, limit: int) -> list[int]:
        """Positions (below `limit`) of the facts `pattern` matches, in order."""
        if not pattern.ids:
            positions = self._by_kind.get(pattern.kind, [])
        elif len(pattern.ids) == 1:
            positions = self._by_id.get((pattern.kind, pattern.ids[0]), [])
        else:
            positions = sorted(itertools.chain.from_iterable(
                self._by_id.get((pattern.kind, ident), []) for ident in pattern.ids
            ))
        facts = self.facts
        if not pattern.values and not pattern.comparisons:  # kind and id say it all
            return [p for p in positions if p < limit] if positions and positions[-1] >= limit else list(positions)
        return [p for p in positions if p < limit and pattern.matches(facts[p])]


class PythonBackend:
    """Runs cases through the rules without durable_rules."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        self._by_stage: dict[str, list[tuple[int, Rule, Branch, tuple[Pattern, ...], tuple[Pattern, ...]]]] = {
            stage: [] for stage in STAGES
        }
        # Per stage: which branches a new fact of (kind, id) could give a new combination
        # (id None: patterns that name no id).
        self._watchers: dict[str, dict[tuple[str, str | None], list[int]]] = {stage: {} for stage in STAGES}
        for rule in self.rules:
            for branch in rule.branches:
                number = sum(len(v) for v in self._by_stage.values())
                self._by_stage[rule.stage].append((number, rule, branch, branch.positives, branch.negatives))
                for pattern in branch.positives:
                    for ident in pattern.ids or (None,):
                        self._watchers[rule.stage].setdefault((pattern.kind, ident), []).append(number)

    def run_case(self, answers: list[Fact]) -> list[Firing]:
        known = _Facts()
        for fact in answers:
            known.add(fact)
        facts = known.facts
        fired: set[tuple[int, tuple[int, ...]]] = set()
        firings: list[Firing] = []
        for stage in STAGES:
            # Negation may only look at earlier stages (checked at load time), so it is
            # evaluated against what was known when the stage began.
            before = len(facts)
            # Every branch is looked at once; after that only when a fact it could match
            # has arrived (`stale`): otherwise it has no combination it has not fired.
            watchers = self._watchers[stage]
            looked: set[int] = set()
            stale: set[int] = set()
            changed = True
            while changed:
                changed = False
                for number, rule, branch, positives, negatives in self._by_stage[stage]:
                    if number in looked and number not in stale:
                        continue
                    looked.add(number)
                    stale.discard(number)
                    if any(known.matching(p, before) for p in negatives):
                        continue
                    options = []
                    for pattern in positives:
                        found = known.matching(pattern, len(facts))
                        if not found:
                            break
                        options.append(found)
                    else:
                        for combination in itertools.product(*options):
                            key = (number, combination)
                            if key in fired:
                                continue
                            fired.add(key)
                            firings.append(
                                Firing(rule, branch.index, tuple(facts[p] for p in combination), rule.then)
                            )
                            for fact in rule.then:
                                if known.add(fact):
                                    changed = True
                                    stale.update(watchers.get((fact.kind, fact.id), ()))
                                    stale.update(watchers.get((fact.kind, None), ()))
        return firings
