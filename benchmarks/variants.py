"""The same rules run through durable_rules' own Python wrapper, for comparison.

Two variants, both built from the engine's compiled ruleset (`durable_definition`), so
they fire the same rules on the same facts; only the way durable_rules is driven differs.

- naive: what the durable_rules documentation suggests. A Host, an action per rule that
  asserts *every* conclusion as a fact (`c.assert_fact`), a new session per case and
  `delete_state` after it. Most conclusions (advice, conditions, dispositions) are
  tested by no rule, and many are concluded by more than one rule, so those asserts
  raise MessageNotHandledException or MessageObservedException inside the action,
  which durable_rules swallows: it formats the traceback and stores the text in the
  session state, which every later action then re-encodes (durable-rules-notes.md,
  section 3). That cost is part of the measurement, as it would be in a naive program.
  Each conclusion is asserted in its own step of a durable_rules Promise chain, which
  carries on after a swallowed exception: with all asserts in one function the first
  failure would end the action and silently drop the conclusions after it. Answers go
  in as the engine sends them, only those a rule tests: an unhandled fact in a batch
  defers the whole batch's actions to a background thread, which makes results wrong,
  not just slow.
- wrapper: the careful use of the same wrapper that engine/durable_backend.py made
  before it drove the C core itself: conclusions no rule tests are kept in Python,
  repeated ones are not asserted again, errors are collected, sessions deleted.

Both use a Host without its background timer threads, so that every action runs on
the caller's thread and the results can be checked against the engine's.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from durable import engine as durable

from itb_triage.engine.durable_backend import durable_definition
from itb_triage.engine.errors import EngineError
from itb_triage.engine.facts import Fact
from itb_triage.engine.firing import Firing
from itb_triage.engine.rulebase import STAGES, PatternIndex, Rule


class _QuietHost(durable.Host):  # type: ignore[misc]
    """A Host without the timer threads that re-dispatch actions in the background."""

    def _run(self) -> None:
        return None


def _asserter(fact: Fact) -> Callable[[Any], None]:
    def assert_fact(c: Any) -> None:
        c.assert_fact(fact.to_engine(c.s.sid))  # raises, and is swallowed, if no rule tests it or it is known

    return assert_fact


class WrapperBackend:
    """Runs cases through durable_rules' Host API (`naive=True`: every conclusion asserted)."""

    def __init__(self, rules: Iterable[Rule], name: str, naive: bool) -> None:
        self.rules = tuple(rules)
        self.naive = naive
        self.name = f"bench_{'naive' if naive else 'wrapper'}_{name}"
        self._runs: dict[str, tuple[set[Fact], list[Firing], list[str]]] = {}
        self._sids = itertools.count(1)
        self._index = PatternIndex(self.rules)
        self._tested = {f for r in self.rules for f in r.then if self._index.tested(f)}
        self._stages = [s for s in STAGES if any(r.stage == s for r in self.rules)]
        definition = durable_definition(self.rules)
        for rule in self.rules:
            for branch in rule.branches:
                aliases = [f"m{i}" for i in range(len(branch.positives))]
                definition[branch.engine_name]["run"] = self._action(rule, branch.index, aliases)
        self._host = _QuietHost()
        self._host.register_rulesets({self.name: copy.copy(definition)})

    def _action(self, rule: Rule, branch: int, aliases: list[str]) -> Any:
        def record(c: Any) -> None:
            _known, firings, _errors = self._runs[c.s.sid]
            firings.append(Firing(rule, branch, tuple(Fact.from_engine(c._m[a]) for a in aliases), rule.then))

        def careful(c: Any) -> None:
            known, firings, errors = self._runs[c.s.sid]
            try:
                firings.append(Firing(rule, branch, tuple(Fact.from_engine(c._m[a]) for a in aliases), rule.then))
                for fact in rule.then:
                    if fact not in known:
                        known.add(fact)
                        if fact in self._tested:
                            c.assert_fact(fact.to_engine(c.s.sid))
            except BaseException as exc:
                errors.append(f"rule {rule.id}: {type(exc).__name__}: {exc}")

        if not self.naive:
            return careful
        chain = durable.Promise(record)
        for fact in rule.then:
            chain = chain.continue_with(durable.Promise(_asserter(fact)))
        return chain.root

    def run_case(self, answers: list[Fact]) -> list[Firing]:
        sid = str(next(self._sids))
        known: set[Fact] = set(answers)
        firings: list[Firing] = []
        errors: list[str] = []
        self._runs[sid] = (known, firings, errors)
        try:
            visible = [f.to_engine(sid) for f in answers if self._index.tested(f)]
            if visible:
                self._host.assert_facts(self.name, visible)
            for stage in self._stages:
                self._host.assert_fact(self.name, {"t": "phase", "k": stage, "sid": sid})
            state = self._host.get_state(self.name, sid)
        finally:
            self._host.delete_state(self.name, sid)
            del self._runs[sid]
        if errors:
            raise EngineError("; ".join(errors))
        if not self.naive and "exception" in state:
            raise EngineError(f"durable_rules reported: {state['exception']}")
        return firings
