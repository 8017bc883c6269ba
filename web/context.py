"""What every request shares: the compiled Triage, the interview store, the caches, the session locks.

Request handlers run in a thread pool, and the engine may be entered from several at
once: durable_rules' C core is entered under the engine's own lock
(engine/durable_backend.py), the relevance analysis keeps no state between or during
calls, and the rest (critical answers, explanations, summaries) are pure functions of
their arguments. So there is no app-wide engine lock: one runner's result page does not
hold up another runner's next question.

What must not run twice at once is a change to one saved interview. `changing()` takes
the session's file lock, the same one `itb-triage interview` holds from start to end,
so the browser and the terminal never write over each other's answers.

A saved interview is fitted to this app's knowledge whenever it is read, as the
terminal fits one it resumes: an answer that no longer fits (a question the knowledge
dropped, a value of the wrong shape) is set aside into the record's `dropped`, never
lost, and the runner is told so on the next page (`notes`).
"""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from itb_triage.engine import (
    Analysis,
    Case,
    Interview,
    InterviewState,
    Knowledge,
    Relevance,
    Result,
    SessionBusy,
    SessionError,
    SessionRecord,
    SessionStore,
    Triage,
    fit_to_knowledge,
    knowledge_changed,
    with_critical_answers,
)

from .reports import ReportBuilder

# Results with critical answers cost tens of milliseconds; the result page, its report
# downloads and its why-not/what-if pages ask for the same one. Bounded, so memory stays
# flat however many runners pass through.
RESULT_CACHE_SIZE = 128
# A page and the form it posts ask the same question of the same answers: the relevance
# analysis (a few milliseconds) is made once per step, not twice. Bounded like the results.
ANALYSIS_CACHE_SIZE = 512
# Requests of this process on one session wait for each other here before taking the
# session's file lock (which the kernel would refuse them, as it refuses a second
# interview). Striped: a fixed number of locks whatever the number of sessions.
SESSION_STRIPES = 64
# Notes waiting for their session's next page (what a resume set aside). Each is taken by
# the page that shows it, so there are rarely more than a few; bounded all the same.
NOTES_KEPT = 256


class CachedRelevance(Relevance):
    """The relevance analysis, remembered for recent answer sets (the analysis is a pure
    function of the answers and the skipped questions). Safe to share between threads."""

    def __init__(self, knowledge: Knowledge) -> None:
        super().__init__(knowledge)
        self._analyses: OrderedDict[tuple[Any, ...], Analysis] = OrderedDict()
        self._lock = threading.Lock()  # guards the dict only, never held during an analysis

    def analyse(self, answers: Mapping[str, Any], skipped: Iterable[str] = ()) -> Analysis:
        key = (tuple(sorted((q, tuple(v) if isinstance(v, list) else v) for q, v in answers.items())),
               tuple(sorted(set(skipped))))
        with self._lock:
            cached = self._analyses.get(key)
            if cached is not None:
                self._analyses.move_to_end(key)
                return cached
        # Made outside the lock: two threads may make the same one, which is harmless.
        analysis = super().analyse(answers, skipped)
        with self._lock:
            self._analyses[key] = analysis
            while len(self._analyses) > ANALYSIS_CACHE_SIZE:
                self._analyses.popitem(last=False)
        return analysis


class UnknownSession(LookupError):
    """A session id that the store does not hold (HTTP 404)."""


class SessionInUse(Exception):
    """Another program (`itb-triage interview`) has the session open (HTTP 409)."""


@dataclass
class WebContext:
    """The engine, the store and the caches of one running app."""

    triage: Triage
    store: SessionStore
    report: ReportBuilder | None = None  # the report writer the `serve` command hands over
    relevance: CachedRelevance = field(init=False)
    _results: OrderedDict[tuple[Any, ...], Result] = field(default_factory=OrderedDict, init=False, repr=False)
    _results_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stripes: tuple[threading.Lock, ...] = field(
        default_factory=lambda: tuple(threading.Lock() for _ in range(SESSION_STRIPES)), init=False, repr=False)
    _notes: OrderedDict[str, list[str]] = field(default_factory=OrderedDict, init=False, repr=False)
    _notes_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.relevance = CachedRelevance(self.triage.knowledge)

    # --- saved interviews ------------------------------------------------------------

    def read(self, session_id: str) -> tuple[SessionRecord, list[str]]:
        """The saved interview fitted to the knowledge, and one line per answer set aside.

        The file is left as it is: the next change saves the fitted record."""
        try:
            record = self.store.load(session_id)
        except SessionError as exc:
            raise UnknownSession(str(exc)) from None
        return record, fit_to_knowledge(record, self.triage.knowledge)

    def load(self, session_id: str) -> SessionRecord:
        """The saved interview fitted to the knowledge (`read`). What was set aside is kept
        for its next page to tell (`notes`), and the fit is saved at once where the
        session is free, so that it is told once, not again at the next change."""
        record, problems = self.read(session_id)
        if problems:
            self._tell(record.id, problems)
            # Not saved while the terminal has it open: the terminal fits it when it resumes.
            with contextlib.suppress(SessionInUse, UnknownSession, SessionError), \
                    self.changing(record.id) as held:
                self.store.save(held)
        return record

    @contextlib.contextmanager
    def changing(self, session_id: str, *, resuming: bool = False) -> Iterator[SessionRecord]:
        """The saved interview, read, fitted to the knowledge and held under its lock until
        the block ends. Save inside the block: that saves the fit too. Answers set aside
        are told on the session's next page (`notes`).

        `resuming`: the runner is coming back to it (POST /resume); the next page also
        says, as the terminal does, that the knowledge changed since the interview began.

        `session_id` may be a unique beginning of the id, as at the terminal.
        UnknownSession if there is no such session; SessionInUse if `itb-triage
        interview` (or another process) has it open; SessionError if the lock cannot be
        made.
        """
        try:
            session_id = self.store.resolve(session_id)  # first: no lock file for an id that names nothing
        except SessionError as exc:
            raise UnknownSession(str(exc)) from None
        with self._locked(session_id):
            record, notes = self.read(session_id)  # read under the lock: what the last writer saved
            changed = knowledge_changed(record, self.triage.knowledge) if resuming else None
            if changed:
                notes.insert(0, changed)
            if notes or resuming:  # a resume starts afresh: nothing older is told
                self._tell(record.id, notes)
            yield record

    def notes(self, session_id: str) -> list[str]:
        """What this session's next page must tell the runner (taken: told once)."""
        with self._notes_lock:
            return self._notes.pop(session_id, [])

    def _tell(self, session_id: str, notes: list[str]) -> None:
        # Replaced, not added to: the same answers read twice before a page shows them
        # are told once.
        with self._notes_lock:
            if not notes:
                self._notes.pop(session_id, None)
                return
            self._notes[session_id] = notes
            self._notes.move_to_end(session_id)
            while len(self._notes) > NOTES_KEPT:
                self._notes.popitem(last=False)

    @contextlib.contextmanager
    def creating(self) -> Iterator[SessionRecord]:
        """A new interview, held under its lock until the block ends (save inside it), as
        the terminal holds a new one: a store opened meanwhile by another program does
        not take the save's temporary file for one a kill left."""
        record = self.store.new(InterviewState(), self.triage.knowledge.version)
        with self._locked(record.id):
            yield record

    @contextlib.contextmanager
    def _locked(self, session_id: str) -> Iterator[None]:
        with self._stripes[zlib.crc32(session_id.encode("utf-8", "replace")) % SESSION_STRIPES]:
            try:
                held = self.store.lock(session_id)
            except SessionBusy as exc:
                raise SessionInUse(str(exc)) from None
            try:
                yield
            finally:
                held.release(remove=not self.store.path(session_id).exists())

    def interview(self, state: InterviewState) -> Interview:
        """An interview over this app's engine and its shared analysis cache."""
        return Interview(self.triage, state, self.relevance)

    # --- results ---------------------------------------------------------------------

    def result(self, case: Case, *, critical: bool = True) -> Result:
        """The result of a checked case, with its critical answers unless `critical` is
        False (the emergency card does not show them, and must not wait for them). Cached.

        The same two steps as `Triage.assess(case, critical=True)`, so the same bytes:
        the rules' result, then the critical answers added to it.
        """
        key = (case.id, tuple(sorted((q, repr(v)) for q, v in case.answers.items())))
        with self._results_lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
        if cached is None:
            cached = self.triage.assess(case)
        if critical and cached.critical_answers is None:
            # Tens of milliseconds of plain Python, outside any lock.
            cached = with_critical_answers(self.triage.knowledge, case, cached)
        with self._results_lock:
            held = self._results.get(key)
            if held is None or held.critical_answers is None:
                self._results[key] = cached
            self._results.move_to_end(key)
            while len(self._results) > RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        return cached
