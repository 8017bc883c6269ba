"""A plain-Python evaluation of the same compiled rules.

Two uses: a differential test of the durable_rules backend (both must conclude the
same facts for every case), and the speed ceiling the benchmark compares against.
Same semantics: stages in order, rules chain within a stage until nothing new fires,
each combination of matched facts fires a rule once, negation sees earlier stages.
Firing order within a stage may differ from durable_rules'; conclusions may not.
(The loader forbids negated patterns that overlap positive ones, so durable_rules'
"negation looks only at facts not bound by the rule" needs no special case here.)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from .durable_backend import Firing
from .facts import Fact
from .rulebase import STAGES, Rule


class PythonBackend:
    """Runs cases through the rules without durable_rules."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        self._by_stage = {stage: [r for r in self.rules if r.stage == stage] for stage in STAGES}

    def run_case(self, answers: list[Fact]) -> list[Firing]:
        known: list[Fact] = list(dict.fromkeys(answers))
        seen = set(known)
        fired: set[tuple[str, int, tuple[Fact, ...]]] = set()
        firings: list[Firing] = []
        for stage in STAGES:
            # Negation may only look at earlier stages (checked at load time), so it is
            # evaluated against what was known when the stage began.
            before = list(known)
            changed = True
            while changed:
                changed = False
                for rule in self._by_stage[stage]:
                    for branch in rule.branches:
                        if any(p.matches(f) for p in branch.negatives for f in before):
                            continue
                        options = [[f for f in known if p.matches(f)] for p in branch.positives]
                        for combination in itertools.product(*options):
                            key = (rule.id, branch.index, combination)
                            if key in fired:
                                continue
                            fired.add(key)
                            firings.append(Firing(rule, branch.index, combination, rule.then))
                            for fact in rule.then:
                                if fact not in seen:
                                    seen.add(fact)
                                    known.append(fact)
                                    changed = True
        return firings
