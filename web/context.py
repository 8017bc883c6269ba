"""What every request shares: the compiled Triage, the interview store, one engine lock.

The rule engine and the relevance analysis are not safe to run from two threads at
once (durable_rules has one host per process; `Relevance.analyse` keeps per-call state
on the object), and request handlers run in a thread pool. So every engine call goes
through `engine()`, which holds one lock: requests are served concurrently, engine work
one at a time, as the CLI does it.
"""

from __future__ import annotations

import contextlib
import threading
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
    SessionError,
    SessionRecord,
    SessionStore,
    Triage,
)

from .reports import ReportBuilder

# Results with critical answers cost tens of milliseconds; the result page, its report
# downloads and its why-not/what-if pages ask for the same one. Bounded, so memory stays
# flat however many runners pass through.
RESULT_CACHE_SIZE = 128
# A page and the form it posts ask the same question of the same answers: the relevance
# analysis (about 30 ms) is made once per step, not twice. Bounded like the results.
ANALYSIS_CACHE_SIZE = 512


class CachedRelevance(Relevance):
    """The relevance analysis, remembered for recent answer sets (the analysis is a pure
    function of the answers and the skipped questions). Use under the engine lock."""

    def __init__(self, knowledge: Knowledge) -> None:
        super().__init__(knowledge)
        self._analyses: OrderedDict[tuple[Any, ...], Analysis] = OrderedDict()

    def analyse(self, answers: Mapping[str, Any], skipped: Iterable[str] = ()) -> Analysis:
        key = (tuple(sorted((q, tuple(v) if isinstance(v, list) else v) for q, v in answers.items())),
               tuple(sorted(set(skipped))))
        cached = self._analyses.get(key)
        if cached is not None:
            self._analyses.move_to_end(key)
            return cached
        analysis = super().analyse(answers, skipped)
        self._analyses[key] = analysis
        while len(self._analyses) > ANALYSIS_CACHE_SIZE:
            self._analyses.popitem(last=False)
        return analysis


class UnknownSession(LookupError):
    """A session id that the store does not hold (HTTP 404)."""


@dataclass
class WebContext:
    """The engine, the store and the caches of one running app."""

    triage: Triage
    store: SessionStore
    report: ReportBuilder | None = None  # the report writer the `serve` command hands over
    relevance: CachedRelevance = field(init=False)
    # Re-entrant: a page that holds it may ask for a result, which takes it too.
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _results: OrderedDict[tuple[Any, ...], Result] = field(default_factory=OrderedDict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.relevance = CachedRelevance(self.triage.knowledge)

    @contextlib.contextmanager
    def engine(self) -> Iterator[None]:
        """Hold while calling the engine (assess, relevance, why-not, what-if)."""
        with self._lock:
            yield

    # --- saved interviews ------------------------------------------------------------

    def load(self, session_id: str) -> SessionRecord:
        try:
            return self.store.load(session_id)
        except SessionError as exc:
            raise UnknownSession(str(exc)) from None

    def new_record(self) -> SessionRecord:
        return self.store.new(InterviewState(), self.triage.knowledge.version)

    def interview(self, state: InterviewState) -> Interview:
        """An interview over this app's engine; call its methods inside `engine()`."""
        return Interview(self.triage, state, self.relevance)

    # --- results ---------------------------------------------------------------------

    def result(self, case: Case) -> Result:
        """The full result of a checked case, critical answers included (cached)."""
        key = (case.id, tuple(sorted((q, repr(v)) for q, v in case.answers.items())))
        with self.engine():  # the cache is shared between threads too
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return cached
            result = self.triage.assess(case, critical=True)
            self._results[key] = result
            while len(self._results) > RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        return result
