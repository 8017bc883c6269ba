"""The triage entry point: answers in, one Result out. No terminal, no durable_rules here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .aggregate import aggregate
from .case import Case, check_case, read_case_text
from .errors import EngineError
from .facts import answer_facts
from .knowledge import Knowledge, load_knowledge
from .result import Result

if TYPE_CHECKING:
    from .firing import Firing
    from .result_line import ResultLines

T = TypeVar("T")


class Triage:
    """A loaded, compiled rule base that assesses cases. Make one per process and reuse it."""

    def __init__(self, knowledge: Knowledge | None = None) -> None:
        from .durable_backend import DurableBackend  # imported late: durable_rules is slow to load

        self.knowledge = knowledge if knowledge is not None else load_knowledge()
        self._backend = DurableBackend.for_rules(self.knowledge.rules, self.knowledge.version)
        self._lines: ResultLines | None = None  # made on first use: only batch needs it

    def assess(self, case: Case, *, critical: bool = False) -> Result:
        """Run one checked case through the rules.

        `critical=True` adds the critical answers (engine/critical.py): tens of
        milliseconds per case, so batch work leaves it off.
        """
        try:
            firings = self._backend.run_case(answer_facts(case.answers))
            result = aggregate(self.knowledge, firings, case.answers, case.id)
        except EngineError as exc:
            exc.where = exc.where or case.source  # name the file in the one-line message
            raise
        if critical:
            from .critical import with_critical_answers

            result = with_critical_answers(self.knowledge, case, result)
        return result

    def assess_many(self, cases: Sequence[Case], *, critical: bool = False) -> list[Result | EngineError]:
        """Each case's Result, or the EngineError `assess` would raise for it, in order.

        The same results as `assess` case by case, faster: cases share durable_rules
        sessions where the rules allow it (engine/durable_backend.py, `run_cases`).
        """
        def result(case: Case, firings: list[Firing]) -> Result:
            result = aggregate(self.knowledge, firings, case.answers, case.id)
            if critical:
                from .critical import with_critical_answers

                result = with_critical_answers(self.knowledge, case, result)
            return result

        return self._each(cases, result)

    def result_lines(self, cases: Sequence[Case]) -> list[str | EngineError]:
        """Each case's `compact_json(assess(case))`, or the EngineError `assess` would
        raise for it, in order: what `batch` writes, without building the Results."""
        if self._lines is None:
            from .result_line import ResultLines

            self._lines = ResultLines(self.knowledge)
        lines = self._lines
        return self._each(cases, lambda case, firings: lines.line(firings, case.answers, case.id))

    def _each(self, cases: Sequence[Case], make: Callable[[Case, list[Firing]], T]) -> list[T | EngineError]:
        """`make` of each case's firings (run together, sharing sessions), or the
        EngineError of that case, in order: one case's failure never stops the others."""
        out: list[T | EngineError] = []
        fired = self._backend.run_cases([answer_facts(case.answers) for case in cases])
        for case, firings in zip(cases, fired, strict=True):
            if isinstance(firings, EngineError):
                out.append(firings)
                continue
            try:
                out.append(make(case, firings))
            except EngineError as exc:
                out.append(exc)
        return out

    @property
    def not_grouped(self) -> str | None:
        """Why `assess_many` runs every case in a session of its own (None: it does not),
        known once it has run."""
        return self._backend.not_grouped

    def assess_answers(self, answers: Mapping[str, Any], case_id: str | None = None) -> Result:
        """Check raw answers against the case contract, then assess them."""
        document: dict[str, Any] = {"format": "itb-case/1", "answers": dict(answers)}
        if case_id is not None:
            document["id"] = case_id
        return self.assess(check_case(document, "answers", self.knowledge))

    def read_case(self, data: bytes, where: str) -> Case:
        """Parse and check the bytes of a case file; `where` names it in errors."""
        return check_case(read_case_text(data, where), where, self.knowledge)
