"""Typed errors of the engine. The CLI maps each class to one exit status in one place."""

from __future__ import annotations

from .textsafe import printable

# A case can hold a key or a value of almost a megabyte; an error line quotes a part of it.
MAX_PART = 200


def _short(text: str) -> str:
    return text if len(text) <= MAX_PART else f"{text[: MAX_PART - 3]}..."


class TriageError(Exception):
    """Base class: something the caller can report in one line."""


# A case with many problems is reported with this many, then a count of the rest.
MAX_PROBLEMS = 5


class CaseError(TriageError):
    """A case file is unreadable, not JSON or YAML, or outside the case schema.

    `where` names the file, `path` the place inside it ($.answers.side), `expected`
    what would have been right. `others` are the case's further problems, when the
    schema found several: `lines()` gives them all, one a line, capped.
    """

    def __init__(self, where: str, path: str, problem: str, expected: str = "", hint: str = "") -> None:
        self.where = where
        self.path = path
        self.problem = problem
        self.expected = expected
        self.hint = hint
        self.others: tuple[CaseError, ...] = ()
        super().__init__(self.one_line())

    def lines(self) -> list[str]:
        """Every problem in one line each, at most MAX_PROBLEMS, then how many more there are."""
        problems = [self, *self.others]
        out = [p.one_line() for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            rest = len(problems) - MAX_PROBLEMS
            out.append(f"{_short(self.where)}: and {rest} more problem{'s' if rest > 1 else ''}")
        return out

    def one_line(self) -> str:
        parts = [_short(self.where)]
        if self.path:
            parts.append(_short(self.path))
        text = f"{': '.join(parts)}: {_short(self.problem)}"
        if self.expected:
            text += f"; expected {_short(self.expected)}"
        if self.hint:
            text += f" ({_short(self.hint)})"
        return printable(text)


class KnowledgeError(TriageError):
    """The knowledge or rule files are invalid. Holds every problem, each located."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = len(problems)
        first = problems[0] if problems else "unknown problem"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"{first}{more}")


class EngineError(TriageError):
    """The rule engine failed on a case: an action raised, or the result broke an invariant.

    `where` names the case's file when it came from one (set by `Triage.assess`).
    """

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


class QueryError(TriageError):
    """A question about a case is malformed: an unknown id for why-not, a bad what-if.

    The message is one line saying what was given and what would be right.
    """


class SessionError(TriageError):
    """A session cannot be found, read or written. The message says what and where.

    Defined here with the other errors, not beside the session store: the command line
    maps it to an exit status at every start, and the store's module (with the
    interview behind it) is not worth loading for that."""


class SessionBusy(SessionError):
    """Another interview has the session open."""
