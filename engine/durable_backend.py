"""The one module that talks to durable_rules; docs/durable-rules.md has what it relies on.

durable_rules 2.0.28 is a C core (`durable_rules_engine`) under a thin Python wrapper
(`durable/engine.py`: Host, Ruleset, Closure, Promise). This module drives the C core
directly, with the calls the wrapper makes for a synchronous action and in the same
order (assert; `start_action_for_state`; the action; `complete_and_start_action`), so
the rules fire in exactly the order they did through the wrapper. Why: the rules of a
case took ~1.7 ms through the wrapper and ~0.9 ms here, for the same ~31 firings
(measured side by side, docs/performance.md). What the wrapper does per firing that is
left out:

- a Closure and Content objects, two `datetime` calls and a Promise;
- `update_state` with the session state JSON-encoded (~70 µs a case): our actions never
  change the session state, and `complete_and_start_action` does not read it (checked:
  identical firings, in identical order, over a 3,000-case cohort);
- catching every exception an action raises and hiding it as a formatted traceback in
  the session state (docs/durable-rules.md): here the loop is ours, so an
  action's errors are collected and raised to the caller as one EngineError;
- the Host and its background timer threads (which ran about 0.15 % of cases off the
  caller's thread): there is no Host at all.

Each case runs in a session that is deleted when the case ends, and the next case
uses the same session id, so the engine messages (which carry it) repeat from case to
case and their parsed form is cached. Two defects of durable_rules 2.0.28 shape this
(tests/test_durable_memory.py runs the engine under valgrind, and a fresh process
through the crash, to keep both out):

- Sessions are not emptied by retracting their facts, although that was ~0.35 ms a
  case faster (a fresh session alone costs ~0.25 ms): retracting a fact that took
  part in a completed firing follows a stale pointer to the freed action frame
  (`deleteMessageFromFrame`), which now and then aborted a `batch` worker.
- The C core leaves a new session's action context uninitialised until an action has
  been started on it, and `delete_state` frees that context: deleting a session on
  which no action ever started (a fresh process whose first case the engine refuses)
  crashes. So each case first asserts an opening fact, which a rule of its own (with
  no conclusions) fires on before anything else can happen; and a case stopped
  part-way has its pending actions run out, unacted on, before it is deleted.

A lock makes each case one unit: the C core keeps process-wide tables and is not safe
to enter from two threads at once. tests/test_batch.py pins the rest (same firings
whatever ran before, no session left after a case, errors and interrupts).

Stages run in order: Python asserts the phase facts one by one, each assert running
that stage to quiescence.

`run_cases` (what `batch` uses) runs cases `GROUP_SIZE` to a session, each in a slot
of its own (engine/slotting.py ties every pattern to its case's slot), so the cost of a
session is paid once a group. The C core fires the lowest-numbered rule first and,
within a rule, the newest activation first, and each case's stages are run one case
at a time, so each case's firings come out exactly as they do alone
(tests/test_grouped_sessions.py compares the two paths byte for byte). Any error in a
group, from an action or from the C core (a 32-bit identity clash is possible with
many facts in one session), runs that group again case by case. `assess`, `explain`
and the interview keep one session per case.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import EngineError
from .facts import Fact
from .firing import Firing
from .installed import installed_version
from .rulebase import STAGES, PatternIndex, Rule
from .slotting import SLOT, Unslottable, slot_value, slotted_ruleset

# Everything this module does with the C core was read from and measured on this release
# (docs/durable-rules.md); another one may change what it relies on, silently.
DURABLE_RULES_VERSION = "2.0.28"
RULESET = "itb_triage"


def _load_core() -> Any:
    """The C core, after checking that it is the release this module was written for."""
    found = installed_version("durable-rules")
    if found != DURABLE_RULES_VERSION:
        raise EngineError(
            f"the rule engine needs durable-rules {DURABLE_RULES_VERSION}, but "
            f"{'it is not installed' if found is None else f'{found} is installed'}: "
            f"reinstall it with `pip install durable-rules=={DURABLE_RULES_VERSION}` (docs/durable-rules.md says why)"
        )
    try:
        import durable_rules_engine  # type: ignore[import-not-found]
    except ImportError as exc:
        raise EngineError(
            f"durable-rules {found} is installed but its C core does not load ({exc}); on Python 3.13 or later "
            "build it with CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject (docs/durable-rules.md)"
        ) from None
    return durable_rules_engine


_core = _load_core()

# Result codes of the C core's assert and retract calls (durable/engine.py, _handle_result).
_OK, _NOT_HANDLED, _OBSERVED = 0, 1, 2
_CODES = {_NOT_HANDLED: "no rule handles it", _OBSERVED: "it is already in the session"}

# Caches are emptied when they reach this many entries, so that memory stays flat
# however many cases go through (answers with free numbers never repeat exactly).
_CACHE_LIMIT = 4096
# Parsed engine messages: a varied cohort has a few thousand distinct ones, most of the
# firings hit a cache of this size, and at ~1.5 KB an entry memory stays small.
_MESSAGE_LIMIT = 2048

# The rule that fires on each case's opening fact (see the module docstring): rule ids
# start with a letter, so no rule's engine name can be this.
_OPENER = "_opener"

# One lock for every backend: the C core's handle tables are process-wide.
_CORE_LOCK = threading.RLock()

# Cases per shared session. Valgrind's instructions per case over 512 cohort cases:
# 5.24 M at 8, 4.82 M at 16, 4.76 M at 32, 5.10 M at 64 (a session's tables are cleared
# once a group, but bigger groups fill bigger tables). 16 rather than 32: 11 MB less
# memory, and fewer facts in a session keep the chance of a 32-bit identity clash (which
# reruns the group) small.
GROUP_SIZE = 16


@dataclass
class _Run:
    """What one session collects while its rules fire."""

    known: set[int]  # the conclusions made so far, by number (see DurableBackend._conclusions)
    firings: list[Firing] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    state: int | None = None  # the C core's handle of the session's state
    in_action: bool = False


@dataclass(frozen=True)
class _Action:
    """What a firing of one branch needs, computed once: the rule, its aliases, and the
    numbers of the facts it concludes."""

    rule: Rule
    branch: int
    aliases: tuple[str, ...]
    then: tuple[int, ...]


def durable_definition(rules: Iterable[Rule]) -> dict[str, Any]:
    """The durable_rules ruleset (JSON form, no actions) for the rules, one rule per branch.

    Each branch's first pattern is the phase fact of its stage, then its positive
    patterns (`m0`, `m1`, ...) and its negated ones (`n0$not`, ...).
    """
    ruleset: dict[str, Any] = {}
    for rule in rules:
        for branch in rule.branches:
            patterns: list[dict[str, Any]] = [{"p": {"$and": [{"t": "phase"}, {"k": rule.stage}]}}]
            patterns += [{f"m{i}": p.to_durable()} for i, p in enumerate(branch.positives)]
            patterns += [{f"n{i}$not": p.to_durable()} for i, p in enumerate(branch.negatives)]
            ruleset[branch.engine_name] = {"all": patterns}
    return ruleset


def engine_ruleset(rules: Iterable[Rule]) -> dict[str, Any]:
    """What the engine registers: the rules, and the rule that fires on each case's
    opening fact and concludes nothing."""
    return {_OPENER: {"all": [{"o": {"t": "opening"}}]}, **durable_definition(rules)}


def grouped_ruleset(rules: Iterable[Rule]) -> dict[str, Any]:
    """What the engine registers for cases sharing a session: the rules tied to their
    case's slot (raises Unslottable), and the opening rule, once per session."""
    return {_OPENER: {"all": [{"o": {"t": "opening"}}]}, **slotted_ruleset(durable_definition(rules))}


class DurableBackend:
    """Compiles the rules into one durable_rules ruleset and runs cases through it.

    Use `DurableBackend.for_rules`: the C core never frees a ruleset, so one backend per
    rule base is made and then shared.
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
        self._index = PatternIndex(self.rules)
        self._stages = [s for s in STAGES if any(r.stage == s for r in self.rules)]
        # Every distinct conclusion gets a number: a set of small ints is much cheaper to
        # test than a set of Facts (whose hash is computed in Python).
        self._conclusions: dict[Fact, int] = {}
        for rule in self.rules:
            for fact in rule.then:
                self._conclusions.setdefault(fact, len(self._conclusions))
        self._in_engine = [self._index.tested(f) for f in self._conclusions]
        self._concludes_answers = any(f.kind == "answer" for f in self._conclusions)
        self._actions = {
            branch.engine_name: _Action(
                rule,
                branch.index,
                tuple(f"m{i}" for i in range(len(branch.positives))),
                tuple(self._conclusions[fact] for fact in rule.then),
            )
            for rule in self.rules
            for branch in rule.branches
        }
        self._sids = itertools.count(1)
        self._sid = ""
        self._opening = ""
        self._phases: list[str] = []
        self._conclusion_json: list[str | None] = []
        self._answer_json: dict[int, tuple[Fact, str | None]] = {}
        # An engine message (its text) -> what firing it is (None: the opening rule).
        self._messages: dict[str, tuple[_Action, Firing] | None] = {}
        self._grouped: _Grouped | None = None
        self._grouped_tried = False
        # Why cases do not share sessions here, when they do not (None: they do).
        self.not_grouped: str | None = None
        with _CORE_LOCK:
            self._handle = _core.create_ruleset(self.name, json.dumps(engine_ruleset(self.rules)))
            self._new_session()

    def _new_session(self) -> None:
        """Switch to a fresh session id (the C core creates it on its first fact)."""
        self._sid = sid = str(next(self._sids))
        self._opening = json.dumps({"t": "opening", "sid": sid})
        self._phases = [json.dumps({"t": "phase", "k": stage, "sid": sid}) for stage in self._stages]
        self._conclusion_json = [
            json.dumps(fact.to_engine(sid), ensure_ascii=False) if in_engine else None
            for fact, in_engine in zip(self._conclusions, self._in_engine, strict=True)
        ]
        self._answer_json = {}
        self._messages = {}

    def _answer_text(self, fact: Fact) -> str | None:
        """The JSON of an answer fact in the current session, or None if no rule tests it
        (facts no rule tests stay out of the engine: see PatternIndex)."""
        # Only choices are cached: there are few of them, and a Fact's equality does not
        # tell 1 from 1.0, whose JSON differs. The key is the fact's identity (answer_facts
        # gives the same objects for the same choices; a Fact's own hash is computed in
        # Python), and the entry keeps the fact alive, so the id is not reused meanwhile.
        hit = self._answer_json.get(id(fact))
        if hit is not None and hit[0] is fact:
            return hit[1]
        text = json.dumps(fact.to_engine(self._sid), ensure_ascii=False) if self._index.tested(fact) else None
        if type(fact.value) is str:
            if len(self._answer_json) >= _CACHE_LIMIT:
                self._answer_json.clear()
            self._answer_json[id(fact)] = (fact, text)
        return text

    def _known(self, answers: list[Fact]) -> set[int]:
        """The conclusions a case knows before any rule fires: answers that are also conclusions."""
        if not self._concludes_answers:
            return set()
        return {self._conclusions[f] for f in answers if f in self._conclusions}

    def _firing(self, messages: str) -> tuple[_Action, Firing] | None:
        """The firing an engine message stands for, built once per distinct message: the
        session id is reused, so the same messages come back case after case."""
        try:
            return self._messages[messages]
        except KeyError:
            pass
        (name, matched), = json.loads(messages).items()
        if name == _OPENER:
            found = None
        else:
            action = self._actions[name]
            found = action, Firing(action.rule, action.branch,
                                   tuple(Fact.from_engine(matched[a]) for a in action.aliases), action.rule.then)
        if len(self._messages) >= _MESSAGE_LIMIT:
            self._messages.clear()
        self._messages[messages] = found
        return found

    def run_case(self, answers: list[Fact]) -> list[Firing]:
        """Assert the answers, run every stage to quiescence, return the firings in order."""
        with _CORE_LOCK:
            sid = self._sid
            run = _Run(self._known(answers))
            self._runs[sid] = run
            try:
                self._drain(self._assert(_core.assert_fact, self._opening, run), run)
                visible = [text for text in map(self._answer_text, answers) if text is not None]
                if visible:
                    self._drain(self._assert(_core.assert_facts, "[" + ",".join(visible) + "]", run), run)
                for phase in self._phases:
                    self._drain(self._assert(_core.assert_fact, phase, run), run)
            except _core.error as exc:
                raise EngineError(f"durable_rules reported: {exc}") from None
            finally:
                del self._runs[sid]
                self._end_session(run)
        if run.errors:
            raise EngineError("; ".join(run.errors))
        return run.firings

    def run_cases(self, cases: Sequence[list[Fact]]) -> list[list[Firing] | EngineError]:
        """The firings of each case (or the EngineError it raised), in order.

        Cases run GROUP_SIZE to a shared session when the rules allow it (see
        `not_grouped`); the firings are those `run_case` gives.
        """
        out: list[list[Firing] | EngineError] = []
        for start in range(0, len(cases), GROUP_SIZE):
            group = cases[start:start + GROUP_SIZE]
            grouped = self._grouped_runner() if len(group) > 1 else None
            if grouped is not None:
                try:
                    out.extend(grouped.run(group))
                    continue
                except EngineError:
                    pass  # any error in a shared session: every case of the group again, alone
            out.extend(self._alone(answers) for answers in group)
        return out

    def _alone(self, answers: list[Fact]) -> list[Firing] | EngineError:
        try:
            return self.run_case(answers)
        except EngineError as exc:
            return exc

    def _grouped_runner(self) -> _Grouped | None:
        """The shared-session runner, compiled on first use; None when the rules cannot
        share a session (the reason is in `not_grouped`)."""
        if not self._grouped_tried:
            with _CORE_LOCK:
                if not self._grouped_tried:
                    try:
                        self._grouped = _Grouped(self)
                    except Unslottable as exc:
                        self.not_grouped = f"a rule cannot be tied to its case's slot: {exc}"
                    except _core.error as exc:
                        self.not_grouped = f"durable_rules refused the slotted rules: {exc}"
                    self._grouped_tried = True
        return self._grouped

    def session_open(self) -> bool:
        """Does a case still hold a session here? False between cases: every case's session
        is deleted when it ends (durable_rules allows 1024 live sessions per ruleset)."""
        with _CORE_LOCK:
            if self._runs:
                return True
            try:  # the C core refuses to list the facts of a session it does not hold
                _core.get_facts(self._handle, self._sid)
            except _core.error:
                return False
            return True

    def _assert(self, call: Any, text: str, run: _Run) -> int:
        """Assert one fact or a batch at top level; return the session's state handle."""
        code, state = call(self._handle, text)
        run.state = int(state)
        if code != _OK:
            raise EngineError(f"a fact reached the engine that {_CODES.get(code, f'failed ({code})')}: {text}")
        return run.state

    def _drain(self, state: int, run: _Run) -> None:
        """Run the session's pending actions, and those they trigger, until none is left."""
        started = _core.start_action_for_state(self._handle, state)
        if not started:
            return
        messages: str | None = started[1]
        while messages:
            run.in_action = True
            self._fire(messages, run)
            messages = _core.complete_and_start_action(self._handle, state)
            run.in_action = False

    def _fire(self, messages: str, run: _Run) -> None:
        """One action: record the firing, assert its new conclusions that a rule tests."""
        action: _Action | None = None
        try:
            hit = self._firing(messages)
            if hit is None:
                return
            action, firing = hit
            run.firings.append(firing)
            known = run.known
            for number in action.then:
                if number in known:
                    continue
                known.add(number)
                text = self._conclusion_json[number]
                if text is not None:
                    code = _core.assert_fact(self._handle, text)[0]
                    if code != _OK:
                        raise EngineError(f"asserting {text}: {_CODES.get(code, f'failed ({code})')}")
        except Exception as exc:  # keep going like the engine does; the caller gets every error
            rule = action.rule.id if action else "?"
            run.errors.append(f"rule {rule}: {type(exc).__name__}: {exc}")

    def _end_session(self, run: _Run) -> None:
        """Delete the case's session, so that the next case starts empty under the same id.

        A case stopped part-way (an interrupt, an engine error) may be inside an action,
        which is abandoned, and may have actions pending, which are run out without
        acting on them: one of them may be the opening, and until it has run the
        session cannot be deleted safely.
        """
        if run.state is None:
            return  # nothing reached the engine, so no session was made
        if not _close_session(self._handle, run.state, run.in_action, self._sid):
            self._new_session()  # a session that could not be deleted is left behind, unused


def _close_session(handle: int, state: int, in_action: bool, sid: str) -> bool:
    """Abandon the action under way, run out the pending ones unacted on, delete the
    session; False if the C core refused."""
    try:
        if in_action:
            _core.abandon_action(handle, state)
        if _core.start_action_for_state(handle, state):
            while _core.complete_and_start_action(handle, state):
                pass
        _core.delete_state(handle, sid)
    except _core.error:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Fired:
    """What one engine message of a shared session stands for, worked out once: the slot
    of its case, the firing, and the numbers of the facts it concludes (each once)."""

    slot: int
    firing: Firing | None  # None for the opening rule's message: it is not recorded
    then: tuple[int, ...]


_OPENED = _Fired(-1, None, ())
# The slot of a firing cached under a message whose slot was written as _ANY_SLOT: that of
# the case whose stage is running.
_RUNNING = -2
# What a message's slot is written as in the cache's keys (no slot's text is this).
_ANY_SLOT = "*"
_ANY_MARK = json.dumps({SLOT: _ANY_SLOT})[1:-1]

# A number no answer has, whose JSON marks where an answer's value goes in its engine text.
_VALUE_MARK = -7_654_321


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse rather than give it back to the system.

    Each shared session allocates its node tables (about 5 MB) and grows its message
    store by realloc, and frees both when the group ends. Above glibc's thresholds those
    blocks were mapped and unmapped group after group, and came back as fresh zeroed
    pages: about 65 page faults a case (129,000 for 2,000 cases, against 14,000 with
    this), a tenth of `batch`'s CPU time. The same blocks are reused instead, so memory
    stays flat. Elsewhere than glibc this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only `batch` comes here: ctypes and ctypes.util cost a cold start about 6 ms
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 64 << 20)
    mallopt(_M_TRIM_THRESHOLD, 256 << 20)


class _Grouped:
    """Runs a group of cases in one durable_rules session, each in a slot of its own.

    Built from a DurableBackend (its actions and conclusions), with a ruleset of its
    own whose patterns are tied to their case's slot (engine/slotting.py). Raises
    Unslottable, or the C core's error, when the rules cannot be run this way.

    This is `batch`'s hot path (about 35 firings and 60 facts a case), so what recurs is
    worked out once and kept: each engine message's `_Fired`, in a cache of two
    generations (a full one is kept as the older generation rather than dropped, so the
    messages every case sends, which are most of them, stay; dropping all at once made
    a third of the firings parse their message again); each choice answer's text in
    every slot; the head and tail of a numeric answer's text.
    """

    def __init__(self, backend: DurableBackend) -> None:
        self._backend = backend
        self._handle = _core.create_ruleset(f"{backend.name}_grouped", json.dumps(grouped_ruleset(backend.rules)))
        _keep_freed_memory()
        self._sids = itertools.count(1)
        self._sid = ""
        self._opening = ""
        self._phases: list[list[str]] = []  # by stage, then slot
        self._conclusion_json: list[list[str | None]] = []  # by slot, then conclusion number
        self._answer_json: dict[int, tuple[Fact, tuple[str | None, ...]]] = {}
        self._number_json: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
        self._messages: dict[str, _Fired] = {}
        self._older: dict[str, _Fired] = {}
        # Each action's conclusions as numbers, each once, in order (a rule that concludes
        # a fact twice asserts it once, as DurableBackend._fire does).
        self._then = {name: tuple(dict.fromkeys(action.then)) for name, action in backend._actions.items()}
        self._new_session()

    def _new_session(self) -> None:
        self._sid = sid = f"g{next(self._sids)}"
        backend = self._backend
        self._opening = json.dumps({"t": "opening", "sid": sid})
        self._phases = [[json.dumps({"t": "phase", "k": stage, "sid": sid, SLOT: slot_value(slot)})
                         for slot in range(GROUP_SIZE)]
                        for stage in backend._stages]
        # A slot as every fact's text writes it (see _drain).
        self._slot_marks = [json.dumps({SLOT: slot_value(slot)})[1:-1] for slot in range(GROUP_SIZE)]
        self._conclusion_json = [
            [self._text(fact, slot) if in_engine else None
             for fact, in_engine in zip(backend._conclusions, backend._in_engine, strict=True)]
            for slot in range(GROUP_SIZE)
        ]
        self._answer_json = {}
        self._number_json = {}
        self._messages = {}
        self._older = {}

    def _text(self, fact: Fact, slot: int) -> str:
        """The JSON the C core is given for `fact` in `slot` of the current session: the
        one place it is made (the shortcuts below are cut from it)."""
        return json.dumps({**fact.to_engine(self._sid), SLOT: slot_value(slot)}, ensure_ascii=False)

    def _answer_texts(self, fact: Fact) -> tuple[str | None, ...]:
        """The JSON of a choice answer's fact in each slot (None if no rule tests it).

        Cached by the fact's identity (answer_facts gives the same objects for the same
        choices; the entry keeps its fact alive, so the id cannot be reused). Numbers
        are not cached: a Fact's equality does not tell 1 from 1.0, whose JSON differs.
        """
        hit = self._answer_json.get(id(fact))
        if hit is not None and hit[0] is fact:
            return hit[1]
        tested = self._backend._index.tested(fact)
        texts = tuple(self._text(fact, slot) if tested else None for slot in range(GROUP_SIZE))
        if len(self._answer_json) >= _CACHE_LIMIT:
            self._answer_json.clear()
        self._answer_json[id(fact)] = (fact, texts)
        return texts

    def _number_text(self, fact: Fact, slot: int) -> str | None:
        """The JSON of a numeric answer's fact in `slot` (None if no rule tests it): the
        text around the value is cut once per question from `_text`, and the value is
        written as json.dumps writes it."""
        if not self._backend._index.tested(fact):
            return None
        key = (fact.kind, fact.id)
        parts = self._number_json.get(key)
        if parts is None:
            mark = json.dumps(_VALUE_MARK)
            pieces = [self._text(Fact(fact.kind, fact.id, _VALUE_MARK, fact.rank), s).split(mark)
                      for s in range(GROUP_SIZE)]
            if any(len(p) != 2 or p[0] != pieces[0][0] for p in pieces):
                return self._text(fact, slot)  # the value is not where the shortcut expects it
            parts = self._number_json[key] = (pieces[0][0], tuple(p[1] for p in pieces))
        return parts[0] + json.dumps(fact.value) + parts[1][slot]

    def _visible(self, group: Sequence[list[Fact]]) -> list[str]:
        """The texts of the group's answers that a rule tests, case by case, in order."""
        visible: list[str] = []
        cache = self._answer_json
        for slot, answers in enumerate(group):
            for fact in answers:
                hit = cache.get(id(fact))
                if hit is not None and hit[0] is fact:
                    text = hit[1][slot]
                elif type(fact.value) is str:
                    text = self._answer_texts(fact)[slot]
                else:
                    text = self._number_text(fact, slot)
                if text is not None:
                    visible.append(text)
        return visible

    def _firing(self, messages: str) -> _Fired:
        """What an engine message stands for: from the cache, or parsed once."""
        fired = self._messages.get(messages)
        if fired is not None:
            return fired
        fired = self._older.get(messages)
        if fired is None:
            (name, matched), = json.loads(messages).items()
            if name == _OPENER:
                fired = _OPENED
            else:
                action = self._backend._actions[name]
                firing = Firing(action.rule, action.branch, tuple(Fact.from_engine(matched[a]) for a in action.aliases),
                                action.rule.then)
                slot = matched["p"][SLOT]  # the slot's text is its number, or _ANY_SLOT
                fired = _Fired(_RUNNING if slot == _ANY_SLOT else int(slot), firing, self._then[name])
        if len(self._messages) >= _MESSAGE_LIMIT:
            self._older = self._messages
            self._messages = {}
        self._messages[messages] = fired
        return fired

    def run(self, group: Sequence[list[Fact]]) -> list[list[Firing] | EngineError]:
        """The firings of each case of the group; raises EngineError on any error."""
        if len(group) > GROUP_SIZE:
            raise ValueError(f"at most {GROUP_SIZE} cases share a session")
        runs = [_Run(self._backend._known(answers)) for answers in group]
        session = _Run(set())  # the session's state handle and whether an action is under way
        with _CORE_LOCK:
            try:
                self._drain(self._assert(_core.assert_fact, self._opening, session), session, runs)
                visible = self._visible(group)
                if visible:
                    self._drain(self._assert(_core.assert_facts, "[" + ",".join(visible) + "]", session),
                                session, runs)
                # One case at a time within a stage: each case's firings then come in the
                # order they do alone, whatever the others hold.
                for phases in self._phases:
                    for slot in range(len(group)):
                        self._drain(self._assert(_core.assert_fact, phases[slot], session), session, runs, slot)
            except _core.error as exc:
                raise EngineError(f"durable_rules reported: {exc}") from None
            finally:
                if session.state is not None and not _close_session(self._handle, session.state,
                                                                    session.in_action, self._sid):
                    self._new_session()
        errors = session.errors + [e for run in runs for e in run.errors]
        if errors:
            raise EngineError("; ".join(errors))
        return [run.firings for run in runs]

    def _assert(self, call: Any, text: str, session: _Run) -> int:
        code, state = call(self._handle, text)
        session.state = int(state)
        if code != _OK:
            raise EngineError(f"a fact reached the engine that {_CODES.get(code, f'failed ({code})')}: {text}")
        return session.state

    def _drain(self, state: int, session: _Run, runs: list[_Run], running: int = -1) -> None:
        """Run the session's pending actions, and those they trigger, until none is left.

        Each action records its firing and asserts its new conclusions that a rule tests,
        all in one call (the C core takes them one after the other, as separate calls
        would, and no action runs in between). The loop is written out here, not in
        helpers, because it runs about 35 times a case: a message already seen costs
        one dictionary lookup.

        `running` is the slot of the case whose stage is running (-1: none). Its slot is
        written as _ANY_SLOT in the cache's key of each message, so that one entry serves
        every slot: without that, each slot's messages were parsed apart, and a group
        of 32 parsed four times as many as a group of 8."""
        handle = self._handle
        mark = self._slot_marks[running] if running >= 0 else ""
        started = _core.start_action_for_state(handle, state)
        if not started:
            return
        messages: str | None = started[1]
        complete = _core.complete_and_start_action
        while messages:
            session.in_action = True
            fired: _Fired | None = None
            try:
                key = messages.replace(mark, _ANY_MARK) if mark else messages
                fired = self._messages.get(key) or self._firing(key)
                if fired.firing is not None:  # None: the opening rule
                    slot = running if fired.slot == _RUNNING else fired.slot
                    run = runs[slot]
                    run.firings.append(fired.firing)
                    known = run.known
                    new = [number for number in fired.then if number not in known]
                    if new:
                        known.update(new)
                        conclusions = self._conclusion_json[slot]
                        texts = [text for text in map(conclusions.__getitem__, new) if text is not None]
                        if texts:
                            code = (_core.assert_fact(handle, texts[0]) if len(texts) == 1
                                    else _core.assert_facts(handle, "[" + ",".join(texts) + "]"))[0]
                            if code != _OK:
                                raise EngineError(f"asserting {texts}: {_CODES.get(code, f'failed ({code})')}")
            except Exception as exc:  # the group is run again case by case; say why
                rule = fired.firing.rule.id if fired is not None and fired.firing is not None else "?"
                session.errors.append(f"rule {rule}: {type(exc).__name__}: {exc}")
            messages = complete(handle, state)
            session.in_action = False
