"""Exit statuses, and the one table that maps engine errors to them and words them."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from itb_triage.engine import CaseError, EngineError, KnowledgeError, SessionBusy, TriageError


class ExitStatus(IntEnum):
    """What `itb-triage` returns to the shell (documented in the README)."""

    OK = 0
    #: Bad input: an unreadable or invalid case file, or a wrong command line.
    INPUT_ERROR = 2
    #: The knowledge or rule files are invalid (`kb validate` lists every problem).
    KNOWLEDGE_INVALID = 3
    #: The rule engine failed on a case; a bug, please report it with the case.
    ENGINE_FAILURE = 4
    #: The session is open in another interview (`interview --resume`, `sessions delete`).
    SESSION_BUSY = 5
    #: Interrupted by the user (Ctrl-C).
    INTERRUPTED = 130


def _engine_failure(exc: EngineError) -> str:
    # On a case the error names its file; at start-up (a wrong durable-rules, say) the
    # message says it all.
    return f"{exc.where}: the rule engine failed: {exc}" if exc.where else str(exc)


# Each engine error class, its exit status and how its message is put, most specific
# first: the first class an error is an instance of decides. Every command, and batch
# for its error records, goes through this table.
ENGINE_ERRORS: tuple[tuple[type[TriageError], ExitStatus, Callable[..., str]], ...] = (
    (CaseError, ExitStatus.INPUT_ERROR, lambda exc: "\n".join(exc.lines())),  # every problem, one a line
    (SessionBusy, ExitStatus.SESSION_BUSY, str),
    (KnowledgeError, ExitStatus.KNOWLEDGE_INVALID,
     lambda exc: f"the knowledge base is invalid: {exc} (run `itb-triage kb validate`)"),
    (EngineError, ExitStatus.ENGINE_FAILURE, _engine_failure),
    # QueryError (a bad --why-not or --what-if) and SessionError (a saved interview
    # that cannot be found or read) are the runner's input.
    (TriageError, ExitStatus.INPUT_ERROR, str),
)


def classify(exc: TriageError) -> tuple[ExitStatus, str]:
    """The exit status of an engine error and its one-line message."""
    for kind, status, words in ENGINE_ERRORS:
        if isinstance(exc, kind):
            return status, words(exc)
    raise TypeError(f"not an engine error: {exc!r}")  # unreachable: TriageError is the last row
