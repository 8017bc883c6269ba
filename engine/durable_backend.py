"""The one module that talks to durable_rules.

One Host per process (each Host starts timer threads and never frees a ruleset), one
registered ruleset, a fresh session id per case and `delete_state` after it, so nothing
is left behind between cases. Stages run in order: every rule's first pattern is the
phase fact of its stage, and Python asserts the phase facts one by one, each assert
running that stage to quiescence. See durable-rules-notes.md for the measured traps
this avoids.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from durable import engine as durable

from .errors import EngineError
from .facts import Fact
from .rulebase import STAGES, Branch, PatternIndex, Rule

RULESET = "itb_triage"


@dataclass(frozen=True)
class Firing:
    """One rule firing: which branch, the facts it matched, the facts it concluded."""

    rule: Rule
    branch: int
    matched: tuple[Fact, ...]
    concluded: tuple[Fact, ...]


@dataclass
class _Run:
    """What one session collects while its rules fire."""

    known: set[Fact]
    firings: list[Firing] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _QuietHost(durable.Host):  # type: ignore[misc]
    """A Host without its background dispatch threads.

    The default Host re-dispatches pending actions from a timer thread; measured, about
    0.15 % of cases then ran their actions off the caller's thread. Everything here is
    synchronous, so the timers are not wanted.
    """

    def _run(self) -> None:
        return None


_HOST: list[_QuietHost] = []
_HOST_LOCK = threading.Lock()


def _shared_host() -> Any:
    """The process's one Host: each Host starts threads and never frees its rulesets."""
    with _HOST_LOCK:
        if not _HOST:
            _HOST.append(_QuietHost())
        return _HOST[0]


def _phase(stage: str) -> dict[str, Any]:
    return {"t": "phase", "k": stage}


class DurableBackend:
    """Compiles the rules into one durable_rules ruleset and runs cases through it.

    Use `DurableBackend.for_rules`: a ruleset can be registered only once per Host, so
    one backend per rule base is made and then shared.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _backends: ClassVar[dict[str, DurableBackend]] = {}

    @classmethod
    def for_rules(cls, rules: Iterable[Rule], name: str) -> DurableBackend:
        """The backend for this rule base (`name` must identify it, e.g. its hash)."""
        with cls._lock:
            backend = cls._backends.get(name)
        if backend is None:
            backend = cls(rules, name)
            with cls._lock:
                backend = cls._backends.setdefault(name, backend)
        return backend

    def __init__(self, rules: Iterable[Rule], name: str) -> None:
        self.rules = tuple(rules)
        self.name = f"{RULESET}_{name}"
        self._runs: dict[str, _Run] = {}
        self._sids = itertools.count(1)
        self._index = PatternIndex(self.rules)
        self._engine_facts = {f for r in self.rules for f in r.then if self._index.tested(f)}
        self._stages = [s for s in STAGES if any(r.stage == s for r in self.rules)]
        definition = {self.name: self._definition()}
        self._host = _shared_host()
        with DurableBackend._lock:
            # register_rulesets deletes the `run` keys of what it is given.
            self._host.register_rulesets(copy.copy(definition))

    def _definition(self) -> dict[str, Any]:
        ruleset: dict[str, Any] = {}
        for rule in self.rules:
            for branch in rule.branches:
                patterns: list[dict[str, Any]] = [{"p": {"$and": [{"t": "phase"}, {"k": rule.stage}]}}]
                patterns += [{f"m{i}": p.to_durable()} for i, p in enumerate(branch.positives)]
                patterns += [{f"n{i}$not": p.to_durable()} for i, p in enumerate(branch.negatives)]
                ruleset[branch.engine_name] = {"all": patterns, "run": self._action(rule, branch)}
        return ruleset

    def _action(self, rule: Rule, branch: Branch) -> Callable[[Any], None]:
        aliases = [f"m{i}" for i in range(len(branch.positives))]

        def action(c: Any) -> None:
            # durable_rules swallows exceptions raised here; keep them for the caller.
            run = self._runs[c.s.sid]
            try:
                matched = tuple(Fact.from_engine(c._m[alias]) for alias in aliases)
                run.firings.append(Firing(rule, branch.index, matched, rule.then))
                for fact in rule.then:
                    if fact in run.known:
                        continue
                    run.known.add(fact)
                    if fact in self._engine_facts:
                        c.assert_fact(fact.to_engine(c.s.sid))
            except BaseException as exc:
                run.errors.append(f"rule {rule.id}: {type(exc).__name__}: {exc}")

        return action

    def run_case(self, answers: list[Fact]) -> list[Firing]:
        """Assert the answers, run every stage to quiescence, return the firings in order."""
        sid = str(next(self._sids))
        run = _Run(known=set(answers))
        self._runs[sid] = run
        host = self._host
        try:
            visible = [f.to_engine(sid) for f in answers if self._index.tested(f)]
            if visible:
                host.assert_facts(self.name, visible)
            for stage in self._stages:
                host.assert_fact(self.name, {**_phase(stage), "sid": sid})
            state = host.get_state(self.name, sid)
        except durable.MessageNotHandledException as exc:
            raise EngineError(f"a fact reached the engine that no rule handles: {exc}") from None
        finally:
            try:
                host.delete_state(self.name, sid)
            finally:
                del self._runs[sid]
        if run.errors:
            raise EngineError("; ".join(run.errors))
        if "exception" in state:
            raise EngineError(f"durable_rules reported: {state['exception']}")
        return run.firings
